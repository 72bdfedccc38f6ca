"""One site's batch into the county ledger: exactly once, in the site's order, under the site's own role.

The hub answers every batch with the site's high-water mark (the highest sequence it holds, all below it held
too), so the rule is simple: a batch must continue from high_water + 1 with no gap. Events at or below the mark
are a resend (a lost answer, a site restored from a backup) and are skipped; a batch that starts beyond it is a
gap (a site's ledger replaced, or a bug) and is refused whole with the mark, so the site sends from there. Either
way the answer carries the mark and the site's next batch is right.

The same transaction turns the events that must travel to another site (a 转办 hand-over, its result or its
refusal) into deliveries for that site, and keeps the hand-over timings the county report and the escalation
read — so a delivery exists if and only if its event does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg
from psycopg import sql

from hall_bus.county.projections import project
from hall_bus.county.schema import site_role
from hall_bus.domain.handover import outgoing as handover_outgoing

# Event types whose data the hub reads (the rest it stores as they are, without parsing them).
HANDOVER_COLUMNS = {
    "handover_received": "received_at",
    "handover_accepted": "accepted_at",
    "handover_declined": "declined_at",
    "case_result_returned": "returned_at",
    "handover_result_received": "result_at",
}
HANDED_OVER = "case_handed_over"
READ_TYPES = frozenset({HANDED_OVER, *HANDOVER_COLUMNS})

Outgoing = Callable[[str, dict[str, Any]], "tuple[str, dict[str, Any]] | None"]


class BatchRefused(Exception):
    """A batch the county ledger cannot take as it is (a malformed event); nothing of it was stored."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class Stored:
    high_water: int
    stored: int = 0
    skipped: int = 0  # already held: a resend
    gap: bool = False
    deliveries: list[str] = field(default_factory=list)  # the sites that now have something waiting


@dataclass(frozen=True, slots=True)
class Shipped:
    seq: int
    type: str
    at: str
    data: str  # the event's JSON exactly as the site's ledger holds it


def store_batch(conn: psycopg.Connection, site: str, events: Sequence[Shipped], *, accept_hours: float,
                levels: dict[str, str], outgoing: Outgoing = handover_outgoing) -> Stored:
    """Write what continues the site's sequence; the caller has authenticated `site` from its key."""
    # In a pipeline: the transaction's BEGIN goes with the SELECT, and everything after the checks with the
    # COMMIT, so a batch is two round trips to the server, not one per statement (a dozen with the report's
    # tables: 2–3 ms a batch on a local server, see docs/benchmarks.md "The county hub").
    with conn.pipeline(), conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT high_water FROM county.sites WHERE code = %s FOR UPDATE", (site,))
        row = cur.fetchone()
        if row is None:
            raise BatchRefused("unknown_site", f"site {site} is not in the county file")
        hw = int(row[0])
        fresh = [e for e in events if e.seq > hw]
        result = Stored(high_water=hw, skipped=len(events) - len(fresh))
        if not fresh:
            cur.execute("UPDATE county.sites SET last_seen = now(), first_seen = coalesce(first_seen, now()) "
                        "WHERE code = %s", (site,))
            return result
        expected = hw + 1
        for e in fresh:
            if e.seq != expected:
                result.gap = True
                return result
            expected += 1
        latest = _latest(site, fresh)
        try:
            with conn.pipeline():  # sent together; a refusal of any of them surfaces when it ends
                cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(site_role(site))))
                # The arrays go in binary (%b): as text, psycopg quotes every element with a regular expression,
                # which cost more than the rest of the batch (JSON is full of quotes). Each time and JSON text is
                # cast row by row as it is inserted, not into a whole jsonb[] first.
                cur.execute(
                    "INSERT INTO county.events (site, seq, type, at, data) "
                    "SELECT %s, s, t, a::timestamptz, d::jsonb FROM unnest(%b::bigint[], %b::text[], %b::text[], "
                    "%b::text[]) AS x(s, t, a, d) ON CONFLICT DO NOTHING",
                    (site, [e.seq for e in fresh], [e.type for e in fresh], [e.at for e in fresh],
                     [e.data for e in fresh]))
                cur.execute("RESET ROLE")
                project(cur, site, fresh)  # the report's narrow tables, in the same transaction as the events
                result.deliveries = _travel(cur, site, fresh, accept_hours, levels, outgoing)
                cur.execute("UPDATE county.sites SET high_water = %s, last_event_at = greatest(last_event_at, %s), "
                            "last_seen = now(), first_seen = coalesce(first_seen, now()) WHERE code = %s",
                            (fresh[-1].seq, latest, site))
        except (psycopg.errors.DataError, psycopg.errors.InvalidTextRepresentation) as exc:
            first = exc.diag.message_primary or str(exc).splitlines()[0]
            raise BatchRefused("malformed_event", f"events {fresh[0].seq}–{fresh[-1].seq} from {site}: {first}; "
                               "nothing of the batch was stored") from None
        result.stored = len(fresh)
        result.high_water = fresh[-1].seq
        return result


def _latest(site: str, fresh: Sequence[Shipped]) -> datetime:
    """Every event's time is an ISO time with its offset, as the hall writes it; PostgreSQL alone would also take
    words such as 'yesterday', which would put an event on whatever day the hub receives it."""
    latest: datetime | None = None
    for e in fresh:
        try:
            at = datetime.fromisoformat(e.at)
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            raise BatchRefused("malformed_event", f"event {e.seq} from {site}: its time {e.at[:40]!r} is not an ISO "
                               "time with its offset; nothing of the batch was stored")
        latest = at if latest is None or at > latest else latest
    assert latest is not None
    return latest


def _travel(cur: psycopg.Cursor, site: str, fresh: Sequence[Shipped], accept_hours: float,
            levels: dict[str, str], outgoing: Outgoing) -> list[str]:
    """Deliveries and hand-over timings for the few events that concern another site."""
    addressees: list[str] = []
    for e in fresh:
        if e.type not in READ_TYPES:
            continue
        data = orjson.loads(e.data)
        at = datetime.fromisoformat(e.at)
        hid = data.get("handover_id")
        if e.type == HANDED_OVER and hid:
            accept_by = at + timedelta(hours=accept_hours)
            to_site = data.get("to_site", "")
            cur.execute("INSERT INTO county.handovers (handover_id, case_no, from_site, to_site, from_level, "
                        "to_level, sent_at, accept_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT (handover_id) DO NOTHING",
                        (hid, data.get("case", ""), site, to_site, levels.get(site), levels.get(to_site), at,
                         accept_by))
            data = {**data, "accept_by": accept_by.isoformat()}
        elif hid and e.type in HANDOVER_COLUMNS:
            cur.execute(sql.SQL("UPDATE county.handovers SET {} = coalesce({}, %s) WHERE handover_id = %s").format(
                sql.Identifier(HANDOVER_COLUMNS[e.type]), sql.Identifier(HANDOVER_COLUMNS[e.type])), (at, hid))
        travel = outgoing(e.type, data)
        if travel is None:
            continue
        to_site, delivery = travel
        if e.type == HANDED_OVER and "accept_by" in data:
            delivery = {**delivery, "accept_by": data["accept_by"]}
        cur.execute("INSERT INTO county.deliveries (to_site, from_site, from_seq, kind, handover_id, payload) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (from_site, from_seq) DO NOTHING",
                    (to_site, site, e.seq, e.type, hid, orjson.dumps(delivery).decode()))
        addressees.append(to_site)
    return addressees


def pending_deliveries(conn: psycopg.Connection, site: str, acked: int, site_seq: int, limit: int = 100, *,
                       touch: bool = True) -> list[tuple[int, dict[str, Any]]]:
    """What waits for `site` beyond what it has said it applied. With `touch`, the ack, the site's own last
    sequence and when it was seen are stored, so the dashboard shows what is waiting at both ends; without it
    (a quiet poll that changes none of them but the time) it is a read, with no flush to wait for."""
    if not touch:
        return [(int(i), p) for i, p in conn.execute(
            "SELECT id, payload FROM county.deliveries WHERE to_site = %s AND id > %s ORDER BY id LIMIT %s",
            (site, acked, limit)).fetchall()]
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("UPDATE county.sites SET inbox_acked = greatest(inbox_acked, %s), "
                    "site_seq = greatest(site_seq, %s), last_seen = now() WHERE code = %s", (acked, site_seq, site))
        cur.execute("UPDATE county.deliveries SET acked_at = now() WHERE to_site = %s AND id <= %s "
                    "AND acked_at IS NULL", (site, acked))
        cur.execute("SELECT id, payload FROM county.deliveries WHERE to_site = %s AND id > %s ORDER BY id LIMIT %s",
                    (site, acked, limit))
        return [(int(i), p) for i, p in cur.fetchall()]


def escalate_late(conn: psycopg.Connection, now: datetime) -> list[dict[str, Any]]:
    """Hand-overs the receiving site has not accepted in time go to the county's 服务督办员, once each.

    Decided at the hub, from the hub's clock, because the late site may be the one that is offline."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("UPDATE county.handovers SET escalated_at = %s WHERE accepted_at IS NULL AND declined_at IS NULL "
                    "AND escalated_at IS NULL AND accept_by < %s "
                    "RETURNING handover_id, case_no, from_site, to_site, sent_at, accept_by", (now, now))
        rows = [{"handover_id": h, "case": c, "from_site": f, "to_site": t, "sent_at": s.isoformat(),
                 "accept_by": a.isoformat()} for h, c, f, t, s, a in cur.fetchall()]
        for r in rows:
            cur.execute("INSERT INTO county.hub_log (at, type, site, data) VALUES (%s, 'handover_escalated', %s, %s)",
                        (now, r["to_site"], orjson.dumps(r).decode()))
        return rows
