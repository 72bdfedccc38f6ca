"""Waiting tickets kept in order per (service, route), so a window finds its next visitor and a ticket its
place without scanning the whole waiting list (a busy hall holds thousands at the morning peak).

A *route* is where a ticket may be called: "dept" (any department-zone window serving its service) or an
assistance zone id ("assist"). An assisted ticket is usually on both routes. A ticket sent to one window is
kept on that window's own list instead.

The index is derived from the state (never saved): `HallState.enqueue/dequeue` keep it in step with `waiting`,
and a state loaded from a snapshot rebuilds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sortedcontainers import SortedList

if TYPE_CHECKING:
    from hall_bus.domain.state import Ticket

# Calling classes, in order. See order_key.
GREEN, FRONT, APPOINTMENT, PRIORITY, WALK_IN = range(5)

Key = tuple[int, int, float, float, str]  # (class, -priority, time, issued_ts, ticket id)
DEPT = "dept"


def order_key(t: Ticket) -> Key:
    """Green channel; sent to the front or to a window; appointments by their time; priority groups (higher
    first); then walk-ins. Equal times keep issue order."""
    if t.green:
        head: tuple[int, int, float] = (GREEN, 0, t.queue_ts)
    elif t.front or t.target_counter is not None:
        head = (FRONT, 0, t.queue_ts)
    elif t.appointment_ts is not None:
        head = (APPOINTMENT, 0, t.appointment_ts)
    elif t.priority > 0:
        head = (PRIORITY, -t.priority, t.queue_ts)
    else:
        head = (WALK_IN, 0, t.queue_ts)
    return (*head, t.issued_ts, t.id)


def routes_of(t: Ticket) -> list[str]:
    return t.routes if t.routes else [t.zone or DEPT]


@dataclass
class Lane:
    """One (service, route): tickets by calling order, and the queued ones (classes PRIORITY and WALK_IN) by the
    time they joined, for the starvation bound."""

    by_key: SortedList = field(default_factory=SortedList)
    by_time: SortedList = field(default_factory=SortedList)

    def add(self, key: Key, queue_ts: float) -> None:
        self.by_key.add(key)
        if key[0] >= PRIORITY:
            self.by_time.add((queue_ts, key))

    def remove(self, key: Key, queue_ts: float) -> None:
        self.by_key.discard(key)
        if key[0] >= PRIORITY:
            self.by_time.discard((queue_ts, key))

    def first_of(self, cls: int) -> Key | None:
        i = self.by_key.bisect_left((cls,))
        if i < len(self.by_key) and self.by_key[i][0] == cls:
            return self.by_key[i]
        return None

    def oldest_queued(self) -> tuple[float, Key] | None:
        return self.by_time[0] if self.by_time else None


class QueueIndex:
    def __init__(self) -> None:
        self.lanes: dict[tuple[str, str], Lane] = {}
        self.targeted: dict[int, Lane] = {}
        self._placed: dict[str, tuple[Key, float, list[Lane]]] = {}  # ticket id -> where it is, to take it out

    def __len__(self) -> int:
        return len(self._placed)

    def __contains__(self, ticket_id: str) -> bool:
        return ticket_id in self._placed

    def add(self, t: Ticket) -> None:
        self.remove(t.id)
        key = order_key(t)
        if t.target_counter is not None:
            lanes = [self.targeted.setdefault(t.target_counter, Lane())]
        else:
            lanes = [self.lanes.setdefault((t.service, r), Lane()) for r in routes_of(t)]
        for lane in lanes:
            lane.add(key, t.queue_ts)
        self._placed[t.id] = (key, t.queue_ts, lanes)

    def remove(self, ticket_id: str) -> None:
        placed = self._placed.pop(ticket_id, None)
        if placed is not None:
            key, queue_ts, lanes = placed
            for lane in lanes:
                lane.remove(key, queue_ts)

    def lane(self, service: str, route: str) -> Lane | None:
        return self.lanes.get((service, route))

    def ahead_of(self, t: Ticket, due_until: float) -> int:
        """Tickets on this ticket's main lane that come before it in calling order, leaving out appointments
        that are not due before `due_until` (they will not be called ahead of anyone waiting now)."""
        placed = self._placed.get(t.id)
        if placed is None:
            return 0
        key, _, lanes = placed
        lane = lanes[0].by_key
        ahead = lane.bisect_left(key)
        if key[0] > APPOINTMENT:
            due_end = lane.bisect_right((APPOINTMENT, 0, due_until, float("inf")))
            ahead -= max(0, lane.bisect_left((APPOINTMENT + 1,)) - due_end)
        return ahead
