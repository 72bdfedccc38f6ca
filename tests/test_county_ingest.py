"""store_batch's contract on a real PostgreSQL: what the hub promises every site, whatever its internals.

Exactly once and in the site's order (a resend is skipped, a gap is refused with the mark the site resumes
from), all or nothing (a malformed event stores none of its batch and says which events), and only under the
site's own role, which row-level security keeps to the site's own rows — a guard the database holds, so a
bug in the hub cannot undo it. These tests are what lets store_batch's SQL change for speed
(benchmarks/bench_county.py) without the contract moving.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import pytest

from hall_bus.county.ingest import BatchRefused, Shipped, store_batch
from hall_bus.county.schema import migrate, site_role

SITES = [("PA", "县中心", "county", None), ("PAT01", "一镇", "town", "PA"), ("PAT01V001", "一村", "village", "PAT01")]
LEVELS = {code: level for code, _, level, _ in SITES}


def no_travel(event_type: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Nothing travels: these tests are about the events, not the hand-overs."""
    return None


@pytest.fixture
def conn(pg_dsn: str) -> Iterator[psycopg.Connection]:
    """A connection as the hub holds it (autocommit: store_batch makes its own transaction)."""
    with psycopg.connect(pg_dsn, autocommit=True) as c:
        migrate(c, SITES)
        yield c


def event(seq: int, kind: str = "ticket_issued", **data: Any) -> Shipped:
    return Shipped(seq, kind, f"2026-01-05T09:{seq // 60 % 60:02d}:{seq % 60:02d}.000+08:00",
                   orjson.dumps({"ticket": f"20260105-A{seq:03d}", **data}).decode())


def events(first: int, last: int) -> list[Shipped]:
    return [event(s) for s in range(first, last + 1)]


def store(conn: psycopg.Connection, site: str, batch: list[Shipped], **kw: Any) -> Any:
    return store_batch(conn, site, batch, accept_hours=24, levels=LEVELS, outgoing=kw.pop("outgoing", no_travel),
                       **kw)


def held(conn: psycopg.Connection, site: str) -> list[tuple[int, str, dict[str, Any]]]:
    return conn.execute("SELECT seq, type, data FROM county.events WHERE site = %s ORDER BY seq", (site,)).fetchall()


def mark(conn: psycopg.Connection, site: str) -> int:
    row = conn.execute("SELECT high_water FROM county.sites WHERE code = %s", (site,)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_batch_is_stored_whole_in_order_and_the_mark_moves(conn: psycopg.Connection) -> None:
    result = store(conn, "PAT01", events(1, 5))
    assert (result.stored, result.skipped, result.gap, result.high_water) == (5, 0, False, 5)
    rows = held(conn, "PAT01")
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[2][2] == {"ticket": "20260105-A003"}  # the event's JSON, as jsonb
    assert mark(conn, "PAT01") == 5
    assert store(conn, "PAT01", events(6, 8)).high_water == 8
    assert [r[0] for r in held(conn, "PAT01")] == list(range(1, 9))
    last = conn.execute("SELECT last_event_at, first_seen, last_seen FROM county.sites WHERE code = 'PAT01'"
                        ).fetchone()
    assert last is not None and all(v is not None for v in last)
    assert last[0] == datetime(2026, 1, 5, 1, 0, 8, tzinfo=UTC)  # the latest event's time


def test_the_events_json_arrives_as_the_site_wrote_it(conn: psycopg.Connection) -> None:
    """Quotes, backslashes, escapes and Chinese in the data survive the way in (the arrays go in binary)."""
    tricky = {"text": '一次性告知：\n1. 结婚证复印件 "原件" \\ 备注\t', "items": ["a\"b", "c\\d"], "n": None}
    store(conn, "PA", [event(1, "notice_issued", **tricky)])
    assert held(conn, "PA")[0][2] == {"ticket": "20260105-A001", **tricky}
    at = conn.execute("SELECT at FROM county.events").fetchone()
    assert at is not None and at[0] == datetime(2026, 1, 5, 1, 0, 1, tzinfo=UTC)


def test_a_resend_is_skipped_and_its_new_tail_taken(conn: psycopg.Connection) -> None:
    store(conn, "PA", events(1, 5))
    again = store(conn, "PA", events(1, 5))
    assert (again.stored, again.skipped, again.gap, again.high_water) == (0, 5, False, 5)
    overlap = store(conn, "PA", events(4, 9))  # a lost answer: the site sends from its older mark
    assert (overlap.stored, overlap.skipped, overlap.high_water) == (4, 2, 9)
    assert [r[0] for r in held(conn, "PA")] == list(range(1, 10))


def test_a_gap_is_refused_whole_with_the_mark(conn: psycopg.Connection) -> None:
    store(conn, "PA", events(1, 3))
    beyond = store(conn, "PA", events(5, 7))
    assert (beyond.gap, beyond.stored, beyond.high_water) == (True, 0, 3)
    holed = store(conn, "PA", [event(4), event(6)])  # contiguous at the start, a hole inside
    assert (holed.gap, holed.stored, holed.high_water) == (True, 0, 3)
    backwards = store(conn, "PA", [event(5), event(4)])
    assert backwards.gap and backwards.stored == 0
    assert [r[0] for r in held(conn, "PA")] == [1, 2, 3]
    assert mark(conn, "PA") == 3
    assert store(conn, "PA", events(4, 5)).high_water == 5  # from the mark, it goes on


@pytest.mark.parametrize(("bad", "named"), [
    (Shipped(3, "ticket_issued", "2026-01-05T09:00:03.000+08:00", '{"ticket": '), "events 2–4"),  # cut-off JSON
    (Shipped(3, "ticket_issued", "not a time", "{}"), "event 3"),
    (Shipped(3, "ticket_issued", "yesterday", "{}"), "event 3"),  # a word PostgreSQL alone would take as a time
])
def test_a_malformed_event_refuses_the_batch_naming_its_events_and_stores_nothing(
        conn: psycopg.Connection, bad: Shipped, named: str) -> None:
    store(conn, "PAT01V001", events(1, 1))
    batch = [event(2), bad, event(4)]
    with pytest.raises(BatchRefused) as refused:
        store(conn, "PAT01V001", batch)
    assert refused.value.code == "malformed_event"
    assert named in str(refused.value) and "PAT01V001" in str(refused.value)
    assert "nothing of the batch was stored" in str(refused.value)
    assert [r[0] for r in held(conn, "PAT01V001")] == [1]
    assert mark(conn, "PAT01V001") == 1
    assert store(conn, "PAT01V001", events(2, 4)).stored == 3  # the connection is usable after the refusal


def test_an_unknown_site_is_refused(conn: psycopg.Connection) -> None:
    with pytest.raises(BatchRefused) as refused:
        store(conn, "XX99", events(1, 2))
    assert refused.value.code == "unknown_site"
    assert conn.execute("SELECT count(*) FROM county.events").fetchone() == (0,)


def test_sites_are_kept_apart(conn: psycopg.Connection) -> None:
    store(conn, "PA", events(1, 3))
    store(conn, "PAT01", events(1, 2))
    assert [r[0] for r in held(conn, "PA")] == [1, 2, 3]
    assert [r[0] for r in held(conn, "PAT01")] == [1, 2]
    assert (mark(conn, "PA"), mark(conn, "PAT01"), mark(conn, "PAT01V001")) == (3, 2, 0)


def test_a_site_role_cannot_insert_another_sites_rows(conn: psycopg.Connection) -> None:
    """The database's guard, not the hub's: even SQL run under PAT01's role cannot write a row of PA's."""
    insert = ("INSERT INTO county.events (site, seq, type, at, data) "
              "VALUES (%s, 1, 'ticket_issued', now(), '{}')")
    with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
        conn.execute(psycopg.sql.SQL("SET LOCAL ROLE {}").format(psycopg.sql.Identifier(site_role("PAT01"))))
        conn.execute(insert, ("PA",))
    with conn.transaction():
        conn.execute(psycopg.sql.SQL("SET LOCAL ROLE {}").format(psycopg.sql.Identifier(site_role("PAT01"))))
        conn.execute(insert, ("PAT01",))  # its own row: allowed
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("UPDATE county.sites SET high_water = 99 WHERE code = 'PA'")  # nor the hub's tables
    assert conn.execute("SELECT site FROM county.events").fetchall() == [("PAT01",)]
    assert conn.execute("SELECT current_user").fetchone() == (conn.info.user,)  # the role ended with the transaction


def test_store_batch_writes_under_the_sites_role(conn: psycopg.Connection) -> None:
    """Proved by taking the role's right away: then the site's batch cannot be written, and nothing of it is."""
    conn.execute(psycopg.sql.SQL("REVOKE INSERT ON county.events FROM {}").format(
        psycopg.sql.Identifier(site_role("PAT01"))))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        store(conn, "PAT01", events(1, 2))
    assert held(conn, "PAT01") == [] and mark(conn, "PAT01") == 0
    assert conn.execute("SELECT current_user").fetchone() == (conn.info.user,)
    assert store(conn, "PA", events(1, 2)).stored == 2  # another site's role still has its right


def test_an_empty_batch_is_a_poll(conn: psycopg.Connection) -> None:
    result = store(conn, "PAT01", [])
    assert (result.stored, result.skipped, result.gap, result.high_water) == (0, 0, False, 0)
    seen = conn.execute("SELECT first_seen, last_seen FROM county.sites WHERE code = 'PAT01'").fetchone()
    assert seen is not None and seen[0] is not None and seen[1] is not None


def test_hand_overs_become_deliveries_in_the_same_transaction(conn: psycopg.Connection) -> None:
    def outgoing(event_type: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        if event_type == "case_handed_over":
            return data["to_site"], {"kind": event_type, "handover_id": data["handover_id"]}
        if event_type == "handover_accepted":
            return data["from_site"], {"kind": event_type, "handover_id": data["handover_id"]}
        return None

    sent = event(2, "case_handed_over", handover_id="HO-1", case="PAT01V001-20260105-0001", to_site="PAT01")
    result = store(conn, "PAT01V001", [event(1), sent], outgoing=outgoing)
    assert result.deliveries == ["PAT01"]
    rows = conn.execute("SELECT to_site, from_site, from_seq, kind, payload FROM county.deliveries").fetchall()
    assert len(rows) == 1 and rows[0][:4] == ("PAT01", "PAT01V001", 2, "case_handed_over")
    assert rows[0][4]["accept_by"].startswith("2026-01-06T09:00:02")  # sent + 24 h
    hand = conn.execute("SELECT from_level, to_level, accepted_at FROM county.handovers").fetchone()
    assert hand == ("village", "town", None)
    accepted = event(1, "handover_accepted", handover_id="HO-1", from_site="PAT01V001")
    assert store(conn, "PAT01", [accepted], outgoing=outgoing).deliveries == ["PAT01V001"]
    row = conn.execute("SELECT accepted_at FROM county.handovers").fetchone()
    assert row is not None and row[0] is not None
    store(conn, "PAT01V001", [event(1), sent], outgoing=outgoing)  # a resend makes no second delivery
    assert conn.execute("SELECT count(*) FROM county.deliveries").fetchone() == (2,)
