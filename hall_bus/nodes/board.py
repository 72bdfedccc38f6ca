"""The call board node without a UI toolkit: which events are calls, and the words the board and voice use."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import IO, Any

from hall_bus.wire.client import HallClient


def call_text(ev: dict[str, Any]) -> str | None:
    """What the board shows and the voice says for a call event, or None for other events."""
    d = ev["data"]
    if ev["type"] == "ticket_called":
        note = f"（{d['label']}）" if d.get("group") not in (None, "normal") else ""
        return f"请 {d['number']} 号到 {d['counter']} 号窗口{note}"
    if ev["type"] == "ticket_recalled":
        return f"再次呼叫：请 {d['number']} 号到 {d['counter']} 号窗口（第{d['count']}次）"
    return None


def board_printer(out: IO[str]) -> Callable[[dict[str, Any]], None]:
    def on_event(ev: dict[str, Any]) -> None:
        text = call_text(ev)
        if text:
            stamp = ev["at"][11:19]
            print(f"{stamp}  {text}", file=out, flush=True)

    return on_event


async def run_board(client: HallClient, duration: float | None, stop: asyncio.Event) -> int:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), duration)
    return 0
