"""The greeter node without a UI toolkit: the help requests a helper (帮办员) sees, and what they can do.

The list is a pure function of the mirrored hall state, so the Kivy tablet, a console greeter and the tests
read the same thing. Ages are shown as bands, never as birth dates: the tablet is carried around the floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hall_bus.domain.state import HallState
from hall_bus.wire.client import HallClient

AGE_BANDS = ((80, "80岁以上"), (70, "70–79岁"), (60, "60–69岁"), (0, "60岁以下"))


def age_band(age: int | None) -> str:
    if age is None:
        return "年龄未知"
    return next(label for floor, label in AGE_BANDS if age >= floor)


@dataclass(frozen=True, slots=True)
class HelpItem:
    help_id: str
    ticket: str
    number: str
    service: str
    group: str
    age_band: str
    waiting_s: float
    status: str  # open | claimed
    helper: str | None
    escalated: bool


def help_list(state: HallState, now_ts: float) -> list[HelpItem]:
    """Open and claimed requests: escalated ones on top, then the other unclaimed, then claimed; each oldest
    first, so the visitor waiting longest for a helper is the first thing a greeter sees."""
    items = []
    for h in state.helps.values():
        if h.status not in ("open", "claimed"):
            continue
        t = state.tickets.get(h.ticket)
        if t is None:
            continue
        items.append(HelpItem(h.id, t.id, t.number, t.service, h.group, age_band(t.age),
                              max(0.0, now_ts - h.requested_ts), h.status, h.helper, h.escalated))
    items.sort(key=lambda i: (i.status != "open", not i.escalated, -i.waiting_s))
    return items


def busy_helpers(state: HallState) -> dict[str, list[str]]:
    """Helper → the help requests they hold: a helper with a visitor is busy, on every tablet."""
    held: dict[str, list[str]] = {}
    for h in state.helps.values():
        if h.status == "claimed" and h.helper:
            held.setdefault(h.helper, []).append(h.id)
    return held


def mine(state: HallState, helper: str, now_ts: float) -> list[HelpItem]:
    return [i for i in help_list(state, now_ts) if i.helper == helper]


class GreeterNode:
    """A helper's actions over the bus; answers come back as the server's answer dicts (ok, code, message)."""

    def __init__(self, client: HallClient, helper: str) -> None:
        self.client = client
        self.helper = helper

    async def claim(self, help_id: str) -> dict[str, Any]:
        return await self.client.request({"op": "claim_help", "help_id": help_id, "helper": self.helper})

    async def hand_over(self, help_id: str, to_helper: str, note: str = "") -> dict[str, Any]:
        return await self.client.request({"op": "handover_help", "help_id": help_id, "from_helper": self.helper,
                                          "to_helper": to_helper, "note": note})

    async def finish(self, help_id: str) -> dict[str, Any]:
        return await self.client.request({"op": "finish_help", "help_id": help_id, "helper": self.helper})


def device_alerts(state: HallState, now_ts: float) -> list[tuple[str, str, float]]:
    """(node/device, problem, seconds open), oldest first: a kiosk printing tickets only on screen needs paper."""
    return sorted(((key, f["problem"], now_ts - f["since_ts"]) for key, f in state.faults.items()),
                  key=lambda a: -a[2])
