"""The hall server: the one writer. Commands in on a ROUTER, events out on a PUB, snapshots for late joiners.

This is the ZeroMQ guide's Clone pattern: a node subscribes to events, asks for a snapshot that carries the
sequence number it reflects, and applies only later events; a gap in the numbers makes it ask again. Commands
that arrive together are committed together (one fsync for the batch) before any of them is answered or
published, so an acknowledged ticket survives a power cut and the board never shows a call the ledger lacks.

Who a connection is comes from its CURVE key (the ZAP handler stamps "<node> <key>" as the message User-Id);
what it may do comes from the hall configuration, never from the key store. A PUB socket cannot drop one
subscriber, so when a key is revoked or replaced the server closes and rebinds its event socket: every
subscriber reconnects within a reconnect interval and goes through ZAP again, which refuses the dropped key;
the good ones notice the missed sequence numbers and resync from a snapshot, exactly as after any gap.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio
from zmq.auth.asyncio import AsyncioAuthenticator

from devices.privacy import mask_text
from hall_bus.clock import Clock, hall_clock
from hall_bus.config import HallConfig
from hall_bus.county.link import CountyLink
from hall_bus.domain.commands import DUTY_NAMES, CommandInvalid, SignOut, Tick, parse_command
from hall_bus.errors import UserError
from hall_bus.sms.gateway import SmsGateway
from hall_bus.sms.settings import make_gateway
from hall_bus.stats import percentile
from hall_bus.store.core import HallCore
from hall_bus.store.ledger import StorageUnavailable
from hall_bus.wire import protocol as p
from hall_bus.wire.keys import KeyStore
from hall_bus.wire.redact import case_names, public_event, public_state
from hall_bus.wire.reminding import run_reminders

log = logging.getLogger("hall.server")
MAX_BATCH = 256
PIN_TRIES = 5  # wrong PINs in a row on one tablet before it must wait
PIN_LOCK_SECONDS = 300
COMMANDS_DOMAIN = "hall-commands"  # ZAP domains: the event socket admits only nodes the hall config knows
EVENTS_DOMAIN = "hall-events"


DUPLICATE_SWITCHES = 4  # connections changing this often within DUPLICATE_WINDOW: two programs, one node id
DUPLICATE_WINDOW = 15.0


@dataclass
class Session:
    node: str
    role: str
    counter: int | None
    identity: bytes
    since: float
    last_seen: float
    messages: int = 0
    gone: bool = False
    last_act: float = 0.0  # time.monotonic() of its last command: a tablet left alone signs its person out
    switches: deque[float] = field(default_factory=lambda: deque(maxlen=DUPLICATE_SWITCHES))
    duplicate_since: float | None = None  # two programs answering as this node (one key copied to two machines)


@dataclass
class ServerStats:
    messages: int = 0
    commands: int = 0
    batches: int = 0
    protocol_errors: int = 0
    events_published: int = 0
    started: float = field(default_factory=time.time)
    batch_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))  # recv → last reply sent


class _NodeAuthenticator(AsyncioAuthenticator):
    """ZAP for CURVE: only current node keys pass; the User-Id carries the node *and* the key.

    The key in the User-Id is what lets the server refuse, message by message, a connection that was
    authenticated with a key that has since been replaced. The command socket admits every current key, so
    a node the hall configuration does not know hears `unknown_node` instead of a silent handshake failure;
    the event socket admits only configured nodes, since a subscriber cannot be told anything.
    """

    def __init__(self, context: zmq.asyncio.Context, keys: KeyStore, configured: set[str]) -> None:
        super().__init__(context, log=logging.getLogger("hall.auth"))
        self.keys = keys
        self.configured = configured

    def callback(self, domain: str, key: bytes) -> bool:
        self.keys.refresh()
        enrolled = self.keys.by_public_key(key)
        if enrolled is None:
            log.warning("refused a connection with a key that is not enrolled (or no longer) %s…",
                        key[:8].decode(errors="replace"))
            return False
        if domain == EVENTS_DOMAIN and enrolled.node not in self.configured:
            log.warning("refused events to %s: not in the hall configuration", enrolled.node)
            return False
        return True

    def curve_user_id(self, client_public_key: bytes) -> str:
        key = zmq.utils.z85.encode(client_public_key)
        enrolled = self.keys.by_public_key(key)
        return f"{enrolled.node} {key.decode()}" if enrolled else ""


class HallServer:
    def __init__(self, config: HallConfig, data_dir: Path | str, *, keys_dir: Path | str | None = None,
                 command_endpoint: str | None = None, event_endpoint: str | None = None,
                 clock: Clock | None = None, curve: bool | None = None, sms: SmsGateway | None = None) -> None:
        self.cfg = config
        bus = config.bus
        default_cmd = f"tcp://{bus.bind}:{bus.command_port}"
        default_ev = f"tcp://{bus.bind}:{bus.event_port}"
        self.command_endpoint = command_endpoint or default_cmd
        self.event_endpoint = event_endpoint or default_ev
        self.curve = bus.curve if curve is None else curve
        self.keys = KeyStore(keys_dir or Path(data_dir) / "keys") if self.curve else None
        if self.keys is not None:
            self._server_public, self._server_secret = self.keys.server_secret()
            self.keys.refresh()
        self._keys_seen: dict[str, bytes] = self.keys.current_keys() if self.keys is not None else {}
        self._keys_generation = self.keys.generation if self.keys is not None else 0
        self.core = HallCore(config, data_dir, clock or hall_clock(config.hall.tz, config.hall.day_rollover))
        self.sessions: dict[str, Session] = {}
        self.stats = ServerStats()
        self.limit = bus.max_message_bytes
        self.counters_of = {n.id: n.counter for n in config.nodes}
        self.roles_of = {n.id: n.role for n in config.nodes}
        self.print_at_of = {n.id: n.print_at for n in config.nodes}
        self.ready = asyncio.Event()
        self._started_mono = time.monotonic()
        self._pin_fails: dict[str, int] = {}  # node -> wrong PINs in a row
        self._pin_lock: dict[str, float] = {}  # node -> time.monotonic() until which it may not try again
        self.pub_rebinds = 0
        self.pub_rebound_at = 0.0  # time.time() when the event socket was last bound afresh
        self._pub_unbound = False
        self._bind_lock = asyncio.Lock()
        self.link = self._county_link(keys_dir or Path(data_dir) / "keys", data_dir)
        # Booking reminders by SMS: the gateway given (a test's simulator), else the one `[sms]` names
        self.sms = sms if sms is not None else make_gateway(config.sms) if config.sms is not None else None

    def _county_link(self, keys_dir: Path | str, data_dir: Path | str) -> CountyLink | None:
        """With a `[county]` section the hall ships its ledger to the county hub and takes hand-overs from it."""
        settings = self.cfg.county
        if settings is None:
            return None
        ledger = self.core.ledger

        def read(after: int, limit: int) -> list[tuple[int, str, str, str]]:
            return [(seq, kind, at, data.decode()) for seq, _v, kind, at, data
                    in ledger.raw_events(after, min(ledger.last_seq, after + limit))]

        async def apply(command: dict[str, Any]) -> dict[str, Any] | None:
            return await self.submit_own(parse_command(command))

        return CountyLink(settings, self.cfg.hall.site_code, keys_dir, data_dir, read_events=read,
                          last_seq=lambda: self.core.state.seq, apply=apply)

    # ------------------------------------------------------------------ life cycle

    def _secure(self, sock: zmq.asyncio.Socket, domain: str) -> None:
        sock.setsockopt(zmq.LINGER, 500)
        if self.keys is not None:
            sock.curve_server = True
            sock.curve_publickey = self._server_public
            sock.curve_secretkey = self._server_secret
            sock.zap_domain = domain.encode()

    def _new_pub(self) -> zmq.asyncio.Socket:
        pub = self.ctx.socket(zmq.PUB)
        self._secure(pub, EVENTS_DOMAIN)
        pub.setsockopt(zmq.SNDHWM, 100_000)
        return pub

    async def run(self, stop: asyncio.Event) -> None:
        ctx = self.ctx = zmq.asyncio.Context()
        auth = None
        if self.keys is not None:
            auth = _NodeAuthenticator(ctx, self.keys, set(self.roles_of))
            auth.start()
            for domain in (COMMANDS_DOMAIN, EVENTS_DOMAIN):
                auth.configure_curve_callback(domain, credentials_provider=auth)
        self.router = ctx.socket(zmq.ROUTER)
        self._secure(self.router, COMMANDS_DOMAIN)
        self.pub = self._new_pub()
        # Far above the body limit so an oversized body still gets a polite error; beyond this ZeroMQ drops it.
        self.router.setsockopt(zmq.MAXMSGSIZE, self.limit * 4 + 4096)
        self.router.setsockopt(zmq.ROUTER_HANDOVER, 1)  # a node that reconnects takes its identity back
        try:
            self.router.bind(self.command_endpoint)
            self.pub.bind(self.event_endpoint)
        except zmq.ZMQError as exc:
            self.router.close(linger=0)
            self.pub.close(linger=0)
            if auth is not None:
                auth.stop()
            ctx.term()
            self.core.close()
            raise UserError(f"server: cannot listen on {self.command_endpoint} / {self.event_endpoint}: {exc}; "
                            "is another hall server running? (change command_port/event_port in [bus])") from None
        # With port '*' the OS picks one (tests); report the real endpoints.
        self.command_endpoint = self.router.getsockopt_string(zmq.LAST_ENDPOINT)
        self.event_endpoint = self.pub.getsockopt_string(zmq.LAST_ENDPOINT)
        log.info("hall server %s: commands on %s, events on %s, curve %s, ledger seq %d", self.cfg.hall.name,
                 self.command_endpoint, self.event_endpoint, "on" if self.keys else "OFF", self.core.state.seq)
        self.ready.set()
        tasks = [asyncio.create_task(self._serve()), asyncio.create_task(self._heartbeat())]
        if self.link is not None:
            tasks.append(asyncio.create_task(self.link.run()))
        if self.sms is not None and self.cfg.sms is not None:
            tasks.append(asyncio.create_task(run_reminders(self.cfg, lambda: self.core.state, self.core.clock,
                                                           self.sms, self.submit_own)))
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.router.close()
            self.pub.close()
            if auth is not None:
                auth.stop()
            ctx.term()
            self.core.close()
            log.info("hall server stopped at ledger seq %d", self.core.state.seq)

    # ------------------------------------------------------------------ heartbeat and liveness

    async def _heartbeat(self) -> None:
        every = self.cfg.bus.heartbeat_seconds
        while True:
            await self._check_keys()
            now = time.time()
            self.core.retry_storage()  # a full disk that has space again: service resumes without a command
            await self._tick_if_due()
            await self._sign_out_idle()
            await self.pub.send_multipart([p.TOPIC_HEARTBEAT, p.dumps({"seq": self.core.state.seq, "time": now})])
            for s in self.sessions.values():
                if not s.gone and now - s.last_seen > self.cfg.bus.node_timeout_seconds:
                    s.gone = True
                    log.info("node %s silent for %.0f s", s.node, now - s.last_seen)
            await asyncio.sleep(every)

    async def _tick_if_due(self) -> None:
        """A quiet hall still escalates unclaimed help requests and opens the new day: when the engine says a
        tick would change something, send one through the core like any command, and publish its events."""
        if self.core.storage_fault is not None or not self.core.engine.work_due():
            return
        await self.submit_own(Tick())

    async def submit_own(self, command: Any) -> dict[str, Any] | None:
        """A command no node sent — the hall's own housekeeping (a tick, an idle sign-out), a delivery the county
        link brings, the county demo's story: run through the core like any, its events published. None when the
        ledger takes no writes just now (said in the log and in `hallctl status`); the caller tries again later."""
        try:
            answer = self.core.submit(command)
        except StorageUnavailable:
            return None
        await self._publish(answer)
        return answer

    async def _publish(self, answer: dict[str, Any]) -> None:
        for ev in answer.get("events", []):
            await self.pub.send_multipart([p.TOPIC_EVENT, p.dumps(public_event(ev, self.core.state))])
            self.stats.events_published += 1
        if answer.get("events") and self.link is not None:
            self.link.wake.set()

    async def _sign_out_idle(self) -> None:
        """A tablet or panel nobody has used for `staff_idle_minutes` signs its person out: a tablet left on
        the greeters' desk must not go on acting in someone's name. A server restart counts as activity."""
        limit = self.cfg.hall.staff_idle_minutes * 60
        now = time.monotonic()
        for node in list(self.core.state.on_duty):
            s = self.sessions.get(node)
            last = s.last_act if s is not None and s.last_act else self._started_mono
            if now - last > limit:
                log.info("signing out %s on %s: idle for %.0f min", self.core.state.on_duty[node], node,
                         (now - last) / 60)
                await self.submit_own(SignOut(node=node, reason="idle"))

    async def _check_keys(self) -> None:
        """Cut off every node whose key was revoked or replaced since we last looked: on both sockets.

        Runs every heartbeat and before every batch (one stat() when nothing changed), so no event of a later
        batch reaches a dropped key. It goes by the store's generation, not refresh()'s "changed" flag: the ZAP
        handler refreshes too and would otherwise swallow the change.
        """
        if self.keys is None:
            return
        if self._pub_unbound:
            await self._bind_pub(deadline=time.monotonic() + 0.5)
        self.keys.refresh()
        if self.keys.generation == self._keys_generation:
            return
        self._keys_generation = self.keys.generation
        current = self.keys.current_keys()
        dropped = sorted(n for n, key in self._keys_seen.items() if current.get(n) != key)
        self._keys_seen = current
        if not dropped:
            return
        for node in dropped:
            why = "revoked" if node not in current else "given a new key"
            log.warning("node %s was %s: its old key is refused from now on, on both sockets", node, why)
            s = self.sessions.get(node)
            if s is not None and not s.gone:
                s.gone = True
        await self._rebind_pub()

    async def _rebind_pub(self) -> None:
        """Close the event socket and bind a fresh one on the same endpoint; see the module docstring for why.

        The new socket takes over at once, so nothing ever publishes on a closed socket; until the port is
        free again (libzmq closes the old listener in its I/O thread) events go to no one, which subscribers
        see as a gap and heal with a snapshot.
        """
        old, self.pub = self.pub, self._new_pub()
        old.close(linger=0)
        self._pub_unbound = True
        await self._bind_pub(deadline=time.monotonic() + 5.0)

    async def _bind_pub(self, deadline: float) -> None:
        """Bind the fresh event socket, retrying until the deadline; the next heartbeat tries again if need be.

        The lock keeps a heartbeat and a batch from binding the same socket twice (the second would fail).
        """
        async with self._bind_lock:
            while self._pub_unbound:
                try:
                    self.pub.bind(self.event_endpoint)
                    self._pub_unbound = False
                except zmq.ZMQError as exc:
                    if time.monotonic() > deadline:
                        log.error("could not bind the event socket again on %s: %s; retrying each heartbeat",
                                  self.event_endpoint, exc)
                        return
                    await asyncio.sleep(0.005)
            self.pub_rebound_at = time.time()
            self.pub_rebinds += 1
        log.info("event socket rebound on %s; subscribers reconnect and resync", self.event_endpoint)

    # ------------------------------------------------------------------ commands

    async def _serve(self) -> None:
        while True:
            batch = [await self.router.recv_multipart(copy=False)]
            while len(batch) < MAX_BATCH:  # whatever else is already here joins this batch: group commit
                try:
                    batch.append(await self.router.recv_multipart(flags=zmq.NOBLOCK, copy=False))
                except zmq.Again:
                    break
            t0 = time.perf_counter()
            try:
                await self._handle_batch(batch)
                self.stats.batch_seconds.append(time.perf_counter() - t0)
            except Exception:
                log.exception("unexpected error while handling a batch of %d messages; carrying on", len(batch))

    async def _reply(self, identity: bytes, kind: str, body: dict[str, Any]) -> None:
        await self.router.send_multipart([identity, *p.encode(kind, body)])

    async def _error(self, identity: bytes, code: str, message: str, in_reply_to: str | None = None,
                     msg: p.Message | None = None) -> None:
        """An error names the request it answers: `request_id` for a command, `ref` for anything else."""
        self.stats.protocol_errors += 1
        body: dict[str, Any] = {"code": code, "message": message, "in_reply_to": in_reply_to}
        if msg is not None:
            body["ref"] = msg.body.ref
            if msg.type == "command":
                body["request_id"] = msg.body.request_id
        await self._reply(identity, "error", body)

    def _session(self, node: str, identity: bytes, now: float) -> Session | None:
        s = self.sessions.get(node)
        if s is None:
            role = self.roles_of.get(node)  # the hall configuration's word, never the key store's
            if role is None:
                return None
            s = Session(node, role, self.counters_of.get(node), identity, now, now)
            self.sessions[node] = s
            log.info("node %s (%s) joined", node, role)
        elif s.gone or s.identity != identity:
            if s.gone:
                log.info("node %s is back", node)
                s.since = now
            else:
                self._switched(s, now)
            s.identity, s.gone = identity, False
        elif s.duplicate_since is not None and s.switches and now - s.switches[-1] > DUPLICATE_WINDOW:
            s.duplicate_since = None  # one of the two has stopped
            log.info("node %s: one program again", node)
        s.last_seen = now
        s.messages += 1
        return s

    @staticmethod
    def _switched(s: Session, now: float) -> None:
        """A live node whose messages come from a new connection: a restart does it once; two programs using the
        same node's key (a kiosk's files copied to a second machine) do it again and again, each taking the other's
        answers. Said once, loudly, and shown in `hallctl status` until it stops."""
        s.switches.append(now)
        if (s.duplicate_since is None and len(s.switches) == DUPLICATE_SWITCHES
                and now - s.switches[0] <= DUPLICATE_WINDOW):
            s.duplicate_since = now
            log.warning("node %s is connected from two places at once (two programs with its key?); each will "
                        "miss answers meant for the other", s.node)

    async def _handle_batch(self, batch: list[list[zmq.Frame]]) -> None:
        commands: list[Any] = []
        owners: list[tuple[bytes, str]] = []  # (identity, client request id)
        await self._check_keys()
        now = time.time()
        for frames in batch:
            self.stats.messages += 1
            identity = frames[0].bytes
            parts = [f.bytes for f in frames[1:]]
            try:
                msg = p.decode_client(parts, self.limit)
            except p.ProtocolError as exc:
                log.warning("bad message from %s: %s", self._who(frames), mask_text(exc.message))
                await self._error(identity, exc.code, exc.message, exc.in_reply_to)
                continue
            node, key = self._node_of(frames, msg)
            if node is None:
                await self._error(identity, "hello_first", "send hello with your node id first", msg.type, msg)
                continue
            if self.keys is not None:
                current = self.keys.node(node)
                if current is None or current.public_key != key:
                    why = ("is no longer enrolled" if current is None
                           else "was given a new key; this connection still uses the old one")
                    await self._error(identity, "revoked", f"node {node} {why}", msg.type, msg)
                    continue
            session = self._session(node, identity, now)
            if session is None:
                await self._error(identity, "unknown_node", f"node {node!r} is not in the hall configuration; "
                                  "its key is enrolled but the server gives it no role", msg.type, msg)
                continue
            if msg.type == "command":
                rejected = self._check_command(session, msg.body)
                if isinstance(rejected, dict):
                    await self._reply(identity, "answer", rejected)
                    continue
                commands.append(rejected)
                owners.append((identity, msg.body.request_id))
            else:
                await self._control(session, identity, msg)
        if commands:
            await self._run_commands(commands, owners)

    def _node_of(self, frames: list[zmq.Frame], msg: p.Message) -> tuple[str | None, bytes]:
        """(node, z85 key) of the sender; with CURVE both come from the handshake, the hello's claim is not trusted."""
        if self.keys is not None:
            node, _, key = (frames[1].get("User-Id") or "").partition(" ")
            return node or None, key.encode()
        if msg.type == "hello":
            return msg.body.node, b""
        for s in self.sessions.values():
            if s.identity == frames[0].bytes:
                return s.node, b""
        return None, b""

    def _who(self, frames: list[zmq.Frame]) -> str:
        if self.keys is not None and len(frames) > 1:
            return (frames[1].get("User-Id") or "?").partition(" ")[0]
        return frames[0].bytes.hex()[:10]

    def _check_command(self, session: Session, body: p.CommandBody) -> Any:
        """The parsed command, or a refusal answer (invalid or forbidden) to send back at once."""
        rid = body.request_id
        raw = dict(body.command)
        raw["request_id"] = f"{session.node}:{rid}"  # scoped per node: one node cannot replay another's request
        try:
            cmd = parse_command(raw)
        except CommandInvalid as exc:
            return {"request_id": rid, "ok": False, "code": "invalid", "message": str(exc)}
        model = type(cmd)
        update: dict[str, Any] = {}
        if "node" in model.model_fields:  # the ledger records who really sent it, whatever the body says
            update["node"] = session.node
        if cmd.op == "sign_in":
            locked = self._pin_locked(session.node)
            if locked:
                return {"request_id": rid, "ok": False, "op": cmd.op, "code": "pin_locked", "message": locked}
        state = self.core.state
        person = state.on_duty.get(session.node)
        if session.role in ("greeter", "counter") and (model.needs_person or model.duty):
            refusal = self._check_person(session, cmd, person)
            if refusal is not None:
                code, why = refusal
                log.warning("refused %s from %s: %s", cmd.op, session.node, why)
                return {"request_id": rid, "ok": False, "op": cmd.op, "code": code, "message": why}
            if model.person_field is not None:
                update[model.person_field] = person
        elif session.role == "greeter" and model.person_field is not None:
            # 预约 the phone page sends too (so no person is needed for the model), from a tablet is still a
            # person's act for a caller: booked in the name of whoever is signed in here, or refused
            refusal = self._check_person(session, cmd, person)
            if refusal is not None:
                return {"request_id": rid, "ok": False, "op": cmd.op, "code": refusal[0], "message": refusal[1]}
            update[model.person_field] = person
        if session.role == "web":  # the citizen's phone page: no staff behind it, whatever the body says
            if "channel" in model.model_fields:
                update["channel"] = "phone"
            if model.person_field is not None:
                update[model.person_field] = None
        update["actor"] = person or session.node  # every event names who did it: the person, else the node
        cmd = cmd.model_copy(update=update)
        ticket_counter = None
        if model.own_case and getattr(cmd, "ticket", None):
            t = self.core.engine.find_ticket(cmd.ticket)
            ticket_counter = t.counter if t else None
        serves = None
        if session.counter is not None and session.counter in self.cfg.counters_by_number:
            serves = frozenset(self.cfg.counters_by_number[session.counter].services)
        why = p.authorize(session.role, session.counter, cmd, ticket_counter, serves=serves,
                          print_at=self.print_at_of.get(session.node))
        if why is not None:
            log.warning("refused %s from %s: %s", cmd.op, session.node, why)
            return {"request_id": rid, "ok": False, "op": cmd.op, "code": "forbidden", "message": why}
        session.last_act = time.monotonic()
        return cmd

    def _pin_locked(self, node: str) -> str | None:
        """Why this tablet may not try a PIN now: PINs are short, so guessing is slowed to a few a quarter hour."""
        until = self._pin_lock.get(node, 0.0)
        if time.monotonic() < until:
            return (f"{PIN_TRIES} wrong PINs in a row on {node}: try again in "
                    f"{int(until - time.monotonic()) // 60 + 1} min")
        return None

    def _count_pin(self, node: str, answer: dict[str, Any]) -> None:
        if answer.get("ok"):
            self._pin_fails.pop(node, None)
        elif answer.get("code") in ("bad_pin", "bad_card"):
            fails = self._pin_fails[node] = self._pin_fails.get(node, 0) + 1
            if fails >= PIN_TRIES:
                self._pin_fails.pop(node)
                self._pin_lock[node] = time.monotonic() + PIN_LOCK_SECONDS
                log.warning("%d wrong PINs in a row on %s: sign-in locked for %d min", fails, node,
                            PIN_LOCK_SECONDS // 60)

    def _check_person(self, session: Session, cmd: Any, person: str | None) -> tuple[str, str] | None:
        """(code, reason) when the person behind a helper's or clerk's command is not who may do it."""
        model = type(cmd)
        if person is None:
            return "not_signed_in", f"nobody is signed in on {session.node}: sign in first (PIN or staff card)"
        named = getattr(cmd, model.person_field, None) if model.person_field else None
        if named is not None and named != person:
            return "wrong_person", (f"{session.node} is signed in as {person}; it may not act as {named} "
                                    "(that person signs in on their own tablet)")
        if model.duty is not None:
            member = self.core.state.staff.get(person)
            if member is None or model.duty not in member.duties:
                return "forbidden", f"{cmd.op} needs a {model.duty} ({DUTY_NAMES[model.duty]}); {person} is not one"
        return None

    async def _run_commands(self, commands: list[Any], owners: list[tuple[bytes, str]]) -> None:
        self.stats.commands += len(commands)
        self.stats.batches += 1
        try:
            answers = self.core.submit_batch(commands)  # durable (fsync) when this returns
        except StorageUnavailable as exc:  # nothing was written: every sender hears so at once, none waits
            for (identity, rid), cmd in zip(owners, commands, strict=True):
                await self._reply(identity, "answer", {
                    "request_id": rid, "ok": False, "op": cmd.op, "code": "storage_unavailable",
                    "message": f"the hall server cannot save anything just now ({exc.problem}); nothing was "
                               "done, try again shortly", "seq": self.core.state.seq})
            return
        seen: set[int] = set()
        for answer in answers:
            for ev in answer.get("events", []):
                if ev["seq"] in seen:  # a retry inside the batch shares its first answer's events
                    continue
                seen.add(ev["seq"])
                await self.pub.send_multipart([p.TOPIC_EVENT, p.dumps(public_event(ev, self.core.state))])
                self.stats.events_published += 1
        if seen and self.link is not None:
            self.link.wake.set()
        answered: set[int] = set()
        for cmd, answer in zip(commands, answers, strict=True):
            if cmd.op == "sign_in":
                self._count_pin(cmd.node or "", answer)
        for (identity, rid), answer in zip(owners, answers, strict=True):
            if not answer["ok"]:
                log.info("%s refused for %s (%s): %s", answer.get("op"), rid, answer["code"],
                         mask_text(answer["message"]))
            body = {k: v for k, v in answer.items() if k != "events"}
            if id(answer) in answered:  # the same request twice in one batch: the later one is a retry too
                body["retry"] = True
            answered.add(id(answer))
            body["request_id"] = rid
            body["seq"] = self.core.state.seq
            await self._reply(identity, "answer", body)

    async def _control(self, session: Session, identity: bytes, msg: p.Message) -> None:
        ref = msg.body.ref
        st = self.core.state
        if msg.type == "hello":
            if self.keys is not None and msg.body.node != session.node:
                await self._error(identity, "wrong_node", f"this key belongs to {session.node}, not "
                                  f"{msg.body.node}", "hello", msg)
                return
            await self._reply(identity, "welcome", {
                "ref": ref, "node": session.node, "role": session.role, "counter": session.counter,
                "hall": self.cfg.hall.name, "seq": st.seq, "heartbeat_seconds": self.cfg.bus.heartbeat_seconds,
                "server_timeout_seconds": self.cfg.bus.server_timeout_seconds})
        elif msg.type == "ping":
            await self._reply(identity, "pong", {"ref": ref, "seq": st.seq})
        elif msg.type == "snapshot":
            await self._reply(identity, "snapshot", {"ref": ref, "seq": st.seq,
                                                     "state": public_state(st.to_dict(), case_names(st))})
        elif msg.type == "status":
            if session.role != "admin":
                await self._error(identity, "forbidden", "only admin may read the node status", "status", msg)
                return
            await self._reply(identity, "status", {"ref": ref, **self.status()})
        elif msg.type == "bye":
            session.gone = True
            log.info("node %s left", session.node)

    def status(self) -> dict[str, Any]:
        now = time.time()
        st = self.core.state
        return {
            "hall": self.cfg.hall.name, "seq": st.seq, "day": st.day, "waiting": len(st.waiting),
            "uptime_s": round(now - self.stats.started, 1),
            "clock": self.core.clock.status(),  # wall clock vs the hall's trusted time (hall_bus/clock.py)
            "nodes": [{"node": s.node, "role": s.role, "counter": s.counter, "alive": not s.gone,
                       "since": s.since, "last_seen_s": round(now - s.last_seen, 1), "messages": s.messages}
                      for s in sorted(self.sessions.values(), key=lambda s: s.node)],
            "faults": [{"device": key, "problem": f["problem"], "since": f["since_ts"]}
                       for key, f in sorted(st.faults.items())],
            "server_faults": self._server_faults(),
            "county": self.link.status() if self.link is not None else None,
            "stats": {"messages": self.stats.messages, "commands": self.stats.commands,
                      "batches": self.stats.batches, "protocol_errors": self.stats.protocol_errors,
                      "events_published": self.stats.events_published,
                      "batch_ms_p50": _ms(percentile(self.stats.batch_seconds, 50)),
                      "batch_ms_p99": _ms(percentile(self.stats.batch_seconds, 99))},
        }

    def _server_faults(self) -> list[dict[str, Any]]:
        """The hall server's own faults (its ledger, its key registry), in words, for `hallctl status`."""
        out = []
        fault = self.core.storage_fault
        if fault is not None:
            out.append({"part": "ledger", "problem": fault.problem, "since": fault.since,
                        "effect": "commands are refused (storage_unavailable) until it takes writes again"})
        for sess in self.sessions.values():
            if sess.duplicate_since is not None:
                out.append({"part": "node", "problem": f"{sess.node} is connected from two places at once",
                            "since": sess.duplicate_since,
                            "effect": "two programs use that node's key; stop one (or give it its own node id "
                                      "and key: hallctl keys add)"})
        keys_fault = self.keys.fault if self.keys is not None else None
        if keys_fault is not None:
            out.append({"part": "keys", "problem": keys_fault[0], "since": keys_fault[1],
                        "effect": "new connections are checked against the last good copy; key changes "
                                  "wait until it reads again"})
        return out


def _ms(seconds: float) -> float | None:
    return None if math.isnan(seconds) else round(seconds * 1000, 3)
