"""The call board and hall display without a UI toolkit: which events are calls, the words the board and voice
use, and what the TV shows (the latest call, the last several, who waits for what).

`DisplayModel` is a pure function of the mirrored hall state plus the call events seen, so the Kivy display,
an LED board agent and the tests read the same thing, and a resync after a server restart rebuilds it from the
snapshot instead of trusting a stale screen.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from hall_bus.domain.state import CALLED, SERVING, HallState
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


# A symbol as well as a colour marks assisted calls: colour is never the only cue (适老化).
GROUP_MARKS = {"wheelchair_push": "★", "accompany": "◆", "delegate": "◆", "guide": "●"}  # all in WQY Micro Hei


@dataclass(frozen=True, slots=True)
class Call:
    number: str
    counter: int
    service: str
    group: str
    label: str
    at: str  # ISO time of the call
    recall: int = 0  # 0 for the first call, else which recall
    ticket: str = ""  # the ticket's id: numbers start again every day, ids do not

    @property
    def mark(self) -> str:
        return GROUP_MARKS.get(self.group, "")

    @property
    def assisted(self) -> bool:
        return self.group != "normal"

    def words(self) -> str:
        return call_text({"type": "ticket_recalled" if self.recall else "ticket_called",
                          "data": {"number": self.number, "counter": self.counter, "label": self.label,
                                   "group": self.group, "count": self.recall}}) or ""


class DisplayModel:
    """What the hall display shows. Feed it every event (`take`) and every fresh snapshot (`resync`)."""

    def __init__(self, labels: dict[str, str] | None = None, keep: int = 8) -> None:
        self.labels = labels or {}  # group code -> 陪同办 …, for calls rebuilt from a snapshot
        self.recent: deque[Call] = deque(maxlen=keep)
        self.waiting: dict[str, int] = {}
        self.version = 0  # bumps on every change, so a screen redraws only when something changed

    @property
    def latest(self) -> Call | None:
        return self.recent[0] if self.recent else None

    def take(self, ev: dict[str, Any], state: HallState | None = None) -> bool:
        """Apply one event; True when the screen should change (and chime, if it is a call)."""
        d = ev["data"]
        changed = False
        if ev["type"] == "day_opened" and self.recent:  # yesterday's L087 must not send today's L087 to window 17
            self.recent.clear()
            changed = True
        if ev["type"] in ("ticket_called", "ticket_recalled"):
            call = Call(d["number"], d["counter"], d["service"], d["group"], d["label"], ev["at"],
                        d.get("count", 0) if ev["type"] == "ticket_recalled" else 0, d.get("ticket", ""))
            # A recall replaces the earlier line of the same ticket, so the list shows each visitor once.
            for old in list(self.recent):
                if old.number == call.number:
                    self.recent.remove(old)
            self.recent.appendleft(call)
            changed = True
        if state is not None:
            changed = self._count(state) or changed
        if changed:
            self.version += 1
        return changed

    def resync(self, state: HallState) -> None:
        """After a (re)connection: the calls still at windows from the snapshot, newest first, and the counts."""
        calls = []
        for counter in state.counters.values():
            t = state.tickets.get(counter.current) if counter.current else None
            if t is not None and t.status in (CALLED, SERVING) and t.called_ts is not None:
                call = Call(t.number, counter.number, t.service, t.group, self.labels.get(t.group, ""), "", t.recalls,
                            t.id)
                calls.append((t.called_ts, call))
        kept = {c.number for _, c in calls}
        today = {t.id for t in state.tickets.values() if t.day == state.day}  # a day may have opened unseen
        older = [c for c in self.recent if c.number not in kept and c.ticket in today]
        self.recent.clear()
        for _, call in sorted(calls, key=lambda tc: tc[0], reverse=True):
            self.recent.append(call)
        for call in older:
            if len(self.recent) < (self.recent.maxlen or 8):
                self.recent.append(call)
        self._count(state)
        self.version += 1

    def _count(self, state: HallState) -> bool:
        counts: dict[str, int] = {}
        for tid in state.waiting:
            service = state.tickets[tid].service
            counts[service] = counts.get(service, 0) + 1
        if counts != self.waiting:
            self.waiting = counts
            return True
        return False
