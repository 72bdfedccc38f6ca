"""Assisted visitors served first, not last: how an assistance ticket moves through the hall (issue 9).

Windows in the example hall: 1 and 2 are the 帮办代办 zone (every service); 10 and 11 are 医保 department
windows; 8 and 9 serve 人社 first and 医保 second.
"""

from __future__ import annotations

from typing import Any

import pytest

from hall_bus.domain.engine import CommandRejected
from hall_bus.domain.registry import apply_event
from hall_bus.domain.state import HallState

from .conftest import Hall


def rejected(hall: Hall, op: str, **kw: Any) -> CommandRejected:
    with pytest.raises(CommandRejected) as info:
        hall(op, **kw)
    return info.value


def types(hall: Hall) -> list[str]:
    return [e["type"] for e in hall.events]


def test_assistance_ticket_queues_at_once_and_its_help_runs_alongside(hall: Hall) -> None:
    res = hall("issue", service="医保", group="accompany")
    assert hall.state.tickets[res["ticket"]].status == "waiting"
    called = hall("call_next", counter=10)  # a department window, before any helper claimed it
    assert called["ticket"] == res["ticket"]
    assert hall.state.helps[res["help_id"]].status == "open"  # the helper can still join at window 10
    hall("claim_help", help_id=res["help_id"], helper="王芳")
    hall("finish", counter=10)
    hall("finish_help", help_id=res["help_id"], helper="王芳")
    assert hall.state.helps[res["help_id"]].status == "finished"


def test_priority_groups_are_called_before_earlier_walk_ins(hall: Hall) -> None:
    walk_in = hall("issue", service="医保")
    hall.wait(60)
    guide = hall("issue", service="医保", group="guide")  # priority 1
    hall.wait(60)
    accompany = hall("issue", service="医保", group="accompany")  # priority 2
    assert [hall("call_next", counter=n)["ticket"] for n in (10, 11, 9)] == [
        accompany["ticket"], guide["ticket"], walk_in["ticket"]]


def test_assistance_windows_call_their_own_groups_first_and_walk_ins_only_when_free(hall: Hall) -> None:
    walk_in = hall("issue", service="医保")
    hall.wait(60)
    delegate = hall("issue", service="税务", group="delegate")
    assert hall("call_next", counter=1)["ticket"] == delegate["ticket"]  # the earlier walk-in waits
    assert hall("call_next", counter=2)["ticket"] == walk_in["ticket"]  # nobody of its own: takes a walk-in


def test_assistance_windows_that_do_not_serve_walk_ins_stay_free_for_their_groups(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    zones = [z.model_copy(update={"serves_walk_ins_when_free": False}) for z in cfg.zones]
    strict = cfg.model_copy(update={"zones": zones})
    strict.__dict__.pop("zones_by_id", None)
    hall = Hall(strict, clock)
    hall("issue", service="医保")
    assert rejected(hall, "call_next", counter=1).code == "queue_empty"


def test_a_group_kept_to_its_zone_is_never_called_at_a_department_window(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    zone_only = cfg.groups["delegate"].model_copy(update={"department_windows": False})
    hall = Hall(cfg.model_copy(update={"groups": {**cfg.groups, "delegate": zone_only}}), clock)
    res = hall("issue", service="医保", group="delegate")
    assert rejected(hall, "call_next", counter=10).code == "queue_empty"
    assert hall("call_next", counter=2)["ticket"] == res["ticket"]


def test_green_channel_is_called_at_the_next_free_suitable_window(hall: Hall) -> None:
    hall("issue", service="人社", group="accompany")
    for _ in range(3):
        hall("issue", service="医保")
    push = hall("issue", service="医保", group="wheelchair_push")
    assert push["ahead"] == 0 and push["wait_min"] == 0
    assert hall("call_next", counter=8)["ticket"] == push["ticket"]  # 人社 first at window 8, but green wins


def test_estimate_counts_helped_tickets_ahead(hall: Hall) -> None:
    for group in ("accompany", "delegate", "guide"):
        hall("issue", service="医保", group=group)
    walk_in = hall("issue", service="医保")
    assert walk_in["ahead"] == 3 and walk_in["wait_min"] > 0
    late_helped = hall("issue", service="医保", group="accompany")
    assert late_helped["ahead"] == 2  # the earlier 陪同办 and 代理办 (both priority 2), not the 引导办 or walk-in
    assert hall.engine.estimate(walk_in["ticket"])[0] == 4


def test_unclaimed_help_is_escalated_once_after_the_configured_minutes(hall: Hall) -> None:
    res = hall("issue", service="医保", group="accompany")
    hall.wait(150)
    hall("issue", service="人社")
    assert "help_escalated" not in types(hall)
    hall.wait(31)  # 3 minutes after the request
    hall("issue", service="人社")
    escalated = [e for e in hall.events if e["type"] == "help_escalated"]
    assert len(escalated) == 1 and escalated[0]["data"]["help_id"] == res["help_id"]
    assert escalated[0]["data"]["waited_s"] >= 180
    hall.wait(600)
    hall("tick")
    assert types(hall).count("help_escalated") == 1
    hall("claim_help", help_id=res["help_id"], helper="李强")  # an escalated request can still be claimed
    assert hall.state.helps[res["help_id"]].status == "claimed"


def test_a_case_served_before_any_claim_closes_its_help_request(hall: Hall) -> None:
    res = hall("issue", service="医保", group="guide")
    hall("call_next", counter=10)
    hall("finish", counter=10)
    assert hall.state.helps[res["help_id"]].status == "lapsed"
    assert rejected(hall, "claim_help", help_id=res["help_id"], helper="王芳").code == "bad_state"


def test_cancel_help_keeps_the_ticket_in_the_queue(hall: Hall) -> None:
    res = hall("issue", service="医保", group="accompany")
    hall("cancel_help", help_id=res["help_id"], by="王芳", reason="家属陪同")
    assert hall.state.helps[res["help_id"]].status == "cancelled"
    assert hall("call_next", counter=10)["ticket"] == res["ticket"]
    assert rejected(hall, "cancel_help", help_id=res["help_id"], by="王芳", reason="again").code == "bad_state"


def test_change_group_keeps_the_place_and_raises_or_closes_the_help(hall: Hall) -> None:
    first = hall("issue", service="医保")
    hall.wait(60)
    second = hall("issue", service="医保")
    issued_ts = hall.state.tickets[first["ticket"]].queue_ts
    changed = hall("change_group", ticket=first["number"], group="wheelchair_push", by="王芳", reason="坐轮椅")
    t = hall.state.tickets[first["ticket"]]
    assert t.group == "wheelchair_push" and t.green and t.queue_ts == issued_ts
    assert hall.state.helps[changed["help_id"]].status == "open"
    back = hall("change_group", ticket=first["number"], group="normal", by="王芳", reason="家属推")
    assert "help_id" not in back and hall.state.helps[changed["help_id"]].status == "cancelled"
    assert hall("call_next", counter=10)["ticket"] == first["ticket"]  # still before the later walk-in
    assert hall("call_next", counter=11)["ticket"] == second["ticket"]
    assert rejected(hall, "change_group", ticket=first["number"], group="accompany", by="王芳",
                    reason="x").code == "bad_state"  # already called
    assert rejected(hall, "change_group", ticket=second["number"], group="home_visit", by="王芳",
                    reason="x").code in ("bad_state", "bad_change")


def test_starvation_overrides_priority_groups_but_not_the_green_channel(hall: Hall) -> None:
    old = hall("issue", service="医保")
    hall.wait(31 * 60)  # past starvation_minutes = 30
    helped = hall("issue", service="医保", group="accompany")
    push = hall("issue", service="医保", group="wheelchair_push")
    assert hall("call_next", counter=10)["ticket"] == push["ticket"]
    assert hall("call_next", counter=11)["ticket"] == old["ticket"]  # starving beats a fresh priority ticket
    assert hall("call_next", counter=9)["ticket"] == helped["ticket"]


def test_a_ticket_from_an_older_ledger_still_waits_for_its_claim() -> None:
    """Ledgers written before this routing held assisted tickets back until a helper claimed them; they replay
    with that meaning."""
    st = HallState()
    at = "2026-11-23T09:00:00.000+08:00"
    for kind, data in [
        ("day_opened", {"day": "2026-11-23", "previous": None, "expired": []}),
        ("ticket_issued", {"ticket": "20261123-E001", "number": "E001", "n": 1, "prefix": "E", "service": "医保",
                           "group": "accompany", "suggested_group": "normal", "label": "陪同办", "zone": "assist",
                           "green": False, "seated": False, "helper_required": True, "counter_queue": True,
                           "appointment_at": None, "age": 70, "node": None, "ahead": 0, "wait_min": 0}),
        ("help_requested", {"help_id": "H-20261123-E001", "ticket": "20261123-E001", "number": "E001",
                            "group": "accompany", "label": "陪同办", "seated": False}),
    ]:
        apply_event(st, {"type": kind, "at": at, "data": data})
    assert st.tickets["20261123-E001"].status == "waiting_helper" and not st.waiting
    apply_event(st, {"type": "help_claimed", "at": at,
                     "data": {"help_id": "H-20261123-E001", "ticket": "20261123-E001", "helper": "王芳"}})
    assert list(st.waiting) == ["20261123-E001"] and "20261123-E001" in st.index
