"""Where is my case? The county's answer from its own ledger, wherever the case is now.

The receipt's QR holds the case number and nothing else; a site knows only its own part of a case that has been
handed on (handover.case_progress follows it site by site). The county holds every site's events, so it can
answer in one look: each step with its site and time, and where the case is now. Only impersonal fields are
read (the case_steps_view has no applicant, ID number or phone), so the answer can be shown to whoever holds the
number — what the 办件 is and where, never who.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

CASE_NUMBER = re.compile(r"^[0-9A-Za-z]{2,12}-[0-9]{8}-[0-9]{4,6}$")

STEP_WORDS = {
    "case_accepted": "受理", "case_started": "开始办理", "case_handed_over": "转办", "handover_received": "收到转办件",
    "handover_accepted": "接收办理", "handover_declined": "退回", "handover_decline_received": "退回到达",
    "case_supplement_requested": "需补正材料（已一次性告知）", "case_resumed": "材料补齐，继续办理",
    "case_delayed": "延期（已说明理由）", "case_step_finished": "一个环节办完", "case_concluded": "办结",
    "case_result_returned": "办理结果送回", "handover_result_received": "办理结果到达受理地",
    "case_result_ready": "可以领取", "case_delivered": "已出件", "case_archived": "已归档",
}
STEPS_SQL = ("SELECT site, type, at, item_name, to_site, decision, due, how FROM county.case_steps_view "
             "WHERE case_no = %s ORDER BY at, site, seq")
DECISION_WORDS = {"approved": "准予", "refused": "不予"}
DELIVERY_WORDS = {"window": "窗口领取", "ems": "邮寄", "elicence": "电子证照"}


@dataclass
class Step:
    at: datetime
    site: str
    site_name: str
    words: str


@dataclass
class Progress:
    case: str
    item_name: str
    origin: str
    origin_name: str
    where: str  # the site that has the case now
    where_name: str
    state: str  # in words
    due: str | None
    steps: list[Step] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"case": self.case, "item_name": self.item_name, "origin": self.origin, "where": self.where,
                "where_name": self.where_name, "state": self.state, "due": self.due,
                "steps": [{"at": s.at.isoformat(), "site": s.site, "site_name": s.site_name, "words": s.words}
                          for s in self.steps]}


def _words(kind: str, to_name: str | None, decision: str | None, how: str | None) -> str:
    base = STEP_WORDS[kind]
    if kind == "case_handed_over" and to_name:
        return f"转办至 {to_name}"
    if kind in ("case_concluded", "case_result_returned", "handover_result_received") and decision:
        return f"{base}：{DECISION_WORDS.get(decision, decision)}"
    if kind == "case_delivered" and how:
        return f"{base}（{DELIVERY_WORDS.get(how, how)}）"
    return base


def _state(last: str, where_name: str) -> str:
    if last in ("case_handed_over", "handover_received"):
        return f"已转至 {where_name}，等待接收"
    if last in ("case_delivered", "case_archived"):
        return "已办结并出件"
    if last in ("handover_result_received", "case_result_ready", "case_concluded"):
        return f"已办结，请到 {where_name} 领取"
    if last == "case_supplement_requested":
        return f"需补正材料，请按一次性告知到 {where_name} 补交"
    return f"在 {where_name} 办理中"


async def read_progress(conn: psycopg.AsyncConnection[Any], number: str, tz: ZoneInfo) -> Progress | None:
    """None for a number the county has never seen (or one that is not a case number at all)."""
    if not CASE_NUMBER.match(number):
        return None
    names = dict(await (await conn.execute("SELECT code, name FROM county.sites")).fetchall())
    cur = await conn.execute(STEPS_SQL, (number,))
    return progress_of(number, await cur.fetchall(), names, tz)


def progress_of(number: str, rows: list[tuple[Any, ...]], names: dict[str, str], tz: ZoneInfo) -> Progress | None:
    """Pure: the steps in time order, where the case is now (the site of the last step that moves it), its state."""
    steps: list[Step] = []
    item_name, due, origin, where, last = "", None, "", "", ""
    for site, kind, at, item, to_site, decision, step_due, how in rows:
        if kind not in STEP_WORDS:
            continue
        if kind == "case_accepted" and not origin:
            origin, item_name, due = site, item or "", step_due
        if kind == "case_result_returned":
            continue  # the sender's side of the result: the receiving side's step says it has arrived
        where = (to_site or where) if kind == "case_handed_over" else site
        last = kind
        steps.append(Step(at.astimezone(tz), site, names.get(site, site),
                          _words(kind, names.get(to_site or "", to_site), decision, how)))
    if not steps:
        return None
    where = where or origin
    return Progress(number, item_name, origin, names.get(origin, origin), where, names.get(where, where),
                    _state(last, names.get(where, where)), due, steps)
