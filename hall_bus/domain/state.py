"""The hall's state as the queue engine sees it; rebuilt only by applying events, saved whole in snapshots.

Plain dataclasses, so a snapshot is `to_dict()` and replay equality is a dict comparison.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Ticket statuses. A ticket is "open" while it can still be called or served.
WAITING_HELPER = "waiting_helper"  # an assistance ticket whose helper has not claimed it yet
WAITING = "waiting"
CALLED = "called"
SERVING = "serving"
PARKED = "parked"
NO_SHOW = "no_show"
VISIT = "visit"  # home visit: served at the visitor's place, never queued at a counter
FINISHED = "finished"
EXPIRED = "expired"
OPEN_STATUSES = frozenset({WAITING_HELPER, WAITING, CALLED, SERVING, PARKED, NO_SHOW, VISIT})


@dataclass(slots=True)
class Ticket:
    id: str
    number: str
    day: str
    service: str
    group: str
    zone: str | None
    green: bool
    seated: bool
    issued_ts: float
    queue_ts: float
    status: str
    appointment_ts: float | None = None
    front: bool = False
    counter: int | None = None
    target_counter: int | None = None
    recalls: int = 0
    called_ts: float | None = None
    started_ts: float | None = None
    finished_ts: float | None = None
    outcome: str | None = None
    help_id: str | None = None
    rating: str | None = None
    age: int | None = None
    counter_queue: bool = True  # from ticket_issued: after a helper claims it, does it queue at a counter?


@dataclass(slots=True)
class CounterState:
    number: int
    status: str = "closed"  # closed | open | paused
    current: str | None = None
    parked: list[str] = field(default_factory=list)


@dataclass(slots=True)
class HelpRequest:
    id: str
    ticket: str
    group: str
    status: str = "open"  # open | claimed | finished | expired
    helper: str | None = None
    owners: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FollowUp:
    id: str
    ticket: str
    level: str
    comment: str = ""
    status: str = "open"
    note: str = ""


@dataclass
class HallState:
    day: str | None = None
    numbers: dict[str, int] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    waiting: dict[str, None] = field(default_factory=dict)  # insertion-ordered set of callable tickets
    counters: dict[int, CounterState] = field(default_factory=dict)
    helps: dict[str, HelpRequest] = field(default_factory=dict)
    followups: dict[str, FollowUp] = field(default_factory=dict)
    durations: dict[str, list[float]] = field(default_factory=dict)
    followup_count: int = 0
    seq: int = 0  # ledger sequence number of the last event applied

    def counter(self, number: int) -> CounterState:
        """A window's state, made on first mention: an event about a window today's configuration no longer
        has must still replay."""
        c = self.counters.get(number)
        if c is None:
            c = self.counters[number] = CounterState(number)
        return c

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "numbers": dict(self.numbers),
            "tickets": {k: asdict(v) for k, v in self.tickets.items()},
            "waiting": list(self.waiting),
            "counters": {str(k): asdict(v) for k, v in self.counters.items()},
            "helps": {k: asdict(v) for k, v in self.helps.items()},
            "followups": {k: asdict(v) for k, v in self.followups.items()},
            "durations": {k: list(v) for k, v in self.durations.items()},
            "followup_count": self.followup_count,
            "seq": self.seq,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HallState:
        return cls(
            day=data["day"],
            numbers=dict(data["numbers"]),
            tickets={k: Ticket(**v) for k, v in data["tickets"].items()},
            waiting=dict.fromkeys(data["waiting"]),
            counters={int(k): CounterState(**v) for k, v in data["counters"].items()},
            helps={k: HelpRequest(**v) for k, v in data["helps"].items()},
            followups={k: FollowUp(**v) for k, v in data["followups"].items()},
            durations={k: list(v) for k, v in data["durations"].items()},
            followup_count=data["followup_count"],
            seq=data["seq"],
        )
