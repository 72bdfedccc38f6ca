"""The greeter node without a UI toolkit: the help requests a helper (帮办员) sees, their own cases, and what they
can do (claim, hand over, issue, consult, notify, sign a delegation).

The lists are pure functions of the mirrored hall state, so the Kivy tablet, a console greeter and the tests
read the same thing. Ages are shown as bands, never as birth dates, and names are masked on every list: the
tablet is carried around the floor. Only the form being filled in shows a full name.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from devices.privacy import mask_name
from hall_bus.catalogue.search import GuideIndex
from hall_bus.config import HallConfig, WorkCalendar
from hall_bus.domain import commands as c
from hall_bus.domain.casework import STATUS_NAMES as CASE_STATUS
from hall_bus.domain.casework import overdue_cases
from hall_bus.domain.handover import inbox_cases, inbox_overdue
from hall_bus.domain.state import CaseRecord, HallState
from hall_bus.domain.workdays import add_working_days
from hall_bus.nodes import greeter_booking as gb
from hall_bus.nodes.outbox import OUTBOX_FILE, FlushResult, Outbox
from hall_bus.wire.client import HallClient

log = logging.getLogger("hall_bus.greeter")

GREEN_CHANNEL = "wheelchair_push"  # 推着办: the green channel, called at the next free window for the service
HOME_VISIT = "home_visit"  # 上门办: an appointment served at the visitor's place, no counter queue

AGE_BANDS = ((80, "80岁以上"), (70, "70–79岁"), (60, "60–69岁"), (0, "60岁以下"))


def age_band(age: int | None) -> str:
    if age is None:
        return "年龄未知"
    return next(label for floor, label in AGE_BANDS if age >= floor)


@dataclass(frozen=True, slots=True)
class HelpItem:
    help_id: str
    ticket: str
    number: str
    service: str
    group: str
    age_band: str
    waiting_s: float
    status: str  # open | claimed
    helper: str | None
    escalated: bool
    kiosk: str = ""  # the node that issued the ticket, when this tablet saw it issued ("" after a resync)


def help_list(state: HallState, now_ts: float, origins: Mapping[str, str] | None = None) -> list[HelpItem]:
    """Open and claimed requests: escalated ones on top, then the other unclaimed, then claimed; each oldest
    first, so the visitor waiting longest for a helper is the first thing a greeter sees. `origins` (ticket →
    issuing node) comes from the events, because the state does not keep which kiosk issued a ticket."""
    origins = origins or {}
    items = []
    for h in state.helps.values():
        if h.status not in ("open", "claimed"):
            continue
        t = state.tickets.get(h.ticket)
        if t is None:
            continue
        items.append(HelpItem(h.id, t.id, t.number, t.service, h.group, age_band(t.age),
                              max(0.0, now_ts - h.requested_ts), h.status, h.helper, h.escalated,
                              origins.get(t.id, "")))
    items.sort(key=lambda i: (i.status != "open", not i.escalated, -i.waiting_s))
    return items


def unprinted_slips(state: HallState) -> list[tuple[str, str, str, str]]:
    """(job, kiosk, status, why) of every notice slip that did not come out — out of paper, a kiosk away too long —
    oldest first: a visitor is waiting for those words, and a greeter brings them or reprints."""
    jobs = sorted((j for j in state.print_jobs.values() if j.status in ("failed", "expired")),
                  key=lambda j: j.queued_ts)
    return [(j.id, j.kiosk, j.status, j.problem or ("超时未打印" if j.status == "expired" else "")) for j in jobs]


def slip_words(job: str, kiosk: str, status: str, why: str) -> str:
    why = problem_words(why)
    return f"告知单 {job} 没能在 {kiosk} 打印{'（' + why + '）' if why else ''}，请把告知内容交给群众或重新打印"


def problem_words(problem: str) -> str:
    """A device's own (English) words for a fault, as a greeter says it: 'paper out …' → '缺纸'."""
    low = problem.lower()
    return next((what for said, what, _fix in FAULT_FIXES if said in low), problem)


def busy_helpers(state: HallState) -> dict[str, list[str]]:
    """Helper → the help requests they hold: a helper with a visitor is busy, on every tablet."""
    held: dict[str, list[str]] = {}
    for h in state.helps.values():
        if h.status == "claimed" and h.helper:
            held.setdefault(h.helper, []).append(h.id)
    return held


def mine(state: HallState, helper: str, now_ts: float) -> list[HelpItem]:
    return [i for i in help_list(state, now_ts) if i.helper == helper]


def device_alerts(state: HallState, now_ts: float) -> list[tuple[str, str, float]]:
    """(node/device, problem, seconds open), oldest first: a kiosk printing tickets only on screen needs paper."""
    return sorted(((key, f["problem"], now_ts - f["since_ts"]) for key, f in state.faults.items()),
                  key=lambda a: -a[2])


# What a fault looks like in the device's own report (English, from devices/) → what it means, what to do.
FAULT_FIXES = (("paper out", "缺纸", "请换纸卷"), ("cover open", "打印机盖开着", "请合上打印机盖"),
               ("paper near end", "纸卷快用完", "请备好纸卷"),
               ("stopped answering", "打印机没有响应", "请检查打印机电源和连线"),
               ("offline", "没有响应", "请检查电源和连线"), ("no answer", "没有响应", "请检查电源和连线"))
DEVICE_WORDS = {"printer": "打印机", "keypad": "评价器", "pad": "评价器", "idcard": "身份证读卡器"}
ROLE_WORDS = {"kiosk": "取号机", "counter": "窗口", "board": "叫号屏", "display": "大厅显示屏",
              "greeter": "帮办平板"}


@dataclass(frozen=True, slots=True)
class HallAlert:
    """Something on the floor a greeter should go and fix, in words a greeter acts on: where, what, what to do."""

    key: str  # node/device, or the print job
    words: str
    since_ts: float


def place_words(node_id: str, cfg: HallConfig | None) -> str:
    """A node as the floor knows it: "2 号取号机（kiosk-2）", "5 号窗口（counter-5）"; the id stays, since it
    is what is written on the machine's label and in `hallctl status`."""
    node = next((n for n in cfg.nodes if n.id == node_id), None) if cfg is not None else None
    if node is None:
        return node_id
    number = node.counter if node.counter is not None else (
        int(m.group(1)) if (m := re.search(r"(\d+)$", node_id)) else None)
    role = ROLE_WORDS.get(node.role, node.role)
    return f"{number} 号{role}（{node_id}）" if number is not None else f"{role}（{node_id}）"


def fault_words(key: str, problem: str, cfg: HallConfig | None = None) -> str:
    """'kiosk-2/printer', 'printer not ready: paper out — try: …' → '2 号取号机（kiosk-2）缺纸：请换纸卷'."""
    node_id, _, device = key.partition("/")
    where = place_words(node_id, cfg)
    low = problem.lower()
    for said, what, fix in FAULT_FIXES:
        if said in low:
            dev = "" if device == "printer" and what.startswith(("缺纸", "纸卷", "打印机")) else \
                DEVICE_WORDS.get(device, device)
            return f"{where}{dev}{what}：{fix}"
    return f"{where}{DEVICE_WORDS.get(device, device)}故障（{problem or '原因不明'}）：请检查设备，或找运维"


def hall_alerts(state: HallState | None, now_ts: float, cfg: HallConfig | None = None) -> list[HallAlert]:
    """Open device faults, then notice slips that did not come out, oldest first within each: a kiosk giving
    tickets only on screen needs paper now, and a visitor waits at a kiosk for the words of a failed slip."""
    if state is None:
        return []
    out = [HallAlert(key, "▲ " + fault_words(key, problem, cfg), now_ts - age)
           for key, problem, age in device_alerts(state, now_ts)]
    for job, kiosk, _status, why in unprinted_slips(state):
        out.append(HallAlert(job, f"▲ 告知单 {job} 没能在 {place_words(kiosk, cfg)} 打印"
                                  f"{'（' + problem_words(why) + '）' if why else ''}：请到「一次性告知」重新打印，"
                                  "或把内容交给群众",
                             state.print_jobs[job].queued_ts))
    return out


# ---------------------------------------------------------------------- my cases


@dataclass(frozen=True, slots=True)
class CaseItem:
    """One line of a helper's "my cases": a help request held, a consultation owed an answer, a delegation being
    acted on, a follow-up owed a call. `who` is masked: the list is read on the floor."""

    kind: str  # help | consultation | delegation | followup | case (a 办件)
    case_id: str
    who: str
    what: str
    due_ts: float | None
    overdue: bool
    status: str
    late: str = ""  # "逾期" | "即将到期" | "": in words, never by colour alone
    step: int = 0  # a 办件's step under way that this helper tracks (0: none)


KIND_WORDS = {"help": "帮办", "consultation": "咨询", "delegation": "代办", "followup": "回访", "case": "办件"}
# Still someone's work: 出件 to come. A case handed over to another site (转办) stays its owner's: its result comes
# back here, and its due date is still this site's promise.
OPEN_CASE = frozenset({"accepted", "in_progress", "supplement", "concluded", "handed_over"})
RUNNING_CASE = frozenset({"accepted", "in_progress", "supplement", "handed_over"})  # the due date still matters
WORKED_HERE = frozenset({"accepted", "in_progress", "supplement"})


def soon_until(now_ts: float, cal: WorkCalendar | None, tz: Any) -> float:
    """The end of "即将到期": one working day ahead on the hall's calendar (the supervisor's due-soon list uses the
    same), or a plain day when the tablet has no calendar (a console greeter without the hall file)."""
    if cal is None or tz is None:
        return now_ts + 86400
    return add_working_days(datetime.fromtimestamp(now_ts, tz), 1, cal).timestamp()


def late_words(due_ts: float | None, now_ts: float, soon_ts: float, overdue: bool = False) -> str:
    if due_ts is None:
        return ""
    if overdue or now_ts > due_ts:
        return "逾期"
    return "即将到期" if due_ts <= soon_ts else ""


def current_step(case: CaseRecord) -> int:
    """The step under way (steps run in order), 1-based; 0 when there are none or all are done."""
    return next((i for i, st in enumerate(case.steps, 1) if st.finished_ts is None), 0)


def case_line(case: CaseRecord, helper: str = "", sites: Mapping[str, str] | None = None) -> str:
    """Item, state and the step under way, as the helper reads it: "企业投资项目核准 · 办理中 · 环节2 县自然资源局
    用地预审（您跟踪）". `sites` (code → name) names the other sites of a 转办; a code stays as it is without."""
    sites = sites or {}
    words = [case.item_name, CASE_STATUS.get(case.status, case.status)]
    if case.origin_site and case.status in WORKED_HERE:  # a case taken from the inbox: whose result it is
        words.append(f"{site_words(case.origin_site, sites)} 转来")
    back = case.log[-1] if case.log else {}
    if case.status == "in_progress" and back.get("what") == "handover_decline_received":
        words.append(f"转办被 {site_words(back.get('peer') or '', sites)} 退回：{case.handover_note}")
    n = current_step(case)
    if n and case.status in RUNNING_CASE:
        st = case.steps[n - 1]
        words.append(f"环节{n} {st.department}{st.name}" + ("（您跟踪）" if helper and st.tracker == helper else
                                                           f"（{st.tracker}跟踪）" if st.tracker else "（未派跟踪员）"))
    if case.status == "supplement" and case.missing:
        words.append("待补：" + "、".join(case.missing))
    if case.status == "concluded":
        words.append("待出件")
    if case.status == "handed_over":
        words.append(f"在 {site_words(case.out_to or '', sites)} 办理")
    return " · ".join(words)


def my_cases(state: HallState, helper: str, now_ts: float, cal: WorkCalendar | None = None,
             tz: Any = None, sites: Mapping[str, str] | None = None) -> list[CaseItem]:
    """What the helper owes someone, the most urgent first: overdue ones on top (首问负责 makes them the
    helper's), then by deadline, then the ones with no deadline in the order they began. A 办件 is theirs when
    they are its first-responsible person or track one of its steps (环节跟踪员); a case handed over from another
    site is its handler's here (its owner is a person of that site, whose id may be anyone's here)."""
    rows: list[tuple[float, CaseItem]] = []
    soon = soon_until(now_ts, cal, tz)
    for k in state.cases.values():
        mine = (k.owner == helper and not k.owner_site) or k.handler == helper
        if k.status not in OPEN_CASE or (not mine and all(st.tracker != helper for st in k.steps)):
            continue
        n = current_step(k)
        mine_step = n if n and k.steps[n - 1].tracker == helper else 0
        due = k.due_ts if k.status in RUNNING_CASE else None
        late = late_words(due, now_ts, soon, k.overdue and due is not None)
        rows.append((k.accepted_ts, CaseItem("case", k.number, mask_name(k.applicant), case_line(k, helper, sites), due,
                                             late == "逾期", k.status, late, mine_step)))
    for h in state.helps.values():
        if h.status == "claimed" and h.helper == helper:
            t = state.tickets.get(h.ticket)
            rows.append((h.requested_ts, CaseItem("help", h.id, t.number if t else h.ticket,
                                                  t.service if t else "", None, False, h.status)))
    for q in state.consultations.values():
        if q.helper == helper and q.status != "answered":
            late = q.overdue or now_ts > q.due_ts
            what = q.question if not q.referred_to else f"{q.question}（已转{q.referred_to}）"
            rows.append((q.opened_ts, CaseItem("consultation", q.id, mask_name(q.name), what, q.due_ts, late,
                                               q.status)))
    for d in state.delegations.values():
        if d.helper == helper and d.status == "signed":
            rows.append((d.signed_ts, CaseItem("delegation", d.id, mask_name(d.principal), "、".join(d.services),
                                               None, False, d.status)))
    for f in state.followups.values():
        if f.owner == helper and f.status != "closed":  # assigned or rectified: still theirs
            t = state.tickets.get(f.ticket)
            late = f.due_ts is not None and now_ts > f.due_ts
            rows.append((f.due_ts or 0.0, CaseItem("followup", f.id, t.number if t else f.ticket,
                                                   f"{f.level} {f.comment}".strip(), f.due_ts, late, f.status)))
    rows = [(ts, item if item.late or item.kind == "case" else
              CaseItem(item.kind, item.case_id, item.who, item.what, item.due_ts, item.overdue, item.status,
                       late_words(item.due_ts, now_ts, soon, item.overdue)))
            for ts, item in rows]
    rows.sort(key=lambda r: (not r[1].overdue, r[1].due_ts is None, r[1].due_ts or math.inf, r[0]))
    return [item for _, item in rows]


def case_actions(state: HallState, case_no: str, helper: str, now_ts: float, *,
                 hand_on: bool = False) -> frozenset[str]:
    """What this helper may do to a 办件 from the tablet: start it, finish the step they track (or, on a case
    they own, the step under way), ask for 补正 and resume after it, delay it with a reason before its due date,
    and — `hand_on`: the hall has sites to hand cases on to — 转办 while it is accepted or in progress.
    The engine is the judge; this only keeps buttons off that would be refused."""
    k = state.cases.get(case_no)
    if k is None:
        return frozenset()
    can = set()
    if k.status == "accepted":
        can.add("start")
    n = current_step(k)
    responsible = (k.owner == helper and not k.owner_site) or k.handler == helper  # as on 我的事项
    if k.status == "in_progress" and n and (responsible or k.steps[n - 1].tracker == helper):
        can.add("finish_step")
    if k.status in ("accepted", "in_progress"):
        can.add("supplement")
        if hand_on:
            can.add("handover")
    if k.status == "supplement":
        can.add("resume")
    if k.status in RUNNING_CASE and now_ts <= k.due_ts:
        can.add("delay")
    return frozenset(can)


def delegation_items(cfg: HallConfig, state: HallState, delegation_id: str) -> list[tuple[str, str]]:
    """(item code, name) a signed delegation can be accepted as (受理委托): the catalogue's 可代办 items of the
    services it was signed for, less those already opened as cases under it."""
    d = state.delegations.get(delegation_id)
    if d is None or cfg.catalogue is None or d.status != "signed":
        return []
    opened = {k.item for k in state.cases.values() if k.delegation == delegation_id}
    return [(i.code, i.name) for i in cfg.catalogue.items
            if i.service in d.services and i.delegable and i.code not in opened]


# ---------------------------------------------------------------------- 转办: cases between the county's sites

HANDOVER_REASONS = ("需镇级审核", "需县级审批", "本站无权办理")  # why a case goes on: the common ones, one tap
DECLINE_REASONS = ("不属于本级办理事项", "材料不全请补齐后再转")  # why a received case goes back
REASON_MAX = 500  # the commands' limit (commands.Reason)


def site_names(cfg: HallConfig | None) -> dict[str, str]:
    """Code → name of every site this tablet can name: its own hall and the ones it hands cases on to (the
    county file's names, written into `[county]` by site init). Any other site is shown by its code."""
    if cfg is None:
        return {}
    names = {cfg.hall.site_code: cfg.hall.name}
    if cfg.county is not None:
        names.update(cfg.county.up_sites())
    return names


def site_words(code: str, sites: Mapping[str, str]) -> str:
    return sites.get(code) or code


def handover_targets(cfg: HallConfig | None) -> list[tuple[str, str]]:
    """(code, name) of the sites a case can be handed on to, nearest first; none without `[county]`, and then
    the tablet shows no hand-over controls at all."""
    if cfg is None or cfg.county is None:
        return []
    return [(code, name) for code, name in cfg.county.up_sites() if code != cfg.hall.site_code]


def has_handovers(cfg: HallConfig | None) -> bool:
    """A hall without `[county]` is an island: no inbox, no 转办."""
    return cfg is not None and cfg.county is not None


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One line of 转办收件: a case handed over to this site, waiting for a person here to accept or decline it.
    `who` is masked; the times are in words, in the hall's time zone; `late` says it in words (never colour
    alone) once the county's hours for accepting it are over."""

    case_id: str
    item_name: str
    from_site: str
    from_words: str  # the sending site's name when this tablet knows it, else its code
    who: str
    reason: str  # why the sender handed it over
    received_ts: float
    received: str  # "11月23日 10:30"
    accept_by_ts: float | None
    accept_by: str  # "应于 11月23日 18:30 前接收"
    late: str  # "超时未接收" | ""


def _received_ts(k: CaseRecord) -> float:
    """When this hand-over arrived: its own line in the case's log (a reopened case has older ones)."""
    return next((x["ts"] for x in reversed(k.log) if x["what"] == "handover_received"), k.accepted_ts)


def inbox_list(state: HallState, now_ts: float, sites: Mapping[str, str] | None = None,
               tz: Any = None) -> list[InboxItem]:
    """The site's inbox, the case to accept soonest first (the late ones are the soonest): what the person at a
    station reads before taking responsibility for a case from another site."""
    sites = sites or {}
    out = []
    for k in inbox_cases(state):
        late = k.handover_overdue or (k.accept_by_ts is not None and now_ts > k.accept_by_ts)
        by = due_words(k.accept_by_ts, tz) if k.accept_by_ts is not None else ""
        received = _received_ts(k)
        out.append(InboxItem(k.number, k.item_name, k.origin_site or "", site_words(k.origin_site or "", sites),
                             mask_name(k.applicant), k.handover_note, received, due_words(received, tz),
                             k.accept_by_ts, f"应于 {by} 前接收" if by else "", "超时未接收" if late else ""))
    return out


def reason_text(picked: str, typed: str) -> str:
    """A common reason tapped, words typed, or both ("材料不全请补齐后再转：缺户口簿复印件"): what is sent."""
    picked, typed = picked.strip(), " ".join(typed.split())
    if picked and typed:
        return f"{picked}：{typed}"
    return picked or typed


def handover_problem(to_site: str, reason: str, targets: list[tuple[str, str]]) -> str:
    """What is missing from the 转办 form, in the helper's words ("" when it can be sent): nothing leaves the
    tablet until the destination and the reason are there."""
    if not targets:
        return "本站没有可以转办的上级站点（大厅配置里没有 [county]）"
    if to_site not in {code for code, _ in targets}:
        return "请点选转给哪个站点"
    return _reason_problem(reason, "转办")


def decline_problem(reason: str) -> str:
    """What is missing before a received case is sent back ("" when nothing is)."""
    return _reason_problem(reason, "退回")


def _reason_problem(reason: str, act: str) -> str:
    if not reason.strip():
        return f"{act}要写明原因：点选常用原因，或在框里写"
    if len(reason) > REASON_MAX:
        return f"{act}原因太长，请写在 {REASON_MAX} 字以内"
    return ""


def handover_refusal(answer: Mapping[str, Any], case_no: str, state: HallState | None,
                     sites: Mapping[str, str] | None = None) -> str:
    """A refused accept, decline or hand-over in the helper's words, naming the case and, from the mirror, what
    became of it meanwhile (another person here accepted it: who), so nobody taps again in vain."""
    if answer.get("ok"):
        return ""
    sites = sites or {}
    k = state.cases.get(case_no) if state is not None else None
    code = str(answer.get("code"))
    if code in ("bad_state", "unknown_case", "not_here") and k is not None:
        if k.status == "in_progress" and k.handler:
            return f"{case_no} 已由 {k.handler} 接收办理，请联系 {k.handler}"
        if k.status == "declined":
            return f"{case_no} 已退回 {site_words(k.origin_site or '', sites)}"
        if k.status == "handed_over":
            return f"{case_no} 已转办，在 {site_words(k.out_to or '', sites)} 办理"
        return f"{case_no} 现在{CASE_STATUS.get(k.status, k.status)}，这一步办不了"
    if code == "bad_handover":
        return f"{case_no} 不能转给本站，请点选其他站点"
    return f"{case_no}：{refusal_words(answer, state)}"


# ---------------------------------------------------------------------- 督办: the supervisor's list


@dataclass(frozen=True, slots=True)
class DutyItem:
    """One line of the 督办 view: an overdue or due-soon case, a bad rating's follow-up, a complaint, with what is
    late in words. `who` is masked (applicant, complainant) or a ticket number."""

    kind: str  # case_overdue | case_soon | handover_overdue | followup | complaint
    ref: str
    who: str
    what: str
    late: str
    due_ts: float | None
    status: str
    owner: str
    overdue: bool
    owner_site: str = ""  # a case handed over from another site: its owner is there, and only it moves him


DUTY_WORDS = {"case_overdue": "逾期办件", "case_soon": "即将到期", "handover_overdue": "转办超时未接收",
              "followup": "差评回访", "complaint": "投诉"}


def _fix_late(kind: str, rec: Any, now_ts: float, tz: Any) -> tuple[str, bool]:
    """What is late about a follow-up or complaint, in the supervisor's words, and whether it is past due."""
    what = "回访" if kind == "followup" else "答复"
    due = due_words(rec.due_ts, tz)
    past = rec.due_ts is not None and now_ts > rec.due_ts
    if rec.status == "rectified":
        return f"已整改（{rec.done_by}），待督办员核实办结" + (f"；{what}期限 {due} 已过" if past else ""), past
    if rec.owner is None:
        return "待分派" + (f"；{what}期限 {due} 已过" if past else (f"，{due} 前{what}" if due else "")), past
    return (f"{what}期限 {due} 已过（{rec.owner}）" if past else f"{rec.owner} 整改中，{due} 前{what}"), past


def supervision(state: HallState, now_ts: float, cal: WorkCalendar, tz: Any) -> list[DutyItem]:
    """The 服务督办员's list, most pressing first: overdue cases (oldest due first, with the late step named),
    cases due within a working day, then follow-ups and complaints not yet closed (past due ones first)."""
    out: list[DutyItem] = []
    for k in overdue_cases(state, now_ts):
        late = f"办结时限 {due_words(k.due_ts, tz)} 已过"
        n = current_step(k)
        if n and k.steps[n - 1].due_ts < now_ts:
            st = k.steps[n - 1]
            late += f"；环节{n} {st.department} {due_words(st.due_ts, tz)} 已过"
        if k.status == "supplement":
            late += "；补正中"
        if k.status == "handed_over":
            late += f"；已转办至 {k.out_to}"
        out.append(DutyItem("case_overdue", k.number, mask_name(k.applicant), k.item_name, late, k.due_ts,
                            k.status, k.owner, True, k.owner_site))
    for k in inbox_overdue(state, now_ts):
        out.append(DutyItem("handover_overdue", k.number, mask_name(k.applicant), k.item_name,
                            f"{k.origin_site} 转来，应于 {due_words(k.accept_by_ts, tz)} 前接收，尚未接收",
                            k.accept_by_ts, k.status, k.owner, True, k.owner_site))
    soon = soon_until(now_ts, cal, tz)
    for k in sorted((k for k in state.cases.values() if k.status in ("accepted", "in_progress", "handed_over")
                     and now_ts <= k.due_ts <= soon), key=lambda k: k.due_ts):
        out.append(DutyItem("case_soon", k.number, mask_name(k.applicant), k.item_name,
                            f"{due_words(k.due_ts, tz)} 前办结（即将到期）", k.due_ts, k.status, k.owner, False,
                            k.owner_site))
    fixes: list[DutyItem] = []
    for f in state.followups.values():
        if f.status == "closed":
            continue
        t = state.tickets.get(f.ticket)
        late, past = _fix_late("followup", f, now_ts, tz)
        fixes.append(DutyItem("followup", f.id, t.number if t else f.ticket,
                              f"{f.level}{'：' + f.comment if f.comment else ''}", late, f.due_ts, f.status,
                              f.owner or "", past))
    for q in state.complaints.values():
        if q.status == "closed":
            continue
        late, past = _fix_late("complaint", q, now_ts, tz)
        subject = f"{q.subject} 号窗口" if q.subject_kind == "window" else \
            f"{c.SUBJECT_NAMES.get(q.subject_kind, '')} {q.subject}"
        about = f"{c.CHANNEL_NAMES.get(q.channel, q.channel)} · 投诉{subject}"
        fixes.append(DutyItem("complaint", q.id, mask_name(q.complainant) or "匿名", f"{about}：{q.text}",
                              late, q.due_ts, q.status, q.owner or "", past or q.overdue))
    fixes.sort(key=lambda i: (not i.overdue, i.due_ts is None, i.due_ts or math.inf))
    return out + fixes


def duty_actions(item: DutyItem) -> frozenset[str]:
    """The supervisor's acts on one line: a case's owner changed (with a reason); a follow-up or complaint
    assigned while nobody has it, rectified while someone does, closed (回访结果 / the reply) until it is."""
    if item.kind == "handover_overdue" or item.owner_site:  # accepted by a person here; owned elsewhere
        return frozenset()
    if item.kind.startswith("case"):
        return frozenset({"owner"})
    can = {"close"}
    if item.status in ("open", "assigned") and not item.owner:
        can.add("assign")
    if item.status in ("open", "assigned") and item.owner:
        can.add("rectify")
    return frozenset(can)


def unowned_followups(state: HallState) -> list[tuple[str, str, str]]:
    """(follow-up id, ticket number, level) of bad ratings nobody has taken yet: a greeter may take one."""
    out = []
    for f in state.followups.values():
        if f.status == "open" and f.owner is None:
            t = state.tickets.get(f.ticket)
            out.append((f.id, t.number if t else f.ticket, f.level))
    return out


def due_words(due_ts: float | None, tz: Any) -> str:
    """A deadline as a helper says it (11月24日 16:00), in the hall's time zone, not the tablet's."""
    if due_ts is None:
        return ""
    from datetime import datetime

    d = datetime.fromtimestamp(due_ts, tz)
    return f"{d.month}月{d.day}日 {d:%H:%M}"


_TAKEN = re.compile(r"taken by (.+?) \(")


def refusal_words(answer: Mapping[str, Any], state: HallState | None = None, help_id: str = "") -> str:
    """A refused command in the helper's words. A refused claim names who has it, from the mirror or else from
    the server's message, so the helper knows whom to ask instead of trying again."""
    if answer.get("ok"):
        return ""
    if answer.get("code") == "help_taken":
        holder = ""
        if state is not None and help_id in state.helps:
            holder = state.helps[help_id].helper or ""
        if not holder:
            found = _TAKEN.search(str(answer.get("message", "")))
            holder = found.group(1) if found else "其他帮办员"
        return f"已被 {holder} 认领（首问负责），请联系 {holder}"
    said = STAFF_REFUSALS.get(str(answer.get("code")))
    if said:
        return said
    return f"未办成：{answer.get('message') or answer.get('code') or '大厅系统没有回应'}"


STAFF_REFUSALS = {  # the sign-in refusals in the helper's words (the server's are English)
    "bad_pin": "工号或密码不对，请再输一次",
    "bad_card": "这张工作证不在本大厅的名册上",
    "staff_disabled": "这个工号已停用，请找管理员",
    "pin_locked": "密码错误次数太多，请五分钟后再试",
    "not_signed_in": "请先登录（工号和密码，或刷工作证）",
    "wrong_person": "这台平板登录的是别人，请用自己的工号登录",
}


# ---------------------------------------------------------------------- delegation pages


class Frames(Protocol):
    def read(self) -> Any: ...


class NoPageInView(Exception):
    """The camera sees no whole page: the helper lays it flat and takes it again (a half page is no record)."""


@dataclass(frozen=True, slots=True)
class PageShot:
    sha256: str
    file: str  # relative to the data directory, as the ledger records it
    path: Path  # where it is on this machine (for the thumbnail)

    def record(self) -> dict[str, str]:
        return {"sha256": self.sha256, "file": self.file}


def shoot_page(camera: Frames, data_dir: Path, n: int, stamp: str | None = None) -> PageShot:
    """One signed page: a frame, the page found and straightened, saved as JPEG; the hash is of the bytes written,
    so the ledger's hash proves the stored file is the one photographed. Blocking: run it in a thread."""
    import cv2

    from devices.camera.document import find_document, straighten

    frame = camera.read()
    corners = find_document(frame)
    if corners is None:
        raise NoPageInView("没有找到整页纸，请把纸平放在镜头下再拍")
    ok, buf = cv2.imencode(".jpg", straighten(frame, corners), [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise NoPageInView("这一页没能保存，请再拍一次")
    data = buf.tobytes()
    folder = data_dir / "delegations"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
    name = f"{stamp}-{n}.jpg"
    while (folder / name).exists():  # two tablets on one share, or a retaken page: never overwrite a record
        n += 1
        name = f"{stamp}-{n}.jpg"
    path = folder / name
    path.write_bytes(data)
    return PageShot(hashlib.sha256(data).hexdigest(), f"delegations/{name}", path)


# ---------------------------------------------------------------------- the node


class GreeterNode:
    """A helper's actions over the bus; answers come back as the server's answer dicts (ok, code, message).

    Who the helper is comes from the hall, not from this tablet: a person signs in (PIN or staff card) and the
    server records every act in their name; `helper` is whoever the mirrored hall says is signed in here.
    It also watches the event stream (`take`) for what the state does not keep: which kiosk issued a ticket."""

    def __init__(self, client: HallClient, node: str, *, print_at: str | None = None,
                 data_dir: Path | str = "data", camera: Frames | None = None, cfg: HallConfig | None = None) -> None:
        self.client = client
        self.cfg = cfg  # the hall's calendar and time zone (即将到期) and its catalogue (受理委托)
        self.node = node
        self.print_at = print_at
        self.data_dir = Path(data_dir)
        self.camera = camera
        self.origins: dict[str, str] = {}
        self._pages = 0
        self._guide: GuideIndex | None = None
        self.outbox = Outbox(self.data_dir / OUTBOX_FILE)  # acts done at a visitor's home, until the hall has them
        self._kick = asyncio.Event()
        self._flushing = asyncio.Lock()

    @classmethod
    def for_config(cls, client: HallClient, cfg: HallConfig, node_id: str, **kw: Any) -> GreeterNode:
        """The node's print_at kiosk from the hall file: a notice prints where the helper stands, not anywhere."""
        node = next(n for n in cfg.nodes if n.id == node_id)
        return cls(client, node_id, print_at=node.print_at, cfg=cfg, **kw)

    @property
    def state(self) -> HallState | None:
        return self.client.state

    @property
    def helper(self) -> str | None:
        """The staff id signed in on this tablet, as the hall has it (None: nobody)."""
        return self.state.signed_in(self.node)[0] if self.state is not None else None

    @property
    def helper_name(self) -> str:
        return self.state.signed_in(self.node)[1] if self.state is not None else ""

    def has_duty(self, duty: str) -> bool:
        st = self.state
        member = st.staff.get(self.helper) if st is not None and self.helper else None
        return member is not None and duty in member.duties

    def take(self, ev: Mapping[str, Any]) -> None:
        if ev.get("type") == "ticket_issued" and ev["data"].get("node"):
            self.origins[ev["data"]["ticket"]] = ev["data"]["node"]

    def help_list(self, now_ts: float | None = None) -> list[HelpItem]:
        if self.state is None:
            return []
        return help_list(self.state, time.time() if now_ts is None else now_ts, self.origins)

    def my_cases(self, now_ts: float | None = None) -> list[CaseItem]:
        if self.state is None or self.helper is None:
            return []
        cal, tz = (self.cfg.calendar, self.cfg.hall.tz) if self.cfg is not None else (None, None)
        return my_cases(self.state, self.helper, time.time() if now_ts is None else now_ts, cal, tz, self.sites)

    @property
    def sites(self) -> dict[str, str]:
        return site_names(self.cfg)

    @property
    def handover_targets(self) -> list[tuple[str, str]]:
        return handover_targets(self.cfg)

    def inbox(self, now_ts: float | None = None) -> list[InboxItem]:
        """转办收件: for anyone signed in here (a station's one person takes everything that arrives)."""
        if self.state is None or self.helper is None or not has_handovers(self.cfg):
            return []
        tz = self.cfg.hall.tz if self.cfg is not None else None
        return inbox_list(self.state, time.time() if now_ts is None else now_ts, self.sites, tz)

    def duty_list(self, now_ts: float | None = None) -> list[DutyItem]:
        """The 督办 list, for a signed-in 服务督办员 only (the roster's duties, as the hall has them)."""
        if self.state is None or self.cfg is None or not self.has_duty("supervisor"):
            return []
        return supervision(self.state, time.time() if now_ts is None else now_ts, self.cfg.calendar,
                           self.cfg.hall.tz)

    async def _send(self, model: type[c.Cmd], **fields: Any) -> dict[str, Any]:
        """The command built from its model here, so a bad field is said before anything is sent."""
        try:
            command = c.build(model, **fields)
        except c.CommandInvalid as exc:
            return {"ok": False, "op": fields.get("op", model.model_fields["op"].default), "code": "invalid",
                    "message": str(exc)}
        return await self.client.send(command)

    # signing in: the person behind every act

    async def sign_in(self, staff: str, pin: str) -> dict[str, Any]:
        return await self._send(c.SignIn, staff=staff.strip(), pin=pin.strip())

    async def sign_in_card(self, card: str) -> dict[str, Any]:
        return await self._send(c.SignIn, card=card)

    async def sign_out(self) -> dict[str, Any]:
        return await self._send(c.SignOut, reason="signed out")

    # help requests

    async def claim(self, help_id: str) -> dict[str, Any]:
        return await self._send(c.ClaimHelp, help_id=help_id)

    async def hand_over(self, help_id: str, to_helper: str, note: str = "") -> dict[str, Any]:
        return await self._send(c.HandoverHelp, help_id=help_id, to_helper=to_helper, note=note)

    async def finish(self, help_id: str) -> dict[str, Any]:
        return await self._send(c.FinishHelp, help_id=help_id)

    async def cancel(self, help_id: str, reason: str) -> dict[str, Any]:
        return await self._send(c.CancelHelp, help_id=help_id, reason=reason)

    async def change_group(self, ticket: str, group: str, reason: str) -> dict[str, Any]:
        return await self._send(c.ChangeGroup, ticket=ticket, group=group, reason=reason)

    async def requeue(self, ticket: str, position: str = "end") -> dict[str, Any]:
        return await self._send(c.Requeue, ticket=ticket, position=position)  # type: ignore[arg-type]

    # tickets

    async def issue(self, service: str, group: str = "normal", *,
                    birth_date: date | str | None = None) -> dict[str, Any]:
        """A walk-in registered by the helper (the visitor never went to a kiosk)."""
        return await self._send(c.Issue, service=service, group=group, birth_date=birth_date)  # type: ignore[arg-type]

    async def green_channel(self, service: str, *, birth_date: date | str | None = None) -> dict[str, Any]:
        return await self.issue(service, GREEN_CHANNEL, birth_date=birth_date)

    # consultations

    async def open_consultation(self, name: str, question: str, *, contact: str = "", service: str | None = None,
                                ticket: str | None = None, answer: str = "") -> dict[str, Any]:
        return await self._send(c.OpenConsultation, name=name, contact=contact, question=question,
                                service=service, ticket=ticket, answer=answer)

    async def answer_consultation(self, consultation_id: str, answer: str) -> dict[str, Any]:
        return await self._send(c.AnswerConsultation, consultation_id=consultation_id, answer=answer)

    async def refer_consultation(self, consultation_id: str, department: str, note: str = "") -> dict[str, Any]:
        return await self._send(c.ReferConsultation, consultation_id=consultation_id, department=department,
                                note=note)

    # one-time notices

    async def issue_notice(self, service: str, missing: list[str], *, ticket: str | None = None) -> dict[str, Any]:
        """Printed on this tablet's print_at kiosk (the kiosk prints on the notice_issued event)."""
        return await self._send(c.IssueNotice, service=service, missing=list(missing), ticket=ticket,
                                print_at=self.print_at)

    # delegations

    async def take_page(self) -> PageShot:
        """A page from the document camera, in a thread: finding and straightening an 8-megapixel frame takes
        longer than a frame of the tablet's screen."""
        if self.camera is None:
            raise NoPageInView("这台平板没有连接高拍仪")
        self._pages += 1
        return await asyncio.to_thread(shoot_page, self.camera, self.data_dir, self._pages)

    async def record_delegation(self, principal: str, services: list[str], pages: list[PageShot], *,
                                ticket: str | None = None) -> dict[str, Any]:
        return await self._send(c.RecordDelegation, principal=principal, services=list(services),
                                pages=[p.record() for p in pages], ticket=ticket)

    async def complete_delegation(self, delegation_id: str, note: str = "") -> dict[str, Any]:
        return await self._send(c.CloseDelegation, op="complete_delegation", delegation_id=delegation_id,
                                note=note)

    async def cancel_delegation(self, delegation_id: str, note: str) -> dict[str, Any]:
        return await self._send(c.CloseDelegation, op="cancel_delegation", delegation_id=delegation_id, note=note)

    # follow-ups

    async def assign_followup(self, followup_id: str, owner: str | None = None,
                              due: date | None = None) -> dict[str, Any]:
        return await self._send(c.AssignFollowUp, followup_id=followup_id, owner=owner or self.helper,
                                due=due)

    async def reprint(self, job: str) -> dict[str, Any]:
        return await self._send(c.Reprint, job=job)

    async def close_followup(self, followup_id: str, note: str) -> dict[str, Any]:
        """A supervisor's close of a bad rating's follow-up, with what was done (回访结果)."""
        return await self._send(c.CloseFollowUp, followup_id=followup_id, note=note)

    async def rectify_followup(self, followup_id: str, note: str) -> dict[str, Any]:
        """整改情况: what was done about a bad rating, by its owner (or a supervisor)."""
        return await self._send(c.RectifyFollowUp, followup_id=followup_id, note=note)

    # complaints (投诉): registered by anyone on duty, assigned and replied to by a 服务督办员

    async def register_complaint(self, channel: str, subject_kind: str, subject: str, text: str, *,
                                 complainant: str = "", phone: str = "") -> dict[str, Any]:
        return await self._send(c.RegisterComplaint, channel=channel, subject_kind=subject_kind,
                                subject=subject, text=text, complainant=complainant, phone=phone)

    async def assign_complaint(self, complaint_id: str, owner: str | None = None,
                               due: date | None = None) -> dict[str, Any]:
        return await self._send(c.AssignComplaint, complaint_id=complaint_id, owner=owner or self.helper, due=due)

    async def rectify_complaint(self, complaint_id: str, note: str) -> dict[str, Any]:
        return await self._send(c.RectifyComplaint, complaint_id=complaint_id, note=note)

    async def reply_complaint(self, complaint_id: str, reply: str) -> dict[str, Any]:
        """The reply given to the citizen closes the complaint (a supervisor's act)."""
        return await self._send(c.ReplyComplaint, complaint_id=complaint_id, reply=reply)

    # 办件: a delegation accepted as a case, and what its helper does to it

    async def accept_delegation(self, delegation_id: str, item: str, *, id_number: str | None = None,
                                phone: str | None = None) -> dict[str, Any]:
        """受理委托: the signed delegation becomes a case of a catalogue item, its helper first-responsible."""
        return await self._send(c.AcceptDelegation, delegation_id=delegation_id, item=item,
                                id_number=id_number or None, phone=phone or None)

    async def start_case(self, case: str) -> dict[str, Any]:
        return await self._send(c.StartCase, case=case)

    async def finish_step(self, case: str, step: int, note: str = "") -> dict[str, Any]:
        return await self._send(c.FinishStep, case=case, step=step, note=note)

    async def request_supplement(self, case: str, missing: list[str]) -> dict[str, Any]:
        """补正: the missing materials told at once; the notice prints at this tablet's kiosk."""
        return await self._send(c.RequestSupplement, case=case, missing=list(missing), print_at=self.print_at)

    async def resume_case(self, case: str) -> dict[str, Any]:
        return await self._send(c.ResumeCase, case=case)

    async def delay_case(self, case: str, days: int, reason: str) -> dict[str, Any]:
        return await self._send(c.DelayCase, case=case, days=days, reason=reason)

    async def change_case_owner(self, case: str, owner: str, reason: str) -> dict[str, Any]:
        """首问负责 moved by a supervisor, with the reason on record."""
        return await self._send(c.ChangeCaseOwner, case=case, owner=owner, reason=reason)

    # 转办: cases between the county's sites, each act in the signed-in person's name (the server fills `by`)

    async def hand_over_case(self, case: str, to_site: str, reason: str) -> dict[str, Any]:
        """A case worked here goes on to a site of `[county] up`; the form's gaps are said before anything is
        sent, so a half-filled form never reaches the ledger."""
        why = handover_problem(to_site, reason, self.handover_targets)
        if why:
            return {"ok": False, "op": "hand_over_case", "code": "invalid", "message": why}
        return await self._send(c.HandOverCase, case=case, to_site=to_site, reason=reason.strip())

    async def accept_handover(self, case: str) -> dict[str, Any]:
        """接收办理: the signed-in person takes the case from the inbox and is its handler here."""
        return await self._send(c.AcceptHandover, case=case)

    async def decline_handover(self, case: str, reason: str) -> dict[str, Any]:
        """退回: the case goes back to the site it came from, with the reason it is told."""
        why = decline_problem(reason)
        if why:
            return {"ok": False, "op": "decline_handover", "code": "invalid", "message": why}
        return await self._send(c.DeclineHandover, case=case, reason=reason.strip())

    # 预约 for a caller on the phone (热线/电话预约), and 上门办: booked, helpers sent, done at the visitor's home

    @property
    def guide(self) -> GuideIndex | None:
        """The catalogue's search, built on first use (pinyin tables for every item take a moment)."""
        if self._guide is None and self.cfg is not None and self.cfg.catalogue is not None:
            self._guide = GuideIndex(self.cfg.catalogue)
        return self._guide

    def bookable_items(self, query: str = "", *, home_visit: bool = False) -> list[gb.ItemChoice]:
        if self.cfg is None:
            return []
        return gb.bookable_items(self.cfg, self.guide, query, home_visit=home_visit)

    def booking_days(self, item: str = "", *, group: str = "normal", now: datetime | None = None) -> list[date]:
        """The days a caller may be offered: the hall open, and (for an item) a time of it to book that day — a
        Saturday's extended hours take no home visits, so a 上门办 is not offered a Saturday."""
        if self.cfg is None:
            return []
        now = now or datetime.now(self.cfg.hall.tz)
        days = gb.booking_days(self.cfg, now)
        if not item:
            return days
        return [d for d in days if self.open_slots(item, d, group=group, now=now)]

    def open_slots(self, item: str, day: date, *, group: str = "normal",
                   now: datetime | None = None) -> list[gb.SlotRow]:
        """The day's times with 余 N, from the mirror, by the engine's own slot functions."""
        if self.cfg is None or self.state is None:
            return []
        return gb.slot_rows(self.cfg, self.state, item, day, now or datetime.now(self.cfg.hall.tz), group)

    async def hold_booking(self, item: str, start: datetime, name: str, phone: str, *, group: str = "normal",
                           address: str = "", needs: list[str] | None = None) -> dict[str, Any]:
        """The place held while the helper reads it back to the caller; booked for the caller (channel hotline),
        in the signed-in person's name. A form with gaps is refused here, in words, before anything is sent."""
        why = gb.form_problem(name, phone, address, home_visit=group == HOME_VISIT)
        if why:
            return {"ok": False, "op": "hold_booking", "code": "invalid", "message": why}
        return await self._send(c.HoldBooking, item=item, start=start, group=group, channel="hotline",
                                phone=phone.strip(), name=name.strip(), address=address.strip(),
                                needs=list(needs or []))

    async def hold_home_visit(self, item: str, start: datetime, name: str, phone: str, address: str,
                              needs: list[str] | None = None) -> dict[str, Any]:
        return await self.hold_booking(item, start, name, phone, group=HOME_VISIT, address=address, needs=needs)

    async def confirm_booking(self, code: str) -> dict[str, Any]:
        """After the read-back: the booking is made, its code read out to the caller (a second tap: the same)."""
        return await self._send(c.ConfirmBooking, code=code)

    async def cancel_booking(self, code: str, reason: str = "") -> dict[str, Any]:
        return await self._send(c.CancelBooking, code=code, reason=reason.strip())

    async def reschedule_booking(self, code: str, start: datetime) -> dict[str, Any]:
        return await self._send(c.RescheduleBooking, code=code, start=start)

    def helper_choices(self) -> list[tuple[str, str]]:
        return gb.helper_choices(self.state)

    def helpers_needed(self, code: str) -> int:
        """Two when the visitor's needs call for it (`[booking] two_helper_needs`), else one."""
        b = self.state.bookings.get(code) if self.state is not None else None
        return 2 if b is not None and self.cfg is not None and gb.needs_two(self.cfg, b.needs) else 1

    async def assign_home_visit(self, code: str, helpers: list[str], travel_minutes: int) -> dict[str, Any]:
        """The helpers sent, and the time on the road each way; one helper for a visit that needs two is said
        here, naming the need, so the helper on the phone can find a second before the hall refuses."""
        chosen = list(dict.fromkeys(h for h in helpers if h))
        if not chosen:
            return {"ok": False, "op": "assign_home_visit", "code": "invalid", "message": "请点选上门的帮办员"}
        if len(chosen) < self.helpers_needed(code):
            b = self.state.bookings[code] if self.state is not None else None
            need = "、".join(gb.needs_two(self.cfg, b.needs)) if b is not None and self.cfg is not None else ""
            return {"ok": False, "op": "assign_home_visit", "code": "two_helpers_needed",
                    "message": f"这位群众（{need}）要两名帮办员一起上门，请再选一位"}
        return await self._send(c.AssignHomeVisit, code=code, helpers=chosen, travel_minutes=travel_minutes)

    def my_home_visits(self, day: date | None = None) -> list[gb.VisitItem]:
        """The signed-in helper's visits of the day (today by default) in time order, with what this tablet has
        recorded and not yet sent shown as done."""
        if self.state is None or self.helper is None or self.cfg is None:
            return []
        tz = self.cfg.hall.tz
        waiting: dict[str, list[tuple[str, datetime]]] = {}
        for act in self.outbox.pending:
            waiting.setdefault(act.booking, []).append((act.op, act.done_at))
        return gb.home_visits(self.state, self.helper, day or datetime.now(tz).date(), tz, waiting)

    async def arrive_home_visit(self, code: str, *, done_at: datetime | None = None) -> dict[str, Any]:
        """到达: written on the tablet first (it may be out of the network), sent when the hall is reachable."""
        return self._record(c.ArriveHomeVisit, code=code, done_at=done_at)

    async def finish_home_visit(self, code: str, outcome: str, *, note: str = "", rating: int | None = None,
                                comment: str = "", done_at: datetime | None = None) -> dict[str, Any]:
        """办结 with the visitor's rating (5 非常满意 … 1 非常不满意), recorded like 到达."""
        return self._record(c.FinishHomeVisit, code=code, done_at=done_at, outcome=outcome, note=note.strip(),
                            rating=rating, comment=comment.strip())

    def _record(self, model: type[c.Cmd], **fields: Any) -> dict[str, Any]:
        op = model.model_fields["op"].default
        if self.helper is None:
            return {"ok": False, "op": op, "code": "not_signed_in", "message": STAFF_REFUSALS["not_signed_in"]}
        tz = self.cfg.hall.tz if self.cfg is not None else None
        now = datetime.now(tz) if tz is not None else datetime.now().astimezone()
        fields["done_at"] = fields.get("done_at") or now
        try:
            command = c.build(model, by=self.helper, request_id=uuid.uuid4().hex, **fields)
        except c.CommandInvalid as exc:
            return {"ok": False, "op": op, "code": "invalid", "message": str(exc)}
        try:
            act = self.outbox.record(command, now)
        except OSError as exc:  # the tablet's own disk: said, never a crash; the helper writes it on paper
            log.warning("outbox: could not record %s: %s", op, exc)
            return {"ok": False, "op": op, "code": "outbox_failed",
                    "message": f"没能记在平板上（{exc.strerror or exc}），请记在纸上，回大厅后补录"}
        self._kick.set()
        return {"ok": True, "op": op, "recorded": True,
                "result": {"code": act.booking, "done_at": act.done_at.isoformat(), "request_id": act.request_id}}

    def outbox_lines(self) -> list[tuple[str, str, bool]]:
        """(request id, words, refused) of every act on the tablet not yet settled, in the order done: "办结
        GF-20261124-001 09:48 待上传", or "未能上传：…" with the hall's reason."""
        tz = self.cfg.hall.tz if self.cfg is not None else None
        out = []
        for a in self.outbox.acts:
            when = f"{a.done_at.astimezone(tz):%m-%d %H:%M}"
            if a.status == "refused":
                why = gb.booking_words({"ok": False, "code": a.code, "message": a.message})
                out.append((a.request_id, f"未能上传：{a.kind_words} {a.booking}（{when} 做的）：{why}", True))
            else:
                out.append((a.request_id, f"{a.kind_words} {a.booking} {when} 已记录，待上传", False))
        return out

    def dismiss_outbox(self, request_id: str) -> bool:
        return self.outbox.dismiss(request_id)

    async def flush_outbox(self) -> FlushResult:
        """One round of sending what the tablet recorded, in order; nothing when the hall is out of reach."""
        async with self._flushing:
            if not self.outbox.pending or not self.client.connected.is_set():
                return FlushResult(waiting="" if not self.outbox.pending else "离线")
            result = await self.outbox.flush(lambda cmd: self.client.send(cmd, timeout=1.0, retries=2))
            if result.sent or result.refused:
                log.info("outbox: %d sent, %d refused, %d waiting", len(result.sent), len(result.refused),
                         len(self.outbox.pending))
            return result

    async def keep_sending(self, every: float = 3.0) -> None:
        """The outbox's loop for the tablet's life: a round after each act recorded, on reconnecting, and every
        few seconds; a fault in a round is logged and the next round comes."""
        was_connected = False
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), every)
            self._kick.clear()
            connected = self.client.connected.is_set()
            if connected and not was_connected:
                log.info("outbox: connected, %d acts to send", len(self.outbox.pending))
            was_connected = connected
            try:
                await self.flush_outbox()
            except Exception:  # never the end of the loop: the acts are safe on disk
                log.exception("outbox round failed")
