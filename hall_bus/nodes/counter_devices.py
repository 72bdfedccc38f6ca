"""A window's hardware on the bus: the call keypad (呼叫器), the rating pad (评价器) and the counter display.

What the keypad and the display show follows the hall, not the keys: the node mirrors the hall state, and every
event about this window (a call from the keypad, the console or the counter panel; a restart of this agent in
the middle of a case) sets the display from the state. Keys arrive on the RS-485 line's thread; they are handed
to this node's asyncio loop and sent one at a time, in order, as the window's own commands (the server checks
the node may operate only its window).

- 叫号 (call next) while a visitor is at the window finishes that case first, as hall keypads do; on a paused
  window it resumes it first (the clerk is back). 暂停 (pause) toggles pause and resume.
- 评价 (ask for a rating) finishes the case at the window (FF 68 keypads have no finish key); the pad then rates
  exactly the case just finished here, once (一事一评), and only until the next call or `rate_seconds` later —
  a visitor who left without rating never has the next visitor's rating pinned on them.
- transfer needs a target service, so on a keypad it beeps; the console or the counter panel does it.
- a refused key beeps; the reason is in the log and the console.
- a keypad or pad that stops answering is reported to the hall (`device_status`: `hallctl status`, the greeters'
  tablets) and again when it answers; the window's other devices go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from devices.errors import DeviceError
from hall_bus.domain import commands as c
from hall_bus.domain.state import SERVING
from hall_bus.nodes.device_status import StatusReporter
from hall_bus.wire.client import BusError, BusTimeout

log = logging.getLogger("hall.counter")
OWN_EVENTS = ("ticket_called", "ticket_recalled", "service_started", "ticket_finished", "ticket_no_show",
              "ticket_parked", "ticket_transferred", "counter_paused", "counter_resumed", "counter_opened",
              "counter_closed")


class CounterDevices:
    def __init__(self, client: Any, counter: int, *, keypad: Any = None, pad: Any = None, display: Any = None,
                 names: dict[str, str] | None = None, rate_seconds: float = 180.0) -> None:
        self.client = client
        self.counter = counter
        self.keypad = keypad
        self.pad = pad
        self.display = display  # an LED counter display (devices/board), or None
        self.names = {"keypad": "keypad", "pad": "pad", **(names or {})}
        self.rate_seconds = rate_seconds
        self.current: dict[str, Any] | None = None  # the case at the window now, from the mirrored hall state
        self.paused = False
        self.to_rate: str | None = None  # the ticket id of the case just finished here, not yet rated
        self._finished_at = 0.0
        self.log: list[str] = []  # what happened, for the console and the tests
        self.statuses = {which: StatusReporter(client, self.names[which]) for which in ("keypad", "pad")}
        self._keys: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._screen: asyncio.Queue[str | None] = asyncio.Queue()
        self._shown: str | None = ""  # what the keypad display was last set to ("" = never set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks = [self._loop.create_task(self._work()), self._loop.create_task(self._draw_display())]
        if self.keypad is not None:
            self.keypad.listen(on_key=self._from_line("key"), on_status=self._from_line("status", "keypad"))
        if self.pad is not None:
            self.pad.listen(on_rating=self._from_line("rating"), on_status=self._from_line("status", "pad"))
        self.follow()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for reporter in self.statuses.values():
            await reporter.close()
        for device in (self.keypad, self.pad, self.display):
            if device is not None:
                try:
                    device.close()
                except DeviceError as exc:
                    log.warning("closing %s: %s", device, exc)

    def _from_line(self, kind: str, which: str = "") -> Any:
        """A handler for the line's thread: it only hands the event to the loop (no thread touches the bus)."""

        def handler(_address: int, value: Any) -> None:
            assert self._loop is not None
            if kind == "key":  # which visitor the key was meant for: the one shown when it was pressed
                self._loop.call_soon_threadsafe(self._pressed, value)
            else:
                self._loop.call_soon_threadsafe(self._keys.put_nowait, (kind, (which, value) if which else value))

        return handler

    def _pressed(self, op: str) -> None:
        """On the loop, in the order events and keys arrived: the mirror here is what the keypad showed."""
        self._keys.put_nowait(("key", (op, self.current["ticket"] if self.current else None)))

    # ------------------------------------------------------------------ the hall's side (bus client callbacks)

    def on_event(self, ev: dict[str, Any]) -> None:
        d = ev["data"]
        if ev["type"] not in OWN_EVENTS or d.get("counter", d.get("from_counter")) != self.counter:
            return
        if ev["type"] in ("ticket_called", "ticket_recalled"):
            self.to_rate = None  # the next visitor is at the window: the last one's rating time is over
        elif ev["type"] == "ticket_finished":
            self.to_rate, self._finished_at = ev["data"]["ticket"], time.monotonic()
        self.follow()

    def on_resync(self) -> None:
        self.follow()

    def follow(self) -> None:
        """Set the keypad and the display from the mirrored hall state."""
        state = getattr(self.client, "state", None)
        counter = state.counters.get(self.counter) if state is not None else None
        if counter is None:
            return
        ticket = state.tickets.get(counter.current) if counter.current else None
        self.paused = counter.status == "paused"
        self.current = {"ticket": ticket.id, "number": ticket.number, "service": ticket.service} if ticket else None
        number = ticket.number if ticket else None
        if self.keypad is not None:
            with contextlib.suppress(DeviceError):
                self.keypad.set_state("serving" if ticket and ticket.status == SERVING else
                                      "called" if ticket else "idle")
        if number != self._shown:
            self._shown = number
            if self.keypad is not None:
                try:
                    self.keypad.show_number(number) if number else self.keypad.clear()
                except DeviceError as exc:
                    log.warning("keypad display: %s", exc)
            while not self._screen.empty():  # only the newest screen matters
                self._screen.get_nowait()
            self._screen.put_nowait(number)

    # ------------------------------------------------------------------ work, one key at a time

    async def _work(self) -> None:
        while True:
            kind, value = await self._keys.get()
            try:
                if kind == "key":
                    await self.key(*value)
                elif kind == "rating":
                    await self.rating(value)
                else:
                    which, answering = value
                    self._status(which, bool(answering))
            except Exception:  # one bad event never stops the window's devices
                log.exception("counter %d: %s %s failed", self.counter, kind, value)

    async def key(self, op: str, ticket: str | None = None) -> None:
        """One key, acting on `ticket`: the visitor at the window when it was pressed (from the mirror)."""
        if op == "confirm":
            return
        if op == "ask_rating":
            if ticket is not None:
                await self._send("finish", ticket)
            self._note(f"请评价 {self.to_rate or ''}".strip())
            return
        if op == "pause":
            await self._send("resume_counter" if self.paused else "pause_counter")
            return
        if op == "call_next":
            if self.paused and not await self._send("resume_counter"):
                return
            if ticket is not None and not await self._send("finish", ticket):
                return  # the finish was refused: never call over a visitor
            await self._send("call_next")
            return
        model = c.MODEL_FOR.get(op)
        if model is not None and model.acts_on == "ticket" and ticket is None:
            self._note(f"✗ {op}: nobody is at window {self.counter}")
            self._beep()
            return
        await self._send(op, ticket)

    async def rating(self, level: int) -> None:
        """The pad's rating belongs to the case just finished at this window, within `rate_seconds` and before
        the next call; a second rating is refused by the hall (一事一评)."""
        if self.to_rate is None or time.monotonic() - self._finished_at > self.rate_seconds:
            self.to_rate = None
            self._note(f"评价 {level}: no case just finished at window {self.counter} to rate")
            return
        ticket, self.to_rate = self.to_rate, None
        answer = await self._request(c.Rate(ticket=ticket, level=level))
        if answer is not None:
            r = answer.get("result", {})
            self._note(f"✓ 评价 {r.get('level', level)}" if answer.get("ok")
                       else f"✗ 评价: {answer.get('message', answer.get('code'))}")

    # ------------------------------------------------------------------ helpers

    async def _send(self, op: str, ticket: str | None = None) -> bool:
        """The key's op as this window's command, built from its model: an op on the visitor names `ticket`.
        One that needs more than a keypad can say (transfer: to which service?) beeps."""
        model = c.MODEL_FOR.get(op)
        try:
            if model is None:
                raise c.CommandInvalid(f"unknown op {op!r}")
            command = c.build(model, op=op, counter=self.counter,
                              ticket=ticket if "ticket" in model.model_fields else None)
        except c.CommandInvalid:
            self._note(f"{op}: use the counter panel or console for this")
            self._beep()
            return False
        answer = await self._request(command)
        if answer is None:
            return False
        if not answer.get("ok"):
            self._note(f"✗ {op}: {answer.get('message', answer.get('code'))}")
            self._beep()
            return False
        r = answer.get("result", {})
        self._note(f"✓ {op} {r.get('number', '')}".rstrip())
        return True

    async def _request(self, command: c.Cmd) -> dict[str, Any] | None:
        try:
            return await self.client.send(command)
        except (BusTimeout, BusError) as exc:
            self._note(f"✗ {command.op}: {exc}")
            self._beep()
            return None

    async def _draw_display(self) -> None:
        """One writer for the counter display, newest screen wins: a finish's clear and the next call's number
        can never land in the wrong order."""
        while True:
            number = await self._screen.get()
            if self.display is None:
                continue
            try:
                if number:
                    await asyncio.to_thread(self.display.show_call, number, self.counter)
                else:
                    await asyncio.to_thread(self.display.clear)
            except DeviceError as exc:
                log.warning("counter display: %s", exc)
            except Exception:
                log.exception("counter display failed")

    def _beep(self) -> None:
        if self.keypad is not None:
            try:
                self.keypad.beep()
            except DeviceError as exc:
                log.warning("keypad beep: %s", exc)

    def _note(self, text: str) -> None:
        self.log.append(text)
        log.info("counter %d: %s", self.counter, text)

    def _status(self, which: str, answering: bool) -> None:
        name = self.names[which]
        self._note(f"{name} {'answers again' if answering else 'is not answering'}")
        self.statuses[which].set(answering, f"{name} at window {self.counter} does not answer on the RS-485 line")
