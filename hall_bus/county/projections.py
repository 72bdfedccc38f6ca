"""Narrow tables the county report reads instead of `county.events`, kept in step at ingest.

Why: a county's year is about 10 million events (5 GB of JSON). Aggregating them straight from `county.events`
took 61 s for the 办件 figures alone on a 13-million-event year (a parallel scan of the whole table per event
type), past the report's budget of 60 s for everything. These tables hold one small row per case, rating,
help claim, complaint, consultation and follow-up (and one per site, day and service for visits), with only the
fields the report groups or counts by — never a citizen's name, ID number, phone or free text — so the report
is a few GROUP BYs over a few hundred MB, and `county_reader` may read them whole.

They are written by `project`, in the same transaction as the events they come from (`store_batch` calls it
right after the insert), from the batch as the site shipped it: the hub never has to read `county.events`
back, which row-level security would not let a non-superuser hub do. A county hub that held events before these
tables existed fills them once through `rebuild` (schema.migrate calls it when PROJECTION_VERSION changes), by
the same code path, so a rebuilt table and one kept at ingest cannot differ.

What each row means is the hall report's definition, so the county and a hall agree on the same site:
a case's dates, due verdict (`on_time`, decided by the engine when it concluded the case: 补正 time excluded,
written delays included) and final first-responsible person; a visit's hall day is its ticket's; a rating is
the ticket's last one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import orjson
import psycopg
from psycopg import sql

PROJECTION_VERSION = "2"  # bump when a table or a rule changes: migrate then rebuilds them from the events
# Their DDL is in schema.py's _TABLES, with the rest of the county's tables.
TABLES = ("p_cases", "p_visits", "p_ratings", "p_helps", "p_complaints", "p_consultations", "p_followups")
ROLLOVER_HOURS = 3  # the hall day starts at 03:00 (the hall file's default day_rollover): see ticket_day
REBUILD_CHUNK = 5000


# The event types each table is made from; the rest of a batch is not even parsed.
TYPES = frozenset({
    "case_accepted", "case_owner_changed", "case_concluded", "handover_result_received", "ticket_issued",
    "rating_recorded", "help_claimed",
    "help_handed_over", "complaint_registered", "complaint_assigned", "complaint_closed", "complaint_overdue",
    "consultation_opened", "consultation_answered", "consultation_overdue", "followup_opened",
    "followup_assigned", "followup_closed",
})


class Event(Protocol):
    """What `project` reads of an event: ingest's `Shipped` (the site's JSON text as it was shipped)."""

    @property
    def seq(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def at(self) -> str: ...
    @property
    def data(self) -> str: ...


def ticket_day(ticket: str, at: str) -> date:
    """The hall day a ticket belongs to: its id begins with it (20261123-E001), as the hall report reads it.
    An id of another form (a case number rated as a ticket) falls back to the event's own local time less the
    rollover: events carry the hall's UTC offset, so no time zone is needed here."""
    if len(ticket) > 8 and ticket[8] == "-" and ticket[:8].isdigit():
        try:
            return date(int(ticket[:4]), int(ticket[4:6]), int(ticket[6:8]))
        except ValueError:
            pass
    return (datetime.fromisoformat(at) - timedelta(hours=ROLLOVER_HOURS)).date()


def _when(value: Any) -> str | None:
    """An ISO time as written, or None when it is missing or not one (PostgreSQL would refuse the whole batch)."""
    if not value or not isinstance(value, str):
        return None
    datetime.fromisoformat(value)  # ValueError: the event is left out, as a damaged one
    return value


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


class _Rows:
    """The batch's rows per statement, in the order they must run (inserts before the updates of the same rows;
    an update keyed by id keeps the last event's values, as the hall's own appliers do)."""

    def __init__(self) -> None:
        self.cases: list[tuple[Any, ...]] = []
        self.owners: dict[str, str] = {}
        self.concluded: dict[str, tuple[str, bool | None, str | None]] = {}
        self.visits: Counter[tuple[date, str]] = Counter()
        self.ratings: dict[str, tuple[Any, ...]] = {}
        self.helps: dict[tuple[str, str], date] = {}
        self.complaints: list[tuple[Any, ...]] = []
        self.complaint_due: dict[str, str] = {}
        self.complaint_closed: dict[str, str] = {}
        self.complaint_overdue: set[str] = set()
        self.consultations: list[tuple[Any, ...]] = []
        self.answered: dict[str, str] = {}
        self.consultation_overdue: set[str] = set()
        self.followups: list[tuple[Any, ...]] = []
        self.followup_assigned: dict[str, tuple[str, str | None]] = {}
        self.followup_closed: dict[str, str] = {}

    def add(self, kind: str, at: str, d: dict[str, Any]) -> None:
        if kind == "ticket_issued":
            self.visits[(ticket_day(str(d["ticket"]), at), str(d.get("service") or ""))] += 1
        elif kind == "rating_recorded":
            t = str(d["ticket"])
            self.ratings[t] = (ticket_day(t, at), at, str(d["level"]), str(d.get("service") or ""),
                               _int(d.get("counter")))
        elif kind in ("help_claimed", "help_handed_over"):
            t = str(d["ticket"])
            person = d.get("helper") if kind == "help_claimed" else d.get("to_helper")
            if person:
                self.helps[(t, str(person))] = ticket_day(t, at)
        elif kind == "case_accepted":
            self.cases.append((str(d["case"]), at, str(d.get("service") or ""), str(d.get("case_kind") or ""),
                               _int(d.get("counter")), str(d.get("owner") or "")))
        elif kind == "case_owner_changed":
            self.owners[str(d["case"])] = str(d["owner"])
        elif kind in ("case_concluded", "handover_result_received"):
            # A case handed on is concluded for the county where it was accepted, when its result is back there,
            # at the time it was concluded and judged on time against the due date it truly had (handover.py);
            # the site that concluded it has no row of its own for it, so it is counted once.
            on_time = d.get("on_time")
            when = at if kind == "case_concluded" else str(d.get("concluded_at") or at)
            self.concluded[str(d["case"])] = (when, None if on_time is None else bool(on_time), d.get("decision"))
        elif kind == "complaint_registered":
            self.complaints.append((str(d["complaint_id"]), at, str(d.get("subject_kind") or ""),
                                    str(d.get("subject") or ""), _when(d.get("due"))))
        elif kind == "complaint_assigned":
            if d.get("due"):
                self.complaint_due[str(d["complaint_id"])] = str(_when(d["due"]))
        elif kind == "complaint_closed":
            self.complaint_closed[str(d["complaint_id"])] = at
        elif kind == "complaint_overdue":
            self.complaint_overdue.add(str(d["complaint_id"]))
        elif kind == "consultation_opened":
            self.consultations.append((str(d["consultation_id"]), at, str(d.get("helper") or ""),
                                       str(d.get("service") or ""), _when(d.get("due"))))
        elif kind == "consultation_answered":
            self.answered[str(d["consultation_id"])] = at
        elif kind == "consultation_overdue":
            self.consultation_overdue.add(str(d["consultation_id"]))
        elif kind == "followup_opened":
            self.followups.append((str(d["followup_id"]), at, str(d.get("service") or ""), _int(d.get("counter")),
                                   _when(d.get("due"))))
        elif kind == "followup_assigned":
            self.followup_assigned[str(d["followup_id"])] = (str(d.get("owner") or ""), _when(d.get("due")))
        elif kind == "followup_closed":
            self.followup_closed[str(d["followup_id"])] = at


def _columns(rows: Iterable[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(col) for col in zip(*rows, strict=True)]


def _run(cur: psycopg.Cursor[Any], statement: str, site: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """One set-based statement for the batch's rows of a kind: `unnest` of one array per column."""
    if rows:
        cur.execute(statement, (site, *_columns(rows)))


_STATEMENTS: tuple[tuple[str, str], ...] = (  # (rows attribute, statement); the order is the order they run in
    ("cases", "INSERT INTO county.p_cases (site, case_no, accepted_at, service, kind, counter, owner) "
              "SELECT %s, * FROM unnest(%s::text[], %s::timestamptz[], %s::text[], %s::text[], %s::int[], "
              "%s::text[]) ON CONFLICT DO NOTHING"),
    ("owners", "UPDATE county.p_cases p SET owner = x.o FROM unnest(%s::text[], %s::text[]) x(n, o) "
               "WHERE p.site = %s AND p.case_no = x.n"),
    ("concluded", "UPDATE county.p_cases p SET concluded_at = x.a, on_time = x.t, decision = x.d "
                  "FROM unnest(%s::text[], %s::timestamptz[], %s::boolean[], %s::text[]) x(n, a, t, d) "
                  "WHERE p.site = %s AND p.case_no = x.n"),
    ("visits", "INSERT INTO county.p_visits AS v (site, day, service, visits) "
               "SELECT %s, * FROM unnest(%s::date[], %s::text[], %s::int[]) "
               "ON CONFLICT (site, day, service) DO UPDATE SET visits = v.visits + EXCLUDED.visits"),
    ("ratings", "INSERT INTO county.p_ratings (site, ticket, day, at, level, service, counter) "
                "SELECT %s, * FROM unnest(%s::text[], %s::date[], %s::timestamptz[], %s::text[], %s::text[], "
                "%s::int[]) ON CONFLICT (site, ticket) DO UPDATE SET day = EXCLUDED.day, at = EXCLUDED.at, "
                "level = EXCLUDED.level, service = EXCLUDED.service, counter = EXCLUDED.counter"),
    ("helps", "INSERT INTO county.p_helps (site, ticket, person, day) "
              "SELECT %s, * FROM unnest(%s::text[], %s::text[], %s::date[]) ON CONFLICT DO NOTHING"),
    ("complaints", "INSERT INTO county.p_complaints (site, complaint_id, at, subject_kind, subject, due) "
                   "SELECT %s, * FROM unnest(%s::text[], %s::timestamptz[], %s::text[], %s::text[], "
                   "%s::timestamptz[]) ON CONFLICT DO NOTHING"),
    ("complaint_due", "UPDATE county.p_complaints p SET due = x.d FROM unnest(%s::text[], %s::timestamptz[]) "
                      "x(i, d) WHERE p.site = %s AND p.complaint_id = x.i"),
    ("complaint_closed", "UPDATE county.p_complaints p SET closed_at = x.a FROM unnest(%s::text[], "
                         "%s::timestamptz[]) x(i, a) WHERE p.site = %s AND p.complaint_id = x.i"),
    ("complaint_overdue", "UPDATE county.p_complaints p SET overdue = true FROM unnest(%s::text[]) x(i) "
                          "WHERE p.site = %s AND p.complaint_id = x.i"),
    ("consultations", "INSERT INTO county.p_consultations (site, consultation_id, at, helper, service, due) "
                      "SELECT %s, * FROM unnest(%s::text[], %s::timestamptz[], %s::text[], %s::text[], "
                      "%s::timestamptz[]) ON CONFLICT DO NOTHING"),
    ("answered", "UPDATE county.p_consultations p SET answered_at = x.a FROM unnest(%s::text[], "
                 "%s::timestamptz[]) x(i, a) WHERE p.site = %s AND p.consultation_id = x.i"),
    ("consultation_overdue", "UPDATE county.p_consultations p SET overdue = true FROM unnest(%s::text[]) x(i) "
                             "WHERE p.site = %s AND p.consultation_id = x.i"),
    ("followups", "INSERT INTO county.p_followups (site, followup_id, at, service, counter, due) "
                  "SELECT %s, * FROM unnest(%s::text[], %s::timestamptz[], %s::text[], %s::int[], "
                  "%s::timestamptz[]) ON CONFLICT DO NOTHING"),
    ("followup_assigned", "UPDATE county.p_followups p SET owner = x.o, due = coalesce(x.d, p.due) "
                          "FROM unnest(%s::text[], %s::text[], %s::timestamptz[]) x(i, o, d) "
                          "WHERE p.site = %s AND p.followup_id = x.i"),
    ("followup_closed", "UPDATE county.p_followups p SET closed_at = x.a FROM unnest(%s::text[], "
                        "%s::timestamptz[]) x(i, a) WHERE p.site = %s AND p.followup_id = x.i"),
)


def _rows_of(r: _Rows, name: str) -> list[tuple[Any, ...]]:
    """The statement's rows as tuples in its column order (dicts keyed by id flattened, the id first)."""
    value = getattr(r, name)
    if name == "visits":
        return [(day, service, n) for (day, service), n in value.items()]
    if name == "helps":
        return [(t, person, day) for (t, person), day in value.items()]
    if name in ("complaint_overdue", "consultation_overdue"):
        return [(i,) for i in sorted(value)]
    if isinstance(value, dict):
        return [(k, *(v if isinstance(v, tuple) else (v,))) for k, v in value.items()]
    return list(value)


def project(cur: psycopg.Cursor[Any], site: str, fresh: Sequence[Event]) -> int:
    """Bring the projections up to date with `fresh`, the site's events just stored (in sequence order).

    Returns how many events it used. A damaged event the hub stored as it came (a field missing) is left out of
    the projections rather than refusing the batch: the events table keeps it, and `rebuild` reads it again
    once the site's software is fixed."""
    rows = _Rows()
    used = 0
    for e in fresh:
        if e.type not in TYPES:
            continue
        try:
            rows.add(e.type, e.at, orjson.loads(e.data))
            used += 1
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    for name, statement in _STATEMENTS:
        batch = _rows_of(rows, name)
        if not batch:
            continue
        if statement.startswith("UPDATE"):  # site comes after the arrays there (WHERE p.site = %s)
            cur.execute(statement, (*_columns(batch), site))
        else:
            _run(cur, statement, site, batch)
    return used


# ---------------------------------------------------------------------- rebuild


class _Stored:
    """An event read back from county.events for a rebuild, shaped as `Event`."""

    __slots__ = ("at", "data", "seq", "type")

    def __init__(self, seq: int, type_: str, at: datetime, data: Any) -> None:
        self.seq, self.type, self.at = seq, type_, at.isoformat()
        self.data = data if isinstance(data, str) else orjson.dumps(data).decode()


def _stored_events(conn: psycopg.Connection[Any], site: str) -> Iterator[list[_Stored]]:
    """The site's events of the projected types, in chunks, each read under the site's own role (row-level
    security lets it read its own rows; the hub is a member of every site role) and handed over after the role
    is dropped again, since the site role may not write the projections."""
    from hall_bus.county.schema import site_role

    role = sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(site_role(site)))
    after = 0
    while True:
        with conn.cursor() as cur:
            cur.execute(role)
            cur.execute("SELECT seq, type, at, data FROM county.events WHERE site = %s AND seq > %s "
                        "AND type = ANY(%s) ORDER BY seq LIMIT %s", (site, after, list(TYPES), REBUILD_CHUNK))
            chunk = [_Stored(*row) for row in cur.fetchall()]
            cur.execute("RESET ROLE")
        if not chunk:
            return
        yield chunk
        after = chunk[-1].seq


def rebuild(conn: psycopg.Connection[Any]) -> int:
    """Empty the projections and fill them again from every site's events; returns the events used.

    Runs inside the caller's transaction (schema.migrate's), so a hub never sees half-built tables."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(
            sql.Identifier("county", t) for t in TABLES)))
        cur.execute("SELECT code FROM county.sites ORDER BY code")
        sites = [code for (code,) in cur.fetchall()]
    used = 0
    for site in sites:
        for chunk in _stored_events(conn, site):
            with conn.cursor() as cur:
                used += project(cur, site, chunk)
    return used
