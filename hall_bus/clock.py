"""Clocks injected into the queue engine, and the hall-day rule.

The engine never reads the system time itself: the scenario runner and the tests drive a ManualClock, the
server a SystemClock, so every decision replays the same way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


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


class NeverBackwards:
    """A clock that never returns a time before the last one it returned (or a floor, such as the ledger's
    newest event). The ledger is in time order whatever the wall clock does: an NTP step back, a script re-run
    on old data, a replaced mainboard with a dead RTC battery."""

    def __init__(self, inner: Clock, floor: datetime | None = None) -> None:
        self.inner = inner
        self.floor = floor

    def now(self) -> datetime:
        t = self.inner.now()
        if self.floor is not None and t < self.floor:
            return self.floor.astimezone(t.tzinfo)
        self.floor = t
        return t
