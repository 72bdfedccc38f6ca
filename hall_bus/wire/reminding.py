"""The hall server's reminder pass: the evening before, every confirmed booking for tomorrow gets its SMS, and the
ledger records each one sent or failed (`record_reminder`), so a restart neither forgets nor repeats them.

Lives in the server because only the server holds the whole phone number (the bus carries it masked). One pass
every `PASS_SECONDS`: a failure a retry can mend is simply due again next pass; one it cannot (a number the
provider refuses) is recorded as given up, and the supervisor sees it in the 台账.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from hall_bus.clock import Clock
from hall_bus.config import HallConfig
from hall_bus.domain import commands as c
from hall_bus.domain import state as s
from hall_bus.domain.state import HallState
from hall_bus.sms.gateway import SmsGateway, SmsResult
from hall_bus.sms.reminders import ReminderCandidate, due_reminders, send_reminders

log = logging.getLogger("hall.server")
PASS_SECONDS = 60.0


def candidates(cfg: HallConfig, state: HallState) -> list[ReminderCandidate]:
    """Confirmed bookings not yet reminded, as the reminder module sees them (a home visit too: the visitor
    should be at home)."""
    tz = cfg.hall.tz
    return [ReminderCandidate(code=b.code, phone=b.phone, item_name=b.item_name, hall_name=cfg.hall.name,
                              slot_start=datetime.fromtimestamp(b.start_ts, tz), status=b.status,
                              reminded=b.reminded)
            for b in state.bookings.values() if b.status == s.BOOKED and not b.reminded]


async def remind_once(cfg: HallConfig, state: HallState, clock: Clock, gateway: SmsGateway,
                      submit: Callable[[Any], Awaitable[dict[str, Any] | None]]) -> int:
    """One pass: send what is due now and record each result through the core. Returns how many were sent."""
    assert cfg.sms is not None
    due = due_reminders(candidates(cfg, state), clock.now(), cfg.sms.send_at, cfg.hall.tz)
    sent = 0

    async def record(code: str, result: SmsResult) -> None:
        nonlocal sent
        sent += result.ok
        if result.ok or not result.retryable:
            await submit(c.RecordReminder(code=code, ok=result.ok, message_id=result.message_id or "",
                                          error=(result.error or "")[:200]))

    await send_reminders(gateway, due, tz=cfg.hall.tz, on_sent=record)
    return sent


async def run_reminders(cfg: HallConfig, state: Callable[[], HallState], clock: Clock, gateway: SmsGateway,
                        submit: Callable[[Any], Awaitable[dict[str, Any] | None]]) -> None:
    while True:
        try:
            await remind_once(cfg, state(), clock, gateway, submit)
        except Exception as exc:  # a reminder pass must never take the hall server down
            log.error("reminder pass failed: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(PASS_SECONDS)
