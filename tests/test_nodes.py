"""Node logic without a display: what the greeter tablet lists, from the same state the server keeps."""

from __future__ import annotations

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
