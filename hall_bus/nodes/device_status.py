"""Telling the hall what state a node's device is in (`device_status`): greeters' tablets and `hallctl status`
show open faults, so the state the hall holds must be the device's latest, never an older one that arrived last.

One reporter per device and one sending task at a time: `set` only records the wanted state; the task sends the
latest wanted state until the hall holds it. Two quick changes (paper out, then printing again) can therefore
never arrive in the wrong order, and a change made while the hall is unreachable is sent when it answers again.
The first state after a start is always sent, so a fault left open by an earlier run of the node is cleared.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hall_bus.domain.commands import DeviceStatus

log = logging.getLogger("hall.devices")


class StatusReporter:
    def __init__(self, client: Any, device: str, *, retry_seconds: float = 5.0) -> None:
        self.client = client
        self.device = device
        self.retry_seconds = retry_seconds
        self.wanted: tuple[bool, str] | None = None
        self.reported: tuple[bool, str] | None = None
        self._task: asyncio.Task[None] | None = None

    def set(self, ok: bool, problem: str = "") -> None:
        state = (ok, "" if ok else problem[:200])
        if state == self.wanted:
            return
        self.wanted = state
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        while self.wanted is not None and self.wanted != self.reported:
            state = self.wanted
            try:
                await self.client.send(DeviceStatus(device=self.device, ok=state[0], problem=state[1]))
                self.reported = state
            except Exception as exc:  # the hall is unreachable: the device's state is in the log meanwhile
                log.warning("could not report %s to the hall (%s); retrying", self.device, exc)
                await asyncio.sleep(self.retry_seconds)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
