"""Opening hours (办公时间) and extended sessions (延时服务/错时服务): which sessions a day has, and which one a
moment falls in. Pure: the hall's `[hours]` and `[calendar]` come in the config, the moment comes from the caller.

A day's sessions follow from three facts, in this order:
- a swapped workday (调休上班: a weekend day in `calendar.workdays`) is worked as the weekday
  `hours.swapped_workday_as` (Monday unless told): that weekday's regular and extended sessions, as the public
  was told "this Saturday is a working day", never the Saturday's own 错时 session doubled with regular hours;
- a public holiday (`calendar.holidays`) has no regular session, and only the extended sessions marked
  `on_holidays` (a 节假日错时 window kept open for the few who need it);
- any other day has the sessions whose `days` hold its ISO weekday.

The engine asks `session_at` once when a ticket is issued, called or a case accepted, and writes the answer into
the event (engine.py: replay never consults config), so a changed timetable never rewrites yesterday's counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from hall_bus.config import HallConfig

REGULAR = "regular"
LOOK_AHEAD_DAYS = 30  # next_open looks this far: a hall shut longer (a rebuild) has no "next" worth printing
# What the report calls each kind: 延时 runs past the regular hours, 错时 opens when they are shut.
KIND_NAMES = {REGULAR: "正常办公", "lunch": "午间延时", "evening": "晚间延时", "weekend": "周末错时",
              "early": "早间错时"}


@dataclass(frozen=True, slots=True)
class Session:
    """One opening of the hall on one date, as aware datetimes in the hall's time zone (start inclusive, end
    exclusive), so the kiosk, the booking slots and the engine compare it with `now` directly."""

    name: str
    kind: str  # "regular", or the extended session's kind: lunch | evening | weekend | early
    start: datetime
    end: datetime

    @property
    def extended(self) -> bool:
        """Beyond the regular hours (延时/错时): what tickets and cases are flagged and counted for."""
        return self.kind != REGULAR


def _day_kind(cfg: HallConfig, day: date) -> tuple[int, bool]:
    """(the weekday whose timetable the day keeps, whether it is a public holiday)."""
    cal = cfg.calendar
    weekday = day.isoweekday()
    if day in cal.workdays:  # 调休上班 wins over a holiday listed by mistake, as workdays.is_working_day does
        return (cfg.hours.swapped_workday_as if weekday in cal.weekend else weekday), False
    return weekday, day in cal.holidays


_CACHE_DAYS = 64
_cache: dict[tuple[int, date], tuple[HallConfig, tuple[Session, ...]]] = {}


def sessions_on(cfg: HallConfig, day: date) -> list[Session]:
    """The sessions of one date (hall-local), sorted by start; empty when the hall is shut all day.

    Remembered for the last few dates per config (a config is frozen, and the one cached is kept beside its
    answer, so a new config at a reused id is never given another's): the engine asks on every ticket issued
    and called, and the booking pages ask for the same days over and over."""
    key = (id(cfg), day)
    hit = _cache.get(key)
    if hit is not None and hit[0] is cfg:
        return list(hit[1])
    found = _sessions_on(cfg, day)
    if len(_cache) >= _CACHE_DAYS:
        _cache.clear()
    _cache[key] = (cfg, tuple(found))
    return found


def _sessions_on(cfg: HallConfig, day: date) -> list[Session]:
    weekday, holiday = _day_kind(cfg, day)
    tz = cfg.hall.tz
    found: list[Session] = []

    def at(t: time) -> datetime:
        return datetime.combine(day, t, tz)

    if not holiday:
        found += [Session(s.name, REGULAR, at(s.start), at(s.end)) for s in cfg.hours.regular if weekday in s.days]
    found += [Session(s.name, s.kind, at(s.start), at(s.end)) for s in cfg.hours.extended
              if weekday in s.days and (s.on_holidays or not holiday)]
    found.sort(key=lambda s: (s.start, s.end))
    return found


def _local(cfg: HallConfig, when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        # A naive time would be read in the machine's zone, which need not be the hall's: refuse, never guess.
        raise ValueError(f"{when.isoformat()} has no time zone; give an aware time (the hall clock's are)")
    return when.astimezone(cfg.hall.tz)


def session_at(cfg: HallConfig, when: datetime) -> Session | None:
    """The session open at `when` (start inclusive, end exclusive: at 12:00 the 上午 session is over and a
    午间延时 from 12:00 has begun), or None when the hall is shut."""
    local = _local(cfg, when)
    for s in sessions_on(cfg, local.date()):
        if s.start <= local < s.end:
            return s
    return None


def is_open(cfg: HallConfig, when: datetime) -> bool:
    return session_at(cfg, when) is not None


def next_open(cfg: HallConfig, when: datetime) -> Session | None:
    """The next session starting at or after `when`, within LOOK_AHEAD_DAYS days: what the kiosk and the phone
    page put after "今天已下班，下次办公：". A session already under way at `when` is not the next one."""
    local = _local(cfg, when)
    for offset in range(LOOK_AHEAD_DAYS + 1):
        for s in sessions_on(cfg, local.date() + timedelta(days=offset)):
            if s.start >= local:
                return s
    return None


def event_fields(cfg: HallConfig, when: datetime) -> dict[str, str]:
    """`session` and `session_kind` for an event written in an extended session (延时/错时服务), else nothing: a
    ticket or case of the regular hours carries no such fields, so its events read as they always have and old
    ledgers need no default. The engine calls it in `execute`; replay reads the fields, never [hours]."""
    found = session_at(cfg, when)
    if found is None or not found.extended:
        return {}
    return {"session": found.name, "session_kind": found.kind}
