"""The ledger: durable, idempotent, rebuilt by replay, and never silently repaired."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hall_bus.domain.registry import HANDLERS
from hall_bus.errors import LedgerError
from hall_bus.store.core import HallCore
from hall_bus.store.ledger import LEDGER_FILE, Ledger


def busy_day(core: HallCore, clock, n: int = 30) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        core.submit({"op": "issue", "service": "公安", "group": "accompany" if i % 5 == 0 else "normal"})
        clock.advance(30)
    for h in list(core.state.helps):
        core.submit({"op": "claim_help", "help_id": h, "helper": "h1"})
    for counter in (1, 12, 13):
        for _ in range(3):
            called = core.submit({"op": "call_next", "counter": counter})
            clock.advance(200)
            if called["ok"]:
                core.submit({"op": "finish", "counter": counter, "ticket": called["result"]["ticket"]})
            clock.advance(10)


def test_state_after_restart_equals_state_before(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    core = HallCore(cfg, tmp_path, clock)
    busy_day(core, clock)
    before = core.state.to_dict()
    core.close()
    again = HallCore(cfg, tmp_path, clock)
    assert again.state.to_dict() == before
    again.close()


def test_snapshots_keep_replay_short_and_equal(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    small = cfg.model_copy(update={"hall": cfg.hall.model_copy(update={"snapshot_every": 10})})
    core = HallCore(small, tmp_path, clock)
    busy_day(core, clock)
    before = core.state.to_dict()
    last = core.ledger.last_seq
    core.close()
    ledger = Ledger(tmp_path)
    snap_seq = next(ledger.snapshots())[0]
    ledger.close()
    assert last - snap_seq < 10  # only the tail after the newest snapshot is replayed
    again = HallCore(small, tmp_path, clock)
    assert again.state.to_dict() == before


def test_every_event_carries_version_and_sequence(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    core = HallCore(cfg, tmp_path, clock)
    busy_day(core, clock, n=5)
    events = list(core.ledger.events())
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {e["v"] for e in events} == {1}


def test_retried_request_gets_first_answer_and_no_second_effect(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    core = HallCore(cfg, tmp_path, clock)
    first = core.submit({"op": "issue", "service": "医保", "request_id": "kiosk-1:0001"})
    retry = core.submit({"op": "issue", "service": "医保", "request_id": "kiosk-1:0001"})
    assert retry["result"] == first["result"] and retry["retry"] is True
    seq = core.ledger.last_seq
    core.close()
    # The kiosk retries again after the server restarted: still the same ticket, still no new event.
    again = HallCore(cfg, tmp_path, clock)
    third = again.submit({"op": "issue", "service": "医保", "request_id": "kiosk-1:0001"})
    assert third["result"]["number"] == "E001"
    assert again.ledger.last_seq == seq
    assert again.submit({"op": "issue", "service": "医保"})["result"]["number"] == "E002"


def test_same_request_twice_in_one_batch_applies_once(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    core = HallCore(cfg, tmp_path, clock)
    cmd = {"op": "issue", "service": "医保", "request_id": "r-9"}
    a, b = core.submit_batch([cmd, cmd])
    assert a["result"]["ticket"] == b["result"]["ticket"]
    assert core.state.numbers["E"] == 1


def test_group_commit_writes_a_batch_in_one_transaction(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    core = HallCore(cfg, tmp_path, clock)
    answers = core.submit_batch([{"op": "issue", "service": "医保"} for _ in range(50)])
    assert all(a["ok"] for a in answers)
    assert [a["result"]["number"] for a in answers][-1] == "E050"
    db = sqlite3.connect(tmp_path / LEDGER_FILE)
    assert db.execute("SELECT COUNT(*) FROM events WHERE type='ticket_issued'").fetchone()[0] == 50
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_refused_command_is_answered_and_changes_nothing(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    core = HallCore(cfg, tmp_path, clock)
    core.submit({"op": "issue", "service": "医保"})
    before = core.state.to_dict()
    answer = core.submit({"op": "finish", "counter": 10, "ticket": "E001"})
    assert answer == {"ok": False, "op": "finish", "code": "not_at_window",
                      "message": "E001 is not at window 10: nobody is; nothing was changed", "events": []}
    bad = core.submit({"op": "call_next", "counter": "ten"})
    assert bad["ok"] is False and bad["code"] == "invalid" and "counter" in bad["message"]
    assert core.state.to_dict() == before


def test_engine_bug_does_not_leave_half_applied_state(cfg, clock, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    core = HallCore(cfg, tmp_path, clock)
    core.submit({"op": "issue", "service": "医保"})
    before = core.state.to_dict()

    def broken(engine, cmd, now):  # type: ignore[no-untyped-def]
        engine.emit("counter_opened", now, counter=cmd.counter)
        raise RuntimeError("bug")

    monkeypatch.setitem(HANDLERS, "call_next", broken)
    answer = core.submit({"op": "call_next", "counter": 10})
    assert answer["code"] == "internal_error"
    assert core.state.to_dict() == before


def test_not_a_ledger_gives_a_clear_error_and_keeps_the_file(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / LEDGER_FILE).write_bytes(b"this is a spreadsheet, not a ledger" * 100)
    with pytest.raises(LedgerError, match="not a usable hall ledger"):
        HallCore(cfg, tmp_path, clock)
    assert (tmp_path / LEDGER_FILE).read_bytes().startswith(b"this is a spreadsheet")


def test_ledger_of_another_hall_is_refused(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    Ledger(tmp_path, hall_name="别的县政务服务中心").close()
    with pytest.raises(LedgerError, match="belongs to"):
        HallCore(cfg, tmp_path, clock)


def test_damaged_newest_snapshot_falls_back_to_replay(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    core = HallCore(cfg, tmp_path, clock)
    busy_day(core, clock, n=8)
    core.snapshot()
    before = core.state.to_dict()
    core.close()
    db = sqlite3.connect(tmp_path / LEDGER_FILE)
    db.execute("UPDATE snapshots SET state = '{not json'")
    db.commit()
    db.close()
    assert HallCore(cfg, tmp_path, clock).state.to_dict() == before


def test_a_retried_refusal_gets_the_same_refusal_back_and_no_effect(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One answer per request id, refusals included; refusals still cost no fsync (kept in memory)."""
    core = HallCore(cfg, tmp_path, clock)
    core.submit({"op": "issue", "service": "医保"})
    first = core.submit({"op": "call_next", "counter": 10})["result"]["ticket"]
    seq = core.ledger.last_seq
    busy = core.submit({"op": "call_next", "counter": 10, "request_id": "press-2"})
    assert busy["code"] == "counter_busy" and core.ledger.last_seq == seq  # nothing written, no fsync
    core.submit({"op": "finish", "counter": 10, "ticket": first})
    core.submit({"op": "issue", "service": "医保"})
    again = core.submit({"op": "call_next", "counter": 10, "request_id": "press-2"})
    assert again["ok"] is False and again["code"] == "counter_busy" and again["retry"] is True
    assert core.state.tickets[next(reversed(core.state.tickets))].status == "waiting"  # E002 was not called
    fresh = core.submit({"op": "call_next", "counter": 10, "request_id": "press-3"})  # a new press acts
    assert fresh["ok"] and fresh["result"]["number"] == "E002"


def test_retries_inside_one_batch_are_marked_as_retries(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    core = HallCore(cfg, tmp_path, clock)
    first, second = core.submit_batch([{"op": "issue", "service": "医保", "request_id": "k:1"}] * 2)
    assert first["ok"] and "retry" not in first
    assert second["retry"] is True and second["result"] == first["result"]
    assert sum(e["type"] == "ticket_issued" for e in core.ledger.events()) == 1


def test_time_never_goes_backwards_across_runs(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A second run whose clock is behind the ledger (a re-run script, an NTP step back) still writes events in
    time order, so nobody issued 'yesterday' is called ahead of older tickets."""
    core = HallCore(cfg, tmp_path, clock)
    clock.advance(3600)
    core.submit({"op": "issue", "service": "医保"})
    core.close()
    clock.advance(-1800)
    again = HallCore(cfg, tmp_path, clock)
    again.submit({"op": "issue", "service": "医保"})
    ats = [e["at"] for e in again.ledger.events()]
    again.close()
    assert ats == sorted(ats)


def test_a_second_writer_is_refused_with_who_holds_the_ledger(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A scenario run against a live server's --data would number events the server also numbers."""
    import subprocess
    import sys

    core = HallCore(cfg, tmp_path, clock)
    script = tmp_path / "s.jsonl"
    script.write_text('{"at": "2026-11-23T09:00:00+08:00", "op": "issue", "service": "医保"}\n', encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "hall_bus.cli", "simulate", "--config", "config/hall.example.toml",
                          "--script", str(script), "--data", str(tmp_path)], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=60)
    assert res.returncode == 2 and "in use by another process (pid" in res.stderr and "Traceback" not in res.stderr
    core.submit({"op": "issue", "service": "医保"})  # the first writer carries on
    core.close()
    HallCore(cfg, tmp_path, clock).close()  # and once it is closed, the ledger opens again
