"""办件 end to end in the domain: a case of each kind from 受理 to 出件, due dates on the hall's calendar (a 补正
pause across a weekend moves the due date by exactly the paused working days), the report's 按时办结率 from the
ledger, replay, masking on the bus, and the refusals a clerk meets."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hall_bus.catalogue.model import Catalogue, Item, Step, TimeLimit
from hall_bus.clock import ManualClock
from hall_bus.config import HallConfig
from hall_bus.domain.casework import due_soon, overdue_cases, receipt_lines, working_days_between
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.state import HallState
from hall_bus.reports.casework import case_figures
from hall_bus.web.links import case_link

from .conftest import TZ, Hall

ID = "370322196611240018"
IMMEDIATE, PROMISED, MAJOR = "YB-0001", "YB-0002", "TZ-0001"


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def catalogue() -> Catalogue:
    def item(code: str, name: str, service: str, limit: TimeLimit, **kw: Any) -> Item:
        return Item(code=code, name=name, department="县医保局" if service == "医保" else "县发改局", service=service,
                    legal_limit=limit, promised_limit=limit, **kw)

    return Catalogue(county="平安县", items=[
        item(IMMEDIATE, "参保信息查询打印", "医保", TimeLimit(immediate=True)),
        item(PROMISED, "异地就医备案", "医保", TimeLimit(working_days=5), delegable=True),
        item(MAJOR, "企业投资项目核准", "投资项目", TimeLimit(working_days=7), major=True, steps=[
            Step(department="县发改局", name="受理审查", working_days=2),
            Step(department="县自然资源局", name="用地预审", working_days=3),
            Step(department="县生态环境局", name="环评审批", working_days=2)]),
    ])


@pytest.fixture
def ccfg(cfg: HallConfig) -> HallConfig:
    return cfg.model_copy(update={"catalogue": catalogue()})


@pytest.fixture
def hall(ccfg: HallConfig, clock: ManualClock) -> Hall:
    return Hall(ccfg, clock)


def go(hall: Hall, moment: datetime) -> None:
    hall.wait((moment - hall.clock.now()).total_seconds())


def accept(hall: Hall, item: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("counter", 10)
    return hall("accept_case", item=item, applicant="张秀英", id_number=ID, phone="13812345678", by="clerk-1", **kw)


def immediate_case(hall: Hall) -> str:
    go(hall, at(11, 23, 10))  # Monday
    r = accept(hall, IMMEDIATE)
    assert r["case"] == f"{hall.engine.cfg.hall.site_code}-20261123-0001" and r["kind"] == "immediate"
    assert r["due"] == "2026-11-23T17:30:00+08:00"  # 即办: the end of the same working day
    go(hall, at(11, 23, 10, 5))
    hall("start_case", case=r["case"], by="clerk-1")
    hall("conclude_case", case=r["case"], decision="approved", by="clerk-1")
    hall("deliver_case", case=r["case"], how="window", collector="张秀英", collector_id=ID, id_checked=True,
         by="clerk-1")
    hall("archive_case", case=r["case"], by="clerk-1")
    hall("rate_case", case=r["case"], level=5, by="clerk-1")
    return str(r["case"])


def promised_case_with_supplement(hall: Hall) -> str:
    go(hall, at(11, 25, 10))  # Wednesday: + 5 working days = Wednesday 2 December
    r = accept(hall, PROMISED)
    number = r["case"]
    assert r["due"] == "2026-12-02T17:30:00+08:00"
    hall("start_case", case=number, by="clerk-1")
    go(hall, at(11, 27, 10))  # Friday: 补正, the clock stops
    s = hall("request_supplement", case=number, missing=["户口簿", "参保凭证"], by="clerk-1", print_at="kiosk-1")
    assert "户口簿" in s["text"] and s["notice_id"] in hall.state.cases[number].notices
    go(hall, at(12, 1, 10))  # Tuesday: the materials came; paused Monday and Tuesday (the weekend is no working day)
    back = hall("resume_case", case=number, by="clerk-1")
    assert back["paused_days"] == 2 and back["due"] == "2026-12-04T17:30:00+08:00"
    go(hall, at(12, 4, 15))  # Friday 4 December: late against the first due date, on time against the true one
    done = hall("conclude_case", case=number, decision="approved", by="clerk-1")
    assert done["on_time"] is True
    hall("deliver_case", case=number, how="ems", tracking="EA123456789CN", by="clerk-1")
    return str(number)


def major_case(hall: Hall, week: int = 0) -> str:
    """The same weekdays `week` weeks later, so it can follow the other cases on one clock."""
    w = timedelta(weeks=week)
    go(hall, at(11, 23, 9, 30) + w)
    r = accept(hall, MAJOR, counter=3)
    number = r["case"]
    steps = hall.state.cases[number].steps
    dues = [datetime.fromtimestamp(s.due_ts, TZ) for s in steps]
    assert dues == [at(11, 25, 17, 30) + w, at(11, 30, 17, 30) + w, at(12, 2, 17, 30) + w]  # chained, weekends skipped
    assert r["due"] == (at(12, 2, 17, 30) + w).isoformat()
    hall("start_case", case=number, by="clerk-1")
    for i, tracker in enumerate(("gz-1", "gz-2", "gz-3"), 1):
        hall("assign_step", case=number, step=i, tracker=tracker, by="clerk-1")
    go(hall, at(11, 24, 11) + w)
    assert hall("finish_step", case=number, step=1, by="gz-1")["late"] is False
    go(hall, at(12, 1, 11) + w)  # step 2 was due Monday 30 November
    assert hall("finish_step", case=number, step=2, by="gz-2")["late"] is True
    go(hall, at(12, 2, 10) + w)
    assert hall("finish_step", case=number, step=3, by="gz-3")["late"] is False
    assert hall("conclude_case", case=number, decision="approved", by="clerk-1")["on_time"] is True
    hall("deliver_case", case=number, how="elicence", link="https://zwfw.example.gov.cn/licence/abc", by="clerk-1")
    return str(number)


def test_an_immediate_case_is_concluded_the_same_day_and_delivered_against_an_id_check(hall: Hall) -> None:
    number = immediate_case(hall)
    k = hall.state.cases[number]
    assert (k.status, k.on_time, k.delivery, k.rating, k.owner) == ("archived", True, "window", "非常满意", "clerk-1")
    assert [x["what"] for x in k.log][:3] == ["case_accepted", "case_started", "case_concluded"]
    assert all(x["by"] for x in k.log)  # every step on record with who did it
    ready = [e for e in hall.events if e["type"] == "case_result_ready"]
    assert len(ready) == 1 and number in ready[0]["data"]["text"]


def test_a_supplement_across_a_weekend_moves_the_due_date_by_the_paused_working_days(hall: Hall) -> None:
    number = promised_case_with_supplement(hall)
    k = hall.state.cases[number]
    assert k.paused_days == 2 and k.status == "delivered" and k.tracking == "EA123456789CN"
    slips = [j for j in hall.state.print_jobs.values() if j.slip.get("number") == number]
    assert len(slips) == 1 and slips[0].kiosk == "kiosk-1"  # the one-time notice, on paper
    assert not [e for e in hall.events if e["type"] == "case_overdue"]  # its clock stopped while it waited


def test_a_major_case_tracks_three_departments_steps_one_late(hall: Hall) -> None:
    number = major_case(hall)
    k = hall.state.cases[number]
    assert [s.tracker for s in k.steps] == ["gz-1", "gz-2", "gz-3"]
    assert all(s.finished_ts for s in k.steps) and k.on_time is True and k.delivery == "elicence"


def test_the_report_figures_count_cases_concluded_by_their_due_date(hall: Hall, ccfg: HallConfig) -> None:
    immediate_case(hall)
    promised_case_with_supplement(hall)
    major_case(hall, week=2)
    go(hall, at(12, 17, 9))
    late = accept(hall, PROMISED)["case"]  # due Thursday 24 December; concluded the Monday after: late
    hall("start_case", case=late, by="clerk-1")
    go(hall, at(12, 28, 9))
    hall("tick")
    hall("tick")
    assert [e["data"]["case"] for e in hall.events if e["type"] == "case_overdue"] == [late]  # once
    assert [k.number for k in overdue_cases(hall.state, hall.clock.now().timestamp())] == [late]
    with pytest.raises(CommandRejected, match="before the due date"):
        hall("delay_case", case=late, days=3, reason="部门会商", by="clerk-1")
    refused = hall("conclude_case", case=late, decision="refused", reason="不符合备案条件", by="clerk-1")
    assert refused["on_time"] is False
    fig = case_figures(hall.state.cases.values(), TZ, date(2026, 11, 1), date(2026, 12, 31), "month",
                       hall.clock.now(), ccfg.calendar)
    assert (fig.total.concluded, fig.total.on_time, fig.total.refused) == (4, 3, 1)
    assert fig.by["kind"]["承诺件"].rate == 0.5 and fig.by["kind"]["重大事项"].rate == 1.0
    assert fig.by["owner"]["clerk-1"].concluded == 4
    assert fig.by["window"]["3 号窗口"].on_time == 1
    assert set(fig.by["period"]) == {"2026-11", "2026-12"}


def test_due_soon_lists_running_cases_within_a_working_day(hall: Hall, ccfg: HallConfig) -> None:
    go(hall, at(11, 23, 10))
    soon = accept(hall, IMMEDIATE)["case"]
    later = accept(hall, PROMISED)["case"]
    assert [k.number for k in due_soon(hall.state, hall.clock.now(), ccfg.calendar)] == [soon]
    assert later.endswith("-0002")  # the serial per site per day


def test_a_delay_before_the_due_date_needs_a_reason_and_moves_the_date(hall: Hall) -> None:
    go(hall, at(11, 23, 10))
    number = accept(hall, PROMISED)["case"]  # due Monday 30 November
    r = hall("delay_case", case=number, days=2, reason="需县自然资源局现场核查", by="clerk-1")
    assert r["due"] == "2026-12-02T17:30:00+08:00" and hall.state.cases[number].delays == 2
    with pytest.raises(Exception, match="reason"):
        hall("delay_case", case=number, days=2, reason="", by="clerk-1")


def test_refusals_unknown_case_out_of_order_and_pickup_without_id_check(hall: Hall) -> None:
    with pytest.raises(CommandRejected, match="no case") as unknown:
        hall("start_case", case="HALL-20261123-0099", by="clerk-1")
    assert unknown.value.code == "unknown_case"
    number = immediate_case(hall)
    go(hall, at(11, 23, 11))
    fresh = accept(hall, IMMEDIATE)["case"]
    with pytest.raises(CommandRejected) as order:
        hall("conclude_case", case=fresh, decision="approved", by="clerk-1")  # not started
    assert order.value.code == "bad_state"
    with pytest.raises(CommandRejected) as order:
        hall("resume_case", case=fresh, by="clerk-1")
    assert order.value.code == "bad_state"
    hall("start_case", case=fresh, by="clerk-1")
    hall("conclude_case", case=fresh, decision="approved", by="clerk-1")
    with pytest.raises(CommandRejected) as no_id:
        hall("deliver_case", case=fresh, how="window", collector="张秀英", by="clerk-1")
    assert no_id.value.code == "id_not_checked" and hall.state.cases[fresh].status == "concluded"
    with pytest.raises(CommandRejected) as twice:
        hall("rate_case", case=number, level=1, by="clerk-1")
    assert twice.value.code == "already_rated"
    with pytest.raises(CommandRejected) as owner:
        hall("accept_case", item="XX-9999", applicant="李四", by="clerk-1")
    assert owner.value.code == "unknown_item"


def test_a_bad_rating_opens_a_follow_up_and_records_attach_to_the_case(hall: Hall) -> None:
    go(hall, at(11, 23, 10))
    hall("issue", service="医保")
    q = hall("open_consultation", helper="xm-1", name="张秀英", question="异地就医备案怎么办？")
    d = hall("record_delegation", helper="xm-1", principal="张秀英", services=["医保"],
             pages=[{"sha256": "0" * 64, "file": "D-000001-1.jpg"}])
    r = hall("accept_delegation", delegation_id=d["delegation_id"], item=PROMISED, id_number=ID, by="xm-1")
    number = r["case"]
    k = hall.state.cases[number]
    assert k.owner == "xm-1" and k.delegation == d["delegation_id"] and k.applicant == "张秀英"
    hall("attach_to_case", case=number, record="consultation", record_id=q["consultation_id"], by="xm-1")
    hall("continue_case", case=number, ticket="E001", by="xm-1")
    assert k.consultations == [q["consultation_id"]] and len(k.tickets) == 1
    from hall_bus.domain.commands import ChangeCaseOwner

    assert ChangeCaseOwner.duty == "supervisor"  # the server lets only a 督办员 send it
    hall("change_case_owner", case=number, owner="xm-2", reason="调岗", by="sup-1")
    hall("change_case_owner", case=number, owner="xm-1", reason="回原岗", by="sup-1")
    hall("start_case", case=number, by="xm-1")
    hall("conclude_case", case=number, decision="approved", by="xm-1")
    hall("deliver_case", case=number, how="window", collector="王五", collector_id=ID, id_checked=True, by="xm-1")
    bad = hall("rate_case", case=number, level="不满意", comment="跑了两趟", by="xm-1")
    f = hall.state.followups[bad["followup_id"]]
    assert f.case == number and k.followup == f.id and k.owner == "xm-1"


def test_the_receipt_masks_the_applicant_and_carries_the_case_number(hall: Hall) -> None:
    go(hall, at(11, 23, 10))
    r = accept(hall, MAJOR)
    text = "\n".join(r["receipt"])
    assert r["case"] in text and r["qr"] == case_link(hall.cfg, r["case"]) and "2026-12-02 17:30" in text
    assert "张秀英" not in text and ID not in text and "张**" in text and "3703**********0018" in text
    assert receipt_lines(hall.state.cases[r["case"]], "平安县政务服务中心", TZ) == r["receipt"]


def test_working_days_between_skips_the_weekend() -> None:
    from hall_bus.config import WorkCalendar

    assert working_days_between(date(2026, 11, 27), date(2026, 12, 1), WorkCalendar()) == 2
    assert working_days_between(date(2026, 11, 27), date(2026, 11, 27), WorkCalendar()) == 0


def test_replaying_the_events_rebuilds_the_same_cases(hall: Hall) -> None:
    immediate_case(hall)
    promised_case_with_supplement(hall)
    major_case(hall, week=2)
    again = HallState()
    from hall_bus.domain.registry import apply_event

    for ev in hall.events:
        apply_event(again, ev)
    assert again.to_dict()["cases"] == hall.state.to_dict()["cases"]
    assert (again.case_day, again.case_serial) == (hall.state.case_day, hall.state.case_serial)
    loaded = HallState.from_dict(hall.state.to_dict())
    assert loaded.to_dict() == hall.state.to_dict()


def test_the_reports_book_rebuilds_the_halls_cases_less_what_it_never_reads(hall: Hall) -> None:
    """The report's cases come from the domain's appliers, so hall and report agree by construction; the book
    empties the fields the report never reads to save memory. Were an applier ever to read one of those back,
    the rebuilt cases would differ from the hall's here."""
    from dataclasses import asdict

    from hall_bus.reports.casework import SHARED, UNREAD, CaseBook

    immediate_case(hall)
    promised_case_with_supplement(hall)
    major_case(hall, week=2)
    go(hall, at(12, 14, 10))
    number = accept(hall, PROMISED)["case"]
    hall("delay_case", case=number, days=2, reason="需现场核查", by="clerk-1")
    hall("change_case_owner", case=number, owner="xm-2", reason="调岗", by="sup-1")
    hall("start_case", case=number, by="xm-2")
    hall("conclude_case", case=number, decision="refused", reason="不符合条件", by="xm-2")
    book = CaseBook()
    on = book.handlers()
    for ev in hall.events:
        if ev["type"] in on:
            on[ev["type"]](ev.get("seq", 0), ev["at"], ev["data"])

    def kept(k: Any) -> dict[str, Any]:
        return {name: value for name, value in asdict(k).items() if name not in UNREAD}

    assert {n: kept(k) for n, k in book.state.cases.items()} == {n: kept(k) for n, k in hall.state.cases.items()}
    assert len(book.cases()) == 4 and not any(k.log or k.id_number or k.phone or k.collector for k in book.cases())
    assert len({id(k.item_name) for k in book.cases() if k.item == PROMISED}) == 1  # one copy of each text
    assert set(SHARED) <= set(kept(book.cases()[0]))


def test_the_bus_masks_applicants_and_collectors(hall: Hall) -> None:
    from hall_bus.wire.redact import public_event, public_state

    number = immediate_case(hall)
    for ev in hall.events:
        if ev["type"] in ("case_accepted", "case_delivered"):
            shown = str(public_event(ev, hall.state)["data"])
            assert "张秀英" not in shown and ID not in shown and "13812345678" not in shown
    state = public_state(hall.state.to_dict())
    assert state["cases"][number]["applicant"] == "张**" and ID not in str(state["cases"])


def test_the_report_from_the_ledger_has_a_case_sheet(ccfg: HallConfig, clock: ManualClock, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    from hall_bus.reports import ReportRequest, build_report
    from hall_bus.store.core import HallCore

    core = HallCore(ccfg, tmp_path, clock)
    try:
        def send(op: str, **kw: Any) -> dict[str, Any]:
            answer = core.submit({"op": op, **kw})
            assert answer.get("ok", True) is not False, answer
            return answer

        clock.advance((at(11, 23, 10) - clock.now()).total_seconds())
        case = send("accept_case", item=IMMEDIATE, applicant="张秀英", id_number=ID, counter=10, by="clerk-1")
        number = case.get("case") or case["result"]["case"]
        send("start_case", case=number, by="clerk-1")
        send("conclude_case", case=number, decision="approved", by="clerk-1")
    finally:
        core.close()
    out = tmp_path / "r.xlsx"
    result = build_report(ReportRequest(ccfg, tmp_path, date(2026, 11, 23), date(2026, 11, 23), [out]))
    fig = result.extra["casework"]
    assert (fig.total.concluded, fig.total.on_time) == (1, 1)
    book = openpyxl.load_workbook(out)
    figures = [c for row in book["办件"].iter_rows(values_only=True) for c in row if c is not None]
    assert "本期办结 concluded（1 件）：见「办结清单」sheet" in figures and "张秀英" not in figures
    listed = list(book["办结清单"].iter_rows(values_only=True))  # streamed: a year's list is long
    assert len(listed) == 2 and listed[1][0] == number and listed[1][3] == "张**" and listed[1][-2:] == ("准予", "是")
    assert not any("张秀英" in str(c) for row in listed for c in row)


def test_the_report_reads_the_cases_of_the_whole_ledger_in_its_one_pass(ccfg: HallConfig, clock: ManualClock,
                                                                          tmp_path: Path) -> None:
    """A case accepted before the range and concluded in it counts as concluded (not as accepted); one accepted in
    the range and concluded after it counts as accepted, and the list shows where each stands at the newest event.
    The case events come from the visits' own pass: each once, in ledger order, before, in and after the range."""
    from hall_bus.reports import ReportRequest, build_report
    from hall_bus.reports.cases import CaseReader, LedgerSnapshot
    from hall_bus.reports.casework import CASE_EVENTS
    from hall_bus.store.core import HallCore

    core = HallCore(ccfg, tmp_path, clock)
    try:
        def send(op: str, **kw: Any) -> str:
            answer = core.submit({"op": op, **kw})
            assert answer.get("ok", True) is not False, answer
            return str((answer.get("result") or answer).get("case", ""))

        def go_to(moment: datetime) -> None:
            clock.advance((moment - clock.now()).total_seconds())

        go_to(at(11, 23, 10))  # Monday, before the range
        early = send("accept_case", item=PROMISED, applicant="张秀英", id_number=ID, counter=10, by="clerk-1")
        send("start_case", case=early, by="clerk-1")
        go_to(at(11, 25, 10))  # Wednesday, the range
        send("conclude_case", case=early, decision="approved", by="clerk-1")
        late = send("accept_case", item=PROMISED, applicant="李四", id_number=ID, counter=10, by="clerk-1")
        send("start_case", case=late, by="clerk-1")
        go_to(at(11, 27, 10))  # Friday, after the range
        send("conclude_case", case=late, decision="refused", reason="不符合条件", by="clerk-1")
        send("deliver_case", case=early, how="ems", tracking="EA123456789CN", by="clerk-1")
    finally:
        core.close()
    wednesday = date(2026, 11, 25)
    fig = build_report(ReportRequest(ccfg, tmp_path, wednesday, wednesday, [tmp_path / "r.xlsx"])).extra["casework"]
    assert (fig.accepted, fig.total.concluded, fig.total.on_time) == (1, 1, 1)
    assert [(k.number, k.status) for k in fig.concluded_cases] == [(early, "delivered")]  # as of the newest event
    snap = LedgerSnapshot(tmp_path)
    try:
        every = [seq for seq, *_ in snap.rows(0, snap.last_seq, CASE_EVENTS)]
        seen: list[int] = []
        reader = CaseReader(snap, TZ, ccfg.hall.day_rollover, wednesday, wednesday,
                            everywhere=dict.fromkeys(CASE_EVENTS, lambda seq, at, d: seen.append(seq)))
        list(reader)
        assert seen == every and reader.first_seq > every[0] and reader.late_seq < every[-1]
    finally:
        snap.close()


def test_with_a_roster_only_its_trackers_track_a_major_cases_steps(hall: Hall) -> None:
    from hall_bus.domain.staff import hash_pin

    pin = hash_pin("2468")
    hall("add_staff", staff="clerk-1", name="李娜", duties=["clerk"], pin_hash=pin)
    hall("add_staff", staff="gz-1", name="赵强", duties=["tracker"], pin_hash=pin)
    hall("add_staff", staff="bb-1", name="小满", duties=["helper"], pin_hash=pin)
    go(hall, at(11, 23, 9, 30))
    number = accept(hall, MAJOR, counter=3)["case"]
    with pytest.raises(CommandRejected) as refused:
        hall("assign_step", case=number, step=1, tracker="bb-1", by="clerk-1")
    assert refused.value.code == "not_a_tracker" and "bb-1" in refused.value.message
    assert hall("assign_step", case=number, step=1, tracker="gz-1", by="clerk-1")["tracker"] == "gz-1"
