"""办件 figures for the 台账: 按时办结率 per service, item, window, first-responsible person, kind and period, and
the supervisor's overdue and due-soon lists.

按时办结率 is about cases, not visits: a case concluded (准予 or 不予) on or before its due date, over the cases
concluded in the period. The due date already excludes 补正 time (the engine moved it by the paused working days
when the case resumed) and includes written delays, so "on time" here is the engine's own `on_time`, decided
once when the case was concluded. The counter-minutes figure elsewhere in the report is a different thing, and is
labelled as such (限时内办完率, served within the promised wait).

A case handed to another site (转办) counts in each site's own 台账 where it was concluded: at the site that
concluded it and sent the result back (its status there is 已回传), and at the origin when the result came back
(concluded with that site's decision, time and `on_time`, against the due date as moved there). A county-wide
figure counts a case number once, at its origin (the site whose prefix it bears).

Cases are rebuilt from the ledger by the domain's own appliers (only the case events), so the report and the
hall agree on every case by construction. Pure functions take the rebuilt cases; `CaseBook` is fed the case
events by the report's one pass over the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hall_bus.clock import EventTimes
from hall_bus.config import WorkCalendar
from hall_bus.domain import casework, handover
from hall_bus.domain.registry import APPLIERS
from hall_bus.domain.state import CaseRecord, HallState
from hall_bus.reports.summary import period_of

# The events that make a case: casework's and 转办's (a case received from another site, a result come back).
CASE_EVENTS = tuple(sorted(k for k, fn in APPLIERS.items() if fn.__module__ in (casework.__name__, handover.__name__)))
DIMENSIONS = ("service", "item", "window", "owner", "kind", "period")


@dataclass
class CaseTally:
    concluded: int = 0
    on_time: int = 0
    refused: int = 0

    @property
    def rate(self) -> float | None:
        return self.on_time / self.concluded if self.concluded else None

    def add(self, k: CaseRecord) -> None:
        self.concluded += 1
        self.on_time += bool(k.on_time)
        self.refused += k.decision == "refused"


@dataclass
class CaseFigures:
    """What the report shows of cases: totals and tallies of cases concluded in the range, and where the open
    ones stand at `as_of` (overdue, due soon)."""

    total: CaseTally = field(default_factory=CaseTally)
    by: dict[str, dict[str, CaseTally]] = field(default_factory=lambda: {d: {} for d in DIMENSIONS})
    accepted: int = 0  # accepted in the range
    extended_accepted: dict[str, int] = field(default_factory=dict)  # of them, in an extended session, by kind
    overdue: list[CaseRecord] = field(default_factory=list)
    due_soon: list[CaseRecord] = field(default_factory=list)
    concluded_cases: list[CaseRecord] = field(default_factory=list)
    who: Callable[[str], str] = str  # staff id → 王芳（0231）, as the rest of the report names people


def _local_day(ts: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, tz).date().isoformat()


def keys_of(k: CaseRecord, tz: ZoneInfo, by: str, names: Callable[[str], str] = str) -> dict[str, str]:
    """The tally a concluded case counts in, per dimension (the period is the one it was concluded in)."""
    assert k.concluded_ts is not None
    return {"service": k.service, "item": f"{k.item_name}（{k.item}）",
            "window": f"{k.counter} 号窗口" if k.counter else "代办/无窗口", "owner": names(k.owner),
            "kind": casework.KIND_NAMES.get(k.kind, k.kind), "period": period_of(_local_day(k.concluded_ts, tz), by)}


def case_figures(cases: Iterable[CaseRecord], tz: ZoneInfo, first: date, last: date, by: str, as_of: datetime,
                 cal: WorkCalendar, names: Callable[[str], str] = str) -> CaseFigures:
    """按时办结率 of the cases concluded in `first`..`last` (hall-local dates), and the open cases' standing."""
    fig = CaseFigures(who=names)
    lo, hi = first.isoformat(), last.isoformat()
    st = HallState()
    for k in cases:
        if lo <= _local_day(k.accepted_ts, tz) <= hi:
            fig.accepted += 1
            if k.session_kind:
                fig.extended_accepted[k.session_kind] = fig.extended_accepted.get(k.session_kind, 0) + 1
        st.cases[k.number] = k
        if k.concluded_ts is None or not lo <= _local_day(k.concluded_ts, tz) <= hi:
            continue
        fig.total.add(k)
        fig.concluded_cases.append(k)
        for dim, key in keys_of(k, tz, by, names).items():
            fig.by[dim].setdefault(key, CaseTally()).add(k)
    fig.overdue = casework.overdue_cases(st, as_of.timestamp())
    fig.due_soon = casework.due_soon(st, as_of, cal)
    return fig


# What the report never reads of a case and no applier reads back (each is only ever set, appended to or
# replaced): emptied after every event. Mostly the applicant's and the collector's personal data, which the report
# has no business holding; `log`, the case's history, was >300 MB for a year on its own.
UNREAD = ("log", "tickets", "consultations", "notices", "missing", "id_number", "phone", "reason", "collector",
          "collector_id", "tracking", "link", "handed_by")
# Texts most cases repeat (the item, its name, the owner, the decision): held once, not once per case.
SHARED = ("item", "item_name", "service", "kind", "owner", "decision", "delivery", "rating", "session",
          "session_kind")


class CaseBook:
    """Every case in the ledger as the hall holds it, rebuilt by the domain's appliers from the case events, less
    what the report never reads (`UNREAD`): a year is 80,000 cases, 145 MB whole, 82 MB so.

    It reads no ledger itself: `handlers()` go to the visits' reader (`CaseReader(everywhere=...)`), which reads
    the case events of the whole ledger in its own pass, so a year is read once, not once for the visits and
    again for the cases."""

    def __init__(self) -> None:
        self.state = HallState()
        self._texts: dict[str, str] = {}
        self._times = EventTimes()

    def handlers(self) -> dict[str, Callable[[int, str, dict[str, Any]], None]]:
        return {kind: self._applier(APPLIERS[kind]) for kind in CASE_EVENTS}

    def _applier(self, apply: Callable[[HallState, float, dict[str, Any]], None]) -> Callable[..., None]:
        st = self.state
        cases = st.cases
        ts = self._times.ts

        def applied(seq: int, at: str, d: dict[str, Any]) -> None:
            apply(st, ts(at), d)
            case = cases.get(d.get("case", ""))
            if case is not None:
                self._slim(case)

        return applied

    def _slim(self, k: CaseRecord) -> None:
        """`UNREAD` emptied and `SHARED` made one copy each; written out, not looped over by name, as it runs
        after each of a year's 400,000 case events (a loop of setattr cost 11% of the pass, this 4%)."""
        k.log.clear()
        k.tickets.clear()
        k.consultations.clear()
        k.notices.clear()
        k.missing.clear()
        k.id_number = k.phone = k.reason = k.collector = k.collector_id = k.tracking = k.link = ""
        k.handed_by = None
        share = self._texts.setdefault
        k.item, k.item_name = share(k.item, k.item), share(k.item_name, k.item_name)
        k.service, k.kind, k.owner = share(k.service, k.service), share(k.kind, k.kind), share(k.owner, k.owner)
        if k.decision is not None:
            k.decision = share(k.decision, k.decision)
        if k.delivery is not None:
            k.delivery = share(k.delivery, k.delivery)
        if k.rating is not None:
            k.rating = share(k.rating, k.rating)
        if k.session is not None and k.session_kind is not None:
            k.session, k.session_kind = share(k.session, k.session), share(k.session_kind, k.session_kind)

    def cases(self) -> list[CaseRecord]:
        return list(self.state.cases.values())


# ---------------------------------------------------------------------- rows both outputs share

TALLY_TITLES = ("办结", "按时办结", "按时办结率", "不予")
LIST_TITLES = ("办件编号", "事项", "类型", "申请人", "首问负责人", "窗口", "受理", "承诺办结", "状态", "补正(工作日)",
               "延期(工作日)")
DIM_TITLES = {"service": "按事项类别", "item": "按事项", "window": "按窗口", "owner": "按首问负责人",
              "kind": "按办件类型", "period": "按期间"}


def tally_row(name: str, t: CaseTally) -> list[Any]:
    return [name, t.concluded, t.on_time, t.rate, t.refused]


def case_line(k: CaseRecord, tz: ZoneInfo, mask: Callable[[str], str], names: Callable[[str], str] = str) -> list[Any]:
    """One case on a list (overdue, due soon, concluded): the applicant through `mask` (the report's masking)."""
    when = "%Y-%m-%d %H:%M"
    return [k.number, k.item_name, casework.KIND_NAMES.get(k.kind, k.kind), mask(k.applicant), names(k.owner),
            k.counter or "", datetime.fromtimestamp(k.accepted_ts, tz).strftime(when),
            datetime.fromtimestamp(k.due_ts, tz).strftime(when), casework.STATUS_NAMES.get(k.status, k.status),
            k.paused_days, k.delays]


CONCLUDED_COLUMNS: tuple[tuple[str, float], ...] = tuple(zip(
    (*LIST_TITLES, "结果", "按时"), (24, 20, 10, 9, 14, 8, 17, 17, 9, 10, 10, 8, 6), strict=True))


def concluded_rows(fig: CaseFigures, tz: ZoneInfo, mask: Callable[[str], str]) -> Iterable[list[Any]]:
    """The 办结清单 sheet's rows: every case concluded in the period, with its decision and whether on time."""
    for k in fig.concluded_cases:
        yield [*case_line(k, tz, mask, fig.who), casework.DECISION_NAMES.get(k.decision or "", ""),
               "是" if k.on_time else "否"]


def write_case_sheet(book: Any, ws: Any, fig: CaseFigures, tz: ZoneInfo, mask: Callable[[str], str]) -> None:
    """The 办件 sheet: 按时办结率 overall and per dimension, then the overdue, due-soon and concluded lists."""
    from hall_bus.reports.xlsx import _safe_row

    ws.write_row(0, 0, ["按时办结率 on-time completion (办件)", "受理", *TALLY_TITLES[:2], "按时办结率"],
                 book.header)
    ws.write_row(1, 0, ["合计 total", fig.accepted, fig.total.concluded, fig.total.on_time])
    if fig.total.rate is not None:
        ws.write_number(1, 4, fig.total.rate, book.pct)
    row = 3
    for dim in DIMENSIONS:
        ws.write_row(row, 0, [DIM_TITLES[dim], *TALLY_TITLES], book.header)
        for name, t in sorted(fig.by[dim].items()):
            row += 1
            ws.write_row(row, 0, _safe_row([name, t.concluded, t.on_time]))
            if t.rate is not None:
                ws.write_number(row, 3, t.rate, book.pct)
            ws.write_number(row, 4, t.refused)
        row += 2
    for title, cases in (("逾期未办结 overdue", fig.overdue), ("即将到期 due soon", fig.due_soon)):
        ws.write_string(row, 0, f"{title}（{len(cases)} 件）", book.bold)
        row += 1
        ws.write_row(row, 0, list(LIST_TITLES), book.header)
        for k in cases:
            row += 1
            ws.write_row(row, 0, _safe_row(case_line(k, tz, mask, fig.who)))
        row += 2
    ws.write_string(row, 0, f"本期办结 concluded（{len(fig.concluded_cases)} 件）：见「办结清单」sheet", book.bold)
    for col, width in enumerate((24, 20, 10, 9, 14, 8, 17, 17, 9, 10, 10, 8, 6)):
        ws.set_column(col, col, width)


def pdf_section(fig: CaseFigures, tz: ZoneInfo, mask: Callable[[str], str], st: dict[str, Any],
                grid: Callable[..., Any], width: float, limit: int) -> list[Any]:
    """The PDF's 办件 section: the headline rate, per kind and per service, and the overdue list."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v * 100:.1f}%"

    t = fig.total
    out: list[Any] = [Paragraph("办件", st["h1"]), Paragraph(
        f"按时办结率 {pct(t.rate)}（按时办结 {t.on_time} / 办结 {t.concluded}）；本期受理 {fig.accepted} 件，"
        f"逾期未办结 {len(fig.overdue)} 件，即将到期 {len(fig.due_soon)} 件。按时办结：办结（准予或不予）"
        "不晚于承诺办结时间；补正期间不计时，书面延期计入。", st["body"])]
    for dim in ("kind", "service", "owner"):
        rows = [[DIM_TITLES[dim], *TALLY_TITLES]]
        rows += [[n, x.concluded, x.on_time, pct(x.rate), x.refused] for n, x in sorted(fig.by[dim].items())]
        if len(rows) > 1:
            out += [Paragraph(DIM_TITLES[dim], st["h2"]), grid(rows, [width - 80 * mm] + [20 * mm] * 4)]
    if fig.overdue:
        out.append(Paragraph(f"逾期未办结（{len(fig.overdue)} 件）", st["h2"]))
        rows = [["办件编号", "事项", "申请人", "首问负责人", "承诺办结", "状态"]]
        for k in fig.overdue[:limit]:
            line = case_line(k, tz, mask, fig.who)
            rows.append([line[0], line[1], line[3], line[4], line[7], line[8]])
        out.append(grid(rows, [34 * mm, width - 128 * mm, 16 * mm, 28 * mm, 30 * mm, 20 * mm], align_from=99))
    return out
