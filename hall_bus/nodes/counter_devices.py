"""A window's hardware on the bus: the call keypad (呼叫器), the rating pad (评价器) and the counter display.

Keys arrive on the RS-485 line's thread; they are handed to this node's asyncio loop and sent one at a time, in
order, as the window's own commands (the server checks the node may operate only its window). What the clerk and
the visitor see follows the server's answer, never the key alone:
- a call or recall shows the number on the keypad and the counter display; nobody waiting blanks it and beeps;
- finish (or no-show) ends the case; the case just finished is the one the rating pad rates (一事一评), once;
  评价 (ask for a rating) and 叫号 (call next) while a visitor is at the window finish that case first, because
  an FF 68 keypad has no finish key and a clerk's "next" means the last one is done;
- a key the hardware cannot complete (transfer needs a target service) beeps and is logged: the counter panel
  or the console does it;
- a keypad or pad that stops answering is reported to the hall (`device_status`, seen by `hallctl status` and the
  greeters) and again when it answers; the window's other devices go on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from devices.errors import DeviceError
from hall_bus.wire.client import BusError, BusTimeout

log = logging.getLogger("hall.counter")
OPS = {"call_next": "call_next", "recall": "recall", "start": "start", "finish": "finish", "no_show": "no_show",
       "pause": "pause_counter"}


class CounterDevices:
    def __init__(self, client: Any, counter: int, *, keypad: Any = None, pad: Any = None, display: Any = None,
                 names: dict[str, str] | None = None) -> None:
        self.client = client
        self.counter = counter
        self.keypad = keypad
        self.pad = pad
        self.display = display  # an LED counter display (devices/board), or None
        self.names = names or {}  # "keypad"/"pad"/"display" → the device's name in the hall config
        self.current: dict[str, Any] | None = None  # the case at the window now (from the server's answers)
        self.to_rate: str | None = None  # the ticket id of the case just finished here, not yet rated
        self.log: list[str] = []  # what happened, for the console and the tests
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._reports: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._work())
        if self.keypad is not None:
            self.keypad.listen(on_key=self._from_line("key"), on_status=self._from_line("status", "keypad"))
        if self.pad is not None:
            self.pad.listen(on_rating=self._from_line("rating"), on_status=self._from_line("status", "pad"))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await asyncio.gather(*([self._task] if self._task else []), *self._reports, return_exceptions=True)
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
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, (which, value) if which else value))

        return handler

    # ------------------------------------------------------------------ work, one event at a time

    async def _work(self) -> None:
        while True:
            kind, value = await self._queue.get()
            try:
                if kind == "key":
                    await self.key(value)
                elif kind == "rating":
                    await self.rating(value)
                else:
                    which, answering = value
                    self._status(which, bool(answering))
            except Exception as exc:  # one bad event never stops the window's devices
                log.exception("counter %d: %s %s failed: %s", self.counter, kind, value, exc)

    async def key(self, op: str) -> None:
        if op == "ask_rating":
            # 评价 ends the case at the window (an FF 68 keypad has no finish key): the pad then rates exactly it.
            if self.current is not None:
                await self.key("finish")
            self._note(f"请评价 {self.to_rate or ''}".strip())
            return
        if op == "call_next" and self.current is not None:
            # Calling the next visitor finishes the one at the window, as hall keypads do; the rating pad rates
            # the case just finished.
            await self.key("finish")
            if self.current is not None:  # the finish was refused: do not call over a visitor
                return
        if op == "confirm":
            return
        command = OPS.get(op)
        if command is None:  # transfer: which service? the hardware cannot say
            self._note(f"{op}: use the counter panel or console for this")
            self._beep()
            return
        answer = await self._send({"op": command, "counter": self.counter})
        if answer is None:
            return
        if not answer.get("ok"):
            self._note(f"✗ {op}: {answer.get('message', answer.get('code'))}")
            if op == "call_next" and answer.get("code") == "queue_empty":
                self._show(None)
            self._keypad_state("idle" if self.current is None else "called")
            self._beep()
            return
        r = answer.get("result", {})
        if op in ("call_next", "recall"):
            if r.get("no_show"):  # the recall limit turned the recall into a no-show
                self._ended(r, "过号")
                return
            self.current = r
            self._show(r["number"])
            self._keypad_state("called")
            self._note(f"✓ {'叫号' if op == 'call_next' else '重呼'} {r['number']}")
        elif op == "start":
            self._keypad_state("serving")
            self._note(f"✓ 开始办理 {r.get('number', '')}")
        elif op == "finish":
            self._ended(r, "办结")
            self.to_rate = r.get("ticket")
        elif op == "no_show":
            self._ended(r, "过号")
        else:
            self._note(f"✓ {op}")

    async def rating(self, level: int) -> None:
        """The pad's rating belongs to the case just finished at this window; a second rating is refused by the
        hall (一事一评), a rating with no finished case is kept out of the ledger."""
        if self.to_rate is None:
            self._note(f"评价 {level}: no finished case to rate at window {self.counter}")
            return
        ticket, self.to_rate = self.to_rate, None
        answer = await self._send({"op": "rate", "ticket": ticket, "level": level})
        if answer is not None:
            r = answer.get("result", {})
            self._note(f"✓ 评价 {r.get('level', level)}" if answer.get("ok")
                       else f"✗ 评价: {answer.get('message', answer.get('code'))}")

    # ------------------------------------------------------------------ helpers

    def _ended(self, r: dict[str, Any], words: str) -> None:
        self.current = None
        self._show(None)
        self._keypad_state("idle")
        self._note(f"✓ {r.get('number', '')} {words}")

    async def _send(self, command: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return await self.client.request(command)
        except (BusTimeout, BusError) as exc:
            self._note(f"✗ {command['op']}: {exc}")
            self._beep()
            return None

    def _show(self, number: str | None) -> None:
        try:
            if self.keypad is not None:
                self.keypad.show_number(number) if number else self.keypad.clear()
        except DeviceError as exc:
            log.warning("keypad display: %s", exc)
        if self.display is not None:
            task = asyncio.get_running_loop().create_task(self._show_display(number))
            self._reports.add(task)
            task.add_done_callback(self._reports.discard)

    async def _show_display(self, number: str | None) -> None:
        try:
            if number:
                await asyncio.to_thread(self.display.show_call, number, self.counter)
            else:
                await asyncio.to_thread(self.display.clear)
        except DeviceError as exc:
            log.warning("counter display: %s", exc)

    def _keypad_state(self, state: str) -> None:
        if self.keypad is not None:
            self.keypad.set_state(state)

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
        name = self.names.get(which, which)
        self._note(f"{name} {'answers again' if answering else 'is not answering'}")
        problem = "" if answering else f"{name} at window {self.counter} does not answer on the RS-485 line"
        task = asyncio.get_running_loop().create_task(self._send_status(name, answering, problem))
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def _send_status(self, name: str, ok: bool, problem: str) -> None:
        try:
            await self.client.request({"op": "device_status", "device": name, "ok": ok, "problem": problem})
        except (BusTimeout, BusError) as exc:
            log.warning("could not report %s: %s", name, exc)
