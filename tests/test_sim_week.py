"""A simulated week through a real ledger, as `make demo` makes it: every kind of case, 补正 pauses, late cases,
every way of delivery, complaints and tablet-only records — and the week report's 办件 figures are the cases'."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hall_bus.clock import ManualClock
from hall_bus.config import HallConfig
from hall_bus.domain.casework import KIND_NAMES
from hall_bus.reports.build import ReportRequest, build_report
from hall_bus.sim.casesim import fate
from hall_bus.sim.daysim import DayPlan, run_day
from hall_bus.store.core import HallCore

MONDAY = date(2026, 11, 23)


def simulate_week(cfg: HallConfig, data: Path, visitors: int = 200) -> tuple[Any, list[str]]:
    """Seven days on one ledger, each its own run as `hallctl simulate --day --data` does."""
    problems: list[str] = []
    state = None
    for i in range(7):
        plan = DayPlan(visitors=visitors, helpers=8, seed=i + 1, day=MONDAY + timedelta(days=i))
        clock = ManualClock(datetime.combine(plan.day, plan.open_at, cfg.hall.tz), cfg.hall.tz)
        core = HallCore(cfg, data, clock)
        sink: list[dict[str, Any]] = []

        def submit(cmd: Any, core: HallCore = core, sink: list[dict[str, Any]] = sink) -> dict[str, Any]:
            answer = core.submit(cmd)
            sink.extend(answer.get("events", []))
            return answer

        try:
            report = run_day(cfg, plan, submit=submit, clock=clock, sink=sink, state=lambda core=core: core.state)
            problems += report.problems
            state = core.state
        finally:
            core.close()
    return state, problems


def paused_over_a_weekend(k: Any, cfg: HallConfig) -> bool:
    """A 补正 pause with a Saturday or Sunday inside it (the due date moves by working days only)."""
    tz = cfg.hall.tz
    asked = [datetime.fromtimestamp(e["ts"], tz).date() for e in k.log if e["what"] == "case_supplement_requested"]
    back = [datetime.fromtimestamp(e["ts"], tz).date() for e in k.log if e["what"] == "case_resumed"]
    return any(any((a + timedelta(days=d)).weekday() >= 5 for d in range(1, (b - a).days + 1))
               for a, b in zip(asked, back, strict=False))


@pytest.fixture(scope="module")
def week(cfg: HallConfig, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, list[str]]:
    data = tmp_path_factory.mktemp("week")
    state, problems = simulate_week(cfg, data)
    return state, data, problems


def test_the_week_has_cases_of_every_kind_through_every_state(week, cfg: HallConfig) -> None:  # type: ignore[no-untyped-def]
    state, _data, problems = week
    assert problems == []  # nothing the engine refused that the simulation did not expect
    cases = list(state.cases.values())
    kinds = Counter(k.kind for k in cases)
    assert set(kinds) == {"immediate", "promised", "major"}
    immediate = [k for k in cases if k.kind == "immediate"]
    assert all(k.status == "archived" for k in immediate)
    assert all(datetime.fromtimestamp(k.concluded_ts, cfg.hall.tz).date() ==
               datetime.fromtimestamp(k.accepted_ts, cfg.hall.tz).date() for k in immediate)  # 当天办结
    promised = [k for k in cases if k.kind == "promised" and k.concluded_ts is not None]
    assert any(k.concluded_ts - k.accepted_ts > 86400 for k in promised)  # concluded days later
    assert any(k.on_time is False for k in promised) and any(k.on_time for k in promised)  # a few late
    assert any(k.paused_days > 0 for k in cases)  # 补正 moved a due date
    assert any(paused_over_a_weekend(k, cfg) for k in cases)
    major = [k for k in cases if k.kind == "major"]
    assert any(k.concluded_ts is not None and all(s.finished_ts for s in k.steps) and len(k.steps) >= 3
               for k in major)
    assert {k.delivery for k in cases} >= {"window", "ems", "elicence"}
    assert any(k.status == "archived" for k in promised)
    assert any(k.rating in ("不满意", "非常不满意") and k.followup for k in cases)
    assert any(k.delegation is not None and k.counter is None for k in cases)  # 代办 from a tablet
    assert any(d.ticket is None for d in state.delegations.values())
    assert Counter(q.status for q in state.complaints.values()).keys() >= {"closed", "open"}


def test_the_week_report_shows_the_cases_by_kind(week, cfg: HallConfig, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state, data, _ = week
    res = build_report(ReportRequest(cfg, data, MONDAY, MONDAY + timedelta(days=6),
                                     [tmp_path / "week.xlsx", tmp_path / "week.pdf"]))
    fig = res.extra["casework"]
    cases = list(state.cases.values())
    concluded = [k for k in cases if k.concluded_ts is not None]
    assert fig.accepted == len(cases) and fig.total.concluded == len(concluded)
    assert fig.total.on_time == sum(bool(k.on_time) for k in concluded)
    for kind, name in KIND_NAMES.items():
        mine = [k for k in concluded if k.kind == kind]
        tally = fig.by["kind"][name]
        assert (tally.concluded, tally.on_time) == (len(mine), sum(bool(k.on_time) for k in mine))
    assert (tmp_path / "week.pdf").stat().st_size > 0


def test_a_case_fate_is_decided_by_its_number_alone(cfg: HallConfig) -> None:
    item = cfg.catalogue.item("QR-379901-BDC-001")  # type: ignore[union-attr]
    assert fate("PA-20261123-0001", item) == fate("PA-20261123-0001", item)
    assert {fate(f"PA-20261123-{n:04d}", item).days for n in range(1, 200)} >= {1, 2, 3, 4}  # 4: late


def test_the_week_pdf_has_the_complaints_and_the_records(week, cfg: HallConfig, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pdfium = pytest.importorskip("pypdfium2")
    state, data, _ = week
    out = tmp_path / "week.pdf"
    build_report(ReportRequest(cfg, data, MONDAY, MONDAY + timedelta(days=6), [out]))
    doc = pdfium.PdfDocument(out)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    closed = sum(1 for q in state.complaints.values() if q.status == "closed")
    assert f"收到投诉 {len(state.complaints)} 件，已办结 {closed} 件" in text and "投诉及时处理率" in text
    untickets = sum(1 for d in state.delegations.values() if d.ticket is None)
    assert "告知与代办记录" in text and f"无票号的代办协议（{untickets} 件）" in text
    assert "按办件类型" in text and "重大事项" in text
    for d in state.delegations.values():
        assert d.principal not in text  # masked, as on every sheet
