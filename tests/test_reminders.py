"""The evening before, each confirmed booking gets one SMS; the ledger records it, so a restarted server does
not send it twice, and a number the provider refuses is given up on, not retried every minute."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from hall_bus.clock import ManualClock
from hall_bus.domain import commands as c
from hall_bus.sms.settings import SmsSettings
from hall_bus.sms.simulator import SimulatedSms
from hall_bus.store.core import HallCore
from hall_bus.wire.reminding import remind_once

from .conftest import TZ

MARRIAGE = "QR-379901-MZJ-011"


def _book(core: HallCore, phone: str, at: datetime) -> str:
    held = core.submit(c.HoldBooking(item=MARRIAGE, start=at, phone=phone, name="张秀英", channel="phone"))
    assert held["ok"], held
    code = held["result"]["code"]
    assert core.submit(c.ConfirmBooking(code=code, phone_tail=phone[-4:]))["ok"]
    return code


def test_one_reminder_the_evening_before_and_none_after_a_restart(cfg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = cfg.model_copy(update={"sms": SmsSettings(sign_name="平安县政务")})
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ), TZ)
    core = HallCore(cfg, tmp_path, clock)
    refused = _book(core, "13712345678", datetime(2026, 11, 24, 10, 30, tzinfo=TZ))  # reminded first: refused
    tuesday = _book(core, "13812345678", datetime(2026, 11, 24, 10, 0, tzinfo=TZ))
    _book(core, "13912345678", datetime(2026, 11, 25, 10, 0, tzinfo=TZ))  # Wednesday: not yet
    sms = SimulatedSms(sign_name="平安县政务")

    async def submit(cmd: Any) -> dict[str, Any]:
        return core.submit(cmd)

    assert asyncio.run(remind_once(cfg, core.state, clock, sms, submit)) == 0  # 09:00: too early
    clock.set(datetime(2026, 11, 23, 18, 5, tzinfo=TZ))
    sms.fail_next(1, retryable=False, error="isv.MOBILE_NUMBER_ILLEGAL")
    asyncio.run(remind_once(cfg, core.state, clock, sms, submit))
    texts = {m.phone: m.text for m in sms.sent}
    assert list(texts) == ["13812345678"] and tuesday in texts["13812345678"] and "11月24日" in texts["13812345678"]
    assert core.state.bookings[tuesday].reminded and core.state.bookings[refused].reminded  # given up, recorded
    core.close()
    again = HallCore(cfg, tmp_path, clock)
    assert asyncio.run(remind_once(cfg, again.state, clock, sms, submit)) == 0
    assert len(sms.sent) == 1
    again.close()


def test_bookings_survive_a_snapshot_and_a_replay_with_their_places(cfg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A restarted server knows every booking and how full each slot is, from a snapshot or from the events."""
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ), TZ)
    core = HallCore(cfg, tmp_path, clock)
    at = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
    codes = [_book(core, f"1381234{n:04d}", at) for n in range(3)]
    held = core.submit(c.HoldBooking(item=MARRIAGE, start=at.replace(hour=11), phone="13900000000", name="李四"))
    core.submit(c.CancelBooking(code=codes[0]))
    before = (dict(core.state.bookings), {k: dict(v) for k, v in core.state.slot_taken.items()},
              dict(core.state.holds), dict(core.state.booked_open))
    core.snapshot()
    core.close()
    reopened = HallCore(cfg, tmp_path, clock)
    after = (dict(reopened.state.bookings), {k: dict(v) for k, v in reopened.state.slot_taken.items()},
             dict(reopened.state.holds), dict(reopened.state.booked_open))
    assert after == before and held["result"]["code"] in reopened.state.holds
    again = reopened.submit(c.HoldBooking(item=MARRIAGE, start=at, phone="13700000000", name="王五"))
    assert again["ok"]  # the cancelled place is free again after the restart
    reopened.close()
