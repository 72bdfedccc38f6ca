"""Booking slots: how a day's opening hours are cut into slots and how many visitors each takes. Pure: no I/O.

Capacity is derived, never typed in: from the windows that serve the item's service (each serves `slot_minutes /
avg_minutes` visitors a slot) times `[booking] capacity_share`, so adding a window or a slower service changes what is
offered the next time anyone looks. Extended sessions (延时/错时, hours.py) are booked as their own slots and say
so. Part of each slot is kept for assistance groups (`group_share`) until `release_hours` before it starts; a
group's booking takes its own reserve first, then the common part, so one group filling its reserve never eats
another's. A home visit (上门办) is not a window slot: the day's visits are limited by `home_visits_per_day`.

The engine decides a booking with these same functions inside one command, so what the phone page shows and
what the hall accepts cannot disagree by more than the bookings made in between.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from hall_bus.config import HallConfig

HOME_VISIT = "home_visit"


class SessionLike(Protocol):
    name: str
    kind: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Slot:
    service: str
    start: datetime
    end: datetime
    session: str  # the session's name (上午, 午间延时…)
    session_kind: str  # "regular", or the kind of an extended session
    capacity: int

    @property
    def key(self) -> str:
        """What the state counts bookings under: the service and the slot's start."""
        return slot_key(self.service, self.start.timestamp())


def slot_key(service: str, start_ts: float) -> str:
    return f"{service}@{int(start_ts)}"


def window_capacity(cfg: HallConfig, service: str) -> int:
    """Visitors one slot takes for bookings: every window serving the service, at its average service time."""
    svc = cfg.services_by_name[service]
    windows = sum(1 for c in cfg.counters if service in c.services)
    return math.floor(windows * cfg.booking.slot_minutes / svc.avg_minutes * cfg.booking.capacity_share)


def cut(cfg: HallConfig, service: str, sessions: Iterable[SessionLike]) -> list[Slot]:
    """The day's slots for a service: each session cut from its start into `slot_minutes`, the last
    `buffer_minutes` of a session left free so the last booked visitor is served within the hours."""
    step = timedelta(minutes=cfg.booking.slot_minutes)
    buffer = timedelta(minutes=cfg.booking.buffer_minutes)
    capacity = window_capacity(cfg, service)
    out: list[Slot] = []
    for sess in sessions:
        start = sess.start
        while start + step <= sess.end - buffer or (start + step <= sess.end and start == sess.start):
            out.append(Slot(service, start, start + step, sess.name, sess.kind, capacity))
            start += step
    return out


def reserves(cfg: HallConfig, capacity: int) -> dict[str, int]:
    """Places of a slot kept for each assistance group (rounded down: a small slot keeps none)."""
    return {g: math.floor(capacity * share) for g, share in cfg.booking.group_share.items() if share > 0}


def places_left(capacity: int, kept: Mapping[str, int], taken: Mapping[str, int], group: str,
                released: bool) -> int:
    """How many more visitors of `group` a slot takes. Released (close to the slot): one common pool."""
    total = sum(taken.values())
    if released:
        return max(0, capacity - total)
    common = capacity - sum(kept.values())
    common_used = sum(max(0, n - kept.get(g, 0)) for g, n in taken.items())
    own = max(0, kept.get(group, 0) - taken.get(group, 0))
    return own + max(0, common - common_used)


def is_released(cfg: HallConfig, start: datetime, now: datetime) -> bool:
    return start - now <= timedelta(hours=cfg.booking.release_hours)


def bookable_days(cfg: HallConfig, now: datetime) -> list[date]:
    """Today and the days ahead a booking may be made for (`horizon_days`), in the hall's time zone."""
    today = now.astimezone(cfg.hall.tz).date()
    return [today + timedelta(days=n) for n in range(cfg.booking.horizon_days + 1)]


def too_soon(cfg: HallConfig, start: datetime, now: datetime) -> bool:
    return start - now < timedelta(minutes=cfg.booking.lead_minutes)


def beyond_horizon(cfg: HallConfig, start: datetime, now: datetime) -> bool:
    return start.astimezone(cfg.hall.tz).date() > bookable_days(cfg, now)[-1]


def home_visit_slots(cfg: HallConfig, sessions: Iterable[SessionLike]) -> list[Slot]:
    """Start times a home visit may be booked at: the regular sessions cut into `home_visit_minutes`. The
    day's limit (`home_visits_per_day`) is counted apart, since the helpers, not the windows, are the limit."""
    step = timedelta(minutes=cfg.booking.home_visit_minutes)
    out: list[Slot] = []
    for sess in sessions:
        if sess.kind != "regular":
            continue
        start = sess.start
        while start + step <= sess.end:
            out.append(Slot(HOME_VISIT, start, start + step, sess.name, sess.kind, cfg.booking.home_visits_per_day))
            start += step
    return out


def home_day_key(day: date) -> str:
    return f"{HOME_VISIT}@{day.isoformat()}"
