"""What the county dashboard shows, read from the county ledger in one consistent snapshot.

Why a module of its own: the page and `/api/state` must show the same numbers, so both are rendered from one
`Board` built here, and the test counts the same figures independently from the events it stored. Nothing
here knows about HTTP.

Why these queries: the events table grows by every visit of every site, so today's figures are read through the
(type, at) index — a handful of event types, between the county's midnight and the next — and never by scanning
a site's history. Only named JSON fields are read (`on_time`, `level`, `complaint_id`, `case`): the events carry
applicants' names, ID and phone numbers, and a query that never selects `data` whole cannot show them. They are
read through `county.events_view` (masking.py), the masked view a `county_reader` may read: the dashboard's user
need not be allowed the raw events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from hall_bus.domain.commands import FOLLOW_UP_LEVELS, RATING_LEVELS

LEVELS = ("county", "town", "village", "partner")
LEVEL_NAMES = {"county": "县级", "town": "镇级", "village": "村级", "partner": "合作点"}
# 满意率 counts 非常满意, 满意 and 基本满意, as the hall's reports do (reports.summary.SATISFIED).
SATISFIED = tuple(level for level in RATING_LEVELS if level not in FOLLOW_UP_LEVELS)
RATED = ("rating_recorded", "case_rated")  # a visit's rating and a case's (一事一评): both count
TODAY_TYPES = ("ticket_issued", "case_accepted", "case_concluded", *RATED)
HANDOVERS_LISTED = 50  # open hand-overs in the JSON, the most urgent first; the counts are of all of them
HANDOVERS_ON_PAGE = 6  # on the page, which must fit a 1920×1080 screen without scrolling

STATE_WORDS = {"waiting": "待接收", "received": "已接收", "working": "办理中", "declined": "已退回",
               "escalated": "超时已督办"}
# Work on a case at the site it was handed to, after it accepted it: once one of these is there the hand-over is
# 办理中, before it 已接收 (accepted, untouched). Handing it on up the chain (镇 → 县) is the town's work on it: its
# own hand-over stays open until the result comes back. 待接收 is the hall's own word for a case in the inbox.
WORK_TYPES = ("case_started", "case_step_assigned", "case_step_finished", "case_supplement_requested",
              "case_resumed", "case_delayed", "case_visit_added", "case_record_attached", "case_handed_over")


@dataclass(slots=True)
class Figures:
    """Today's counts for a site, a level or the county; rates are None when there is nothing to divide."""

    visits: int = 0  # tickets issued (取号)
    accepted: int = 0  # cases accepted (受理)
    concluded: int = 0  # cases concluded (办结)
    on_time: int = 0  # of those, concluded on or before their due date
    rated: int = 0
    satisfied: int = 0
    complaints_open: int = 0  # registered and not yet closed, whenever registered

    def add(self, other: Figures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.concluded if self.concluded else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "on_time_rate": self.on_time_rate, "satisfaction_rate": self.satisfaction_rate}


@dataclass(slots=True)
class SiteRow:
    code: str
    name: str
    level: str
    parent: str | None
    parent_name: str | None
    depth: int  # 0 for the county centre, 1 for a town, 2 for its villages (partner points: 0, a group of their own)
    connected: bool
    last_seen: datetime | None
    last_event_at: datetime | None
    backlog: int  # events the site holds that the county does not yet have
    inbox: int  # deliveries (hand-overs, results, refusals) waiting at the county for the site to fetch
    silent_hours: float | None  # hours without an event, when that is silent_hours or more; None otherwise
    never: bool  # no event ever reached the county from it
    figures: Figures = field(default_factory=Figures)

    @property
    def silent(self) -> bool:
        return self.never or self.silent_hours is not None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "level": self.level, "parent": self.parent,
                "connected": self.connected, "last_seen": _iso(self.last_seen),
                "last_event_at": _iso(self.last_event_at), "backlog": self.backlog, "inbox": self.inbox,
                "silent": self.silent, "silent_hours": self.silent_hours, "never": self.never,
                "figures": self.figures.as_dict()}


@dataclass(slots=True)
class HandoverRow:
    handover_id: str
    case_no: str
    from_site: str
    from_name: str
    to_site: str
    to_name: str
    sent_at: datetime
    accept_by: datetime
    state: str  # a key of STATE_WORDS
    late: bool  # neither accepted nor declined, and past accept_by
    delivered: bool  # the receiving site has it (handover_received)
    urgency: int = 0  # its place in the most-urgent-first order the database gave

    @property
    def state_word(self) -> str:
        return STATE_WORDS[self.state]

    def as_dict(self) -> dict[str, Any]:
        return {"handover_id": self.handover_id, "case": self.case_no, "from_site": self.from_site,
                "from_name": self.from_name, "to_site": self.to_site, "to_name": self.to_name,
                "sent_at": _iso(self.sent_at), "accept_by": _iso(self.accept_by), "state": self.state,
                "state_word": self.state_word, "late": self.late, "delivered": self.delivered}


@dataclass(slots=True)
class Board:
    now: datetime  # in the county's time zone
    day: date
    sites: list[SiteRow]
    county: Figures
    levels: dict[str, Figures]
    handovers: list[HandoverRow]  # the HANDOVERS_LISTED most urgent, oldest first
    handovers_open: int  # all open ones, listed or not
    handovers_late: int
    can_read_events: bool  # False: the database user is kept from the events by row-level security

    @property
    def totals(self) -> dict[str, int]:
        return {"sites": len(self.sites), "connected": sum(s.connected for s in self.sites),
                "offline": sum(not s.connected for s in self.sites), "silent": sum(s.silent for s in self.sites),
                "backlog": sum(s.backlog for s in self.sites), "handovers_open": self.handovers_open,
                "handovers_late": self.handovers_late}

    def handovers_on_page(self, room: int = HANDOVERS_ON_PAGE) -> tuple[list[HandoverRow], dict[str, int]]:
        """The hand-overs the page has room for, oldest first, and how many of each state it leaves out. When
        there are more than fit, the late ones and the ones still to be accepted are the ones shown (a late
        hand-over must never scroll off a wall screen behind older ones that are being worked on)."""
        shown = sorted(sorted(self.handovers, key=lambda h: h.urgency)[:room], key=lambda h: h.sent_at)
        kept = {id(h) for h in shown}
        left: dict[str, int] = {}
        for h in self.handovers:
            if id(h) not in kept:
                left[h.state_word] = left.get(h.state_word, 0) + 1
        if self.handovers_open > len(self.handovers):
            left["其他"] = self.handovers_open - len(self.handovers)
        return shown, left

    def as_dict(self) -> dict[str, Any]:
        return {"now": self.now.isoformat(), "day": self.day.isoformat(), "totals": self.totals,
                "sites": [s.as_dict() for s in self.sites],
                "figures": {"county": self.county.as_dict(),
                            "levels": {lv: f.as_dict() for lv, f in self.levels.items()}},
                "handovers": [h.as_dict() for h in self.handovers], "handovers_open": self.handovers_open,
                "can_read_events": self.can_read_events}


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def day_bounds(now: datetime, tz: ZoneInfo) -> tuple[date, datetime, datetime]:
    """The county's calendar day around `now`, as [start, end) instants (a DST-free zone is not assumed)."""
    day = now.astimezone(tz).date()
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return day, start, end


# ---------------------------------------------------------------------- queries

SITES_SQL = """
SELECT s.code, s.name, s.level, s.parent, s.high_water, s.site_seq, s.last_event_at, s.last_seen,
       (SELECT count(*) FROM county.deliveries d WHERE d.to_site = s.code AND d.id > s.inbox_acked)
FROM county.sites s
"""

TODAY_SQL = """
SELECT site, type, count(*),
       count(*) FILTER (WHERE type = 'case_concluded' AND data->>'on_time' = 'true'),
       count(*) FILTER (WHERE type = ANY(%(rated)s) AND data->>'level' = ANY(%(satisfied)s))
FROM county.events_view
WHERE type = ANY(%(types)s) AND at >= %(start)s AND at < %(end)s
GROUP BY site, type
"""

COMPLAINTS_SQL = """
SELECT r.site, count(*)
FROM county.events_view r
WHERE r.type = 'complaint_registered' AND NOT EXISTS (
    SELECT 1 FROM county.events_view c
    WHERE c.type = 'complaint_closed' AND c.at >= r.at AND c.site = r.site
      AND c.data->>'complaint_id' = r.data->>'complaint_id')
GROUP BY r.site
"""

# Open: the result has not gone back yet, or it was declined (已退回) today — a decline ends the hand-over (the
# case is back in progress at the sending site), so it is shown for the rest of the day it happened, then drops.
# The most urgent come first (late, then still to be accepted, then declined, then accepted), so the listed ones
# are the ones that need someone; the window counts are of all open ones.
HANDOVERS_SQL = """
SELECT h.handover_id, h.case_no, h.from_site, h.to_site, h.sent_at, h.accept_by, h.received_at, h.accepted_at,
       h.declined_at, h.escalated_at,
       h.accepted_at IS NOT NULL AND EXISTS (
           SELECT 1 FROM county.events_view e
           WHERE e.type = ANY(%(work)s) AND e.at >= h.accepted_at AND e.site = h.to_site
             AND e.data->>'case' = h.case_no),
       count(*) OVER (),
       count(*) FILTER (WHERE h.accepted_at IS NULL AND h.declined_at IS NULL AND h.accept_by < %(now)s) OVER ()
FROM county.handovers h
WHERE h.result_at IS NULL AND h.returned_at IS NULL AND (h.declined_at IS NULL OR h.declined_at >= %(start)s)
ORDER BY CASE WHEN h.accepted_at IS NULL AND h.declined_at IS NULL AND h.accept_by < %(now)s THEN 0
              WHEN h.accepted_at IS NULL AND h.declined_at IS NULL THEN 1
              WHEN h.declined_at IS NOT NULL THEN 2 ELSE 3 END,
         h.sent_at, h.handover_id
LIMIT %(limit)s
"""

CAN_READ_SQL = """
SELECT rolsuper OR rolbypassrls OR pg_has_role(current_user, 'county_reader', 'MEMBER')
FROM pg_roles WHERE rolname = current_user
"""


async def read_board(conn: psycopg.AsyncConnection[Any], *, now: datetime, tz: ZoneInfo, silent_hours: float,
                     connected_seconds: float) -> Board:
    """Everything on the page, in one read-only REPEATABLE READ transaction so the totals and the rows agree."""
    day, start, end = day_bounds(now, tz)
    async with conn.transaction(), conn.cursor() as cur:
        await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        await cur.execute(SITES_SQL)
        site_rows = await cur.fetchall()
        await cur.execute(TODAY_SQL, {"types": list(TODAY_TYPES), "rated": list(RATED),
                                      "satisfied": list(SATISFIED), "start": start, "end": end})
        today_rows = await cur.fetchall()
        await cur.execute(COMPLAINTS_SQL)
        complaint_rows = await cur.fetchall()
        await cur.execute(HANDOVERS_SQL, {"start": start, "now": now, "limit": HANDOVERS_LISTED,
                                          "work": list(WORK_TYPES)})
        handover_rows = await cur.fetchall()
        await cur.execute(CAN_READ_SQL)
        can_read = await cur.fetchone()
    now = now.astimezone(tz)
    figures = _site_figures(today_rows, complaint_rows)
    sites = _site_rows(site_rows, figures, now, tz, silent_hours, connected_seconds)
    names = {s.code: s.name for s in sites}
    levels = {lv: Figures() for lv in LEVELS}
    county = Figures()
    for s in sites:
        levels.setdefault(s.level, Figures()).add(s.figures)
        county.add(s.figures)
    handovers = [_handover(r, names, now, tz, urgency) for urgency, r in enumerate(handover_rows)]
    handovers.sort(key=lambda h: (h.sent_at, h.handover_id))
    open_count, late_count = (int(handover_rows[0][-2]), int(handover_rows[0][-1])) if handover_rows else (0, 0)
    return Board(now=now, day=day, sites=sites, county=county, levels=levels, handovers=handovers,
                 handovers_open=open_count, handovers_late=late_count, can_read_events=bool(can_read and can_read[0]))


def _site_figures(today_rows: Iterable[tuple[Any, ...]], complaint_rows: Iterable[tuple[Any, ...]]
                  ) -> dict[str, Figures]:
    by_site: dict[str, Figures] = defaultdict(Figures)
    for site, kind, n, on_time, satisfied in today_rows:
        f = by_site[site]
        if kind == "ticket_issued":
            f.visits += n
        elif kind == "case_accepted":
            f.accepted += n
        elif kind == "case_concluded":
            f.concluded += n
            f.on_time += on_time
        else:
            f.rated += n
            f.satisfied += satisfied
    for site, n in complaint_rows:
        by_site[site].complaints_open += n
    return by_site


def _site_rows(rows: Iterable[tuple[Any, ...]], figures: dict[str, Figures], now: datetime, tz: ZoneInfo,
               silent_hours: float, connected_seconds: float) -> list[SiteRow]:
    """The sites in the order the page shows them: the county centre, each town followed by its villages, then
    the partner points (a group of their own, each naming the site it reports to)."""
    info = {r[0]: r for r in rows}
    names = {code: r[1] for code, r in info.items()}
    made: dict[str, SiteRow] = {}
    for code, name, level, parent, high_water, site_seq, last_event_at, last_seen, inbox in rows:
        silent: float | None = None
        if last_event_at is not None:
            hours = (now - last_event_at).total_seconds() / 3600
            silent = round(hours, 1) if hours >= silent_hours else None
        made[code] = SiteRow(
            code=code, name=name, level=level, parent=parent, parent_name=names.get(parent) if parent else None,
            depth=0, connected=last_seen is not None and (now - last_seen).total_seconds() <= connected_seconds,
            last_seen=last_seen.astimezone(tz) if last_seen else None,
            last_event_at=last_event_at.astimezone(tz) if last_event_at else None,
            backlog=max(0, int(site_seq) - int(high_water)), inbox=int(inbox), silent_hours=silent,
            never=last_event_at is None, figures=figures.get(code, Figures()))
    rank = {lv: i for i, lv in enumerate(LEVELS)}

    def order(codes: Iterable[str]) -> list[str]:
        return sorted(codes, key=lambda c: (rank.get(made[c].level, len(LEVELS)), c))

    children: dict[str | None, list[str]] = defaultdict(list)
    for code, row in made.items():
        if row.level != "partner":
            children[row.parent if row.parent in made else None].append(code)
    shown: list[SiteRow] = []

    def walk(code: str, depth: int) -> None:
        row = made[code]
        row.depth = depth
        shown.append(row)
        for child in order(children.get(code, [])):
            walk(child, depth + 1)

    for root in order(children[None]):
        walk(root, 0)
    seen = {s.code for s in shown}
    shown += [made[c] for c in order(c for c in made if c not in seen)]  # partners (and sites in a parent loop)
    return shown


def _handover(r: tuple[Any, ...], names: dict[str, str], now: datetime, tz: ZoneInfo, urgency: int) -> HandoverRow:
    (hid, case_no, from_site, to_site, sent_at, accept_by, received_at, accepted_at, declined_at, escalated_at,
     worked, _open, _late) = r
    if declined_at is not None:
        state = "declined"
    elif accepted_at is not None:
        state = "working" if worked else "received"
    elif escalated_at is not None:
        state = "escalated"
    else:
        state = "waiting"
    late = accepted_at is None and declined_at is None and now > accept_by
    return HandoverRow(handover_id=hid, case_no=case_no, from_site=from_site, from_name=names.get(from_site, from_site),
                       to_site=to_site, to_name=names.get(to_site, to_site), sent_at=sent_at.astimezone(tz),
                       accept_by=accept_by.astimezone(tz), state=state, late=late, delivered=received_at is not None,
                       urgency=urgency)


def stamp(now: datetime) -> datetime:
    """`now` as an aware instant (a naive one is taken as UTC, as the hub's own clock is)."""
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)
