"""The queue engine's wrong answers found by scenarios written from docs/scenario-format.md (issue 9), each
pinned by the behaviour a visitor or a clerk would expect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hall_bus.domain.commands import CommandInvalid, parse_command
from hall_bus.domain.engine import CommandRejected

from .conftest import Hall
from .test_cli import hallctl, write


def rejected(hall: Hall, op: str, **kw: Any) -> CommandRejected:
    with pytest.raises(CommandRejected) as info:
        hall(op, **kw)
    return info.value


def test_transfer_to_a_closed_window_is_refused(hall: Hall) -> None:
    hall("issue", service="医保")
    hall("call_next", counter=10)
    refusal = rejected(hall, "transfer", counter=10, to_counter=11)
    assert refusal.code == "counter_closed" and "counter 11 is closed" in refusal.message
    assert hall.state.counters[10].current is not None  # the visitor is still with window 10


def test_an_appointment_called_early_never_waited_a_negative_time(hall: Hall) -> None:
    hall("issue", service="不动产", group="normal", appointment_at="2026-11-23T09:05:00+08:00")
    hall("call_next", counter=17)  # 09:00, inside the 10-minute grace before its time
    hall("finish", counter=17)
    finished = hall.events[-1]["data"]
    assert finished["wait_s"] == 0.0 and finished["total_s"] == 0.0


def test_a_window_closed_mid_day_is_not_reopened_by_a_call(hall: Hall) -> None:
    hall("issue", service="医保")
    hall("call_next", counter=10)  # the first call of the day signs window 10 in
    hall("finish", counter=10)
    hall("close_counter", counter=10)
    hall("issue", service="医保")
    assert rejected(hall, "call_next", counter=10).code == "counter_closed"
    hall("open_counter", counter=10)
    assert hall("call_next", counter=10)["number"] == "E002"


def test_a_home_visit_under_way_at_the_rollover_can_still_be_finished(hall: Hall) -> None:
    res = hall("issue", service="不动产", group="home_visit", appointment_at="2026-11-23T16:00:00+08:00")
    hall.wait(7 * 3600)  # 16:00
    hall("claim_help", help_id=res["help_id"], helper="h1")
    hall.wait(12 * 3600)  # 04:00 the next day: past the 03:00 rollover
    hall("finish_help", help_id=res["help_id"], helper="h1")
    assert hall.state.tickets[res["ticket"]].status == "finished"


def test_five_is_very_satisfied_like_every_star_screen(hall: Hall) -> None:
    for level, name in ((5, "非常满意"), (1, "非常不满意")):
        t = hall("issue", service="公安")
        hall("call_next", counter=12)
        hall("finish", counter=12)
        assert hall("rate", ticket=t["number"], level=level)["level"] == name


def test_materials_missing_is_not_counted_as_concluded_on_time(hall: Hall) -> None:
    hall("issue", service="公安")
    hall("call_next", counter=12)
    result = hall("finish", counter=12, outcome="materials_missing", materials=["户口本", "结婚证"])
    finished = hall.events[-1]["data"]
    assert finished["on_time"] is None
    assert finished["notice"] == result["notice"] and "1. 户口本；2. 结婚证" in finished["notice"]


@pytest.mark.parametrize(("field", "value", "why"), [
    ("counter", True, "counter"), ("pregnant", "yes", "pregnant"), ("first_visit", 1, "first_visit"),
])
def test_strict_types(field: str, value: Any, why: str) -> None:
    cmd = {"op": "call_next", "counter": value} if field == "counter" else {
        "op": "issue", "service": "医保", field: value}
    with pytest.raises(CommandInvalid, match=why):
        parse_command(cmd)


def test_an_id_card_birth_date_is_a_date_not_a_unix_time(hall: Hall) -> None:
    assert parse_command({"op": "issue", "service": "医保", "birth_date": 19661124}).birth_date.isoformat() == \
        "1966-11-24"
    assert parse_command({"op": "issue", "service": "医保", "birth_date": "19661124"}).birth_date.year == 1966
    with pytest.raises(CommandInvalid, match="not a date"):
        parse_command({"op": "issue", "service": "医保", "birth_date": "19661324"})


# ---------------------------------------------------------------- the scenario runner


def run(tmp_path: Path, body: bytes, *extra: str) -> Any:
    script = tmp_path / "s.jsonl"
    script.write_bytes(body)
    return hallctl("simulate", "--config", "config/hall.example.toml", "--script", str(script), *extra)


def test_binary_and_non_utf8_lines_are_reported_and_the_rest_runs(tmp_path: Path) -> None:
    good = '{"at": "2026-11-23T09:00:00+08:00", "op": "issue", "service": "医保"}\n'.encode()
    res = run(tmp_path, good + b"\x00\x01\x02binary\n" + '{"op": "issue", "service": "人社"}\n'.encode("gbk")
              + '{"op": "issue", "service": "公安"}\n'.encode())
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert ":2: binary data" in res.stderr and ":3: not UTF-8 text" in res.stderr
    assert res.stdout.count('"ticket_issued"') == 2


def test_a_bom_file_runs(tmp_path: Path) -> None:
    res = run(tmp_path, b"\xef\xbb\xbf" + '{"at": "2026-11-23T09:00:00+08:00", "op": "issue", "service": "医保"}\n'
              .encode())
    assert res.returncode == 0, res.stderr


def test_a_bad_op_on_the_first_line_keeps_its_time(tmp_path: Path) -> None:
    res = run(tmp_path, ('{"at": "2026-11-23T09:00:00+08:00", "op": "isue", "service": "医保"}\n'
                         '{"op": "issue", "service": "医保"}\n').encode())
    assert res.returncode == 1 and ":1: unknown op 'isue' (did you mean 'issue'?)" in res.stderr
    assert ":2:" not in res.stderr and '"ticket_issued"' in res.stdout


def test_a_second_run_cannot_write_before_the_ledger(tmp_path: Path) -> None:
    data = tmp_path / "data"
    line = '{"at": "2026-11-23T10:00:00+08:00", "op": "issue", "service": "医保"}\n'
    assert run(tmp_path, line.encode(), "--data", str(data)).returncode == 0
    res = run(tmp_path, line.replace("10:00", "09:00").encode(), "--data", str(data))
    assert res.returncode == 1 and "time never goes backwards" in res.stderr


def test_the_one_time_notice_is_in_the_runner_output(tmp_path: Path) -> None:
    lines = [
        '{"at": "2026-11-23T09:00:00+08:00", "op": "issue", "service": "公安"}',
        '{"op": "call_next", "counter": 12}',
        '{"op": "finish", "counter": 12, "ticket": "F001", "outcome": "materials_missing", "materials": ["户口本"]}',
    ]
    res = hallctl("simulate", "--config", "config/hall.example.toml", "--script",
                  str(write(tmp_path / "n.jsonl", lines)))
    assert res.returncode == 0 and "一次性告知" in res.stdout


# ---------------------------------------------------------------- found by review (issue 9 follow-up)


def test_an_appointment_at_a_window_at_the_rollover_expires_with_its_window(hall: Hall) -> None:
    t = hall("issue", service="医保", appointment_at="2026-11-24T10:00:00+08:00")
    hall("call_ticket", counter=10, ticket=t["number"])
    hall("start", counter=10)
    hall.wait(20 * 3600)  # 05:00 the next day
    hall("issue", service="医保")
    assert hall.state.tickets[t["ticket"]].status == "expired"
    assert hall("call_next", counter=10)["number"] == "E001"  # today's E001: the window is free again


def test_service_time_runs_from_the_latest_call(hall: Hall) -> None:
    t = hall("issue", service="医保")
    hall("call_next", counter=10)
    hall("no_show", counter=10)
    hall.wait(3600)
    hall("requeue", ticket=t["number"])
    hall("call_next", counter=10)
    hall.wait(300)
    hall("finish", counter=10)
    assert hall.events[-1]["data"]["duration_s"] == 300


def test_a_window_that_tickets_were_sent_to_cannot_close_until_they_are_called(hall: Hall) -> None:
    hall("issue", service="医保")
    hall("call_next", counter=10)
    hall("open_counter", counter=11)
    hall("transfer", counter=10, to_counter=11)
    refusal = rejected(hall, "close_counter", counter=11)
    assert refusal.code == "counter_busy" and "E001" in refusal.message


def test_appointments_not_yet_due_are_not_counted_ahead_of_a_walk_in(hall: Hall) -> None:
    for _ in range(5):
        hall("issue", service="医保", appointment_at="2026-11-23T16:00:00+08:00")
    walk_in = hall("issue", service="医保")
    assert walk_in["ahead"] == 0 and walk_in["wait_min"] == 0
    assert hall("call_next", counter=10)["ticket"] == walk_in["ticket"]


def test_change_group_changes_the_help_requests_group(hall: Hall) -> None:
    res = hall("issue", service="医保", group="guide")
    hall("change_group", ticket=res["number"], group="wheelchair_push", by="王芳", reason="坐轮椅")
    assert hall.state.helps[res["help_id"]].group == "wheelchair_push"


def test_a_retry_gets_the_first_answer_without_publishing_its_events_again(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hall_bus.store.core import HallCore

    core = HallCore(cfg, tmp_path, clock)
    first = core.submit({"op": "issue", "service": "医保", "request_id": "k:1"})
    again = core.submit({"op": "issue", "service": "医保", "request_id": "k:1"})
    assert len(first["events"]) == 2 and again["events"] == [] and again["result"] == first["result"]
    core.close()
    restarted = HallCore(cfg, tmp_path, clock)
    after = restarted.submit({"op": "issue", "service": "医保", "request_id": "k:1"})
    restarted.close()
    assert after["retry"] is True and after["events"] == [] and after["result"] == first["result"]


def test_a_snapshot_of_an_older_format_is_ignored_and_the_events_replayed(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hall_bus.store.core import HallCore

    core = HallCore(cfg, tmp_path, clock)
    core.submit({"op": "issue", "service": "医保", "group": "accompany"})
    state = core.state.to_dict()
    old = {k: v for k, v in state.items() if k != "format"}
    core.ledger.save_snapshot(core.state.seq, "old", old)
    core.close()
    again = HallCore(cfg, tmp_path, clock)
    assert again.state.to_dict() == state
    again.close()


def test_a_bad_op_line_dated_before_the_ledger_does_not_move_the_clock_back(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(tmp_path, b'{"at": "2026-11-23T10:00:00+08:00", "op": "issue", "service": "\xe5\x8c\xbb\xe4\xbf\x9d"}\n',
               "--data", str(data)).returncode == 0
    res = run(tmp_path, ('{"at": "2026-11-23T09:00:00+08:00", "op": "isue"}\n'
                         '{"op": "issue", "service": "医保"}\n').encode(), "--data", str(data))
    assert ":1: at: 2026-11-23T09:00:00+08:00 is before the newest event" in res.stderr
    assert ":2: the first command needs an 'at' time" in res.stderr


def test_the_simulated_day_sends_every_command_in_time_order(cfg) -> None:  # type: ignore[no-untyped-def]
    from hall_bus.sim.daysim import DayPlan, run_day

    events: list[dict[str, Any]] = []
    run_day(cfg, DayPlan(visitors=200, helpers=4, seed=3), sink=events)
    ats = [e["at"] for e in events]
    assert ats == sorted(ats)


def test_help_waits_count_requests_nobody_claimed(cfg) -> None:  # type: ignore[no-untyped-def]
    from hall_bus.sim.daysim import DayPlan, run_day

    row = run_day(cfg, DayPlan(visitors=200, helpers=0, seed=3)).as_dict()["by_group"]["accompany"]
    assert row["helps_unclaimed"] > 0 and row["helper_wait_p50_min"] is not None
