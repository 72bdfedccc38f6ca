"""Clocks injected into the queue engine, and the hall-day rule.

The engine never reads the system time itself: the scenario runner and the tests drive a ManualClock, the
server a SystemClock, so every decision replays the same way. Between the wall clock and the engine sits
NeverBackwards: the ledger must stay in time order, and a wrong wall clock must neither freeze the hall's
times nor roll its day (see its docstring).
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

log = logging.getLogger("hall.clock")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)


class ManualClock:
    """A clock that only moves when told to; times without an offset are taken in the hall's zone."""

    def __init__(self, start: datetime, tz: ZoneInfo | None = None) -> None:
        self.tz = tz or start.tzinfo or UTC
        self._now = self._aware(start)

    def _aware(self, t: datetime) -> datetime:
        return t if t.tzinfo is not None else t.replace(tzinfo=self.tz)

    def now(self) -> datetime:
        return self._now

    def set(self, t: datetime) -> None:
        self._now = self._aware(t)

    def advance(self, seconds: float) -> None:
        self._now = self._now + timedelta(seconds=seconds)


def hall_day(moment: datetime, tz: ZoneInfo, rollover: time) -> date:
    """The business day a moment belongs to: before the rollover time it still counts as the previous day.

    Halls that stay open late (or a kiosk left on overnight) must not start a new numbering at midnight
    while yesterday's queue is still being served.
    """
    local = moment.astimezone(tz)
    shifted = local - timedelta(hours=rollover.hour, minutes=rollover.minute, seconds=rollover.second)
    return shifted.date()


_SECOND = timedelta(seconds=1)
_NAIVE_EPOCH = datetime(1970, 1, 1)


class EventTimes:
    """`datetime.fromisoformat(at).timestamp()` for a stream of ledger times: the very same float, for a third of
    the cost, as replay reads them (store/core.py). Nearly all of it is the aware `timestamp()`; the wall time
    less the epoch shifted by the same offset is the same timedelta, microsecond for microsecond, and dividing
    it by a second divides the same two integers `timestamp()` divides. The offset is the last one seen (a hall
    writes one, "+08:00"); a time with another goes the long way and becomes the one remembered."""

    def __init__(self) -> None:
        self._offset = ""
        self._epoch = _NAIVE_EPOCH

    def ts(self, at: str) -> float:
        if at[-6:] == self._offset:
            return (datetime.fromisoformat(at[:-6]) - self._epoch) / _SECOND
        moment = datetime.fromisoformat(at)
        shift = moment.utcoffset()
        if shift is not None and at[-6] in "+-" and at[-3] == ":":
            self._offset, self._epoch = at[-6:], _NAIVE_EPOCH + shift
        return moment.timestamp()


def boot_seconds() -> float:
    """Seconds on a clock that only counts up, including time spent suspended.

    Plain time.monotonic stops while the machine sleeps, so a hall server woken in the morning would see the wall
    clock "jump" a night ahead and refuse to open the new day; CLOCK_BOOTTIME (Linux) keeps counting through
    suspend and, like time.monotonic, is never stepped by NTP or by hand.
    """
    boottime = getattr(_time, "CLOCK_BOOTTIME", None)
    return _time.clock_gettime(boottime) if boottime is not None else _time.monotonic()


DEFAULT_TOLERANCE = timedelta(minutes=5)


@dataclass
class ClockFault:
    """The wall clock and the hall's trusted time disagree. `since` is trusted time, as the ledger would show it."""

    kind: str  # "ahead": the wall clock jumped ahead (confirmable); "behind": it stepped back (never confirmable)
    since: datetime
    wall: datetime
    trusted: datetime

    @property
    def offset_s(self) -> float:
        return round((self.wall - self.trusted).total_seconds(), 1)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "since": self.since.isoformat(timespec="seconds"),
                "wall": self.wall.isoformat(timespec="seconds"),
                "trusted": self.trusted.isoformat(timespec="seconds"), "offset_s": self.offset_s}


class NotConfirmable(Exception):
    """There is nothing to confirm (the clocks agree), or what there is cannot be (the wall clock is behind)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class NeverBackwards:
    """The hall's time: never before the last time given (or a floor, such as the ledger's newest event), never
    frozen, and not thrown a day ahead by a wrong wall clock.

    The ledger is in time order whatever the wall clock does: an NTP step back, a script re-run on old data, a
    replaced mainboard with a dead RTC battery. Holding the floor until the wall clock caught up (the old rule)
    gave every event of those hours the same time, which breaks waits, durations and the help escalation. So,
    with a `monotonic` clock to measure elapsed time, the hall keeps a *trusted* time: the last time given plus
    the monotonic seconds since. The wall clock is believed while it agrees with it (not behind, and at most
    `tolerance` ahead on the same hall day), and re-anchors it; otherwise the trusted time is given:

    - behind: time runs on from the last time given at the monotonic pace, until the wall clock catches up;
    - ahead by more than `tolerance`, or onto another hall day: the jump is not believed, so the day does not
      roll and no ticket expires, until the wall clock comes back or an admin confirms it (`confirm`).

    Without `monotonic` (a ManualClock in a scenario or a test: its own time is the truth and nothing else
    measures elapsed time) only the floor applies, as before.
    """

    def __init__(self, inner: Clock, floor: datetime | None = None, *, monotonic: Callable[[], float] | None = None,
                 tolerance: timedelta = DEFAULT_TOLERANCE, day_of: Callable[[datetime], date] | None = None) -> None:
        self.inner = inner
        self.floor = floor
        self.monotonic = monotonic
        self.tolerance = tolerance
        self.day_of = day_of
        self.fault: ClockFault | None = None
        self._anchor: tuple[datetime, float] | None = None  # (trusted time, monotonic reading) last agreed on
        self._wall: datetime | None = None  # the last wall clock reading, for status

    def raise_floor(self, floor: datetime | None) -> None:
        """Never give a time before `floor` (the ledger's newest event, known only once the ledger is open)."""
        if floor is not None and (self.floor is None or floor > self.floor):
            self.floor = floor

    def now(self) -> datetime:
        wall = self.inner.now()
        self._wall = wall
        if self.monotonic is None:
            if self.floor is not None and wall < self.floor:
                return self.floor.astimezone(wall.tzinfo)
            self.floor = wall
            return wall
        mono = self.monotonic()
        if self._anchor is None:  # the first reading: nothing to compare with but the floor
            self._anchor = (wall if self.floor is None or wall >= self.floor else self.floor.astimezone(wall.tzinfo),
                            mono)
        at, at_mono = self._anchor
        trusted = at + timedelta(seconds=max(0.0, mono - at_mono))
        if self.floor is not None and trusted < self.floor:  # the floor was raised after the anchor was set
            self._anchor = (self.floor.astimezone(wall.tzinfo), mono)
            trusted = self._anchor[0]
        kind = self._disagreement(wall, trusted)
        if kind is None:
            self._anchor = (wall, mono)
            self._set_fault(None, wall, trusted)
            self.floor = wall
            return wall
        self._set_fault(kind, wall, trusted)
        self.floor = trusted
        return trusted

    def _disagreement(self, wall: datetime, trusted: datetime) -> str | None:
        if wall < trusted:
            return "behind"
        if wall - trusted > self.tolerance:
            return "ahead"
        if self.day_of is not None and self.day_of(wall) != self.day_of(trusted):
            return "ahead"
        return None

    def _set_fault(self, kind: str | None, wall: datetime, trusted: datetime) -> None:
        """Record (and log once) a disagreement worth an operator's attention; a step back of a few seconds is
        not one: the trusted time simply stays those seconds ahead."""
        if kind == "behind" and trusted - wall <= self.tolerance:
            kind = None
        if kind is None:
            if self.fault is not None:
                log.warning("wall clock agrees with the hall's time again (%s); clock fault since %s is over",
                            wall.isoformat(timespec="seconds"), self.fault.since.isoformat(timespec="seconds"))
                self.fault = None
            return
        if self.fault is None or self.fault.kind != kind:
            self.fault = ClockFault(kind, trusted, wall, trusted)
            what = ("the hall keeps its own time (no day roll, no expiry) until the wall clock comes back or an "
                    "admin confirms it: hallctl clock confirm" if kind == "ahead" else
                    "event times run on from the hall's time until the wall clock catches up")
            log.warning("wall clock %s is %s %s the hall's time %s; %s", wall.isoformat(timespec="seconds"),
                        _span(abs((wall - trusted).total_seconds())), "ahead of" if kind == "ahead" else "behind",
                        trusted.isoformat(timespec="seconds"), what)
        self.fault.wall, self.fault.trusted = wall, trusted

    def confirm(self) -> ClockFault:
        """An admin says the wall clock that jumped ahead is right: believe it from now on. Returns the fault
        that was confirmed. A wall clock behind the hall's time cannot be confirmed: the ledger would go back."""
        self.now()
        fault = self.fault
        if fault is None:
            raise NotConfirmable("clock_agrees", "the wall clock agrees with the hall's time; nothing to confirm")
        if fault.kind != "ahead":
            raise NotConfirmable("clock_behind", f"the wall clock is {_span(fault.offset_s)} behind the hall's time; "
                                 "event times never go backwards, so the hall keeps its time until the wall clock "
                                 "catches up")
        assert self.monotonic is not None
        log.warning("admin confirmed the wall clock %s (%s ahead of the hall's time %s)",
                    fault.wall.isoformat(timespec="seconds"), _span(fault.offset_s),
                    fault.trusted.isoformat(timespec="seconds"))
        self._anchor = (fault.wall, self.monotonic())
        self.fault = None
        self.floor = fault.wall
        return fault

    def status(self) -> dict[str, Any]:
        """What `hallctl status` shows: the hall's time, the wall clock's, and the fault if they disagree."""
        trusted = self.now()
        wall = self._wall or trusted
        return {"trusted": trusted.isoformat(timespec="seconds"), "wall": wall.isoformat(timespec="seconds"),
                "fault": self.fault.as_dict() if self.fault is not None else None}


def hall_clock(tz: ZoneInfo, rollover: time, *, tolerance: timedelta = DEFAULT_TOLERANCE) -> NeverBackwards:
    """The hall server's clock: the system clock, guarded by the boot clock and the hall-day rule."""
    return NeverBackwards(SystemClock(tz), monotonic=boot_seconds, tolerance=tolerance,
                          day_of=lambda t: hall_day(t, tz, rollover))


def _span(seconds: float) -> str:
    """A gap as a person reads it: 2 h 05 min, 7 min, 42 s."""
    s = round(abs(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
