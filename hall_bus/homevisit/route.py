"""One helper's 上门办 day: the stops in the order they are driven, when to leave for each, and the clashes.

A helper reads the route sheet in the morning and has to trust it on the road, so clashes are worked out
here, ahead of time, and said in words a helper acts on (which two homes, how many minutes short) rather
than left for the helper to notice at the door. Pure: no I/O, no clock; the caller gives the day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo

from hall_bus.errors import UserError


@dataclass(frozen=True)
class VisitStop:
    """One booked home visit as the route needs it. Lists given for the sequences are kept as tuples so a
    stop stays immutable and hashable (a plan can never be edited behind the sheet that printed it)."""

    code: str  # booking code, e.g. PA-20261204-0007
    item_name: str  # 事项 as the visitor asked for it
    service: str
    start: datetime  # the booked time; must carry a time zone
    minutes: int  # expected time at the home
    address: str
    visitor_name: str
    phone: str
    village: str = ""  # 村/片区, for grouping by area; optional
    needs: Sequence[str] = ()  # 轮椅, 听力不好, 需要代写 …
    helpers: Sequence[str] = ()  # the 1–2 helpers assigned
    travel_minutes: int = 0  # from the previous stop, or from the hall for the first
    materials: Sequence[str] = ()  # to bring
    note: str = ""
    back_minutes: int | None = None  # from this home back to the hall, when known; else travel_minutes

    def __post_init__(self) -> None:
        for name in ("needs", "helpers", "materials"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.start.tzinfo is None:
            raise UserError(f"上门办 {self.code}: 预约时间没有时区")
        if self.minutes <= 0:
            raise UserError(f"上门办 {self.code}: 预计时长要大于 0 分钟")
        if self.travel_minutes < 0 or (self.back_minutes is not None and self.back_minutes < 0):
            raise UserError(f"上门办 {self.code}: 路上时间不能是负数")

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class RouteRow:
    """A stop placed in the day: times are in the day's zone, so what prints is the hall's wall clock."""

    number: int  # 1-based place in the route
    stop: VisitStop
    leave_at: datetime  # start − travel: when to set off from the hall or the previous home
    arrive_at: datetime  # the booked start
    end_at: datetime
    back_at: datetime | None  # only for the last stop: when the helper is expected back at the hall
    companions: tuple[str, ...]  # the other helpers going to this home (同行)
    warnings: tuple[str, ...] = ()  # this stop's clashes, also in RouteDay.warnings

    @property
    def back_minutes(self) -> int:
        return self.stop.travel_minutes if self.stop.back_minutes is None else self.stop.back_minutes


@dataclass(frozen=True)
class RouteDay:
    hall_name: str
    helper: str
    day: date
    rows: tuple[RouteRow, ...]
    warnings: tuple[str, ...]
    road_minutes: int  # every leg, the one back to the hall included
    visit_minutes: int
    tz: tzinfo | None = field(default=None, compare=False)

    @property
    def leave_at(self) -> datetime | None:
        return self.rows[0].leave_at if self.rows else None

    @property
    def back_at(self) -> datetime | None:
        return self.rows[-1].back_at if self.rows else None


def hhmm(t: datetime) -> str:
    return t.strftime("%H:%M")


def _local(t: datetime, tz: tzinfo | None) -> datetime:
    return t.astimezone(tz) if tz is not None else t


def _clashes(row: RouteRow, earlier: Sequence[RouteRow]) -> tuple[str, ...]:
    """Overlap with any earlier home (a long visit can run past the next two starts); otherwise, for the home
    just before, whether the road fits between its end and this start. An overlap says it all, so the road is
    not reported again for the same pair."""
    out: list[str] = []
    s = row.stop
    for prev in earlier:
        if prev.end_at > row.arrive_at:
            minutes = int((min(prev.end_at, row.end_at) - row.arrive_at).total_seconds() // 60)
            out.append(f"时间重叠：第{row.number}户 {s.code} {hhmm(row.arrive_at)} 开始，第{prev.number}户 "
                       f"{prev.stop.code} 预计 {hhmm(prev.end_at)} 才结束，重叠 {minutes} 分钟")
    if not out and earlier and row.leave_at < earlier[-1].end_at:
        prev = earlier[-1]
        gap = int((row.arrive_at - prev.end_at).total_seconds() // 60)
        out.append(f"路上时间不够：第{prev.number}户 {prev.stop.code} 预计 {hhmm(prev.end_at)} 结束，"
                   f"第{row.number}户 {s.code} {hhmm(row.arrive_at)} 开始，路上要 {s.travel_minutes} 分钟，"
                   f"只有 {gap} 分钟，差 {s.travel_minutes - gap} 分钟")
    return tuple(out)


def plan_day(stops: Iterable[VisitStop], hall_name: str, helper: str, day: date, *,
             tz: tzinfo | None = None) -> RouteDay:
    """The helper's stops on `day` (others' stops and other days are left out, so the caller can pass the
    whole booking list), in the order of their booked times. `tz` is the hall's zone: the day and the printed
    times are the hall's wall clock; without it each stop's own zone is used."""
    mine = sorted((s for s in stops if helper in s.helpers and _local(s.start, tz).date() == day),
                  key=lambda s: (s.start, s.code))
    rows: list[RouteRow] = []
    for i, s in enumerate(mine):
        start = _local(s.start, tz)
        end = _local(s.end, tz)
        row = RouteRow(number=i + 1, stop=s, leave_at=start - timedelta(minutes=s.travel_minutes), arrive_at=start,
                       end_at=end, back_at=None, companions=tuple(h for h in s.helpers if h != helper))
        rows.append(replace(row, warnings=_clashes(row, rows)))
    if rows:
        last = rows[-1]
        rows[-1] = replace(last, back_at=last.end_at + timedelta(minutes=last.back_minutes))
    road = sum(r.stop.travel_minutes for r in rows) + (rows[-1].back_minutes if rows else 0)
    return RouteDay(hall_name=hall_name, helper=helper, day=day, rows=tuple(rows),
                    warnings=tuple(w for r in rows for w in r.warnings), road_minutes=road,
                    visit_minutes=sum(r.stop.minutes for r in rows), tz=tz)


def helpers_on(stops: Iterable[VisitStop], day: date, *, tz: tzinfo | None = None) -> list[str]:
    """Everyone with a stop on `day`, in a stable order: one route sheet each."""
    return sorted({h for s in stops if _local(s.start, tz).date() == day for h in s.helpers})
