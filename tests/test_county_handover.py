"""转办 across real sites: three hall servers (village, town, county), the hub, a real PostgreSQL. The story a
county runs on, and the faults it must survive: a link cut in the middle of a hand-over and the receiving site
killed — no case lost, none doubled, the county ledger holding every step once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import psycopg

from hall_bus.county.dashboard import make_app
from hall_bus.domain import commands as c
from hall_bus.sim.county_demo import APPLICANT, ITEM, ROUTE, CountyRig, _wait, story

from .conftest import ROOT
from .test_county_dashboard import get, serving

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
    # The county's 按时办结率 counts the case once, where it was accepted, concluded when its result came back.
    from datetime import datetime, timedelta

    from hall_bus.county.report import county_figures
    from hall_bus.county.sites import load_county
    day = datetime.strptime(number.split("-")[1], "%Y%m%d").date()
    with psycopg.connect(pg_dsn) as conn:
        figures = county_figures(conn, load_county(COUNTY_FILE), day - timedelta(days=1), day + timedelta(days=1))
    village_tally = figures.sites["PAT01V01"]
    assert (village_tally.accepted, village_tally.concluded, village_tally.on_time) == (1, 1, 1)
    assert (figures.total.accepted, figures.total.concluded) == (1, 1)
    # The receipt's QR (the case number) answers at the county wherever the case went, and names nobody.
    with serving(make_app(pg_dsn, county_name="平安县")) as (root_url, _server):
        url = root_url.rstrip("/")
        status, body, _ = get(f"{url}/api/case/{number}")
        assert status == 200, body[:2000]
        progress = json.loads(body)
        assert status == 200 and progress["where"] == "PAT01V01" and progress["state"] == "已办结并出件"
        assert [s["site"] for s in progress["steps"]][:3] == ["PAT01V01", "PAT01V01", "PAT01"]
        words = [s["words"] for s in progress["steps"]]
        assert words[0] == "受理" and "转办至 城关镇便民服务中心" in words and "转办至 平安县政务服务中心" in words
        assert "办结：准予" in words and words[-1] == "已出件（窗口领取）"
        status, page, _ = get(f"{url}/case/{number}")
        assert status == 200 and "最低生活保障申请" in page and "已办结并出件" in page
        for secret in APPLICANT.values():
            assert secret not in page and secret not in body
        assert get(f"{url}/case/PA-20990101-0001")[0] == 404
        assert get(f"{url}/case/not-a-case")[0] == 404


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
            r = await village.do(c.AcceptCase(item=ITEM, by=village.person, counter=1, **APPLICANT))
            number = r["case"]
            await village.do(c.HandOverCase(case=number, to_site="PAT01", reason="转镇审核", by=village.person))
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
            await town.do(c.AcceptHandover(case=number, by=town.person))
            await _wait(rig.level, "the acceptance at the county")
        finally:
            await rig.close()

    asyncio.run(scenario())
    assert county_rows(pg_dsn, "SELECT count(*), count(received_at), count(accepted_at) FROM county.handovers") == [
        (1, 1, 1)]
    assert county_rows(pg_dsn, "SELECT count(*) FROM county.deliveries") == [(1,)]


def test_a_hand_over_nobody_accepts_in_time_escalates_once_at_the_hub(tmp_path: Path, pg_dsn: str) -> None:
    """Decided at the hub by the hub's clock: the late site may be the one that is offline (here it never starts)."""
    async def scenario() -> int:
        rig = CountyRig(COUNTY_FILE, HALL_FILE, tmp_path, pg_dsn, dashboard=False)
        hub_settings = rig.county.hub.model_copy(update={"handover_accept_hours": 1 / 3600})  # one second
        rig.county = rig.county.model_copy(update={"hub": hub_settings})
        try:
            hub = await rig.start_hub()
            rig.set_up_sites()
            village = await rig.start_site("PAT01V01")
            r = await village.do(c.AcceptCase(item=ITEM, by=village.person, counter=1, **APPLICANT))
            await village.do(c.HandOverCase(case=r["case"], to_site="PAT01", reason="转镇审核",
                                             by=village.person))
            await _wait(lambda: hub.stats.escalations == 1, "the late hand-over escalated", timeout=20)
            await _wait(lambda: village.server.link.status()["backlog"] == 0, "one more round")
            return hub.stats.escalations
        finally:
            await rig.close()

    assert asyncio.run(scenario()) == 1
    assert county_rows(pg_dsn, "SELECT count(escalated_at) FROM county.handovers") == [(1,)]
    logged = county_rows(pg_dsn, "SELECT type, site, data->>'from_site' FROM county.hub_log")
    assert logged == [("handover_escalated", "PAT01", "PAT01V01")]
