"""The call-board node's devices: LED boards and the voice, driven from bus events, never stale.

Rival systems' boards go stale (polling, reloads, a board that lost power shows nothing until the next call),
drop or overlap announcements, and show the wrong counter. Here:
- every call and recall goes to every board and to the voice, in the order the bus sent them;
- after a resync (a gap, a server restart) each board is rebuilt from the snapshot's calls — the boards show the
  hall as it is, and nobody is announced again (nobody is being called now);
- every `refresh_seconds` each board is sent what it should show again, so a board that was power-cycled or
  missed a frame on a noisy line is right within a minute without anyone pressing anything;
- each port has its own worker (one frame at a time, in order; blocking I/O in a thread), so a dead board
  delays nothing on another port and boards sharing one RS-485 line never interleave frames; a board's fault
  is reported to the hall (`device_status`: greeters and `hallctl status` see it) when it starts and when it
  clears, and the first state after a start is always sent, so a fault left by an earlier run is cleared;
- the voice announcer has its own queue (devices/voice): announcements never overlap and are never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from devices.board.frame import DoesNotFit
from devices.errors import DeviceError
from hall_bus.nodes.board import Call, DisplayModel
from hall_bus.nodes.device_status import StatusReporter

log = logging.getLogger("hall.board")


@dataclass
class BoardSlot:
    """One configured board: its driver, what it shows and the reporter that tells the hall its state."""

    name: str
    driver: Any
    status: StatusReporter
    shown: list[str] = field(default_factory=list)
    writes: int = 0
    failures: int = 0
    failing: bool = False


@dataclass
class PortWorker:
    """Every board on one port (or one TCP controller): one queue and one writer, so two addressed boards on a
    shared RS-485 line never interleave their frames. Only the newest screen matters: a port that fell behind
    skips to it instead of replaying every call."""

    where: str
    slots: list[BoardSlot]
    queue: asyncio.Queue[tuple[list[Call], bool]] = field(default_factory=asyncio.Queue)


class BoardAgent:
    def __init__(self, client: Any, model: DisplayModel, boards: dict[str, Any], announcer: Any = None, *,
                 refresh_seconds: float = 60.0) -> None:
        self.client = client
        self.model = model
        self.slots = {name: BoardSlot(name, driver, StatusReporter(client, name)) for name, driver in boards.items()}
        ports: dict[str, list[BoardSlot]] = {}
        for slot in self.slots.values():
            ports.setdefault(str(getattr(slot.driver, "where", slot.name)), []).append(slot)
        self.ports = [PortWorker(where, slots) for where, slots in ports.items()]
        self.announcer = announcer
        self.refresh_seconds = refresh_seconds
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ from the bus client

    def on_event(self, ev: dict[str, Any]) -> None:
        if not self.model.take(ev, getattr(self.client, "state", None)):
            return
        if ev["type"] not in ("ticket_called", "ticket_recalled", "day_opened"):
            return
        self._show_all()
        if self.announcer is not None and ev["type"] != "day_opened":
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
        self._tasks = [loop.create_task(self._work(port)) for port in self.ports]
        self._tasks.append(loop.create_task(self._refresh()))
        if self.announcer is not None:  # the first call of the day as quick as the rest: segments loaded now
            self._tasks.append(loop.create_task(self._prepare_voice()))

    async def _prepare_voice(self) -> None:
        try:
            await asyncio.to_thread(self.announcer.prepare)
        except Exception as exc:  # a missing espeak-ng is reported by the first call too; the boards go on
            log.warning("voice: segments not ready: %s", exc)

    async def close(self, voice_seconds: float = 5.0) -> None:
        """Stop; announcements still queued get `voice_seconds` (a node being stopped should not hang)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for slot in self.slots.values():
            await slot.status.close()
            with contextlib.suppress(Exception):
                slot.driver.close()
        if self.announcer is not None:
            await asyncio.to_thread(self.announcer.close, voice_seconds)

    # ------------------------------------------------------------------ work

    def _show_all(self, refresh: bool = False) -> None:
        calls = list(self.model.recent)
        for port in self.ports:
            while not port.queue.empty():
                port.queue.get_nowait()
            port.queue.put_nowait((calls, refresh))

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            self._show_all(refresh=True)

    async def _work(self, port: PortWorker) -> None:
        while True:
            calls, refresh = await port.queue.get()
            for slot in port.slots:
                await self._draw_one(slot, calls, refresh)

    async def _draw_one(self, slot: BoardSlot, calls: list[Call], refresh: bool) -> None:
        try:
            slot.shown = await asyncio.to_thread(self._draw, slot.driver, calls, refresh)
            slot.writes += 1
            slot.failing = False
            slot.status.set(True)
        except DoesNotFit as exc:  # the hall's call is too long for this board: its setup, not a fault
            log.warning("board %s: %s", slot.name, exc)
        except DeviceError as exc:
            slot.failures += 1
            if not slot.failing:
                log.warning("board %s: %s", slot.name, exc)
            slot.failing = True
            slot.status.set(False, str(exc))
        except Exception:  # a bug in a layout or encoder must not end this port's worker
            slot.failures += 1
            log.exception("board %s: drawing failed", slot.name)

    @staticmethod
    def _draw(driver: Any, calls: list[Call], refresh: bool = False) -> list[str]:
        """One frame with the hall's calls, newest first: the board's own history is replaced by the model's,
        so a board rebuilt after a resync or a refresh shows exactly what the hall display shows. A refresh of
        a single-row board is sent as plain text: many boards flash or chime on a call frame, and a refresh is
        not a new call."""
        if not calls:
            driver.clear()
            return []
        from devices.board.layout import CallEntry, fit_call

        newest, *older = calls
        note = newest.mark if newest.assisted else ""
        encoder = driver.encoder
        if refresh and encoder.rows == 1:
            driver.show_lines([fit_call(newest.number, newest.counter, encoder.width, note,
                                        charset=encoder.charset)])
            return list(encoder.expected)
        encoder.calls = [CallEntry(c.number, str(c.counter), c.mark if c.assisted else "") for c in older]
        return driver.show_call(newest.number, newest.counter, note)
