"""The appointment QR code a visitor brings to the kiosk (预约码), read by the kiosk's document camera.

Booking systems differ per province; what reaches the hall is a code on a phone or a slip. The hall does not keep
a booking database, so the code itself carries the booking, in one line a person can read and a test can write:

    HALLAPPT/1;ref=YY20261202-0012;hall=平安县政务服务中心;service=医保;at=2026-12-02T10:00+08:00;group=accompany

A booking made in this hall (domain/booking.py: the phone page, a helper's tablet) ends with `;sig=` and 16 hex
digits, an HMAC-SHA256 of everything before it under the hall's booking key (`booking.key` beside the ledger):
the server checks it when the ticket is asked for, so a code typed up from a neighbour's slip with another time
or group is refused. A code of an outside booking system has no signature and is taken on its fields as before.

`ref` is the booking system's reference: it goes into the ticket (`appointment_ref`), and the hall refuses a
second ticket for the same booking on the same day, however many kiosks the code is shown to. `hall` (optional
for booking systems that serve one hall) names the hall; `service` is a service name of this hall; `at` the booked
time with its UTC offset; `group` optional (an assistance group booked with the appointment; "normal" when
absent). The kiosk refuses, in words a visitor understands, a code that is not ours or another hall's, names a
service this hall does not have, is for another day, or is more than `appointment_late_minutes` late (a late
booking would otherwise be called ahead of everyone who came on time); it never guesses. Nothing of a refused
code is logged: a phone held to the camera may show a payment code or an e-ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hall_bus.clock import hall_day
from hall_bus.config import HallConfig
from hall_bus.domain.appointment_code import PREFIX, encode, sign, signature

__all__ = ["PREFIX", "Appointment", "AppointmentRefused", "encode", "parse", "sign", "signature"]

# Groups a booking may carry into the queue: a home visit is served at home, not called at a window.
QUEUED_GROUPS_EXCLUDED = frozenset({"home_visit"})


@dataclass(frozen=True, slots=True)
class Appointment:
    ref: str
    service: str
    at: datetime
    group: str = "normal"
    sig: str = ""  # the hall's signature, for a booking made here


class AppointmentRefused(ValueError):
    """Why the code cannot give a ticket: `code` for the screen's words, `detail` for the log."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def parse(text: str, cfg: HallConfig, now: datetime) -> Appointment:
    """The booking in a scanned code, checked against this hall and today's hall day; AppointmentRefused if not."""
    head, _, rest = text.strip().partition(";")
    if head != PREFIX:
        raise AppointmentRefused("not_ours", "not an appointment code")
    fields: dict[str, str] = {}
    for part in rest.split(";"):
        key, sep, value = part.partition("=")
        if not sep or key in fields:
            raise AppointmentRefused("unreadable", "a field without a value, or given twice")
        fields[key.strip()] = value.strip()
    unknown = set(fields) - {"ref", "hall", "service", "at", "group", "sig"}
    if unknown:
        raise AppointmentRefused("unreadable", f"unknown fields {sorted(unknown)}")
    if not fields.get("ref"):
        raise AppointmentRefused("unreadable", "no booking reference")
    if fields.get("hall") and fields["hall"] != cfg.hall.name:
        raise AppointmentRefused("other_hall", "booked at another hall")
    service = fields.get("service", "")
    if service not in cfg.services_by_name:
        raise AppointmentRefused("unknown_service", f"this hall has no service {service!r}")
    try:
        at = datetime.fromisoformat(fields.get("at", ""))
    except ValueError:
        raise AppointmentRefused("unreadable", f"bad time {fields.get('at', '')!r}") from None
    if at.tzinfo is None:
        raise AppointmentRefused("unreadable", "the time has no UTC offset")
    group = fields.get("group") or "normal"
    if group != "normal" and (group not in cfg.groups or group in QUEUED_GROUPS_EXCLUDED):
        raise AppointmentRefused("unknown_group", f"group {group!r} cannot queue at a window")
    tz, rollover = cfg.hall.tz, cfg.hall.day_rollover
    if hall_day(at.astimezone(tz), tz, rollover) != hall_day(now.astimezone(tz), tz, rollover):
        raise AppointmentRefused("other_day", f"booked for {at.astimezone(tz):%Y-%m-%d %H:%M}, not today")
    late = (now - at).total_seconds() / 60
    if late > cfg.hall.appointment_late_minutes:
        raise AppointmentRefused("late", f"{late:.0f} min after the booked time")
    sig = fields.get("sig", "")
    if sig and (len(sig) != 16 or any(ch not in "0123456789abcdef" for ch in sig)):
        raise AppointmentRefused("unreadable", "a signature that is not 16 hex digits")
    return Appointment(fields["ref"], service, at, group, sig)
