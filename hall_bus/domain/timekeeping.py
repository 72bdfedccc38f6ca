"""An admin's word on the clock: the hall's time comes from an injected clock (hall_bus/clock.py) that refuses to
believe a wall clock jumping ahead, so a wrong clock cannot roll the hall day and expire the waiting tickets.
When the jump is real (the clock was slow and has been put right), an admin confirms it and the hall follows.

The confirmation is recorded as an event, so the ledger says why its times leap; applying it changes nothing,
since the clock is not hall state and replay never consults a clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.clock import NotConfirmable
from hall_bus.domain import commands as c
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.state import HallState

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine


@handles("confirm_clock")
def confirm_clock(e: QueueEngine, cmd: c.ConfirmClock, now: datetime) -> dict[str, Any]:
    confirm = getattr(e.clock, "confirm", None)
    if confirm is None:  # a bare clock (a test's) has no trusted time to disagree with
        raise CommandRejected("clock_agrees", "this hall's clock has no wall clock to confirm")
    try:
        fault = confirm()
    except NotConfirmable as exc:
        raise CommandRejected(exc.code, str(exc)) from None
    wall, trusted = fault.wall.isoformat(timespec="seconds"), fault.trusted.isoformat(timespec="seconds")
    e.emit("clock_confirmed", now, wall=wall, trusted=trusted, offset_s=fault.offset_s,
           since=fault.since.isoformat(timespec="seconds"), by=cmd.node)
    return {"wall": wall, "trusted": trusted, "offset_s": fault.offset_s}


@applies("clock_confirmed")
def clock_confirmed_applied(st: HallState, ts: float, d: dict[str, Any]) -> None:
    """Nothing to change: the events after it carry the confirmed time, and the day rolls by its own event."""
