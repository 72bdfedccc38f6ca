"""The county hub and a site's link, for real: a hall server with `[county]`, the hub on ZeroMQ with CURVE, a
PostgreSQL from the test fixture. What a county cares about: every event of every site lands once, in order,
through a cut link, a hub restart and a site restart; a site writes only its own rows; a stranger is refused."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hall_bus.config import CountyLinkSettings, HallConfig
from hall_bus.county.hub import CountyHub
from hall_bus.county.ingest import BatchRefused, Shipped, store_batch
from hall_bus.county.schema import migrate
from hall_bus.county.sites import County, load_county
from hall_bus.county.station import init_site
from hall_bus.domain.commands import Tick
from hall_bus.wire.keys import KeyStore
from hall_bus.wire.server import HallServer

from .conftest import ROOT

COUNTY_FILE = ROOT / "config" / "county.example.toml"
SITES = [("PA", "县中心", "county", None), ("PAT01", "城关镇", "town", "PA")]


@pytest.fixture(scope="module")
def county() -> County:
    return load_county(COUNTY_FILE)


async def until(cond: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = cond()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.02)


def rows(dsn: str, site: str) -> list[tuple[int, str]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT seq, type FROM county.events WHERE site = %s ORDER BY seq", (site,)).fetchall()


def ev(seq: int, kind: str = "day_opened", data: str = '{"day": "2026-12-03"}') -> Shipped:
    return Shipped(seq, kind, f"2026-12-03T09:{seq % 60:02d}:00+08:00", data)


# ---------------------------------------------------------------------- the database's side, without a network


def test_a_batch_lands_once_in_order_and_a_gap_is_refused_with_the_mark(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        migrate(conn, SITES)
        none = lambda t, d: None  # noqa: E731
        first = store_batch(conn, "PA", [ev(i) for i in range(1, 11)], accept_hours=24, levels={}, outgoing=none)
        assert (first.high_water, first.stored) == (10, 10)
        resend = store_batch(conn, "PA", [ev(i) for i in range(5, 13)], accept_hours=24, levels={}, outgoing=none)
        assert (resend.high_water, resend.stored, resend.skipped) == (12, 2, 6)
        gap = store_batch(conn, "PA", [ev(i) for i in range(20, 25)], accept_hours=24, levels={}, outgoing=none)
        assert gap.gap and gap.high_water == 12 and gap.stored == 0
    assert [s for s, _ in rows(pg_dsn, "PA")] == list(range(1, 13))


def test_a_malformed_event_stores_nothing_of_its_batch_and_says_which(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        migrate(conn, SITES)
        bad = [ev(1), ev(2, data='{"day": '), ev(3)]
        with pytest.raises(BatchRefused) as caught:
            store_batch(conn, "PA", bad, accept_hours=24, levels={}, outgoing=lambda t, d: None)
        assert "events 1–3 from PA" in str(caught.value) and "nothing of the batch was stored" in str(caught.value)
        late = [Shipped(1, "day_opened", "yesterday", "{}")]  # PostgreSQL alone would take it
        with pytest.raises(BatchRefused):
            store_batch(conn, "PA", late, accept_hours=24, levels={}, outgoing=lambda t, d: None)
        with pytest.raises(BatchRefused, match="not in the county file"):
            store_batch(conn, "XX9", [ev(1)], accept_hours=24, levels={}, outgoing=lambda t, d: None)
    assert rows(pg_dsn, "PA") == []


def test_the_database_keeps_a_site_role_to_its_own_rows(pg_dsn: str) -> None:
    """Row-level security, not only the hub's code: even a hub bug cannot write one site's events as another."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        migrate(conn, SITES)
        conn.execute("SET ROLE county_site_pat01")
        conn.execute("INSERT INTO county.events (site, seq, type, at, data) VALUES ('PAT01', 1, 'x', now(), '{}')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO county.events (site, seq, type, at, data) VALUES ('PA', 1, 'x', now(), '{}')")
        conn.execute("RESET ROLE")
        conn.execute("INSERT INTO county.events (site, seq, type, at, data) VALUES ('PA', 1, 'x', now(), '{}')")
        conn.execute("SET ROLE county_site_pat01")
        seen = conn.execute("SELECT DISTINCT site FROM county.events").fetchall()
        assert seen == [("PAT01",)]  # a site role reads only its own rows too


# ---------------------------------------------------------------------- over the network


class Rig:
    """A hub and one real hall server (site PA) linked over 127.0.0.1, each startable and stoppable."""

    def __init__(self, root: Path, county: County, dsn: str, cfg: HallConfig) -> None:
        self.root, self.county, self.dsn = root, county, dsn
        self.hub_keys = root / "hub-keys"
        store = KeyStore(self.hub_keys)
        store.init()
        store.add("pa")
        self.site_keys = root / "site-keys"
        (self.site_keys / "county" / "nodes").mkdir(parents=True)
        shutil.copy(store.server_public_path(), self.site_keys / "county" / "server.key")
        for f in (self.hub_keys / "nodes").glob("pa.key*"):
            shutil.copy(f, self.site_keys / "county" / "nodes")
        self.cfg = cfg
        self.hub: CountyHub | None = None
        self.server: HallServer | None = None
        self._hub_stop = asyncio.Event()
        self._srv_stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.port = 0

    async def start_hub(self) -> CountyHub:
        self._hub_stop = asyncio.Event()
        endpoint = f"tcp://127.0.0.1:{self.port}"
        self.hub = CountyHub(self.county, self.dsn, self.hub_keys, endpoint=endpoint, dashboard=False,
                             escalate_seconds=0.1)
        self._tasks.append(asyncio.create_task(self.hub.run(self._hub_stop)))
        await asyncio.wait_for(self.hub.ready.wait(), 20)
        self.port = int(self.hub.endpoint.rsplit(":", 1)[1])
        return self.hub

    async def stop_hub(self) -> None:
        self._hub_stop.set()
        await until(lambda: all(t.done() for t in self._tasks if t is not None) or self._hub_done(), what="hub")

    def _hub_done(self) -> bool:
        return self._tasks[0].done() if self._tasks else True

    async def start_site(self) -> HallServer:
        self._srv_stop = asyncio.Event()
        link = CountyLinkSettings(hub_port=self.port, poll_seconds=0.1, answer_seconds=1.0, retry_max_seconds=0.5)
        cfg = self.cfg.model_copy(update={"county": link})
        self.server = HallServer(cfg, self.root / "site-data", keys_dir=self.site_keys, curve=False,
                                 command_endpoint="tcp://127.0.0.1:*", event_endpoint="tcp://127.0.0.1:*")
        self._site_task = asyncio.create_task(self.server.run(self._srv_stop))
        await asyncio.wait_for(self.server.ready.wait(), 20)
        return self.server

    async def stop_site(self) -> None:
        self._srv_stop.set()
        await asyncio.wait_for(self._site_task, 20)

    async def tick(self, n: int = 1) -> None:
        assert self.server is not None
        for _ in range(n):
            await self.server.submit_own(Tick())

    def level(self) -> bool:
        assert self.server is not None
        status = self.server.link.status() if self.server.link else {}
        return status.get("connected") and status.get("backlog") == 0

    async def close(self) -> None:
        self._srv_stop.set()
        self._hub_stop.set()
        await asyncio.gather(*self._tasks, *( [self._site_task] if hasattr(self, "_site_task") else []),
                             return_exceptions=True)


@contextlib.asynccontextmanager
async def rig(tmp_path: Path, county: County, dsn: str, cfg: HallConfig) -> AsyncIterator[Rig]:
    r = Rig(tmp_path, county, dsn, cfg)
    try:
        yield r
    finally:
        await r.close()


def _staff(server: HallServer, n: int) -> None:
    """Events with content: staff added through the core, as `hallctl staff add` would."""
    from hall_bus.domain.commands import AddStaff
    from hall_bus.domain.staff import hash_pin

    for i in range(n):
        server.core.submit(AddStaff(staff=f"S{i:03d}", name=f"员工{i}", duties=["helper"], pin_hash=hash_pin("1234"),
                                    actor="admin"))


def test_a_site_ships_through_a_cut_link_and_restarts_exactly_once_in_order(
        tmp_path: Path, county: County, pg_dsn: str, cfg: HallConfig) -> None:
    async def scenario() -> None:
        async with rig(tmp_path, county, pg_dsn, cfg) as r:
            await r.start_hub()
            server = await r.start_site()
            _staff(server, 30)
            server.link.wake.set()
            await until(r.level, what="the first 30 events at the county")
            await r.stop_hub()  # the link is cut: the hall carries on
            _staff_more = [f"T{i:03d}" for i in range(40)]
            from hall_bus.domain.commands import AddStaff
            from hall_bus.domain.staff import hash_pin
            for sid in _staff_more:
                answer = server.core.submit(AddStaff(staff=sid, name="临时", duties=["helper"],
                                                     pin_hash=hash_pin("1234"), actor="admin"))
                assert answer["ok"]
            await until(lambda: not server.link.status()["connected"], what="the link noticing the hub gone")
            assert server.link.status()["backlog"] == 40
            await r.stop_site()  # and the site restarts while the hub is still away
            await r.start_hub()
            server = await r.start_site()
            await until(r.level, what="the site level with the county after both came back")
            seqs = [s for s, _ in rows(pg_dsn, "PA")]
            assert seqs == list(range(1, server.core.state.seq + 1))
    asyncio.run(scenario())


def test_a_key_the_hub_does_not_know_is_refused_and_nothing_lands(
        tmp_path: Path, county: County, pg_dsn: str, cfg: HallConfig) -> None:
    async def scenario() -> None:
        async with rig(tmp_path, county, pg_dsn, cfg) as r:
            stranger = KeyStore(tmp_path / "other")
            stranger.init()
            stranger.add("pa")
            shutil.copy(stranger.node_secret_path("pa"), r.site_keys / "county" / "nodes" / "pa.key_secret")
            shutil.copy(stranger.node_secret_path("pa").with_suffix(".key"), r.site_keys / "county" / "nodes")
            hub = await r.start_hub()
            server = await r.start_site()
            _staff(server, 3)
            await until(lambda: server.link.status()["down_s"] is not None, what="the link giving up on an answer")
            assert hub.stats.batches == 0
            assert rows(pg_dsn, "PA") == []
    asyncio.run(scenario())


def test_site_init_writes_a_station_that_checks_and_is_admitted(tmp_path: Path, county: County) -> None:
    from hall_bus.config import load_config

    st = init_site(county, COUNTY_FILE, "PAT01V01", tmp_path / "station", hub_keys=tmp_path / "hub-keys",
                   template=ROOT / "config" / "hall.example.toml")
    cfg = load_config(st.hall_file)
    assert cfg.hall.site_code == "PAT01V01" and cfg.county is not None and cfg.county.level == "village"
    hub_keys = KeyStore(tmp_path / "hub-keys")
    hub_keys.refresh()
    assert hub_keys.node("pat01v01") is not None
    pins = st.pins.read_text(encoding="utf-8")
    assert st.pins.stat().st_mode & 0o077 == 0
    assert all(m.id in pins for m in county.site("PAT01V01").staff)
    from hall_bus.errors import UserError
    with pytest.raises(UserError, match="exists already"):
        init_site(county, COUNTY_FILE, "PAT01V01", tmp_path / "station", hub_keys=tmp_path / "hub-keys",
                  template=ROOT / "config" / "hall.example.toml")


def test_a_quiet_poll_writes_nothing_until_something_moves_or_a_while_has_passed(county: County,
                                                                                  tmp_path: Path) -> None:
    """A county of 316 sites polls 158 times a second all day; each write is a flush the hub waits for."""
    from hall_bus.county import hub as hub_module

    hub = CountyHub(county, "host=127.0.0.1", tmp_path / "keys", dashboard=False)
    assert hub._must_touch("PA", 0, 0, 10)  # first call: written
    assert not hub._must_touch("PA", 0, 0, 10)  # the same again at once: a read only
    assert hub._must_touch("PA", 0, 3, 10)  # a delivery acknowledged: written
    assert hub._must_touch("PA", 0, 3, 11)  # the site's own ledger moved (its backlog): written
    assert hub._must_touch("PA", 5, 3, 11)  # events stored: written
    hub._touched["PA"] -= hub_module.TOUCH_SECONDS  # a while later, nothing moved: seen again, written
    assert hub._must_touch("PA", 0, 3, 11)
