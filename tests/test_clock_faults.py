"""Clock faults of the hall server: a wall clock stepped back must not freeze the hall's times, one jumped ahead
must not roll the hall day (and expire the waiting tickets) until it comes back or an admin confirms it, the
fault shows in `hallctl status`, and a scenario may not put an existing ledger in the future.

Every clock here is fake (a ManualClock as the wall clock, FakeMonotonic as the elapsed-time clock), so nothing
waits on real time; the bus tests wait on conditions only.
"""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hall_bus.cli.status import print_status
from hall_bus.clock import ManualClock, NeverBackwards, NotConfirmable, hall_day
from hall_bus.config import HallConfig
from hall_bus.store.core import HallCore

from .bus_helpers import config_on_ports, free_port, hallctl, running_hall, until
from .conftest import EXAMPLE, TZ

START = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


class FakeMonotonic:
    """Seconds elapsed, moved only by the test: the machine's sense of time passing, which no one can step."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Machine:
    """A wall clock and a monotonic clock; time passing moves both, a person or NTP stepping moves the wall only."""

    def __init__(self, cfg: HallConfig | None = None) -> None:
        self.wall = ManualClock(START, TZ)
        self.mono = FakeMonotonic()
        rollover = cfg.hall.day_rollover if cfg is not None else None
        self.clock = NeverBackwards(self.wall, monotonic=self.mono,
                                    day_of=(lambda t: hall_day(t, TZ, rollover)) if rollover else None)

    def passes(self, seconds: float) -> None:
        self.wall.advance(seconds)
        self.mono.t += seconds

    def step(self, by: timedelta) -> None:
        self.wall.set(self.wall.now() + by)


# ---------------------------------------------------------------------- the clock alone


def test_a_step_back_keeps_time_moving_at_the_monotonic_pace_not_frozen() -> None:
    m = Machine()
    assert m.clock.now() == START
    m.step(-2 * HOUR)
    given = []
    for _ in range(5):
        m.passes(60)
        given.append(m.clock.now())
    assert given == [START + timedelta(minutes=n) for n in range(1, 6)]  # one minute apart, as really passed
    fault = m.clock.fault
    assert fault is not None and fault.kind == "behind" and fault.since == START + timedelta(minutes=1)
    assert fault.offset_s == -7200.0
    m.step(2 * HOUR)  # the wall clock is put right: it agrees again and is believed
    m.passes(1)
    assert m.clock.now() == START + timedelta(minutes=5, seconds=1) and m.clock.fault is None


def test_a_step_back_of_seconds_is_no_fault_and_still_never_goes_back() -> None:
    m = Machine()
    m.clock.now()
    m.step(timedelta(seconds=-3))
    m.passes(1)
    assert m.clock.now() == START + timedelta(seconds=1)
    assert m.clock.fault is None


def test_the_ledgers_newest_event_is_a_floor_time_runs_on_from() -> None:
    """The reported bug: a clock 2 h behind the ledger gave every event of those 2 h the ledger's newest time."""
    m = Machine()
    newest = START + 2 * HOUR
    m.clock.raise_floor(newest)
    first = m.clock.now()
    m.passes(30)
    second = m.clock.now()
    assert first == newest and second == newest + timedelta(seconds=30)


def test_a_jump_ahead_is_not_believed_until_the_wall_clock_comes_back() -> None:
    m = Machine()
    m.clock.now()
    m.step(DAY)
    m.passes(10)
    assert m.clock.now() == START + timedelta(seconds=10)
    fault = m.clock.fault
    assert fault is not None and fault.kind == "ahead" and fault.offset_s == 86400.0
    m.step(-DAY)  # corrected back
    m.passes(10)
    assert m.clock.now() == START + timedelta(seconds=20) and m.clock.fault is None


def test_a_small_jump_ahead_is_believed_at_once() -> None:
    m = Machine()
    m.clock.now()
    m.step(timedelta(minutes=2))
    assert m.clock.now() == START + timedelta(minutes=2) and m.clock.fault is None


def test_a_small_jump_onto_the_next_hall_day_waits_until_the_hall_gets_there(cfg: HallConfig) -> None:
    """A couple of minutes across the rollover is believed only once the measured time crosses it too."""
    m = Machine(cfg)
    rollover = datetime.combine(START.date() + DAY, cfg.hall.day_rollover, TZ)
    m.wall.set(rollover - timedelta(minutes=1))
    m.clock.now()
    m.step(timedelta(minutes=2))
    assert m.clock.now() == rollover - timedelta(minutes=1) and m.clock.fault is not None
    m.passes(90)
    assert m.clock.now() == rollover + timedelta(minutes=2, seconds=30) and m.clock.fault is None


def test_confirm_believes_a_jump_ahead_but_never_a_step_back() -> None:
    m = Machine()
    m.clock.now()
    with pytest.raises(NotConfirmable) as nothing:
        m.clock.confirm()
    assert nothing.value.code == "clock_agrees"
    m.step(-HOUR)
    m.passes(5)
    with pytest.raises(NotConfirmable) as behind:
        m.clock.confirm()
    assert behind.value.code == "clock_behind"
    m.step(HOUR + DAY)
    fault = m.clock.confirm()
    assert fault.kind == "ahead" and m.clock.fault is None
    assert m.clock.now() == START + DAY + timedelta(seconds=5)


def test_a_manual_clock_without_a_monotonic_clock_keeps_the_floor_rule() -> None:
    wall = ManualClock(START, TZ)
    clock = NeverBackwards(wall, START + HOUR)
    assert clock.now() == START + HOUR
    wall.set(START + 2 * HOUR)
    assert clock.now() == START + 2 * HOUR and clock.status()["fault"] is None


# ---------------------------------------------------------------------- the core: no day roll, no expiry


def _issue_five(core: HallCore, m: Machine) -> list[str]:
    ids = []
    for _ in range(5):
        m.passes(60)
        ids.append(core.submit({"op": "issue", "service": "医保"})["result"]["ticket"])
    return ids


def test_a_day_ahead_then_corrected_expires_nothing_and_keeps_the_day(cfg: HallConfig, tmp_path: Path) -> None:
    m = Machine(cfg)
    core = HallCore(cfg, tmp_path, m.clock)
    try:
        ids = _issue_five(core, m)
        day = core.state.day
        m.step(DAY)
        m.passes(60)
        assert not core.engine.work_due()
        tick = core.submit({"op": "tick"})
        issued = core.submit({"op": "issue", "service": "医保"})
        assert tick["events"] == [] and issued["ok"]
        assert issued["events"][0]["at"].startswith("2026-11-23T09:06")  # the hall's time, not the wall clock's
        m.step(-DAY)
        m.passes(60)
        core.submit({"op": "tick"})
        assert core.state.day == day
        assert all(core.state.tickets[t].status == "waiting" for t in ids)
        assert [e["type"] for e in core.ledger.events()].count("day_opened") == 1
    finally:
        core.close()


def test_an_admins_confirmation_lets_the_day_roll(cfg: HallConfig, tmp_path: Path) -> None:
    m = Machine(cfg)
    core = HallCore(cfg, tmp_path, m.clock)
    try:
        ids = _issue_five(core, m)
        assert core.submit({"op": "confirm_clock"})["code"] == "clock_agrees"
        m.step(DAY)
        m.passes(60)
        answer = core.submit({"op": "confirm_clock", "node": "admin"})
        assert answer["ok"] and answer["result"]["offset_s"] == 86400.0
        confirmed = answer["events"][0]
        assert confirmed["type"] == "clock_confirmed" and confirmed["data"]["by"] == "admin"
        assert core.engine.work_due()
        opened = core.submit({"op": "tick"})["events"][0]
        assert opened["type"] == "day_opened" and opened["data"]["day"] == "2026-11-24"
        assert sorted(opened["data"]["expired"]) == sorted(ids)
    finally:
        core.close()
    again = HallCore(cfg, tmp_path, ManualClock(START + DAY, TZ))  # the confirmation replays to the same hall
    try:
        assert again.state.day == "2026-11-24"
    finally:
        again.close()


def test_confirm_is_refused_while_the_wall_clock_is_behind(cfg: HallConfig, tmp_path: Path) -> None:
    m = Machine(cfg)
    core = HallCore(cfg, tmp_path, m.clock)
    try:
        _issue_five(core, m)
        m.step(-2 * HOUR)
        m.passes(1)
        answer = core.submit({"op": "confirm_clock"})
        assert not answer["ok"] and answer["code"] == "clock_behind" and "never go backwards" in answer["message"]
    finally:
        core.close()


# ---------------------------------------------------------------------- a real server and hallctl


def hall_with_clock(cfg: HallConfig, tmp: Path, m: Machine, cmd_port: int, ev_port: int) -> Any:
    return running_hall(cfg, tmp, clock=m.clock, ports=(cmd_port, ev_port))


def test_status_shows_the_fault_and_hallctl_clock_confirm_ends_it(cfg: HallConfig, tmp_path: Path) -> None:
    fast = cfg.model_copy(update={"bus": cfg.bus.model_copy(update={"heartbeat_seconds": 0.05})})
    m = Machine(fast)
    cmd_port, ev_port = free_port(), free_port()
    config = tmp_path / "hall.toml"
    config_on_ports(config, cmd_port, ev_port)
    common = ["--config", str(config), "--keys", str(tmp_path / "keys"), "--timeout", "20"]

    async def scenario() -> None:
        async with hall_with_clock(fast, tmp_path, m, cmd_port, ev_port) as hall:
            server = hall.server
            kiosk = await hall.started("kiosk-1", subscribe=False)
            admin = await hall.started("admin", subscribe=False)
            ids = []
            for _ in range(5):
                m.passes(30)
                ids.append((await kiosk.request({"op": "issue", "service": "医保"}))["result"]["ticket"])
            assert (await admin.status())["clock"]["fault"] is None

            ticks = 0
            tick_if_due = server._tick_if_due

            async def counted() -> None:
                nonlocal ticks
                ticks += 1
                await tick_if_due()

            server._tick_if_due = counted  # type: ignore[method-assign]
            m.step(DAY)
            m.passes(30)
            await until(lambda: ticks >= 3)  # heartbeats came and went under the wrong clock
            status = await admin.status()
            fault = status["clock"]["fault"]
            assert fault is not None and fault["kind"] == "ahead" and fault["offset_s"] == 86400.0
            assert status["clock"]["wall"].startswith("2026-11-24") and status["day"] == "2026-11-23"
            assert all(server.core.state.tickets[t].status == "waiting" for t in ids)
            out = io.StringIO()
            print_status(status, out)
            text = out.getvalue()
            assert "CLOCK FAULT since 2026-11-23 09:03:00" in text and "hallctl clock confirm" in text

            shown = await asyncio.to_thread(hallctl, "status", "--node", "admin", *common)
            assert shown.returncode == 0 and "CLOCK FAULT" in shown.stdout and "24 h 00 min ahead" in shown.stdout

            refused = await asyncio.to_thread(hallctl, "clock", "confirm", "--node", "kiosk-1", *common)
            assert refused.returncode == 2 and "forbidden" in refused.stderr and "Traceback" not in refused.stderr

            confirmed = await asyncio.to_thread(hallctl, "clock", "confirm", *common)
            assert confirmed.returncode == 0, confirmed.stderr
            assert "the hall now keeps the wall clock's time 2026-11-24" in confirmed.stdout
            await until(lambda: server.core.state.day == "2026-11-24")
            assert all(server.core.state.tickets[t].status == "expired" for t in ids)
            assert (await admin.status())["clock"]["fault"] is None

            again = await asyncio.to_thread(hallctl, "clock", "confirm", *common)
            assert again.returncode == 2 and "clock_agrees" in again.stderr

    asyncio.run(asyncio.wait_for(scenario(), 120))


# ---------------------------------------------------------------------- scenarios may not put a ledger in the future


def test_a_scenario_far_in_the_future_is_refused_against_an_existing_ledger(tmp_path: Path) -> None:
    data = tmp_path / "data"
    script = tmp_path / "s.jsonl"
    script.write_text('{"at": "2026-11-23T09:00:00+08:00", "op": "issue", "service": "医保"}\n', encoding="utf-8")
    run = ("simulate", "--config", str(EXAMPLE), "--script", str(script), "--data", str(data))
    assert hallctl(*run).returncode == 0
    script.write_text('# next morning\n'
                      '{"at": "2026-11-23T21:00:00+08:00", "op": "issue", "service": "医保"}\n'
                      '{"at": "2099-11-23T09:00:00+08:00", "op": "issue", "service": "医保"}\n', encoding="utf-8")
    res = hallctl(*run)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1, res.stderr
    assert lines[0].startswith(f"{script}:3: at: 2099-11-23T09:00:00+08:00 is more than 1 day beyond")
    assert res.stdout.count('"ticket_issued"') == 1  # line 2, within a day of the ledger, ran
