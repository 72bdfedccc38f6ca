"""The day's 上门办 bookings as route stops: what the ledger knows of a visit turned into what a helper's sheet
needs (the catalogue's materials to bring, the hall's visit length, the helpers by name).

Pure: the caller reads the ledger and the config. A visit without helpers goes on no sheet, so it is returned
apart, for the command to say so before anyone leaves the hall.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from hall_bus.domain import state as s
from hall_bus.homevisit.route import VisitStop
from hall_bus.reports.bookings import BookingRow

ON_THE_ROUTE = frozenset({s.BOOKED, s.CHECKED_IN, s.BOOKING_DONE})  # confirmed, not cancelled nor missed


@dataclass(frozen=True)
class DayVisits:
    stops: list[VisitStop]
    helpers: dict[str, str]  # staff id → the name its sheet is planned and printed under, for every helper
    unassigned: list[str]  # booking codes of visits no helper is assigned to


def helper_names(ids: Iterable[str], name_of: Callable[[str], str]) -> dict[str, str]:
    """Staff id → name; a name two helpers share gets the id beside it (王芳（h7）), since a route is planned by
    name and two 王芳 must not get each other's homes."""
    ids = list(dict.fromkeys(ids))
    count = Counter(name_of(h) for h in ids)
    return {h: name_of(h) if count[name_of(h)] == 1 else f"{name_of(h)}（{h}）" for h in ids}


def day_visits(rows: Iterable[BookingRow], day: date, tz: tzinfo, minutes: int,
               materials: Mapping[str, Sequence[str]], name_of: Callable[[str], str]) -> DayVisits:
    """The confirmed home visits booked for `day`: `minutes` is [booking] home_visit_minutes, `materials` the
    catalogue's list per item code."""
    visits = [b for b in rows if b.home_visit and b.confirmed and b.status in ON_THE_ROUTE
              and datetime.fromisoformat(b.start).astimezone(tz).date() == day]
    names = helper_names((h for b in visits for h in b.helpers), name_of)
    stops = [VisitStop(code=b.code, item_name=b.item_name, service=b.service, start=datetime.fromisoformat(b.start),
                       minutes=minutes, address=b.address, visitor_name=b.name, phone=b.phone, needs=b.needs,
                       helpers=[names[h] for h in b.helpers], travel_minutes=b.travel_minutes or 0,
                       materials=materials.get(b.item, ()), note=b.note)
             for b in visits if b.helpers]
    return DayVisits(stops, names, [b.code for b in visits if not b.helpers])
