"""Node logic without a display: what the greeter tablet lists, from the same state the server keeps."""

from __future__ import annotations

from collections import deque

from hall_bus.nodes.board import Call, DisplayModel
from hall_bus.nodes.greeter import age_band, busy_helpers, help_list, mine


def test_greeter_list_puts_the_longest_waiting_unclaimed_request_on_top(hall) -> None:  # type: ignore[no-untyped-def]
    hall("issue", service="医保", group="accompany", birth_date="1950-03-01")
    hall.wait(120)
    hall("issue", service="人社", group="wheelchair_push", birth_date="1938-05-05")
    hall.wait(60)
    hall("issue", service="公安", group="guide")
    hall.wait(30)
    claimed = next(iter(hall.state.helps))
    hall("claim_help", help_id=claimed, helper="xm-2")
    now = hall.clock.now().timestamp()
    items = help_list(hall.state, now)
    assert [i.number for i in items] == ["D001", "F001", "E001"]  # unclaimed oldest first, then claimed
    assert [i.status for i in items] == ["open", "open", "claimed"]
    assert items[0].age_band == "80岁以上" and items[1].age_band == "年龄未知" and items[2].age_band == "70–79岁"
    assert round(items[0].waiting_s) == 90
    assert [i.help_id for i in mine(hall.state, "xm-2", now)] == [claimed]
    assert all("1938" not in repr(i) for i in items)  # no birth dates on a tablet carried around the floor


def test_finished_help_leaves_the_list(hall) -> None:  # type: ignore[no-untyped-def]
    hall("issue", service="医保", group="accompany")
    help_id = next(iter(hall.state.helps))
    hall("claim_help", help_id=help_id, helper="xm-1")
    hall("finish_help", help_id=help_id, helper="xm-1")
    assert help_list(hall.state, hall.clock.now().timestamp()) == []
    assert age_band(None) == "年龄未知" and age_band(60) == "60–69岁" and age_band(59) == "60岁以下"


def test_escalated_requests_go_on_top_and_busy_helpers_are_known(hall) -> None:  # type: ignore[no-untyped-def]
    first = hall("issue", service="医保", group="accompany")
    hall.wait(200)  # past help_escalate_minutes
    second = hall("issue", service="人社", group="guide")  # this command escalates the first request
    hall.wait(10)
    items = help_list(hall.state, hall.clock.now().timestamp())
    assert [i.help_id for i in items] == [first["help_id"], second["help_id"]]
    assert items[0].escalated and not items[1].escalated
    hall("claim_help", help_id=second["help_id"], helper="xm-3")
    assert busy_helpers(hall.state) == {"xm-3": [second["help_id"]]}


def test_display_keeps_the_last_calls_marks_assisted_ones_and_counts_who_waits(hall) -> None:  # type: ignore[no-untyped-def]
    model = DisplayModel({code: rule.label for code, rule in hall.cfg.groups.items()}, keep=3)
    for service, group in [("医保", "normal"), ("医保", "accompany"), ("人社", "normal"), ("公安", "normal")]:
        hall("issue", service=service, group=group)
    for ev in hall.events:
        model.take(ev, hall.state)
    assert model.waiting == {"医保": 2, "人社": 1, "公安": 1} and model.latest is None
    before = len(hall.events)
    hall("call_next", counter=10)  # the 陪同办 ticket first
    hall("call_next", counter=8)
    hall("recall", counter=10)
    for ev in hall.events[before:]:
        model.take(ev, hall.state)
    latest = model.latest
    assert latest is not None and latest.number == "E002" and latest.recall == 1 and latest.mark == "◆"
    assert [c.number for c in model.recent] == ["E002", "D001"]  # a recall replaces the earlier line
    assert "再次呼叫" in latest.words() and model.waiting == {"医保": 1, "公安": 1}
    # A server restart: the display rebuilds from the snapshot, not from what it showed before.
    fresh = DisplayModel({code: rule.label for code, rule in hall.cfg.groups.items()})
    fresh.resync(hall.state)
    assert {c.number for c in fresh.recent} == {"E002", "D001"} and fresh.waiting == model.waiting
    assert next(c for c in fresh.recent if c.number == "E002").label == "陪同办"


def test_every_call_mark_has_a_glyph_in_the_kiosk_font() -> None:
    """A mark the TV's font lacks is drawn as a box (♿ was): check each against the font the screens use."""
    from fontTools.ttLib import TTCollection

    from hall_bus.nodes.board import GROUP_MARKS
    from kiosk.boot import find_font

    font = find_font()
    cmap = TTCollection(font, lazy=True).fonts[0].getBestCmap() if font.endswith(".ttc") else {}
    assert all(ord(mark) in cmap for mark in GROUP_MARKS.values()), GROUP_MARKS


def test_a_new_hall_day_clears_yesterdays_calls_from_boards_and_screens(hall) -> None:  # type: ignore[no-untyped-def]
    model = DisplayModel()
    hall("issue", service="医保")
    hall("call_next", counter=10)
    hall("finish", counter=10)
    for ev in hall.events:
        model.take(ev, hall.state)
    assert [c.number for c in model.recent] == ["E001"]
    before = len(hall.events)
    hall.wait(24 * 3600)  # the next morning: the first command opens the new hall day
    hall("issue", service="医保")
    for ev in hall.events[before:]:
        model.take(ev, hall.state)
    assert model.recent == deque() and model.latest is None  # today's E001 is not yesterday's
    # A display that missed the rollover (it was off) and resyncs drops the old calls too.
    stale = DisplayModel()
    yesterday = next(t for t in hall.state.tickets.values() if t.day != hall.state.day)
    stale.recent.append(Call("E001", 10, "医保", "normal", "", "2026-11-23T09:00:00+08:00", 0, yesterday.id))
    stale.resync(hall.state)
    assert list(stale.recent) == []
