"""The call-board node's devices: LED boards and the voice, driven from bus events, never stale.

Rival systems' boards go stale (polling, reloads, a board that lost power shows nothing until the next call),
drop or overlap announcements, and show the wrong counter. Here:
- every call and recall goes to every board and to the voice, in the order the bus sent them;
- after a resync (a gap, a server restart) each board is rebuilt from the snapshot's calls — the boards show the
  hall as it is, and nobody is announced again (nobody is being called now);
- every `refresh_seconds` each board is sent what it should show again, so a board that was power-cycled or
  missed a frame on a noisy line is right within a minute without anyone pressing anything;
- each board has its own worker (one frame at a time, in order; blocking I/O in a thread), so a dead board
  delays nothing else, and its fault is reported to the hall (`device_status`: greeters and `hallctl status`
  see it) once when it starts and once when it clears;
- the voice announcer has its own queue (devices/voice): announcements never overlap and are never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from devices.errors import DeviceError
from hall_bus.nodes.board import Call, DisplayModel

log = logging.getLogger("hall.board")


@dataclass
class BoardSlot:
    """One configured board: its driver, its work queue and what the hall has been told about it."""

    name: str
    driver: Any
    queue: asyncio.Queue[list[Call]] = field(default_factory=asyncio.Queue)
    ok: bool | None = None  # last state reported to the hall; None before the first write
    shown: list[str] = field(default_factory=list)
    writes: int = 0
    failures: int = 0


class BoardAgent:
    def __init__(self, client: Any, model: DisplayModel, boards: dict[str, Any], announcer: Any = None, *,
                 refresh_seconds: float = 60.0) -> None:
        self.client = client
        self.model = model
        self.slots = {name: BoardSlot(name, driver) for name, driver in boards.items()}
        self.announcer = announcer
        self.refresh_seconds = refresh_seconds
        self._tasks: list[asyncio.Task[None]] = []
        self._reports: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ from the bus client

    def on_event(self, ev: dict[str, Any]) -> None:
        if not self.model.take(ev, getattr(self.client, "state", None)):
            return
        if ev["type"] not in ("ticket_called", "ticket_recalled"):
            return
        self._show_all()
        if self.announcer is not None:
            try:
                self.announcer.announce_event(ev)
            except Exception as exc:  # the voice never stops the boards
                log.warning("voice: %s", exc)

    def on_resync(self) -> None:
        state = getattr(self.client, "state", None)
        if state is not None:
            self.model.resync(state)
        self._show_all()

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._work(slot)) for slot in self.slots.values()]
        self._tasks.append(loop.create_task(self._refresh()))
        if self.announcer is not None:  # the first call of the day as quick as the rest: segments loaded now
            self._tasks.append(loop.create_task(self._prepare_voice()))

    async def _prepare_voice(self) -> None:
        try:
            await asyncio.to_thread(self.announcer.prepare)
        except Exception as exc:  # a missing espeak-ng is reported by the first call too; the boards go on
            log.warning("voice: segments not ready: %s", exc)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._reports, return_exceptions=True)
        for slot in self.slots.values():
            with contextlib.suppress(Exception):
                slot.driver.close()
        if self.announcer is not None:
            await asyncio.to_thread(self.announcer.close, 30.0)

    # ------------------------------------------------------------------ work

    def _show_all(self) -> None:
        calls = list(self.model.recent)
        for slot in self.slots.values():
            # Only the newest screen matters: a board that fell behind skips to it rather than replaying.
            while not slot.queue.empty():
                slot.queue.get_nowait()
            slot.queue.put_nowait(calls)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            if self.model.recent:
                self._show_all()

    async def _work(self, slot: BoardSlot) -> None:
        while True:
            calls = await slot.queue.get()
            try:
                slot.shown = await asyncio.to_thread(self._draw, slot.driver, calls)
                slot.writes += 1
                self._report(slot, True, "")
            except DeviceError as exc:
                slot.failures += 1
                if slot.ok is not False:
                    log.warning("board %s: %s", slot.name, exc)
                self._report(slot, False, str(exc))

    @staticmethod
    def _draw(driver: Any, calls: list[Call]) -> list[str]:
        """One frame with the hall's calls, newest first: the board's own history is replaced by the model's,
        so a board rebuilt after a resync or a refresh shows exactly what the hall display shows."""
        if not calls:
            driver.clear()
            return []
        from devices.board.layout import CallEntry

        newest, *older = calls
        driver.encoder.calls = [CallEntry(c.number, str(c.counter), c.mark if c.assisted else "") for c in older]
        return driver.show_call(newest.number, newest.counter, newest.mark if newest.assisted else "")

    def _report(self, slot: BoardSlot, ok: bool, problem: str) -> None:
        if slot.ok == ok:
            return
        slot.ok = ok
        if ok and slot.writes == 1 and slot.failures == 0:
            return  # a board that simply works is not news
        task = asyncio.get_running_loop().create_task(self._send_status(slot.name, ok, problem))
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def _send_status(self, name: str, ok: bool, problem: str) -> None:
        try:
            await self.client.request({"op": "device_status", "device": name, "ok": ok, "problem": problem[:200]})
        except Exception as exc:  # the hall is unreachable: the board's fault is in the log
            log.warning("could not report board %s: %s", name, exc)
