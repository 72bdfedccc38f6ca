"""A site's link to the county hub: ships the hall's ledger and brings back what other sites handed over.

The hall's ledger is the outbox. The link keeps no queue of its own and no copy of any event: it asks the hub
where it is (the hub's high-water mark for this site), reads the next events from the ledger and sends them,
one batch in flight. So a week offline, a restart, a lost answer or a hub restored from yesterday's backup all
end the same way — the next answer names the mark and the link sends from there.

Deliveries (a case handed over to this site, the result of one it handed on) come back in the answers. Each is
turned into a command through the hall's own core, so it lands in the ledger like any command; the commands are
idempotent on the hand-over id, so one applied twice (a crash between applying and saying so) changes nothing.
The number of the last delivery applied is kept in a small file beside the ledger so a restart does not ask for
all of them again; losing the file costs only redeliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import zmq
import zmq.asyncio

from hall_bus.config import CountyLinkSettings
from hall_bus.county import protocol as hp
from hall_bus.domain.handover import delivery_command
from hall_bus.wire.keys import KeyStore

log = logging.getLogger("county.link")
CURSOR_FILE = "county-link.json"
ReadEvents = Callable[[int, int], list[tuple[int, str, str, str]]]  # (after, limit) -> (seq, type, at, data)
Apply = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]  # None: storage down, try again later


@dataclass
class LinkStatus:
    hub: str
    site: str
    connected: bool = False
    high_water: int | None = None  # what the hub holds of ours, as last answered
    last_answer: float = 0.0
    down_since: float | None = None
    deliveries_applied: int = 0
    deliveries_refused: int = 0
    problem: str = ""


class CountyLink:
    def __init__(self, settings: CountyLinkSettings, site: str, keys_dir: Path | str, data_dir: Path | str, *,
                 read_events: ReadEvents, last_seq: Callable[[], int], apply: Apply, actor: str = "county-link",
                 to_command: Callable[[dict[str, Any], str], dict[str, Any]] = delivery_command) -> None:
        self.settings = settings
        self.site = site
        self.keys = KeyStore(Path(keys_dir) / "county")
        self.cursor_path = Path(data_dir) / CURSOR_FILE
        self.read_events = read_events
        self.last_seq = last_seq
        self.apply = apply
        self.actor = actor
        self.to_command = to_command
        self.state = LinkStatus(hub=settings.endpoint, site=site)
        self.inbox_ack = self._load_cursor()
        self.wake = asyncio.Event()  # set by the server after it commits events: ship them now, not at the poll
        self._sock: zmq.asyncio.Socket | None = None

    # ------------------------------------------------------------------ the delivery cursor

    def _load_cursor(self) -> int:
        try:
            return int(orjson.loads(self.cursor_path.read_bytes()).get("inbox_ack", 0))
        except (OSError, ValueError, AttributeError, TypeError):
            return 0

    def _save_cursor(self) -> None:
        tmp = self.cursor_path.with_suffix(".tmp")
        try:
            tmp.write_bytes(orjson.dumps({"inbox_ack": self.inbox_ack, "site": self.site}))
            os.replace(tmp, self.cursor_path)
        except OSError as exc:  # a full disk: redeliveries later, nothing lost
            log.warning("county link: cannot save %s (%s)", self.cursor_path, exc)

    # ------------------------------------------------------------------ socket

    def _open(self, ctx: zmq.asyncio.Context) -> zmq.asyncio.Socket:
        public, secret, hub_public = self.keys.node_credentials(self.site.lower())
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.curve_publickey = public
        sock.curve_secretkey = secret
        sock.curve_serverkey = hub_public
        sock.connect(self.settings.endpoint)
        return sock

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None

    async def _ask(self, ctx: zmq.asyncio.Context, ship: hp.Ship) -> hp.Ack | hp.Refusal | None:
        """One batch and its answer, or None when no answer came in time (the socket is then dropped, so a late
        answer to this batch cannot be taken for the answer to the next)."""
        if self._sock is None:
            self._sock = self._open(ctx)
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns the answer instead of the cancellation
        # when both arrive together, and a hall server stopping would wait for ever for a link that carried on.
        try:
            async with asyncio.timeout(self.settings.answer_seconds):
                await self._sock.send(hp.dumps(ship))
            async with asyncio.timeout(self.settings.answer_seconds):
                frame = await self._sock.recv()
        except (TimeoutError, zmq.ZMQError):
            self._close()
            return None
        try:
            return hp.parse_answer(frame)
        except (ValueError, orjson.JSONDecodeError) as exc:
            self.state.problem = f"the hub answered something unreadable ({exc})"
            return None

    # ------------------------------------------------------------------ the loop

    async def run(self) -> None:
        ctx = zmq.asyncio.Context.instance()
        backoff = 0.5
        try:
            while True:
                busy = await self._round(ctx)
                if busy is None:  # no answer: the link is down
                    self._down()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.settings.retry_max_seconds)
                    continue
                backoff = 0.5
                if not busy:
                    self.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.settings.poll_seconds):  # not wait_for: see _ask
                            await self.wake.wait()
        finally:
            self._close()

    def _down(self) -> None:
        if self.state.connected or self.state.down_since is None:
            self.state.down_since = time.time()
            log.warning("county link: no answer from the hub at %s; the hall carries on and sends later",
                        self.settings.endpoint)
        self.state.connected = False

    async def _round(self, ctx: zmq.asyncio.Context) -> bool | None:
        """One call to the hub; True when there is more to do at once, None when the hub did not answer."""
        hw = self.state.high_water
        events = self.read_events(hw, self.settings.batch_max) if hw is not None else []
        ship = hp.Ship(events=events, inbox_ack=self.inbox_ack, ledger_seq=self.last_seq())
        answer = await self._ask(ctx, ship)
        if answer is None:
            return None
        self.state.last_answer = time.time()
        if not self.state.connected:
            log.info("county link: connected to %s", self.settings.endpoint)
        self.state.connected = True
        self.state.down_since = None
        if isinstance(answer, hp.Refusal):
            self.state.problem = f"the hub refused a batch: {answer.message}"
            log.warning("county link: %s", self.state.problem)
            if answer.high_water is not None:
                self.state.high_water = answer.high_water
            return None
        last = self.last_seq()
        self.state.problem = "" if answer.high_water <= last else (
            f"the county holds {answer.high_water} events of this site but this ledger has {last}: was the ledger "
            "restored from an older copy? Events past the county's are not sent until that is sorted out")
        self.state.high_water = answer.high_water
        applied_all = await self._take(answer.deliveries)
        return applied_all and (hw is None or answer.gap or bool(answer.deliveries)
                                or self.last_seq() > answer.high_water)

    async def _take(self, deliveries: list[hp.Delivery]) -> bool:
        for d in deliveries:
            if d.id <= self.inbox_ack:
                continue
            try:
                command = self.to_command(d.payload, self.actor)
            except (KeyError, ValueError, TypeError) as exc:
                self._refused(d, f"unreadable ({exc})")
                continue
            answer = await self.apply(command)
            if answer is None:
                return False  # the ledger takes no writes now: ask again later, nothing acknowledged
            if not answer.get("ok", False) and not answer.get("already"):
                self._refused(d, f"{answer.get('code')}: {answer.get('message')}")
            else:
                self.state.deliveries_applied += 1
            self.inbox_ack = d.id
            self._save_cursor()
        return True

    def _refused(self, d: hp.Delivery, why: str) -> None:
        """A delivery this hall cannot take is said loudly (status, log) and passed over: one bad message must
        not stop every later hand-over; the county's inbox still shows it unaccepted, so it escalates."""
        self.state.deliveries_refused += 1
        self.state.problem = f"county delivery {d.id} refused: {why}"
        log.error("county link: %s", self.state.problem)
        self.inbox_ack = d.id
        self._save_cursor()

    def status(self) -> dict[str, Any]:
        s = self.state
        now = time.time()
        last = self.last_seq()
        return {"hub": s.hub, "site": s.site, "connected": s.connected, "high_water": s.high_water,
                "backlog": None if s.high_water is None else max(0, last - s.high_water),
                "last_answer_s": round(now - s.last_answer, 1) if s.last_answer else None,
                "down_s": round(now - s.down_since, 1) if s.down_since else None,
                "deliveries_applied": s.deliveries_applied, "deliveries_refused": s.deliveries_refused,
                "problem": s.problem}
