"""转办 across real sites: three hall servers (village, town, county), the hub, a real PostgreSQL. The story a
county runs on, and the faults it must survive: a link cut in the middle of a hand-over and the receiving site
killed — no case lost, none doubled, the county ledger holding every step once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg

from hall_bus.sim.county_demo import APPLICANT, ITEM, ROUTE, CountyRig, _wait, story

from .conftest import ROOT

COUNTY_FILE = ROOT / "config" / "county.example.toml"
HALL_FILE = ROOT / "config" / "hall.example.toml"


def county_rows(dsn: str, sql: str, *args: object) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, args).fetchall()


def test_a_village_case_goes_to_the_county_and_its_result_comes_back_for_pickup(tmp_path: Path, pg_dsn: str) -> None:
    said: list[str] = []

    async def scenario() -> str:
        rig = CountyRig(COUNTY_FILE, HALL_FILE, tmp_path, pg_dsn, dashboard=False)
        try:
            await rig.start_hub()
            rig.set_up_sites()
            for code in ROUTE:
                await rig.start_site(code)
            number = await story(rig.sites, said.append)
            await _wait(rig.level, "every site level with the county")
            village = rig.sites["PAT01V01"].server.core.state.cases[number]
            assert (village.status, village.decision, village.on_time, village.delivery) == (
                "delivered", "approved", True, "window")
            assert rig.sites["PA"].server.core.state.cases[number].status == "returned"
            return number
        finally:
            await rig.close()

    number = asyncio.run(scenario())
    assert [line.split()[0] for line in said] == ["村收件", "转办", "镇审核", "县办理", "办结", "出件"]
    hops = county_rows(pg_dsn, "SELECT from_site, to_site, from_level, to_level, received_at IS NOT NULL, "
                       "accepted_at IS NOT NULL, returned_at IS NOT NULL, result_at IS NOT NULL, escalated_at "
                       "FROM county.handovers WHERE case_no = %s ORDER BY sent_at", number)
    assert hops == [("PAT01V01", "PAT01", "village", "town", True, True, True, True, None),
                    ("PAT01", "PA", "town", "county", True, True, True, True, None)]
    # Every site's whole ledger is in the county, once, in order.
    for code in ROUTE:
        seqs = [s for (s,) in county_rows(pg_dsn, "SELECT seq FROM county.events WHERE site = %s ORDER BY seq", code)]
        assert seqs == list(range(1, len(seqs) + 1)) and seqs
    # The county keeps what the site's ledger has; only a masked view is for readers (the report's business).
    assert county_rows(pg_dsn, "SELECT count(*) FROM county.events WHERE type = 'case_accepted' AND "
                       "data->>'item' = %s", ITEM) == [(1,)]


def test_a_hand_over_made_while_the_link_is_cut_and_the_receiver_killed_arrives_once(
        tmp_path: Path, pg_dsn: str) -> None:
    async def scenario() -> None:
        rig = CountyRig(COUNTY_FILE, HALL_FILE, tmp_path, pg_dsn, dashboard=False)
        try:
            await rig.start_hub()
            rig.set_up_sites()
            village = await rig.start_site("PAT01V01")
            town = await rig.start_site("PAT01")
            await _wait(rig.level, "both sites level")
            await rig.stop_hub()  # the county's link is down
            r = await village.do("accept_case", item=ITEM, by=village.person, counter=1, **APPLICANT)
            number = r["case"]
            await village.do("hand_over_case", case=number, to_site="PAT01", reason="转镇审核", by=village.person)
            await _wait(lambda: not village.server.link.status()["connected"], "the village noticing the hub gone")
            await rig.stop_site("PAT01")  # and the receiving town is killed before anything reached it
            await rig.start_hub()  # the hub comes back: the village's hand-over reaches the county first
            await _wait(lambda: village.server.link.status()["backlog"] == 0, "the village's events at the county")
            assert number not in town.server.core.state.cases  # the old process, stopped with nothing
            town = await rig.start_site("PAT01")  # the town comes back and finds it in its inbox
            await _wait(lambda: number in town.server.core.state.cases, "the case reaching the town")
            assert town.server.core.state.cases[number].status == "inbox"
            # The same delivery again (the town lost its cursor file): answered, changes nothing.
            town.server.link.inbox_ack = 0
            town.server.link.wake.set()
            await _wait(rig.level, "both sites level again")
            await _wait(lambda: town.server.link.inbox_ack > 0, "the redelivery taken")
            received = [e for e in town.server.core.ledger.events() if e["type"] == "handover_received"]
            assert len(received) == 1
            await town.do("accept_handover", case=number, by=town.person)
            await _wait(rig.level, "the acceptance at the county")
        finally:
            await rig.close()

    asyncio.run(scenario())
    assert county_rows(pg_dsn, "SELECT count(*), count(received_at), count(accepted_at) FROM county.handovers") == [
        (1, 1, 1)]
    assert county_rows(pg_dsn, "SELECT count(*) FROM county.deliveries") == [(1,)]
