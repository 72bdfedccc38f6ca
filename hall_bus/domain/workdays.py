"""Deadlines in working days (工作日): a consultation answered within one working day, a bad rating followed up
within a few. Pure: the hall's calendar comes from its config (weekends, public holidays, weekend days worked in
exchange for a holiday), so the deadline printed on a slip is the one the supervisor checks."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hall_bus.config import WorkCalendar


def is_working_day(day: date, cal: WorkCalendar) -> bool:
    if day in cal.workdays:
        return True
    if day in cal.holidays:
        return False
    return day.isoweekday() not in cal.weekend


def add_working_days(moment: datetime, days: int, cal: WorkCalendar) -> datetime:
    """The same local clock time `days` working days later (Friday 16:00 + 1 → Monday 16:00; a question asked
    on a Saturday is due on Monday). Never earlier for a later moment, so deadlines keep the order of asking."""
    day, counted = moment.date(), 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, cal):
            counted += 1
    return moment.replace(year=day.year, month=day.month, day=day.day)
