"""The county hub: takes every site's events into the county ledger (PostgreSQL) and relays hand-overs.

One ROUTER socket, CURVE-encrypted, admits only keys enrolled for a site in the county file; the key decides
which site a batch belongs to. The database work is synchronous psycopg on one connection in a worker thread,
one batch at a time: a batch is one transaction, so the order of answers is the order of commits and a site's
high-water mark is never ahead of what is durable.

A site that is unreachable costs the hub nothing: sites call in, the hub never calls out. Hand-overs for a site
wait in `county.deliveries` until it next calls, and the hub alone decides when an unaccepted hand-over is late
(the late site may be the one that is offline).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import zmq
import zmq.asyncio
from zmq.auth.asyncio import AsyncioAuthenticator

from hall_bus.county import protocol as hp
from hall_bus.county.dashboard import serve_dashboard
from hall_bus.county.ingest import BatchRefused, Stored, escalate_late, pending_deliveries, store_batch
from hall_bus.county.schema import migrate
from hall_bus.errors import UserError
from hall_bus.wire.keys import KeyStore

if TYPE_CHECKING:
    from hall_bus.county.sites import County

log = logging.getLogger("county.hub")
TOUCH_SECONDS = 20.0  # a quiet site's `last_seen` is written at least this often (the dashboard's window is 60 s)


def key_name(site: str) -> str:
    """Key stores name their holders in lower case (node ids); site codes are upper case in the county file."""
    return site.lower()


@dataclass
class SiteLink:
    """What the hub knows of a site's link since it started (the durable part is in county.sites)."""

    site: str
    batches: int = 0
    events: int = 0
    refused: int = 0
    last_seen: float = 0.0
    last_error: str = ""


@dataclass
class HubStats:
    started: float = field(default_factory=time.time)
    batches: int = 0
    events: int = 0
    escalations: int = 0


class _SiteAuthenticator(AsyncioAuthenticator):
    """Only a key enrolled for a site the county file names may connect; the User-Id is that site's code."""

    def __init__(self, context: zmq.asyncio.Context, keys: KeyStore, sites: dict[str, str]) -> None:
        super().__init__(context, log=logging.getLogger("county.auth"))
        self.keys = keys
        self.sites = sites  # key name -> site code

    def callback(self, domain: str, key: bytes) -> bool:
        self.keys.refresh()
        enrolled = self.keys.by_public_key(key)
        if enrolled is None or enrolled.node not in self.sites:
            log.warning("refused a connection with a key not enrolled for any site %s…",
                        key[:8].decode(errors="replace"))
            return False
        return True

    def curve_user_id(self, client_public_key: bytes) -> str:
        enrolled = self.keys.by_public_key(zmq.utils.z85.encode(client_public_key))
        return self.sites.get(enrolled.node, "") if enrolled else ""


class CountyHub:
    def __init__(self, county: County, dsn: str, keys_dir: Path | str, *, endpoint: str | None = None,
                 escalate_seconds: float = 5.0, dashboard: bool = True) -> None:
        self.county = county
        self.dsn = dsn
        self.keys = KeyStore(keys_dir)
        self.endpoint = endpoint or county.hub.bind
        self.accept_hours = county.hub.handover_accept_hours
        self.batch_max = county.hub.batch_max
        self.levels = {s.code: s.level for s in county.sites}
        self.escalate_seconds = escalate_seconds
        self.want_dashboard = dashboard
        self.dashboard_url: str | None = None
        self.links: dict[str, SiteLink] = {}
        self.stats = HubStats()
        self.ready = asyncio.Event()
        self._db_lock = asyncio.Lock()
        self.conn: psycopg.Connection | None = None
        self._inflight: asyncio.Future[Any] | None = None
        self._marks: dict[str, int] = {}  # site -> its high-water mark as this hub last stored or read it
        self._seen: dict[str, tuple[int, int]] = {}  # site -> (delivery ack, its own seq) as last written
        self._touched: dict[str, float] = {}  # site -> when its link's record was last written (monotonic)

    # ------------------------------------------------------------------ life cycle

    def _connect(self) -> psycopg.Connection:
        try:
            conn = psycopg.connect(self.dsn, autocommit=True)
        except psycopg.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"hub: cannot reach the county database ({first}); is PostgreSQL running? "
                            "(`hallctl hub db start --dir DIR` starts a local one)") from None
        try:
            migrate(conn, [(s.code, s.name, s.level, s.parent) for s in self.county.sites])
        except psycopg.errors.InsufficientPrivilege as exc:
            conn.close()
            raise UserError(f"hub: the database user {conn.info.user!r} may not set up the county schema "
                            f"({exc.diag.message_primary}); connect as its owner with CREATEROLE") from None
        return conn

    async def run(self, stop: asyncio.Event) -> None:
        server_public, server_secret = self.keys.server_secret()
        self.conn = await asyncio.to_thread(self._connect)
        ctx = zmq.asyncio.Context()
        auth = _SiteAuthenticator(ctx, self.keys, {key_name(s.code): s.code for s in self.county.sites})
        auth.start()
        auth.configure_curve_callback(hp.HUB_DOMAIN, credentials_provider=auth)
        router = ctx.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 500)
        router.setsockopt(zmq.MAXMSGSIZE, hp.MAX_FRAME)
        router.setsockopt(zmq.ROUTER_HANDOVER, 1)
        router.curve_server = True
        router.curve_publickey = server_public
        router.curve_secretkey = server_secret
        router.zap_domain = hp.HUB_DOMAIN.encode()
        try:
            router.bind(self.endpoint)
        except zmq.ZMQError as exc:
            router.close(linger=0)
            auth.stop()
            ctx.term()
            self.conn.close()
            raise UserError(f"hub: cannot listen on {self.endpoint}: {exc}; is another hub running? "
                            "(change [hub] bind in the county file)") from None
        self.endpoint = router.getsockopt_string(zmq.LAST_ENDPOINT)
        try:
            server = await self._start_dashboard() if self.want_dashboard else None
        except UserError:  # its port is taken: the hub does not start half-way
            router.close(linger=0)
            auth.stop()
            ctx.term()
            self.conn.close()
            raise
        tasks = [asyncio.create_task(self._serve(router)), asyncio.create_task(self._escalate())]
        if server is not None:
            tasks.append(asyncio.create_task(server.serve()))
        log.info("county hub %s: sites call %s; %d sites", self.county.county.name, self.endpoint,
                 len(self.county.sites))
        self.ready.set()
        try:
            await stop.wait()
        finally:
            if server is not None:
                server.should_exit = True
            for t in tasks:
                if server is None or t is not tasks[-1]:
                    t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._inflight is not None:  # a batch being written when the stop came: let it commit
                await asyncio.gather(self._inflight, return_exceptions=True)
            router.close()
            auth.stop()
            ctx.term()
            self.conn.close()

    async def _start_dashboard(self) -> Any:
        """The county dashboard, served by the hub on [hub] dashboard, its socket already bound (so the URL has
        the real port, and a port in use is a UserError here)."""
        server, url = await serve_dashboard(self)
        self.dashboard_url = url
        log.info("county dashboard: %s", url)
        return server

    # ------------------------------------------------------------------ batches

    async def _serve(self, router: zmq.asyncio.Socket) -> None:
        while True:
            frames = await router.recv_multipart(copy=False)
            if len(frames) != 2:
                continue
            identity, body = frames
            site = body.get("User-Id") or ""
            answer = await self._db(self._handle, site, body.bytes)
            await router.send_multipart([identity.bytes, hp.dumps(answer)])

    async def _db(self, fn: Any, *args: Any) -> Any:
        """Database work in a worker thread, one piece at a time. A stopping hub cancels the waiting coroutine but
        not the thread: the work in flight is kept so `run` can let it finish before closing the connection."""
        async with self._db_lock:
            self._inflight = asyncio.ensure_future(asyncio.to_thread(fn, *args))
            return await asyncio.shield(self._inflight)

    def _handle(self, site: str, frame: bytes) -> hp.Ack | hp.Refusal:
        link = self.links.setdefault(site, SiteLink(site))
        link.last_seen = time.time()
        assert self.conn is not None
        try:
            ship = hp.parse_ship(frame)
        except ValueError as exc:
            link.refused += 1
            link.last_error = f"malformed batch: {exc}"
            log.warning("site %s: malformed batch: %s", site, exc)
            return hp.Refusal(code="malformed", message=f"malformed batch: {exc}")
        if len(ship.events) > self.batch_max:
            return hp.Refusal(code="too_large", message=f"at most {self.batch_max} events a batch")
        try:
            if ship.events or site not in self._marks:
                stored = store_batch(self.conn, site, ship.shipped(), accept_hours=self.accept_hours,
                                     levels=self.levels)
                self._marks[site] = stored.high_water
            else:  # a quiet poll: the mark is what this hub last wrote (it is the mark's only writer)
                stored = Stored(high_water=self._marks[site])
            touch = self._must_touch(site, stored.stored, ship.inbox_ack, ship.ledger_seq)
            waiting = pending_deliveries(self.conn, site, ship.inbox_ack, ship.ledger_seq, touch=touch)
        except BatchRefused as exc:
            link.refused += 1
            link.last_error = str(exc)
            log.warning("site %s: %s", site, exc)
            return hp.Refusal(code=exc.code, message=str(exc))
        except psycopg.OperationalError as exc:
            log.error("county database: %s", exc)
            self._reconnect()
            return hp.Refusal(code="database_unavailable",
                              message="the county database is unreachable; the batch was not stored, send again")
        except psycopg.Error as exc:
            log.error("site %s: county database refused a batch: %s", site, exc)
            return hp.Refusal(code="database_error", message="the county database refused the batch "
                              f"({type(exc).__name__}); nothing of it was stored, the hub's log says more")
        link.batches += 1
        link.events += stored.stored
        self.stats.batches += 1
        self.stats.events += stored.stored
        return hp.Ack(high_water=stored.high_water, stored=stored.stored, gap=stored.gap,
                      deliveries=[hp.Delivery(id=i, payload=p) for i, p in waiting])

    def _must_touch(self, site: str, stored: int, acked: int, site_seq: int) -> bool:
        """Whether this call changes what the county records of the site's link. A site level with the county
        polls every couple of seconds all day; writing `last_seen` each time made every poll a flushed
        transaction (316 quiet sites kept a hub a quarter busy). Now it is written when something moved, or
        once every TOUCH_SECONDS, which is well inside the dashboard's "connected" window."""
        now = time.monotonic()
        seen = (acked, site_seq)
        if stored or self._seen.get(site) != seen or now - self._touched.get(site, -TOUCH_SECONDS) >= TOUCH_SECONDS:
            self._seen[site], self._touched[site] = seen, now
            return True
        return False

    def _reconnect(self) -> None:
        # A database that went away may come back restored from a copy: read every mark from it again.
        self._marks.clear()
        self._seen.clear()
        try:
            if self.conn is not None:
                self.conn.close()
            self.conn = psycopg.connect(self.dsn, autocommit=True)
        except psycopg.OperationalError:
            pass  # the next batch tries again

    async def _escalate(self) -> None:
        while True:
            await asyncio.sleep(self.escalate_seconds)
            try:
                late = await self._db(lambda: escalate_late(self.conn, datetime.now(UTC)))
            except psycopg.Error as exc:
                log.error("county database while checking hand-overs: %s", exc)
                await asyncio.to_thread(self._reconnect)
                continue
            for row in late:
                self.stats.escalations += 1
                log.warning("转办 %s (%s → %s) not accepted by %s: escalated to the 服务督办员",
                            row["case"], row["from_site"], row["to_site"], row["accept_by"])

    def status(self) -> dict[str, Any]:
        now = time.time()
        return {"endpoint": self.endpoint, "dashboard": self.dashboard_url,
                "batches": self.stats.batches, "events": self.stats.events, "escalations": self.stats.escalations,
                "sites": {s: {"batches": k.batches, "events": k.events, "refused": k.refused,
                              "last_seen_s": round(now - k.last_seen, 1), "last_error": k.last_error}
                          for s, k in sorted(self.links.items())}}
