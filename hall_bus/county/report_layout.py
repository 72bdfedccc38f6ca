"""What the county report's tables show, shared by the XLSX and the PDF so the two cannot drift apart.

Only counts and rates appear, and names of sites, services, windows and staff (from the county file's
rosters): the county report is read across the county, and nothing in it is a citizen's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hall_bus.county.report import CountyFigures, Tally
from hall_bus.county.words import LEVEL_NAMES

# (title, Tally attribute, kind): kind "int" a count, "pct" a rate (0–1, shown as a percentage), "num" hours.
Column = tuple[str, str, str]
COLUMNS: tuple[Column, ...] = (
    ("受理", "accepted", "int"), ("办结", "concluded", "int"), ("按时办结", "on_time", "int"),
    ("按时办结率", "on_time_rate", "pct"), ("来访人次", "visits", "int"), ("评价数", "rated", "int"),
    ("满意", "satisfied", "int"), ("满意率", "satisfaction_rate", "pct"), ("投诉", "complaints", "int"),
    ("投诉按时办结", "complaints_on_time", "int"), ("投诉及时处理率", "complaint_rate", "pct"),
    ("咨询", "consultations", "int"), ("咨询逾期", "consultations_overdue", "int"),
    ("回访整改", "followups", "int"), ("已整改", "followups_closed", "int"), ("整改及时率", "followup_rate", "pct"),
    ("转出", "handovers_sent", "int"), ("转入", "handovers_addressed", "int"), ("已接收", "handovers_received", "int"),
    ("转办及时率", "handover_rate", "pct"), ("超时升级", "handovers_escalated", "int"),
    ("办理时长均值(小时)", "hold_hours_avg", "num"), ("办理时长p90(小时)", "hold_hours_p90", "num"),
)
PDF_COLUMNS: tuple[Column, ...] = tuple(c for c in COLUMNS if c[1] in {
    "accepted", "concluded", "on_time_rate", "rated", "satisfaction_rate", "complaints", "complaint_rate",
    "consultations_overdue", "followups", "followups_closed", "handovers_sent", "handovers_addressed",
    "handovers_escalated", "hold_hours_avg", "hold_hours_p90"})
NO_HOLD = frozenset({"hold_hours_avg", "hold_hours_p90"})  # a window or a person holds no hand-overs


def cell(t: Tally, attr: str) -> Any:
    """The value as a number (None when there is nothing to divide by: the cell is left empty, not 0%)."""
    return getattr(t, attr)


@dataclass
class Breakdown:
    title: str  # the sheet's and the section's name
    keys: tuple[str, ...]  # the titles of the columns that say what a row is
    rows: list[tuple[list[Any], Tally]]
    hold: bool = True  # whether the hand-over holding times mean anything here


def _level_name(code: str) -> str:
    return LEVEL_NAMES.get(code, code or "未知")


def breakdowns(fig: CountyFigures) -> list[Breakdown]:
    """The report's tables, in the order both outputs show them."""
    name = fig.site_names.get
    levels = [([_level_name(code)], t) for code, t in fig.ordered_levels()] + [(["合计"], fig.total)]
    sites = [([code, name(code, code), _level_name(fig.level_of(code)), fig.site_parents.get(code) or ""], t)
             for code, t in fig.ordered_sites()]
    services = [([s], t) for s, t in sorted(fig.services.items())]
    order = {code: i for i, code in enumerate(fig.site_names)}
    windows = [([site, name(site, site), counter], t)
               for (site, counter), t in sorted(fig.windows.items(), key=lambda kv: (order.get(kv[0][0], 1e9), kv[0]))]
    persons = [([staff, fig.person_names.get(staff, ""), site, name(site, site)], t)
               for (site, staff), t in sorted(fig.persons.items(), key=lambda kv: (order.get(kv[0][0], 1e9), kv[0]))]
    return [
        Breakdown("按层级", ("层级",), levels),
        Breakdown("按站点", ("站点代码", "站点", "层级", "上级"), sites),
        Breakdown("按事项类别", ("事项类别",), services, hold=False),
        Breakdown("按窗口", ("站点代码", "站点", "窗口"), windows, hold=False),
        Breakdown("按人员", ("人员编号", "姓名", "站点代码", "站点"), persons, hold=False),
    ]


def summary_lines(fig: CountyFigures, county_name: str, pct: Callable[[float | None], str]) -> list[str]:
    """The few sentences the PDF opens with and the XLSX's 说明 sheet repeats."""
    t = fig.total
    by_level = "；".join(f"{_level_name(code)} 受理 {x.accepted} 件、按时办结率 {pct(x.on_time_rate)}、满意率 "
                        f"{pct(x.satisfaction_rate)}" for code, x in fig.ordered_levels())
    return [
        f"{county_name} {fig.start} 至 {fig.end}：{len(fig.sites)} 个站点有数据，来访 {t.visits} 人次，受理办件 "
        f"{t.accepted} 件，办结 {t.concluded} 件，按时办结率 {pct(t.on_time_rate)}；评价 {t.rated} 次，满意率 "
        f"{pct(t.satisfaction_rate)}。",
        f"投诉 {t.complaints} 件，及时处理率 {pct(t.complaint_rate)}；咨询 {t.consultations} 件，逾期 "
        f"{t.consultations_overdue} 件；回访整改 {t.followups} 件，已整改 {t.followups_closed} 件；转办 "
        f"{t.handovers_sent} 件，超时升级督办 {t.handovers_escalated} 件。",
        f"分层级：{by_level}。" if by_level else "本期无数据。",
        "口径：按时办结＝办结（准予或不予）不晚于承诺办结时间，补正期间不计时、书面延期计入；满意率＝非常满意、满意、"
        "基本满意占评价数；投诉及时处理率＝按期办结的投诉占已到期或已办结的投诉；转办办理时长＝接收至退回结果。"
        "与各站点台账的口径相同。",
    ]
