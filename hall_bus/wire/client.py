"""The hall bus client every node uses (kiosk, greeter, counter, board, display, admin). asyncio, zmq.asyncio.

It keeps three promises to the node above it:
- `request` answers once, however often the message had to be resent: retries reuse the request id, and the
  server answers a known id from its ledger instead of acting twice;
- `state` (when a hall config is given) mirrors the server: snapshot + every later event, in order; a gap in
  sequence numbers, or a heartbeat announcing a newer seq than we hold, triggers a fresh snapshot. The mirror
  is in one explicit `SyncState` at a time, as in the ZeroMQ guide's Clone client;
- a silent server is noticed within `server_timeout_seconds`; the client then rebuilds its sockets with
  back-off and resyncs, while requests in flight keep retrying;
- a server that refuses this node's key is told apart from a silent one: the command socket's monitor reports
  the failed CURVE handshake and every waiting call raises `KeyRefused` instead of timing out.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message

from hall_bus.config import HallConfig
from hall_bus.domain.commands import Cmd
from hall_bus.domain.registry import apply_event
from hall_bus.domain.state import HallState
from hall_bus.wire import protocol as p

log = logging.getLogger("hall.client")
EventHandler = Callable[[dict[str, Any]], Awaitable[None] | None]
BUFFER_MAX = 100_000  # events held while syncing; older ones may go, the snapshot covers or a resync heals them


class SyncState(enum.Enum):
    """Where the mirror stands (the Clone client's states); events are applied only when ACTIVE."""

    INITIAL = "initial"  # no valid mirror (start, reconnect, gap): events are buffered until a snapshot is asked
    SYNCING = "syncing"  # the snapshot is on its way: events are still buffered
    ACTIVE = "active"    # the mirror is current: each event is applied in seq order


class BusTimeout(Exception):
    """The server did not answer in time (after all retries)."""


class BusError(Exception):
    """The server refused a message at the protocol level (not a queue refusal: those are answers)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class KeyRefused(BusError):
    """The server refused this node's key at the CURVE handshake: not enrolled, revoked, or replaced.

    Without this the node would see only silence and report "server unreachable", which sends the operator
    to check cables instead of `hallctl keys`.
    """

    def __init__(self, node: str, endpoint: str) -> None:
        super().__init__("key_refused", f"this node's key is not accepted by the server ({node} at {endpoint}); "
                         f"enrol it on the server with 'hallctl keys add {node} --config HALL.toml' (or --replace) "
                         "and copy the new key files to this machine")


class HallClient:
    def __init__(self, node: str, command_endpoint: str, event_endpoint: str, *,
                 credentials: tuple[bytes, bytes, bytes] | None = None, config: HallConfig | None = None,
                 heartbeat_seconds: float = 1.0, server_timeout_seconds: float = 3.0,
                 on_event: EventHandler | None = None, on_resync: Callable[[], Any] | None = None,
                 subscribe: bool = True, context: zmq.asyncio.Context | None = None) -> None:
        self.node = node
        self.command_endpoint = command_endpoint
        self.event_endpoint = event_endpoint
        self.credentials = credentials
        self.cfg = config
        self.heartbeat = heartbeat_seconds
        self.heartbeats = 0
        self.server_timeout = server_timeout_seconds
        self.on_event = on_event
        self.on_resync = on_resync
        self.subscribe = subscribe
        self._own_ctx = context is None
        self.ctx = context or zmq.asyncio.Context()
        self.seq = 0
        self.state: HallState | None = None
        self.welcome: dict[str, Any] = {}
        self.connected = asyncio.Event()
        self.sync_state = SyncState.INITIAL
        self._active = asyncio.Event()  # set exactly when sync_state is ACTIVE; only _set_state touches it
        self.refused: BusError | None = None  # the server refuses this node (key refused, revoked, unknown)
        self.reconnects = 0
        self.resyncs = 0
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._buffer: deque[dict[str, Any]] = deque(maxlen=BUFFER_MAX)
        self._resync_wanted = asyncio.Event()
        self._last_heard = time.monotonic()
        self._tasks: list[asyncio.Task[Any]] = []
        self._socket_tasks: list[asyncio.Task[Any]] = []
        self._closing = False
        self.dealer: zmq.asyncio.Socket | None = None
        self.sub: zmq.asyncio.Socket | None = None
        self._monitor: zmq.asyncio.Socket | None = None

    # ------------------------------------------------------------------ sync state

    @property
    def synced(self) -> bool:
        return self.sync_state is SyncState.ACTIVE

    async def wait_synced(self, timeout: float | None = None) -> None:
        """Until the mirror is ACTIVE (the snapshot is in and buffered events applied)."""
        await asyncio.wait_for(self._active.wait(), timeout)

    def _set_state(self, state: SyncState) -> None:
        if state is not self.sync_state:
            log.debug("%s: sync %s -> %s", self.node, self.sync_state.value, state.value)
        self.sync_state = state
        if state is SyncState.ACTIVE:
            self._active.set()
        else:
            self._active.clear()

    def _need_snapshot(self) -> None:
        """Leave ACTIVE (events buffer from now on) and have the sync loop fetch a snapshot."""
        if self.sync_state is SyncState.ACTIVE:
            self._set_state(SyncState.INITIAL)
        self._resync_wanted.set()

    # ------------------------------------------------------------------ life cycle

    async def start(self, timeout: float = 10.0) -> None:
        """Connect, say hello and (when subscribed) sync; raises KeyRefused, BusError or TimeoutError."""
        self._open_sockets()
        self._tasks = [asyncio.create_task(self._watchdog()), asyncio.create_task(self._sync_loop())]
        await asyncio.wait_for(self._hello(), timeout)
        if self.subscribe:
            self._need_snapshot()
            await self.wait_synced(timeout)

    @classmethod
    def for_node(cls, config: HallConfig, node: str, *, keys_dir: str | None = None, server: str | None = None,
                 mirror: bool = True, **kw: Any) -> HallClient:
        """A client set up from the hall config's [bus] section and the node's key files."""
        from hall_bus.wire.keys import KeyStore

        bus = config.bus
        cmd_ep, ev_ep = bus.endpoints(server)
        creds = KeyStore(keys_dir or "data/keys").node_credentials(node) if bus.curve else None
        return cls(node, cmd_ep, ev_ep, credentials=creds, config=config if mirror else None,
                   heartbeat_seconds=bus.heartbeat_seconds, server_timeout_seconds=bus.server_timeout_seconds,
                   **kw)

    async def close(self) -> None:
        self._closing = True
        with contextlib.suppress(Exception):
            if self.dealer is not None:
                await asyncio.wait_for(self.dealer.send_multipart(p.encode("bye", {})), 0.2)
        for t in [*self._tasks, *self._socket_tasks]:
            t.cancel()
        await asyncio.gather(*self._tasks, *self._socket_tasks, return_exceptions=True)
        self._close_sockets()
        if self._own_ctx:
            self.ctx.term()

    def _open_sockets(self) -> None:
        self.dealer = self.ctx.socket(zmq.DEALER)
        socks = [self.dealer]
        if self.subscribe:
            self.sub = self.ctx.socket(zmq.SUB)
            self.sub.setsockopt(zmq.SUBSCRIBE, p.TOPIC_EVENT)
            self.sub.setsockopt(zmq.SUBSCRIBE, p.TOPIC_HEARTBEAT)
            self.sub.setsockopt(zmq.RCVHWM, 100_000)
            socks.append(self.sub)
        for s in socks:
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RECONNECT_IVL, 100)
            s.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
            if self.credentials is not None:
                public, secret, server_public = self.credentials
                s.curve_publickey, s.curve_secretkey, s.curve_serverkey = public, secret, server_public
        self._socket_tasks = []
        if isinstance(self.refused, KeyRefused):
            self.refused = None  # a new connection gets a new verdict (the key may have been enrolled meanwhile)
        if self.credentials is not None:  # must watch before connecting, or the verdict may pass unseen
            self._monitor = self.dealer.get_monitor_socket(
                zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_SUCCEEDED)
            self._socket_tasks.append(asyncio.create_task(self._read_monitor(self._monitor)))
        self.dealer.connect(self.command_endpoint)
        if self.sub is not None:
            self.sub.connect(self.event_endpoint)
        self._last_heard = time.monotonic()
        self._socket_tasks.append(asyncio.create_task(self._read_dealer(self.dealer)))
        if self.sub is not None:
            self._socket_tasks.append(asyncio.create_task(self._read_sub(self.sub)))

    def _close_sockets(self) -> None:
        if self._monitor is not None and self.dealer is not None:
            with contextlib.suppress(zmq.ZMQError):
                self.dealer.disable_monitor()
            self._monitor.close(linger=0)
        for s in (self.dealer, self.sub):
            if s is not None:
                s.close(linger=0)
        self.dealer = self.sub = self._monitor = None

    async def _reconnect(self) -> None:
        """Fresh sockets (stale queued messages are dropped), hello again, resync. Back-off between tries.

        A refused key is retried too, at the slowest pace: the operator may enrol the node again meanwhile.
        """
        self.connected.clear()
        self._set_state(SyncState.INITIAL)
        delay = 0.1
        while not self._closing:
            self.reconnects += 1
            for t in self._socket_tasks:
                t.cancel()
            await asyncio.gather(*self._socket_tasks, return_exceptions=True)
            self._close_sockets()
            self._open_sockets()
            try:
                await asyncio.wait_for(self._hello(), max(self.server_timeout, 1.0))
            except (TimeoutError, BusTimeout):
                log.info("%s: server still silent; next try in %.1f s", self.node, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            except BusError as exc:
                log.error("%s: %s", self.node, exc.message)
                delay = 2.0
                await asyncio.sleep(delay)
                continue
            if self.subscribe:
                self._need_snapshot()
            return

    async def _watchdog(self) -> None:
        """Ping the server every heartbeat; rebuild the connection when it has been silent too long."""
        while not self._closing:
            await asyncio.sleep(self.heartbeat)
            if self.dealer is not None and self.connected.is_set():
                with contextlib.suppress(zmq.ZMQError):
                    await self.dealer.send_multipart(p.encode("ping", {}))
            if time.monotonic() - self._last_heard > self.server_timeout:
                log.warning("%s: no word from the server for %.1f s; reconnecting", self.node,
                            time.monotonic() - self._last_heard)
                await self._reconnect()

    # ------------------------------------------------------------------ requests

    async def _hello(self) -> None:
        reply = await self._ask("hello", {"node": self.node, "software": "hall_bus"}, timeout=1.0, retries=100)
        self.welcome = reply
        self.refused = None
        self.connected.set()

    async def _ask(self, kind: str, body: dict[str, Any], *, timeout: float, retries: int) -> dict[str, Any]:
        ref = body.get("request_id") or body.get("ref") or uuid.uuid4().hex[:16]
        key = ref if kind == "command" else f"ref:{ref}"
        if kind != "command":
            body = {**body, "ref": ref}
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[key] = fut
        try:
            for _ in range(retries + 1):
                if isinstance(self.refused, KeyRefused):
                    raise self.refused
                if self.dealer is not None:
                    with contextlib.suppress(zmq.ZMQError):
                        await self.dealer.send_multipart(p.encode(kind, body))
                try:
                    return await asyncio.wait_for(asyncio.shield(fut), timeout)
                except TimeoutError:
                    continue
            raise BusTimeout(f"{kind}: no answer from the hall server after {retries + 1} tries")
        finally:
            self._pending.pop(key, None)

    async def request(self, command: dict[str, Any], *, timeout: float = 1.0, retries: int = 10) -> dict[str, Any]:
        """Send a command; the answer has ok=True with `result`, or ok=False with `code` and `message`."""
        cmd = dict(command)
        rid = cmd.pop("request_id", None) or uuid.uuid4().hex
        if self.refused is not None:
            raise self.refused
        try:
            await asyncio.wait_for(self.connected.wait(), timeout * (retries + 1))
        except TimeoutError:
            raise BusTimeout("not connected to the hall server") from None
        return await self._ask("command", {"request_id": rid, "command": cmd}, timeout=timeout, retries=retries)

    async def send(self, command: Cmd, *, timeout: float = 1.0, retries: int = 10) -> dict[str, Any]:
        """Send a command built from its model (`client.send(Finish(counter=5, ticket="E002"))`).

        A command carrying its own `request_id` keeps it: a web form posted twice (a double tap, a reload of the
        POST) sends the id it was rendered with, and a tablet's outbox resends an act with the id it was recorded
        with; the server answers the second from its ledger instead of acting twice."""
        body = command.wire()
        if command.request_id is not None:
            body["request_id"] = command.request_id
        return await self.request(body, timeout=timeout, retries=retries)

    async def status(self, timeout: float = 2.0) -> dict[str, Any]:
        return await self._ask("status", {}, timeout=timeout, retries=2)

    # ------------------------------------------------------------------ readers

    async def _read_dealer(self, sock: zmq.asyncio.Socket) -> None:
        while True:
            frames = await sock.recv_multipart()
            self._last_heard = time.monotonic()
            try:
                kind, body = p.decode_server(frames)
            except (p.ProtocolError, ValueError):
                log.warning("%s: malformed reply from the server", self.node)
                continue
            key = body.get("request_id") if kind in ("answer", "error") else None
            key = key or f"ref:{body.get('ref')}"
            fut = self._pending.get(key) if key else None
            if kind == "error" and body.get("code") in ("revoked", "unknown_node"):
                if self.refused is None:
                    log.error("%s: the server refuses this node: %s", self.node, body.get("message"))
                self.refused = BusError(body["code"], body["message"])
            if kind == "error" and fut is None:
                if body.get("code") not in ("revoked", "unknown_node"):
                    log.warning("%s: server error %s: %s", self.node, body.get("code"), body.get("message"))
                continue
            if fut is not None and not fut.done():
                if kind == "error":
                    fut.set_exception(BusError(body["code"], body["message"]))
                else:
                    fut.set_result(body)

    async def _read_monitor(self, sock: zmq.asyncio.Socket) -> None:
        """The CURVE handshake's verdict: a refused key fails every waiting call at once, not after timeouts."""
        while True:
            try:
                event = parse_monitor_message(await sock.recv_multipart())
            except zmq.ZMQError:
                return
            if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                refused = KeyRefused(self.node, self.command_endpoint)
                if not isinstance(self.refused, KeyRefused):  # before a first welcome, start() raises it
                    log.log(logging.ERROR if self.welcome else logging.DEBUG, "%s: %s", self.node, refused.message)
                self.refused = refused
                for fut in self._pending.values():
                    if not fut.done():
                        fut.set_exception(refused)
            elif event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED and isinstance(self.refused, KeyRefused):
                self.refused = None

    async def _read_sub(self, sock: zmq.asyncio.Socket) -> None:
        while True:
            topic, raw = await sock.recv_multipart()
            self._last_heard = time.monotonic()
            body = orjson.loads(raw)
            if topic == p.TOPIC_HEARTBEAT:
                self.heartbeats += 1  # how many the server sent us: "some heartbeats later" without a clock
                if self.sync_state is SyncState.ACTIVE and body["seq"] > self.seq:
                    log.info("%s: heartbeat says seq %d, we hold %d; resyncing", self.node, body["seq"], self.seq)
                    self._need_snapshot()
                continue
            await self._take(body)

    async def _take(self, ev: dict[str, Any]) -> None:
        """One event from the stream (or the buffer): buffered unless ACTIVE, applied only in seq order."""
        if self.sync_state is not SyncState.ACTIVE:
            self._buffer.append(ev)
            return
        seq = ev["seq"]
        if seq <= self.seq:
            return  # already in the snapshot or seen
        if seq != self.seq + 1:
            log.info("%s: gap: got seq %d after %d; resyncing", self.node, seq, self.seq)
            self._need_snapshot()
            self._buffer.append(ev)
            return
        if self.state is not None:
            try:
                apply_event(self.state, ev)  # the same appliers as the server's replay; no engine, no config
            except Exception:  # a mirror that cannot follow asks for a fresh snapshot instead of going stale
                log.exception("%s: event %s seq %d could not be applied; resyncing", self.node, ev.get("type"), seq)
                self._need_snapshot()
                return
        self.seq = seq
        if self.on_event is not None:
            try:
                result = self.on_event(ev)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:  # a node's handler bug must not stop the event stream (the screen would freeze)
                log.exception("%s: handling event %s seq %d failed", self.node, ev.get("type"), seq)

    async def _sync_loop(self) -> None:
        while True:
            await self._resync_wanted.wait()
            self._resync_wanted.clear()
            try:
                await self._resync()
            except (BusTimeout, BusError) as exc:
                log.warning("%s: resync failed (%s); will try again", self.node, exc)
                self._set_state(SyncState.INITIAL)
                await asyncio.sleep(2.0 if self.refused is not None else 0.2)
                self._resync_wanted.set()

    async def _resync(self) -> None:
        """Clone pattern: events keep arriving into the buffer while we fetch the snapshot; apply the newer."""
        self._set_state(SyncState.SYNCING)
        snap = await self._ask("snapshot", {}, timeout=2.0, retries=3)
        self.seq = snap["seq"]
        if self.cfg is not None:
            self.state = HallState.from_dict(snap["state"])
        self.resyncs += 1
        buffered = sorted(self._buffer, key=lambda e: e["seq"])
        self._buffer.clear()
        self._set_state(SyncState.ACTIVE)
        if self.on_resync is not None:
            self.on_resync()
        for ev in buffered:  # a gap among them drops back to INITIAL, and the rest are buffered again
            await self._take(ev)
