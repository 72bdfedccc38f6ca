"""Each queue rule, as counter staff, greeters and visitors meet it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hall_bus.domain.engine import CommandRejected

from .conftest import TZ, Hall


def rejected(hall: Hall, op: str, **kw) -> CommandRejected:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandRejected) as info:
        hall(op, **kw)
    return info.value


# ---------------------------------------------------------------- numbering and the hall day


def test_numbers_run_per_prefix_and_go_to_four_digits(hall: Hall) -> None:
    assert hall("issue", service="医保")["number"] == "E001"
    assert hall("issue", service="医保")["number"] == "E002"
    assert hall("issue", service="人社")["number"] == "D001"
    hall.state.numbers["E"] = 999
    assert hall("issue", service="医保")["number"] == "E1000"


def test_hall_day_rolls_at_configured_time_not_midnight(hall: Hall, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(datetime(2026, 11, 23, 23, 50, tzinfo=TZ))
    first = hall("issue", service="医保")
    clock.set(datetime(2026, 11, 24, 2, 30, tzinfo=TZ))  # after midnight, before the 03:00 rollover
    late = hall("issue", service="医保")
    assert late["number"] == "E002" and late["ticket"].startswith("20261123-")
    clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=TZ))
    fresh = hall("issue", service="医保")
    assert fresh["ticket"] == "20261124-E001"
    assert hall.state.tickets[first["ticket"]].status == "expired"  # yesterday's open tickets are not called


def test_a_number_is_never_issued_twice_in_a_day(hall: Hall) -> None:
    ids = [hall("issue", service="公安")["ticket"] for _ in range(1200)]
    assert len(set(ids)) == 1200


def test_unknown_service_suggests_the_close_name(hall: Hall) -> None:
    err = rejected(hall, "issue", service="医疗保")
    assert err.code == "unknown_service" and "医保" in err.message


# ---------------------------------------------------------------- groups and helpers


def test_group_suggested_from_birth_date_on_hall_local_date(hall: Hall, clock) -> None:  # type: ignore[no-untyped-def]
    # 2026-11-23 09:00 in Shanghai: someone born 1966-11-23 turns 60 today, 1966-11-24 is still 59.
    assert hall("issue", service="医保", birth_date="1966-11-23")["group"] == "accompany"
    assert hall("issue", service="医保", birth_date="1966-11-24")["group"] == "normal"
    assert hall("issue", service="医保", birth_date="1946-01-01")["group"] == "delegate"
    assert hall("issue", service="医保", birth_date="1990-01-01", cannot_read=True)["group"] == "delegate"
    assert hall("issue", service="医保", limited_mobility=True)["group"] == "wheelchair_push"
    assert hall("issue", service="医保", first_visit=True)["group"] == "guide"


def test_visitor_or_greeter_can_override_the_suggestion(hall: Hall) -> None:
    res = hall("issue", service="医保", birth_date="1940-01-01", group="normal")
    assert res["group"] == "normal" and "help_id" not in res
    issued = [e for e in hall.events if e["type"] == "ticket_issued"][-1]
    assert issued["data"]["suggested_group"] == "delegate"


def test_first_claim_wins_and_owns_until_handover(hall: Hall) -> None:
    help_id = hall("issue", service="医保", group="delegate")["help_id"]
    hall("claim_help", help_id=help_id, helper="王芳")
    assert rejected(hall, "claim_help", help_id=help_id, helper="李强").code == "help_taken"
    assert hall("claim_help", help_id=help_id, helper="王芳")["already"] is True
    assert rejected(hall, "finish_help", help_id=help_id, helper="李强").code == "not_owner"
    hall("handover_help", help_id=help_id, from_helper="王芳", to_helper="李强", note="午休交接")
    assert rejected(hall, "finish_help", help_id=help_id, helper="王芳").code == "not_owner"
    hall("finish_help", help_id=help_id, helper="李强")
    assert hall.state.helps[help_id].owners == ["王芳", "李强"]


def test_home_visit_needs_appointment_and_is_finished_by_its_helper(hall: Hall) -> None:
    assert rejected(hall, "issue", service="不动产", group="home_visit").code == "appointment_needed"
    res = hall("issue", service="不动产", group="home_visit", appointment_at="2026-11-23T15:00:00+08:00")
    hall("claim_help", help_id=res["help_id"], helper="h1")
    assert hall.state.tickets[res["ticket"]].status == "visit"
    assert rejected(hall, "call_next", counter=17).code == "queue_empty"
    hall("finish_help", help_id=res["help_id"], helper="h1")
    assert hall.state.tickets[res["ticket"]].status == "finished"


# ---------------------------------------------------------------- calling order


def test_green_channel_goes_before_everyone(hall: Hall) -> None:
    hall("issue", service="医保")
    hall.wait(60)
    wc = hall("issue", service="医保", group="wheelchair_push")
    hall("claim_help", help_id=wc["help_id"], helper="h1")
    hall("issue", service="医保", group="accompany")
    assert hall("call_next", counter=1)["ticket"] == wc["ticket"]


def test_due_appointment_before_walk_ins_but_not_before_its_time(hall: Hall, clock) -> None:  # type: ignore[no-untyped-def]
    walk_in = hall("issue", service="不动产")
    appt = hall("issue", service="不动产", appointment_at="2026-11-23T10:00:00+08:00")
    assert hall("call_next", counter=17)["ticket"] == walk_in["ticket"]
    hall("finish", counter=17)
    hall("issue", service="不动产")
    clock.set(datetime(2026, 11, 23, 9, 51, tzinfo=TZ))  # within the 10-minute grace
    assert hall("call_next", counter=17)["ticket"] == appt["ticket"]


def test_weights_prefer_the_counters_main_service(hall: Hall) -> None:
    invest = hall("issue", service="投资项目")
    company = hall("issue", service="企业开办")
    hall.wait(60)
    # Counter 3 weighs 企业开办 3:1, counter 5 the other way round.
    assert hall("call_next", counter=3)["ticket"] == company["ticket"]
    assert hall("call_next", counter=5)["ticket"] == invest["ticket"]


def test_starvation_bound_calls_a_long_waiting_minor_service(hall: Hall) -> None:
    old_invest = hall("issue", service="投资项目")
    hall.wait(31 * 60)
    hall("issue", service="企业开办")
    assert hall("call_next", counter=3)["ticket"] == old_invest["ticket"]


def test_issue_time_orders_one_service(hall: Hall) -> None:
    first = hall("issue", service="公安")
    hall.wait(5)
    hall("issue", service="公安")
    assert hall("call_next", counter=12)["ticket"] == first["ticket"]


def test_a_ticket_is_never_called_by_two_counters(hall: Hall) -> None:
    t = hall("issue", service="公安")
    hall("call_next", counter=12)
    assert rejected(hall, "call_ticket", counter=13, ticket=t["number"]).code == "already_called"
    assert rejected(hall, "call_next", counter=13).code == "queue_empty"


def test_counter_must_finish_before_calling_again_and_pause_blocks_calls(hall: Hall) -> None:
    hall("issue", service="公安")
    hall("issue", service="公安")
    hall("call_next", counter=12)
    assert rejected(hall, "call_next", counter=12).code == "counter_busy"
    hall("finish", counter=12)
    hall("pause_counter", counter=12)
    assert rejected(hall, "call_next", counter=12).code == "counter_paused"
    hall("resume_counter", counter=12)
    assert hall("call_next", counter=12)["number"] == "F002"


# ---------------------------------------------------------------- recall, no-show, transfer, park


def test_recall_limit_then_no_show_then_requeue(hall: Hall) -> None:
    t = hall("issue", service="公安")
    hall("call_next", counter=12)
    for n in (1, 2, 3):
        assert hall("recall", counter=12)["count"] == n
    assert hall("recall", counter=12)["no_show"] is True
    assert hall.state.tickets[t["ticket"]].status == "no_show"
    assert hall.state.counters[12].current is None
    hall("requeue", ticket=t["number"], position="front")
    assert hall("call_next", counter=13)["ticket"] == t["ticket"]


def test_only_a_no_show_can_be_requeued(hall: Hall) -> None:
    t = hall("issue", service="公安")
    assert rejected(hall, "requeue", ticket=t["number"]).code == "bad_state"


@pytest.mark.parametrize(("position", "expected_first"), [("front", "moved"), ("end", "other"),
                                                           ("original", "moved")])
def test_transfer_positions(hall: Hall, position: str, expected_first: str) -> None:
    moved = hall("issue", service="公安")
    hall.wait(60)
    other = hall("issue", service="医保")
    hall.wait(60)
    hall("call_next", counter=12)
    hall("transfer", counter=12, to_service="医保", position=position)
    first = hall("call_next", counter=10)["ticket"]
    assert first == {"moved": moved, "other": other}[expected_first]["ticket"]


def test_transfer_to_a_named_counter_only_that_counter_calls_it(hall: Hall) -> None:
    t = hall("issue", service="医保")
    hall("call_next", counter=10)
    hall("open_counter", counter=11)
    hall("transfer", counter=10, to_counter=11)
    assert rejected(hall, "call_next", counter=8).code == "queue_empty"
    assert hall("call_next", counter=11)["ticket"] == t["ticket"]


def test_park_and_resume(hall: Hall) -> None:
    a = hall("issue", service="公安")
    b = hall("issue", service="公安")
    hall("call_next", counter=12)
    hall("start", counter=12)
    hall("park", counter=12, note="等复印")
    assert hall("call_next", counter=12)["ticket"] == b["ticket"]
    assert rejected(hall, "resume_parked", counter=12, ticket=a["number"]).code == "counter_busy"
    hall("finish", counter=12)
    hall("resume_parked", counter=12, ticket=a["number"])
    assert hall.state.tickets[a["ticket"]].status == "serving"
    assert rejected(hall, "close_counter", counter=12).code == "counter_busy"


# ---------------------------------------------------------------- finish, notice, rating


def test_materials_missing_gives_the_one_time_notice(hall: Hall) -> None:
    hall("issue", service="不动产")
    hall("call_next", counter=17)
    res = hall("finish", counter=17, outcome="materials_missing", materials=["不动产权证书", "完税证明"])
    assert res["notice"].startswith("一次性告知") and "1. 不动产权证书" in res["notice"]
    assert "2. 完税证明" in res["notice"]


def test_finish_records_on_time_against_the_promised_limit(hall: Hall) -> None:
    hall("issue", service="公安")  # promised 45 minutes
    hall("issue", service="公安")
    hall("call_next", counter=12)
    hall.wait(10 * 60)
    hall("finish", counter=12)
    hall.wait(40 * 60)
    hall("call_next", counter=12)
    hall("finish", counter=12)
    finished = [e["data"] for e in hall.events if e["type"] == "ticket_finished"]
    assert [f["on_time"] for f in finished] == [True, False]
    assert finished[1]["wait_s"] == pytest.approx(50 * 60)


def test_one_rating_per_case_and_followup_for_dissatisfied(hall: Hall) -> None:
    t = hall("issue", service="公安")
    assert rejected(hall, "rate", ticket=t["number"], level="满意").code == "not_finished"
    hall("call_next", counter=12)
    hall("finish", counter=12)
    res = hall("rate", ticket=t["number"], level=2, comment="等太久")
    assert res["level"] == "不满意" and res["followup_id"] == "FU-000001"
    assert rejected(hall, "rate", ticket=t["number"], level="非常满意").code == "already_rated"
    hall("close_followup", followup_id="FU-000001", note="已电话回访并致歉")
    assert hall.state.followups["FU-000001"].status == "closed"


def test_satisfied_rating_opens_no_followup(hall: Hall) -> None:
    t = hall("issue", service="公安")
    hall("call_next", counter=12)
    hall("finish", counter=12)
    assert "followup_id" not in hall("rate", ticket=t["number"], level="非常满意")


# ---------------------------------------------------------------- estimate


def test_estimate_grows_with_people_ahead_and_shrinks_with_open_counters(hall: Hall) -> None:
    for _ in range(6):
        hall("issue", service="公安")
    last = hall("issue", service="公安")
    assert last["ahead"] == 6
    before_opening = hall.engine.estimate(last["ticket"])[1]  # windows 12 and 13 serve 公安, none open yet
    hall("open_counter", counter=12)
    one_open = hall.engine.estimate(last["ticket"])[1]
    hall("open_counter", counter=13)
    two_open = hall.engine.estimate(last["ticket"])[1]
    assert one_open == 6 * 9  # six people, nine minutes each, one window
    assert two_open == before_opening == 27


def test_estimate_follows_the_rolling_average(hall: Hall) -> None:
    for _ in range(3):
        hall("issue", service="公安")
    hall("call_next", counter=12)
    hall.wait(30 * 60)
    hall("finish", counter=12)
    assert hall.engine.average_minutes("公安") == pytest.approx(30)
    assert hall.engine.estimate(hall.state.tickets[next(iter(hall.state.waiting))].id)[0] == 0


def test_every_change_is_an_event_and_replay_rebuilds_the_same_state(hall: Hall, cfg, clock) -> None:  # type: ignore[no-untyped-def]
    from hall_bus.domain.engine import QueueEngine

    t = hall("issue", service="公安", group="accompany")
    hall("claim_help", help_id=t["help_id"], helper="h1")
    hall("call_next", counter=1)
    hall("start", counter=1)
    hall.wait(300)
    hall("finish", counter=1)
    hall("rate", ticket=t["number"], level=5)
    fresh = QueueEngine(cfg, clock)
    for ev in hall.events:
        fresh.apply(ev)
    assert fresh.state.to_dict() == hall.state.to_dict()


def test_yesterdays_appointment_for_today_survives_rollover(hall: Hall, clock) -> None:  # type: ignore[no-untyped-def]
    t = hall("issue", service="不动产", appointment_at=(clock.now() + timedelta(days=1)).isoformat())
    clock.advance(86400)
    hall("issue", service="不动产")
    assert hall.state.tickets[t["ticket"]].status == "waiting"
