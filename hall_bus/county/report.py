"""The county report's figures: by level, site, service, window and person, from the county ledger.

Every figure is the hall report's own definition, so a site's row here and that site's `hallctl report` over
the same days say the same (tests/test_county_report.py holds them to it):

- 办件 (cases): accepted = accepted on a local calendar day of the range; concluded = concluded in it (准予 or
  不予); 按时办结 = the engine's verdict written when the case was concluded (on or before its due date, which
  补正 pauses moved on and written delays extended — hall_bus/reports/casework.py). A case counts for its
  service, its window and its first-responsible person (首问负责) as it stands now (after any change of owner).
- 满意率: of the ratings of the tickets issued on the range's hall days (one per ticket, the last), those
  非常满意, 满意 or 基本满意 (hall_bus/reports/summary.py's SATISFIED). A rating counts for a person when they
  helped that visitor (claimed the help request or had it handed to them), as the hall's per-helper table does.
- 投诉 (complaints): registered on the range's hall days; handled in time = closed by the due date; the rate is
  over those whose outcome is known (closed, or open past the due date) at the site's newest event — records.py.
  A complaint about a person, a window or a service counts for that person, window or service.
- 咨询逾期 (overdue consultations) and 回访/整改 (follow-ups): opened on the range's hall days; overdue, closed
  and closed-in-time judged at the site's newest event, as the hall's report judges them at its ledger's newest.
  A follow-up counts for the person it was assigned to (who must put it right).
- 转办 (hand-overs, from the hub's own table): sent in the range; the receiving level held a case from
  received to result returned (average and p90, nearest rank, in hours); in time = accepted or declined by the
  hub's accept-by time; escalated = sent to the county's 督办员 for being late.

Hall days start at 03:00 (the hall file's default day_rollover); the county does not know each hall's
setting, and a hall that changed it differs only for events between midnight and its own rollover.

Everything is added up in PostgreSQL over the narrow projections (projections.py) and comes back as at most one
row per site, service, window and person, so memory does not grow with the events; the queries run in one
read-only snapshot, so a batch arriving meanwhile cannot make two tables disagree.
"""

from __future__ import annotations

import time as clock
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from hall_bus.county.sites import County
from hall_bus.reports.summary import SATISFIED

ROLLOVER = time(3, 0)
LEVEL_ORDER = ("county", "town", "village", "partner")


@dataclass(slots=True)
class Tally:
    """Counts that add up across sites, services, windows and people; rates are worked out from them."""

    visits: int = 0
    accepted: int = 0
    concluded: int = 0
    on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    complaints: int = 0
    complaints_on_time: int = 0
    complaints_decided: int = 0
    consultations: int = 0
    consultations_overdue: int = 0
    followups: int = 0
    followups_closed: int = 0
    followups_on_time: int = 0
    followups_decided: int = 0
    handovers_sent: int = 0
    handovers_addressed: int = 0  # sent to this site
    handovers_received: int = 0
    handovers_in_time: int = 0  # accepted or declined by the accept-by time
    handovers_decided: int = 0  # answered, or past the accept-by time unanswered
    handovers_escalated: int = 0
    held: int = 0  # hand-overs returned, whose holding time is known
    # Not additive: filled for levels and sites from PostgreSQL's own percentile.
    hold_hours_avg: float | None = None
    hold_hours_p90: float | None = None

    def add(self, counts: dict[str, int]) -> None:
        for name, n in counts.items():
            setattr(self, name, getattr(self, name) + int(n or 0))

    def merge(self, other: Tally) -> None:
        self.add({f: getattr(other, f) for f in COUNT_FIELDS})

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def on_time_rate(self) -> float | None:
        return self._rate(self.on_time, self.concluded)

    @property
    def satisfaction_rate(self) -> float | None:
        return self._rate(self.satisfied, self.rated)

    @property
    def complaint_rate(self) -> float | None:
        """投诉及时处理率, over the complaints whose outcome is known."""
        return self._rate(self.complaints_on_time, self.complaints_decided)

    @property
    def followup_rate(self) -> float | None:
        """整改及时率: follow-ups closed by their due time, over those whose outcome is known."""
        return self._rate(self.followups_on_time, self.followups_decided)

    @property
    def handover_rate(self) -> float | None:
        """转办及时率: hand-overs sent here answered by the accept-by time, over those whose outcome is known."""
        return self._rate(self.handovers_in_time, self.handovers_decided)

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f) for f in COUNT_FIELDS)


COUNT_FIELDS = tuple(f.name for f in fields(Tally) if f.type == "int")


@dataclass
class CountyFigures:
    """One range's figures. Keys: level code; site code; service name; (site, counter) for a window;
    (site, staff id) for a person — a staff id is the county's, but a site's roster is its own to number."""

    start: date
    end: date
    as_of: datetime  # hand-overs are judged at this moment (the hub's clock when the report ran)
    total: Tally = field(default_factory=Tally)
    levels: dict[str, Tally] = field(default_factory=dict)
    sites: dict[str, Tally] = field(default_factory=dict)
    services: dict[str, Tally] = field(default_factory=dict)
    windows: dict[tuple[str, int], Tally] = field(default_factory=dict)
    persons: dict[tuple[str, str], Tally] = field(default_factory=dict)
    site_names: dict[str, str] = field(default_factory=dict)
    site_levels: dict[str, str] = field(default_factory=dict)
    site_parents: dict[str, str | None] = field(default_factory=dict)
    person_names: dict[str, str] = field(default_factory=dict)  # staff id → the roster's name
    timings: dict[str, float] = field(default_factory=dict)
    rows_read: int = 0

    def level_of(self, site: str) -> str:
        return self.site_levels.get(site, "")

    def person_label(self, staff: str) -> str:
        name = self.person_names.get(staff)
        return f"{name}（{staff}）" if name else staff

    def ordered_levels(self) -> list[tuple[str, Tally]]:
        return sorted(self.levels.items(), key=lambda kv: (LEVEL_ORDER.index(kv[0]) if kv[0] in LEVEL_ORDER
                                                           else len(LEVEL_ORDER), kv[0]))

    def ordered_sites(self) -> list[tuple[str, Tally]]:
        order = {code: i for i, code in enumerate(self.site_names)}
        return sorted(self.sites.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))

    # ------------------------------------------------------------------ adding up

    def _tally(self, table: dict[Any, Tally], key: Any) -> Tally:
        t = table.get(key)
        if t is None:
            t = table[key] = Tally()
        return t

    def count(self, counts: dict[str, int], site: str, *, service: str | None = None, counter: int | None = None,
              person: str | None = None, whole: bool = True) -> None:
        """Add one row of counts where it belongs: the county, its level, its site, service, window and
        person. `whole=False` adds to the person alone (a rating that two helpers share counts once for the
        site but once for each of them)."""
        if whole:
            for t in (self.total, self._tally(self.levels, self.level_of(site)), self._tally(self.sites, site)):
                t.add(counts)
            if service:
                self._tally(self.services, service).add(counts)
            if counter is not None:
                self._tally(self.windows, (site, counter)).add(counts)
        if person:
            self._tally(self.persons, (site, person)).add(counts)


# ---------------------------------------------------------------------- the queries

def bounds(start: date, end: date, tz: ZoneInfo) -> dict[str, Any]:
    """The range as the queries need it: local calendar days (办件), hall days (records), dates (tickets)."""
    after = end + timedelta(days=1)
    return {"c_lo": datetime.combine(start, time(0), tz), "c_hi": datetime.combine(after, time(0), tz),
            "h_lo": datetime.combine(start, ROLLOVER, tz), "h_hi": datetime.combine(after, ROLLOVER, tz),
            "d_lo": start, "d_hi": end, "satisfied": sorted(SATISFIED)}


_AS_OF = "LEFT JOIN county.sites s ON s.code = x.site"  # the site's newest event: what the hall's report judges at
_LATE = "(x.due IS NOT NULL AND coalesce({done}, s.last_event_at) > x.due)"

QUERIES: dict[str, str] = {
    "cases": """
        SELECT site, service, counter, owner,
               count(*) FILTER (WHERE accepted_at >= %(c_lo)s AND accepted_at < %(c_hi)s) AS accepted,
               count(*) FILTER (WHERE concluded_at >= %(c_lo)s AND concluded_at < %(c_hi)s) AS concluded,
               count(*) FILTER (WHERE concluded_at >= %(c_lo)s AND concluded_at < %(c_hi)s AND on_time) AS on_time
        FROM county.p_cases
        WHERE (accepted_at >= %(c_lo)s AND accepted_at < %(c_hi)s)
           OR (concluded_at >= %(c_lo)s AND concluded_at < %(c_hi)s)
        GROUP BY 1, 2, 3, 4""",
    "visits": """
        SELECT site, service, NULL, NULL, sum(visits) AS visits
        FROM county.p_visits WHERE day BETWEEN %(d_lo)s AND %(d_hi)s GROUP BY 1, 2""",
    "ratings": """
        SELECT site, service, counter, NULL, count(*) AS rated,
               count(*) FILTER (WHERE level = ANY(%(satisfied)s)) AS satisfied
        FROM county.p_ratings WHERE day BETWEEN %(d_lo)s AND %(d_hi)s GROUP BY 1, 2, 3""",
    "ratings_by_person": """
        SELECT r.site, NULL, NULL, h.person, count(*) AS rated,
               count(*) FILTER (WHERE r.level = ANY(%(satisfied)s)) AS satisfied
        FROM county.p_ratings r JOIN county.p_helps h ON h.site = r.site AND h.ticket = r.ticket
        WHERE r.day BETWEEN %(d_lo)s AND %(d_hi)s AND h.day BETWEEN %(d_lo)s AND %(d_hi)s
        GROUP BY 1, 4""",
    "complaints": f"""
        SELECT x.site, x.subject_kind, x.subject, NULL, count(*) AS complaints,
               count(*) FILTER (WHERE x.closed_at IS NOT NULL AND (x.due IS NULL OR x.closed_at <= x.due))
                   AS complaints_on_time,
               count(*) FILTER (WHERE x.closed_at IS NOT NULL OR x.overdue OR {_LATE.format(done="x.closed_at")})
                   AS complaints_decided
        FROM county.p_complaints x {_AS_OF}
        WHERE x.at >= %(h_lo)s AND x.at < %(h_hi)s GROUP BY 1, 2, 3""",
    "consultations": f"""
        SELECT x.site, x.service, NULL, x.helper, count(*) AS consultations,
               count(*) FILTER (WHERE x.overdue OR {_LATE.format(done="x.answered_at")}) AS consultations_overdue
        FROM county.p_consultations x {_AS_OF}
        WHERE x.at >= %(h_lo)s AND x.at < %(h_hi)s GROUP BY 1, 2, 4""",
    "followups": f"""
        SELECT x.site, x.service, x.counter, x.owner, count(*) AS followups,
               count(x.closed_at) AS followups_closed,
               count(*) FILTER (WHERE x.closed_at IS NOT NULL AND (x.due IS NULL OR x.closed_at <= x.due))
                   AS followups_on_time,
               count(*) FILTER (WHERE x.closed_at IS NOT NULL OR {_LATE.format(done="x.closed_at")})
                   AS followups_decided
        FROM county.p_followups x {_AS_OF}
        WHERE x.at >= %(h_lo)s AND x.at < %(h_hi)s GROUP BY 1, 2, 3, 4""",
    "handovers_sent": """
        SELECT from_site, NULL, NULL, NULL, count(*) AS handovers_sent
        FROM county.handovers WHERE sent_at >= %(c_lo)s AND sent_at < %(c_hi)s GROUP BY 1""",
    "handovers_addressed": """
        SELECT to_site, NULL, NULL, NULL, count(*) AS handovers_addressed,
               count(received_at) AS handovers_received,
               count(*) FILTER (WHERE coalesce(accepted_at, declined_at) <= accept_by) AS handovers_in_time,
               count(*) FILTER (WHERE coalesce(accepted_at, declined_at) IS NOT NULL OR accept_by < %(as_of)s)
                   AS handovers_decided,
               count(escalated_at) AS handovers_escalated,
               count(*) FILTER (WHERE received_at IS NOT NULL AND returned_at IS NOT NULL) AS held
        FROM county.handovers WHERE sent_at >= %(c_lo)s AND sent_at < %(c_hi)s GROUP BY 1""",
}

# How long each level, and each site, held what was handed to it: not additive, so PostgreSQL works it out.
HOLD_QUERY = """
    SELECT to_site, level, grouping(to_site) AS per_level, avg(hours) AS avg_hours,
           percentile_disc(0.9) WITHIN GROUP (ORDER BY hours) AS p90_hours
    FROM (SELECT h.to_site, coalesce(h.to_level, s.level, '') AS level,
                 extract(epoch FROM h.returned_at - h.received_at) / 3600.0 AS hours
          FROM county.handovers h LEFT JOIN county.sites s ON s.code = h.to_site
          WHERE h.sent_at >= %(c_lo)s AND h.sent_at < %(c_hi)s AND h.received_at IS NOT NULL
            AND h.returned_at IS NOT NULL) x
    GROUP BY GROUPING SETS ((level), (to_site, level))"""


def _rows(conn: psycopg.Connection[Any], name: str, query: str, params: dict[str, Any]) -> Iterator[Any]:
    """A server-side cursor: the rows come in chunks however many sites, windows and people there are."""
    with conn.cursor(name=f"county_{name}") as cur:
        cur.itersize = 5000
        cur.execute(query, params)
        yield from cur


def _add_rows(fig: CountyFigures, name: str, rows: Iterable[Any], columns: list[str]) -> int:
    n = 0
    for row in rows:
        n += 1
        site, a, b, person = row[0], row[1], row[2], row[3]
        counts = dict(zip(columns, row[4:], strict=True))
        if name == "complaints":  # a complaint names what it is about: a person, a window or a service
            kind, subject = a, b or ""
            fig.count(counts, site, service=subject if kind == "service" else None,
                      counter=int(subject) if kind == "window" and subject.isdigit() else None,
                      person=subject if kind == "staff" and subject else None)
        elif name == "ratings_by_person":
            fig.count(counts, site, person=person, whole=False)
        else:
            fig.count(counts, site, service=a or None, counter=b, person=person or None)
    return n


_COLUMNS = {  # the counted columns of each query, in its SELECT order after the four keys
    "cases": ["accepted", "concluded", "on_time"], "visits": ["visits"], "ratings": ["rated", "satisfied"],
    "ratings_by_person": ["rated", "satisfied"],
    "complaints": ["complaints", "complaints_on_time", "complaints_decided"],
    "consultations": ["consultations", "consultations_overdue"],
    "followups": ["followups", "followups_closed", "followups_on_time", "followups_decided"],
    "handovers_sent": ["handovers_sent"],
    "handovers_addressed": ["handovers_addressed", "handovers_received", "handovers_in_time",
                            "handovers_decided", "handovers_escalated", "held"],
}


def _describe_county(fig: CountyFigures, conn: psycopg.Connection[Any], county: County | None) -> None:
    """Names, levels and parents: the county file's, else what the hub was told (a site since removed)."""
    if county is not None:
        for s in county.sites:
            fig.site_names[s.code], fig.site_levels[s.code], fig.site_parents[s.code] = s.name, s.level, s.parent
        fig.person_names = {m.id: m.name for s in county.sites for m in s.staff}
    with conn.cursor() as cur:
        cur.execute("SELECT code, name, level, parent FROM county.sites ORDER BY code")
        for code, name, level, parent in cur.fetchall():
            if code not in fig.site_names:
                fig.site_names[code], fig.site_levels[code], fig.site_parents[code] = name, level, parent


def county_figures(conn: psycopg.Connection[Any], county: County | None, start: date, end: date, *,
                   tz: ZoneInfo | None = None, as_of: datetime | None = None) -> CountyFigures:
    """The figures of hall days `start`..`end`, read in one read-only snapshot of the county ledger."""
    tz = tz or (ZoneInfo(county.county.timezone) if county is not None else ZoneInfo("Asia/Shanghai"))
    as_of = as_of or datetime.now(tz)
    fig = CountyFigures(start, end, as_of)
    params = bounds(start, end, tz) | {"as_of": as_of}
    outer = conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE  # the caller's transaction
    with conn.transaction():
        if not outer:
            with conn.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        _describe_county(fig, conn, county)
        for name, query in QUERIES.items():
            began = clock.perf_counter()
            fig.rows_read += _add_rows(fig, name, _rows(conn, name, query, params), _COLUMNS[name])
            fig.timings[name] = round(clock.perf_counter() - began, 3)
        began = clock.perf_counter()
        for site, level, per_level, avg, p90 in _rows(conn, "hold", HOLD_QUERY, params):
            t = fig._tally(fig.levels, level) if per_level else fig._tally(fig.sites, site)
            t.hold_hours_avg = None if avg is None else round(float(avg), 2)
            t.hold_hours_p90 = None if p90 is None else round(float(p90), 2)
        fig.timings["hold"] = round(clock.perf_counter() - began, 3)
    return fig


# ---------------------------------------------------------------------- one report run

def build_county_report(dsn: str, county: County | str | Path, start: date, end: date,
                        outs: Sequence[str | Path], *, as_of: datetime | None = None) -> dict[str, Any]:
    """Check the outputs, read the figures, write each output atomically; returns what it took.

    `county` is the county file (or its loaded model): it names the sites and people and gives the time zone.
    Returns {"seconds", "figures_seconds", "write_seconds": {suffix: s}, "queries": {name: s}, "rows_read",
    "sites", "windows", "persons", "services", "outs", "figures"} — the benchmark's and the CLI's."""
    from hall_bus.county.output import check_outputs, connect, database_errors, write_atomically
    from hall_bus.county.sites import load_county
    from hall_bus.errors import UserError

    if end < start:
        raise UserError(f"--from {start} is after --to {end}: the dates are backwards")
    model = county if isinstance(county, County) else load_county(county)
    paths = [Path(o) for o in outs]
    check_outputs(paths)
    began = clock.perf_counter()
    with connect(dsn) as conn, database_errors():
        fig = county_figures(conn, model, start, end, as_of=as_of)
    figures_s = clock.perf_counter() - began
    tz = ZoneInfo(model.county.timezone)
    made = datetime.now(tz).strftime("%Y-%m-%d %H:%M")
    spent: dict[str, float] = {}

    def write(out: Path, temp: Path) -> None:
        t0 = clock.perf_counter()
        if out.suffix.lower() == ".xlsx":
            from hall_bus.county.report_xlsx import write_report_xlsx

            write_report_xlsx(temp, fig, model.county.name, made)
        else:
            from hall_bus.county.report_pdf import write_report_pdf

            write_report_pdf(temp, fig, model.county.name, made)
        spent[out.suffix.lower()] = round(clock.perf_counter() - t0, 3)

    write_atomically(paths, write)
    return {"seconds": round(clock.perf_counter() - began, 3), "figures_seconds": round(figures_s, 3),
            "write_seconds": spent, "queries": fig.timings, "rows_read": fig.rows_read, "sites": len(fig.sites),
            "windows": len(fig.windows), "persons": len(fig.persons), "services": len(fig.services),
            "outs": [str(p) for p in paths], "figures": fig}
