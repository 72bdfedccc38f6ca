"""Who gets an appointment reminder (预约提醒) now, and sending them.

A reminder goes out the evening before the visit, from `send_at` (18:00) in the hall's time zone: late enough
that the visitor's plans for tomorrow are set, early enough to cancel and free the slot for someone else.
A booking made after that for tomorrow is due at once (the next pass), and a slot less than MIN_LEAD away gets
none — a booking made that late was made by someone who knows, and a text at 23:30 for an 01:00 slot helps
nobody. Only tomorrow counts: a pass that missed the evening (the server was off) sends nothing on the day
itself, since the visitor is most likely already on the way or decided.

`due_reminders` is pure (no clock, no I/O) so every boundary is a plain test; `send_reminders` only calls the
gateway and the caller's callback, and never raises: the caller records each result on its booking, so a
retryable failure is simply due again at the next pass (it is still not `reminded`).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from devices.privacy import mask_phone, mask_text
from hall_bus.sms.gateway import SmsGateway, SmsResult
from hall_bus.sms.templates import MAX_PARAM_LENGTH, REMINDER

log = logging.getLogger("hall.sms")

MIN_LEAD = timedelta(hours=2)
CANCELLED = "cancelled"

OnSent = Callable[[str, SmsResult], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class ReminderCandidate:
    """One booking as the reminder sees it. `phone` is whole (it is dialled); log it only through mask_phone.
    `slot_start` must carry its offset: a naive time cannot be placed on the hall's calendar."""

    code: str
    phone: str
    item_name: str
    hall_name: str
    slot_start: datetime
    status: str = "booked"
    reminded: bool = False

    def __repr__(self) -> str:  # a candidate in a log or a failed assertion shows no whole number
        return (f"ReminderCandidate(code={self.code!r}, phone={mask_phone(self.phone)!r}, "
                f"slot_start={self.slot_start.isoformat()!r}, status={self.status!r}, reminded={self.reminded})")


def due_reminders(bookings: Iterable[ReminderCandidate], now: datetime, send_at: time,
                  tz: tzinfo) -> list[ReminderCandidate]:
    """The bookings to remind at `now`, in the order given. Raises ValueError naming a naive time."""
    if now.tzinfo is None:
        raise ValueError(f"due_reminders: now has no time zone ({now.isoformat()}); pass an aware datetime")
    local_now = now.astimezone(tz)
    if local_now.time() < send_at:
        return []
    tomorrow = local_now.date() + timedelta(days=1)
    due = []
    for booking in bookings:
        if booking.slot_start.tzinfo is None:
            raise ValueError(f"booking {booking.code}: slot_start has no time zone "
                             f"({booking.slot_start.isoformat()})")
        if booking.reminded or booking.status == CANCELLED:
            continue
        if booking.slot_start.astimezone(tz).date() != tomorrow or booking.slot_start - now < MIN_LEAD:
            continue
        due.append(booking)
    return due


def _short(value: str) -> str:
    """A provider refuses a longer variable outright; a shortened item name still tells the visitor which."""
    value = value.strip()
    return value if len(value) <= MAX_PARAM_LENGTH else value[: MAX_PARAM_LENGTH - 1] + "…"


def reminder_params(booking: ReminderCandidate, tz: tzinfo) -> dict[str, str]:
    """The reminder template's variables, the slot in the hall's time (a ledger may hold it in UTC)."""
    slot = booking.slot_start.astimezone(tz)
    return {"date": f"{slot.month}月{slot.day}日", "time": f"{slot:%H:%M}", "hall": _short(booking.hall_name),
            "item": _short(booking.item_name), "code": booking.code}


async def send_reminders(gateway: SmsGateway, candidates: Iterable[ReminderCandidate], *, tz: tzinfo,
                         on_sent: OnSent) -> list[tuple[str, SmsResult]]:
    """Send each reminder in turn (one at a time: providers limit requests per second per account) and report
    every result, failures included, through `on_sent(code, result)`, which may be a plain or an async function.
    Returns the same pairs. Neither a gateway nor a callback that raises stops the others."""
    results: list[tuple[str, SmsResult]] = []
    for booking in candidates:
        try:
            result = await gateway.send(booking.phone, REMINDER, reminder_params(booking, tz))
        except Exception as exc:  # a gateway must not raise; if one does, the booking is tried again next pass
            result = SmsResult.failed(f"SMS gateway error / {type(exc).__name__} in {type(gateway).__name__}",
                                      retryable=True)
        if result.ok:
            log.info("reminder %s to %s sent (%s)", booking.code, mask_phone(booking.phone), result.message_id)
        else:
            log.warning("reminder %s to %s not sent%s: %s", booking.code, mask_phone(booking.phone),
                        " (retry next pass)" if result.retryable else "", result.error)
        results.append((booking.code, result))
        try:
            outcome = on_sent(booking.code, result)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception as exc:  # the caller's bug: logged, and the other bookings still get their reminders
            log.error("reminder %s: recording the result failed: %s: %s", booking.code, type(exc).__name__,
                      mask_text(str(exc)))
    return results
