"""The text of an appointment code (预约码), as the hall makes it and the kiosk reads it (nodes/appointment.py):
written once here, where the engine signs the codes of the bookings it confirms. Pure: no I/O.

    HALLAPPT/1;ref=PA-20261204-007;hall=平安县政务服务中心;service=婚姻登记;at=2026-12-04T09:00+08:00;sig=…

`sig` is the first 16 hex digits of an HMAC-SHA256 of everything before it under the hall's booking key.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

PREFIX = "HALLAPPT/1"


def encode(service: str, at: datetime, *, ref: str, group: str = "normal", hall: str = "") -> str:
    """The text of an appointment code (for tests, the demo and a booking system's integrator)."""
    if at.tzinfo is None:
        raise ValueError("the appointment time needs a UTC offset")
    if not ref:
        raise ValueError("an appointment code needs the booking's reference")
    parts = [PREFIX, f"ref={ref}", *([f"hall={hall}"] if hall else []), f"service={service}",
             f"at={at.isoformat(timespec='minutes')}"]
    if group != "normal":
        parts.append(f"group={group}")
    return ";".join(parts)


def signature(text: str, key: bytes) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:16]


def sign(text: str, key: bytes) -> str:
    """The code with its signature: what the phone page shows as a QR and the slip prints."""
    return f"{text};sig={signature(text, key)}"
