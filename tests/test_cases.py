"""The helpers' case records in the ledger: consultations with working-day deadlines, one-time notices,
delegation agreements and follow-ups with an owner — each replayable, each refused clearly when wrong."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from hall_bus.config import WorkCalendar
from hall_bus.domain.registry import apply_event
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.state import HallState
from hall_bus.domain.workdays import add_working_days

from .conftest import TZ, Hall


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def test_working_days_skip_weekends_and_holidays_and_count_swapped_workdays() -> None:
    cal = WorkCalendar(holidays=[date(2026, 11, 30)], workdays=[date(2026, 11, 28)])
    assert add_working_days(at(27, 16), 1, WorkCalendar()) == datetime(2026, 11, 30, 16, tzinfo=TZ)  # Fri → Mon
    assert add_working_days(at(27, 16), 1, cal) == at(28, 16)  # Saturday worked in exchange (调休上班)
    assert add_working_days(at(28, 16), 1, cal) == datetime(2026, 12, 1, 16, tzinfo=TZ)  # Sun off, Mon holiday
    assert add_working_days(at(29, 10), 1, WorkCalendar()) == datetime(2026, 11, 30, 10, tzinfo=TZ)  # asked Sun


def test_a_consultation_asked_on_friday_is_due_on_monday_and_turns_overdue_once(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    hall.wait((at(27, 16) - clock.now()).total_seconds())  # Friday 16:00
    r = hall("open_consultation", helper="xm-1", name="张秀英", contact="13812345678",
             question="异地就医备案需要什么材料？", service="医保")
    assert r["due"] == "2026-11-30T16:00:00+08:00" and not r["answered"]
    cid = r["consultation_id"]
    hall("refer_consultation", consultation_id=cid, by="xm-1", department="县医保局", note="政策咨询")
    hall.wait(3 * 86400 - 60)  # Monday 15:59: not yet overdue
    hall("tick")
    assert not hall.state.consultations[cid].overdue
    hall.wait(120)
    hall("tick")
    hall("tick")
    overdue = [e for e in hall.events if e["type"] == "consultation_overdue"]
    assert len(overdue) == 1 and overdue[0]["data"]["helper"] == "xm-1"
    late = hall("answer_consultation", consultation_id=cid, by="xm-1", answer="带身份证和参保凭证")
    assert late["late"] is True and hall.state.consultations[cid].status == "answered"
    with pytest.raises(CommandRejected, match="already answered"):
        hall("answer_consultation", consultation_id=cid, by="xm-2", answer="again")
    quick = hall("open_consultation", helper="xm-2", name="李四", question="几点下班？", answer="17:30")
    assert quick["answered"] and hall.state.consultations[quick["consultation_id"]].status == "answered"


def test_a_one_time_notice_lists_every_missing_material_once(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    listed = cfg.services_by_name["医保"].materials
    r = hall("issue_notice", service="医保", by="xm-1", missing=[*listed[:1], "村委会证明", "村委会证明"])
    assert r["items"] == [*listed[:1], "村委会证明"]
    assert r["text"].count("村委会证明") == 1 and "1. " in r["text"] and "2. " in r["text"]
    ev = next(e for e in hall.events if e["type"] == "notice_issued")
    assert ev["data"]["free_items"] == ["村委会证明"] and ev["data"]["notice_id"] == "N-000001"
    with pytest.raises(CommandRejected):
        hall("issue_notice", service="护照", by="xm-1", missing=["照片"])


def test_a_delegation_needs_its_signed_pages_and_ends_once_with_who_and_why(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    pages = [{"sha256": "a" * 64, "file": "D-000001-1.jpg"}, {"sha256": "b" * 64, "file": "D-000001-2.jpg"}]
    r = hall("record_delegation", helper="xm-1", principal="张秀英", services=["不动产"], pages=pages)
    did = r["delegation_id"]
    assert r["pages"] == 2 and hall.state.delegations[did].status == "signed"
    with pytest.raises(CommandRejected, match="say why"):
        hall("cancel_delegation", delegation_id=did, by="xm-1")
    hall("complete_delegation", delegation_id=did, by="xm-1", note="不动产登记已办结")
    assert hall.state.delegations[did].status == "completed"
    with pytest.raises(CommandRejected, match="already completed"):
        hall("cancel_delegation", delegation_id=did, by="xm-1", note="late")


def test_a_bad_rating_opens_a_follow_up_with_a_due_date_and_an_owner(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)  # Monday 09:00
    t = hall("issue", service="医保")
    hall("call_next", counter=10)
    hall("finish", counter=10)
    fid = hall("rate", ticket=t["ticket"], level=2)["followup_id"]
    assert hall.state.followups[fid].due_ts == datetime(2026, 11, 26, 9, tzinfo=TZ).timestamp()  # 3 working days
    r = hall("assign_followup", followup_id=fid, owner="xm-2", due=date(2026, 11, 25))
    assert r["due"] == "2026-11-25T17:30:00+08:00" and hall.state.followups[fid].owner == "xm-2"


def test_case_records_replay_to_the_same_state(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    hall("open_consultation", helper="xm-1", name="王五", question="营业执照年报？", service="企业开办")
    hall("record_delegation", helper="xm-1", principal="王五", services=["企业开办"],
         pages=[{"sha256": "c" * 64, "file": "p.jpg"}])
    hall("issue_notice", service="企业开办", by="xm-1", missing=["公章"])
    replayed = HallState()
    for ev in hall.events:
        apply_event(replayed, ev)
    live = hall.state
    assert replayed.consultations == live.consultations and replayed.delegations == live.delegations
    assert replayed.notice_count == live.notice_count == 1
    again = HallState.from_dict(live.to_dict())
    assert again.consultations == live.consultations and list(again.unanswered) == list(live.unanswered)


def test_a_saturday_question_turns_overdue_on_monday_morning_before_fridays(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    hall.wait((at(27, 16) - clock.now()).total_seconds())  # Friday 16:00: due Monday 16:00
    friday = hall("open_consultation", helper="xm-1", name="甲", question="周五的问题")["consultation_id"]
    hall.wait(18 * 3600)  # Saturday 10:00: due Monday 10:00
    saturday = hall("open_consultation", helper="xm-1", name="乙", question="周六的问题")["consultation_id"]
    hall.wait(2 * 86400 + 60)  # Monday 10:01
    assert hall.engine.work_due()  # the server sends a tick for it
    hall("tick")
    assert hall.state.consultations[saturday].overdue and not hall.state.consultations[friday].overdue


def test_a_follow_up_taken_by_one_helper_is_not_silently_taken_by_another(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    t = hall("issue", service="医保")
    hall("call_next", counter=10)
    hall("finish", counter=10)
    fid = hall("rate", ticket=t["ticket"], level=1)["followup_id"]
    hall("assign_followup", followup_id=fid, owner="王芳")
    with pytest.raises(CommandRejected) as taken:
        hall("assign_followup", followup_id=fid, owner="李强")
    assert taken.value.code == "followup_taken" and hall.state.followups[fid].owner == "王芳"


def test_notices_and_records_keep_the_tickets_id_and_refuse_another_service(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    t = hall("issue", service="医保")
    r = hall("issue_notice", service="医保", missing=["户口簿"], by="xm-1", ticket=t["number"].lower())
    ev = next(e for e in hall.events if e["type"] == "notice_issued")
    assert ev["data"]["ticket"] == t["ticket"] and ev["data"]["number"] == t["number"] and r["notice_id"]
    with pytest.raises(CommandRejected, match="is for 医保"):
        hall("issue_notice", service="税务", missing=["发票"], by="xm-1", ticket=t["ticket"])
