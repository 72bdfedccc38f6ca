"""The queue engine: decides what a command means for the hall and records it as events. Pure: no I/O.

Every change is an event. `execute` validates a command against the state, then emits events, each applied to
the state as it is emitted; `apply` alone rebuilds the same state from the ledger. Decisions that depend on
the clock or the configuration (which ticket is next, the hall day, whether a group queues at a counter) are
made once in `execute` and written into the events, so replay never consults either again.

This module is the core only: what each command does lives in the module of its concern (tickets, calls,
counters, helpers, feedback), registered with `@handles` and `@applies` (registry.py).
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from hall_bus.clock import Clock, hall_day
from hall_bus.config import HallConfig
from hall_bus.domain import booking, calling, cases, casework, handover, helpers, printing, tickets
from hall_bus.domain import complaints as complaint_register
from hall_bus.domain import state as s
from hall_bus.domain.registry import APPLIERS, HANDLERS, Event
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.state import CounterState, HallState, Ticket

__all__ = ["CommandRejected", "Event", "QueueEngine"]


class QueueEngine:
    def __init__(self, config: HallConfig, clock: Clock, state: HallState | None = None, *,
                 booking_key: bytes | None = None) -> None:
        self.cfg = config
        self.booking_key = booking_key  # signs the codes of bookings confirmed here (the kiosk's QR)
        self.clock = clock
        self.tz = config.hall.tz
        self.state = state or HallState()
        self._pending: list[Event] = []
        self._actor: str | None = None  # who the command being executed is recorded against
        self._ts_cache: tuple[str, float] = ("", 0.0)
        for counter in config.counters:
            self.state.counters.setdefault(counter.number, CounterState(counter.number))

    # ------------------------------------------------------------------ public

    def execute(self, command: Any) -> tuple[list[Event], dict[str, Any]]:
        """Run one validated command. Returns the events it produced (already applied) and a result for the caller."""
        now = self.clock.now()
        self._pending = []
        self._actor = None  # the hall's own housekeeping is nobody's act
        tickets.roll_day(self, now)
        helpers.escalate_due(self, now)
        cases.mark_overdue(self, now)
        casework.mark_overdue(self, now)  # 办件 past their due date: once each, for the 督办员
        handover.mark_overdue(self, now)  # 转办 not accepted in time, once each
        printing.expire_due(self, now)
        complaint_register.mark_overdue(self, now)
        booking.mark_due(self, now)  # holds run out, bookings missed
        self._actor = getattr(command, "actor", None)
        try:
            result = HANDLERS[command.op](self, command, now)
        except CommandRejected as exc:
            exc.events = self._pending
            self._pending = []
            raise
        finally:
            self._actor = None
        events, self._pending = self._pending, []
        return events, result

    def apply(self, event: Event) -> None:
        at = event["at"]
        if self._ts_cache[0] != at:
            self._ts_cache = (at, datetime.fromisoformat(at).timestamp())
        APPLIERS[event["type"]](self.state, self._ts_cache[1], event["data"])
        seq = event.get("seq")
        if seq is not None:
            self.state.seq = seq

    def work_due(self) -> bool:
        """Would a `tick` change anything now (a new hall day, a help request to escalate, a consultation
        overdue)? Cheap: the server asks every heartbeat and sends a tick only when it would."""
        now = self.clock.now()
        day = hall_day(now, self.tz, self.cfg.hall.day_rollover).isoformat()
        return (self.state.day is not None and day > self.state.day) or bool(helpers.due_for_escalation(self, now)) \
            or bool(cases.overdue_due(self, now)) or bool(printing.expiry_due(self, now)) \
            or bool(casework.overdue_due(self, now)) or bool(complaint_register.overdue_due(self, now)) \
            or bool(handover.overdue_due(self, now)) or any(booking.due(self, now))

    def estimate(self, ticket_id: str) -> tuple[int, int]:
        """(people ahead, estimated wait in minutes) for a waiting ticket; what the ticket and kiosk show."""
        return calling.estimate(self.cfg, self.state, ticket_id, self.clock.now().timestamp())

    def average_minutes(self, service: str) -> float:
        return calling.average_minutes(self.cfg, self.state, service)

    def find_ticket(self, ref: str) -> Ticket | None:
        """A full ticket id, or a number of the current hall day (E001)."""
        st = self.state
        t = st.tickets.get(ref)
        if t is None and st.day is not None:
            t = st.tickets.get(f"{st.day.replace('-', '')}-{ref.upper()}")
        return t

    # ------------------------------------------------------------------ for handlers

    def emit(self, kind: str, now: datetime, **data: Any) -> Event:
        if self._actor is not None:
            data["actor"] = self._actor  # every change on record with the person (or node) who made it
        event = {"type": kind, "at": now.isoformat(timespec="milliseconds"), "data": data}
        self.apply(event)
        self._pending.append(event)
        return event

    def ticket(self, ref: str) -> Ticket:
        t = self.find_ticket(ref)
        if t is None:
            raise CommandRejected("unknown_ticket", f"no ticket {ref} in this hall day")
        return t

    def counter(self, number: int) -> CounterState:
        if number not in self.cfg.counters_by_number:
            raise CommandRejected("unknown_counter", f"no counter number {number} in the hall configuration")
        return self.state.counters[number]

    def current(self, number: int, named: str, allowed: tuple[str, ...] = (s.CALLED, s.SERVING)) -> Ticket:
        """The visitor at a window, who must be the one the command names: a keypad and a panel of one window
        acting a moment apart must never close the visitor the other has just called."""
        counter = self.counter(number)
        meant = self.find_ticket(named)
        meant_no = meant.number if meant is not None else named
        if counter.current is None:
            raise CommandRejected("not_at_window", f"{meant_no} is not at window {number}: nobody is; "
                                  "nothing was changed")
        t = self.state.tickets[counter.current]
        if meant is None or meant.id != t.id:
            raise CommandRejected("not_at_window", f"{meant_no} is not at window {number} ({t.number} is); "
                                  "nothing was changed")
        if t.status not in allowed:
            raise CommandRejected("bad_state", f"{t.number} at counter {number} is {t.status}")
        return t

    def check_service(self, name: str) -> None:
        if name not in self.cfg.services_by_name:
            close = difflib.get_close_matches(name, list(self.cfg.services_by_name), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise CommandRejected("unknown_service", f"no service {name!r}{hint}")

    def label(self, group: str) -> str:
        return self.cfg.groups[group].label
