"""The queue engine: decides what a command means for the hall and records it as events. Pure: no I/O.

Every change is an event. `execute` validates a command against the state, then emits events, each applied to
the state as it is emitted; `apply` alone rebuilds the same state from the ledger. Decisions that depend on
the clock (which ticket is next, the hall day) are made once in `execute` and written into the events, so
replay never consults the clock or the configuration's ordering rules again.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hall_bus.clock import Clock, hall_day
from hall_bus.config import HallConfig
from hall_bus.domain import commands as c
from hall_bus.domain import state as s
from hall_bus.domain.groups import age_on, suggest_group
from hall_bus.domain.state import CounterState, FollowUp, HallState, HelpRequest, Ticket

Event = dict[str, Any]


class CommandRejected(Exception):
    """The command is well-formed but not allowed now; `code` is stable for programs, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.events: list[Event] = []  # events emitted before the refusal (a day rollover); still valid


class QueueEngine:
    def __init__(self, config: HallConfig, clock: Clock, state: HallState | None = None) -> None:
        self.cfg = config
        self.clock = clock
        self.tz = config.hall.tz
        self.state = state or HallState()
        self._pending: list[Event] = []
        self._ts_cache: tuple[str, float] = ("", 0.0)
        for counter in config.counters:
            self.state.counters.setdefault(counter.number, CounterState(counter.number))
        self._handlers: dict[str, Callable[[Any, datetime], dict[str, Any]]] = {
            "issue": self._issue,
            "claim_help": self._claim_help,
            "handover_help": self._handover_help,
            "finish_help": self._finish_help,
            "open_counter": self._open_counter,
            "close_counter": self._close_counter,
            "pause_counter": self._pause_counter,
            "resume_counter": self._resume_counter,
            "call_next": self._call_next,
            "call_ticket": self._call_ticket,
            "recall": self._recall,
            "no_show": self._no_show,
            "requeue": self._requeue,
            "start": self._start,
            "finish": self._finish,
            "transfer": self._transfer,
            "park": self._park,
            "resume_parked": self._resume_parked,
            "rate": self._rate,
            "close_followup": self._close_followup,
        }
        self.appliers: dict[str, Callable[[float, dict[str, Any]], None]] = {
            "day_opened": self._ap_day_opened,
            "ticket_issued": self._ap_ticket_issued,
            "help_requested": self._ap_help_requested,
            "help_claimed": self._ap_help_claimed,
            "help_handed_over": self._ap_help_handed_over,
            "help_finished": self._ap_help_finished,
            "counter_opened": self._ap_counter_status("open"),
            "counter_closed": self._ap_counter_status("closed"),
            "counter_paused": self._ap_counter_status("paused"),
            "counter_resumed": self._ap_counter_status("open"),
            "ticket_called": self._ap_ticket_called,
            "ticket_recalled": self._ap_ticket_recalled,
            "ticket_no_show": self._ap_ticket_no_show,
            "ticket_requeued": self._ap_ticket_requeued,
            "service_started": self._ap_service_started,
            "ticket_finished": self._ap_ticket_finished,
            "ticket_transferred": self._ap_ticket_transferred,
            "ticket_parked": self._ap_ticket_parked,
            "ticket_resumed": self._ap_ticket_resumed,
            "rating_recorded": self._ap_rating_recorded,
            "followup_opened": self._ap_followup_opened,
            "followup_closed": self._ap_followup_closed,
        }

    # ------------------------------------------------------------------ public

    def execute(self, command: Any) -> tuple[list[Event], dict[str, Any]]:
        """Run one validated command. Returns the events it produced (already applied) and a result for the caller."""
        now = self.clock.now()
        self._pending = []
        self._roll_day(now)
        try:
            result = self._handlers[command.op](command, now)
        except CommandRejected as exc:
            exc.events = self._pending
            self._pending = []
            raise
        events, self._pending = self._pending, []
        return events, result

    def apply(self, event: Event) -> None:
        at = event["at"]
        if self._ts_cache[0] != at:
            self._ts_cache = (at, datetime.fromisoformat(at).timestamp())
        self.appliers[event["type"]](self._ts_cache[1], event["data"])
        seq = event.get("seq")
        if seq is not None:
            self.state.seq = seq

    def estimate(self, ticket_id: str) -> tuple[int, int]:
        """(people ahead, estimated wait in minutes) for a waiting ticket; what the ticket and kiosk show."""
        st = self.state
        t = st.tickets[ticket_id]
        key = self._order_key(t)
        ahead = 0
        before_me = True  # equal keys (issued in the same millisecond) keep issue order
        for other_id in st.waiting:
            if other_id == ticket_id:
                before_me = False
                continue
            o = st.tickets[other_id]
            if o.service == t.service and o.zone == t.zone:
                other = self._order_key(o)
                if other < key or (before_me and other == key):
                    ahead += 1
        eligible = self._counters_for(t)
        open_now = [n for n in eligible if st.counters[n].status != "closed"] or eligible
        avg = self.average_minutes(t.service)
        minutes = math.ceil(ahead * avg / max(len(open_now), 1)) if ahead else 0
        return ahead, minutes

    def average_minutes(self, service: str) -> float:
        recent = self.state.durations.get(service)
        if recent:
            return sum(recent) / len(recent) / 60.0
        return self.cfg.services_by_name[service].avg_minutes

    # ------------------------------------------------------------------ helpers

    def _emit(self, kind: str, now: datetime, **data: Any) -> Event:
        event = {"type": kind, "at": now.isoformat(timespec="milliseconds"), "data": data}
        self.apply(event)
        self._pending.append(event)
        return event

    def _roll_day(self, now: datetime) -> None:
        day = hall_day(now, self.tz, self.cfg.hall.day_rollover).isoformat()
        st = self.state
        if st.day is not None and day <= st.day:
            return
        expired = []
        for t in st.tickets.values():
            if t.status not in s.OPEN_STATUSES:
                continue
            if t.appointment_ts is not None:
                appt_day = hall_day(datetime.fromtimestamp(t.appointment_ts, self.tz), self.tz,
                                    self.cfg.hall.day_rollover).isoformat()
                if appt_day >= day:
                    continue  # an appointment for today or later stays valid across the rollover
            expired.append(t.id)
        self._emit("day_opened", now, day=day, previous=st.day, expired=expired)

    def find_ticket(self, ref: str) -> Ticket | None:
        """A full ticket id, or a number of the current hall day (E001)."""
        st = self.state
        t = st.tickets.get(ref)
        if t is None and st.day is not None:
            t = st.tickets.get(f"{st.day.replace('-', '')}-{ref.upper()}")
        return t

    def _ticket(self, ref: str) -> Ticket:
        t = self.find_ticket(ref)
        if t is None:
            raise CommandRejected("unknown_ticket", f"no ticket {ref} in this hall day")
        return t

    def _counter(self, number: int) -> CounterState:
        if number not in self.cfg.counters_by_number:
            raise CommandRejected("unknown_counter", f"no counter number {number} in the hall configuration")
        return self.state.counters[number]

    def _current(self, number: int, allowed: tuple[str, ...] = (s.CALLED, s.SERVING)) -> Ticket:
        counter = self._counter(number)
        if counter.current is None:
            raise CommandRejected("no_current_ticket", f"counter {number} has no visitor at the moment")
        t = self.state.tickets[counter.current]
        if t.status not in allowed:
            raise CommandRejected("bad_state", f"{t.number} at counter {number} is {t.status}")
        return t

    def _check_service(self, name: str) -> None:
        if name not in self.cfg.services_by_name:
            close = difflib.get_close_matches(name, list(self.cfg.services_by_name), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise CommandRejected("unknown_service", f"no service {name!r}{hint}")

    def _order_key(self, t: Ticket) -> tuple[int, float]:
        """Calling class and time: green channel, sent to the front or to a window, appointment, walk-in."""
        if t.green:
            return (0, t.queue_ts)
        if t.front or t.target_counter is not None:
            return (1, t.queue_ts)
        if t.appointment_ts is not None:
            return (2, t.appointment_ts)
        return (3, t.queue_ts)

    def _eligible(self, t: Ticket, number: int) -> bool:
        if t.target_counter is not None:
            return t.target_counter == number
        cc = self.cfg.counters_by_number[number]
        if t.service not in cc.services:
            return False
        if t.zone is None:
            return self.cfg.zones_by_id[cc.zone].kind == "department"
        return t.zone == cc.zone

    def _counters_for(self, t: Ticket) -> list[int]:
        return [n for n in self.cfg.counters_by_number if self._eligible(t, n)]

    def _select(self, number: int, now_ts: float) -> Ticket | None:
        """Green channel, then tickets sent to the front, then due appointments, then the weighted queues.

        Within the weighted part only each service's oldest ticket competes, scored by weight × time waited, so
        a low-weight service still rises with time; past `starvation_minutes` the oldest head is taken outright.
        """
        cfg = self.cfg
        weights = cfg.counters_by_number[number].services
        grace = cfg.hall.appointment_grace_minutes * 60
        best: tuple[tuple[int, float], Ticket] | None = None
        heads: dict[str, Ticket] = {}
        tickets = self.state.tickets
        for tid in self.state.waiting:
            t = tickets[tid]
            if not self._eligible(t, number):
                continue
            key = self._order_key(t)
            if key[0] == 3:  # a walk-in: only each service's oldest competes below
                head = heads.get(t.service)
                if head is None or t.queue_ts < head.queue_ts:
                    heads[t.service] = t
                continue
            if key[0] == 2 and key[1] - grace > now_ts:
                continue  # an appointment not due yet
            if best is None or key < best[0]:
                best = (key, t)
        if best is not None:
            return best[1]
        if not heads:
            return None
        bound = cfg.hall.starvation_minutes * 60
        starving = [h for h in heads.values() if now_ts - h.queue_ts >= bound]
        if starving:
            return min(starving, key=lambda h: h.queue_ts)
        return max(heads.values(),
                   key=lambda h: (weights.get(h.service, 1.0) * (now_ts - h.queue_ts + 1.0), -h.queue_ts))

    def _label(self, group: str) -> str:
        return self.cfg.groups[group].label

    # ------------------------------------------------------------------ command handlers

    def _issue(self, cmd: c.Issue, now: datetime) -> dict[str, Any]:
        self._check_service(cmd.service)
        local_today = now.astimezone(self.tz).date()
        age = age_on(cmd.birth_date, local_today) if cmd.birth_date else None
        if age is not None and not 0 <= age <= 130:
            raise CommandRejected("bad_birth_date", f"birth date {cmd.birth_date} gives an impossible age {age}")
        suggested = suggest_group(
            self.cfg.age, age=age, first_visit=cmd.first_visit, cannot_read=cmd.cannot_read,
            pregnant=cmd.pregnant, with_infant=cmd.with_infant, limited_mobility=cmd.limited_mobility,
        )
        group = cmd.group or suggested
        rule = self.cfg.groups[group]
        if rule.appointment and cmd.appointment_at is None:
            raise CommandRejected("appointment_needed", f"{rule.label} ({group}) needs appointment_at")
        service = self.cfg.services_by_name[cmd.service]
        st = self.state
        assert st.day is not None
        n = st.numbers.get(service.prefix, 0) + 1
        number = f"{service.prefix}{n:03d}"
        ticket_id = f"{st.day.replace('-', '')}-{number}"
        issued = self._emit(
            "ticket_issued", now, ticket=ticket_id, number=number, n=n, prefix=service.prefix,
            service=service.name, group=group, suggested_group=suggested, label=rule.label, zone=rule.zone,
            green=rule.green_channel, seated=rule.seated_wait, helper_required=rule.helper_required,
            counter_queue=rule.counter_queue,
            appointment_at=cmd.appointment_at.isoformat() if cmd.appointment_at else None,
            age=age, node=cmd.node,
        )
        ahead, minutes = self.estimate(ticket_id)
        issued["data"]["ahead"] = ahead
        issued["data"]["wait_min"] = minutes
        result: dict[str, Any] = {"ticket": ticket_id, "number": number, "service": service.name,
                                  "group": group, "label": rule.label, "ahead": ahead, "wait_min": minutes}
        if rule.helper_required:
            help_id = f"H-{ticket_id}"
            self._emit("help_requested", now, help_id=help_id, ticket=ticket_id, number=number, group=group,
                       label=rule.label, seated=rule.seated_wait)
            result["help_id"] = help_id
        return result

    def _help(self, help_id: str) -> HelpRequest:
        h = self.state.helps.get(help_id)
        if h is None:
            raise CommandRejected("unknown_help", f"no help request {help_id}")
        return h

    def _claim_help(self, cmd: c.ClaimHelp, now: datetime) -> dict[str, Any]:
        h = self._help(cmd.help_id)
        if h.status == "claimed":
            if h.helper == cmd.helper:
                return {"help_id": h.id, "helper": h.helper, "already": True}
            raise CommandRejected("help_taken", f"{h.id} is already taken by {h.helper} (首问负责)")
        if h.status != "open":
            raise CommandRejected("bad_state", f"{h.id} is {h.status}")
        self._emit("help_claimed", now, help_id=h.id, ticket=h.ticket, helper=cmd.helper)
        return {"help_id": h.id, "helper": cmd.helper}

    def _owned(self, help_id: str, helper: str) -> HelpRequest:
        h = self._help(help_id)
        if h.status != "claimed":
            raise CommandRejected("bad_state", f"{h.id} is {h.status}, not claimed")
        if h.helper != helper:
            raise CommandRejected("not_owner", f"{h.id} belongs to {h.helper}, not {helper}")
        return h

    def _handover_help(self, cmd: c.HandoverHelp, now: datetime) -> dict[str, Any]:
        h = self._owned(cmd.help_id, cmd.from_helper)
        if cmd.to_helper == cmd.from_helper:
            raise CommandRejected("bad_handover", "hand-over to the same helper")
        self._emit("help_handed_over", now, help_id=h.id, ticket=h.ticket, from_helper=cmd.from_helper,
                   to_helper=cmd.to_helper, note=cmd.note)
        return {"help_id": h.id, "helper": cmd.to_helper}

    def _finish_help(self, cmd: c.FinishHelp, now: datetime) -> dict[str, Any]:
        h = self._owned(cmd.help_id, cmd.helper)
        t = self.state.tickets[h.ticket]
        self._emit("help_finished", now, help_id=h.id, ticket=h.ticket, helper=cmd.helper)
        if t.status == s.VISIT:  # a home visit ends when its helper says so; there is no counter
            self._emit_finished(t, None, now, "done", [], "")
        return {"help_id": h.id}

    def _open_counter(self, cmd: c.CounterOp, now: datetime) -> dict[str, Any]:
        counter = self._counter(cmd.counter)
        if counter.status == "closed":
            self._emit("counter_opened", now, counter=cmd.counter)
        return {"counter": cmd.counter, "status": self.state.counters[cmd.counter].status}

    def _close_counter(self, cmd: c.CounterOp, now: datetime) -> dict[str, Any]:
        counter = self._counter(cmd.counter)
        if counter.current or counter.parked:
            held = ", ".join(self.state.tickets[t].number for t in [counter.current, *counter.parked] if t)
            raise CommandRejected("counter_busy", f"counter {cmd.counter} still holds {held}: finish or transfer")
        if counter.status != "closed":
            self._emit("counter_closed", now, counter=cmd.counter)
        return {"counter": cmd.counter, "status": "closed"}

    def _pause_counter(self, cmd: c.CounterOp, now: datetime) -> dict[str, Any]:
        counter = self._counter(cmd.counter)
        if counter.status == "closed":
            raise CommandRejected("counter_closed", f"counter {cmd.counter} is closed")
        if counter.status == "open":
            self._emit("counter_paused", now, counter=cmd.counter)
        return {"counter": cmd.counter, "status": "paused"}

    def _resume_counter(self, cmd: c.CounterOp, now: datetime) -> dict[str, Any]:
        counter = self._counter(cmd.counter)
        if counter.status != "paused":
            raise CommandRejected("bad_state", f"counter {cmd.counter} is {counter.status}, not paused")
        self._emit("counter_resumed", now, counter=cmd.counter)
        return {"counter": cmd.counter, "status": "open"}

    def _ready_to_call(self, number: int) -> CounterState:
        counter = self._counter(number)
        if counter.status == "paused":
            raise CommandRejected("counter_paused", f"counter {number} is paused; resume it first")
        if counter.current is not None:
            t = self.state.tickets[counter.current]
            raise CommandRejected("counter_busy",
                                  f"{t.number} is still at counter {number}: finish, park or transfer it first")
        return counter

    def _sign_in(self, counter: CounterState, now: datetime) -> None:
        """The first call of the day signs a closed counter in, as pressing the keypad does on real halls."""
        if counter.status == "closed":
            self._emit("counter_opened", now, counter=counter.number)

    def _emit_called(self, t: Ticket, number: int, now: datetime) -> dict[str, Any]:
        self._emit("ticket_called", now, ticket=t.id, number=t.number, counter=number, service=t.service,
                   group=t.group, label=self._label(t.group), seated=t.seated)
        return {"ticket": t.id, "number": t.number, "counter": number, "service": t.service, "group": t.group,
                "label": self._label(t.group)}

    def _call_next(self, cmd: c.CounterOp, now: datetime) -> dict[str, Any]:
        counter = self._ready_to_call(cmd.counter)
        t = self._select(cmd.counter, now.timestamp())
        if t is None:
            raise CommandRejected("queue_empty", f"nobody is waiting for counter {cmd.counter}")
        self._sign_in(counter, now)
        return self._emit_called(t, cmd.counter, now)

    def _call_ticket(self, cmd: c.CallTicket, now: datetime) -> dict[str, Any]:
        counter = self._ready_to_call(cmd.counter)
        t = self._ticket(cmd.ticket)
        if t.status in (s.CALLED, s.SERVING, s.PARKED):
            raise CommandRejected("already_called", f"{t.number} is {t.status} at counter {t.counter}")
        if t.status == s.WAITING_HELPER:
            raise CommandRejected("needs_helper", f"{t.number} waits for a helper to claim {t.help_id} first")
        if t.status not in (s.WAITING, s.NO_SHOW):
            raise CommandRejected("bad_state", f"{t.number} is {t.status}")
        if t.service not in self.cfg.counters_by_number[cmd.counter].services and t.target_counter != cmd.counter:
            raise CommandRejected("not_served_here", f"counter {cmd.counter} does not serve {t.service}")
        self._sign_in(counter, now)
        return self._emit_called(t, cmd.counter, now)

    def _recall(self, cmd: c.CounterOp, now: datetime) -> dict[str, Any]:
        t = self._current(cmd.counter, (s.CALLED,))
        if t.recalls >= self.cfg.hall.recall_limit:
            self._emit("ticket_no_show", now, ticket=t.id, number=t.number, counter=cmd.counter,
                       recalls=t.recalls)
            return {"ticket": t.id, "number": t.number, "no_show": True}
        self._emit("ticket_recalled", now, ticket=t.id, number=t.number, counter=cmd.counter,
                   count=t.recalls + 1, service=t.service, group=t.group, label=self._label(t.group))
        return {"ticket": t.id, "number": t.number, "count": t.recalls, "no_show": False}

    def _no_show(self, cmd: c.CounterOp, now: datetime) -> dict[str, Any]:
        t = self._current(cmd.counter, (s.CALLED,))
        self._emit("ticket_no_show", now, ticket=t.id, number=t.number, counter=cmd.counter, recalls=t.recalls)
        return {"ticket": t.id, "number": t.number, "no_show": True}

    def _requeue(self, cmd: c.Requeue, now: datetime) -> dict[str, Any]:
        t = self._ticket(cmd.ticket)
        if t.status != s.NO_SHOW:
            raise CommandRejected("bad_state", f"only a no-show can be re-queued; {t.number} is {t.status}")
        self._emit("ticket_requeued", now, ticket=t.id, number=t.number, position=cmd.position)
        return {"ticket": t.id, "number": t.number, "position": cmd.position}

    def _start(self, cmd: c.CounterOp, now: datetime) -> dict[str, Any]:
        t = self._current(cmd.counter, (s.CALLED,))
        self._emit("service_started", now, ticket=t.id, number=t.number, counter=cmd.counter)
        return {"ticket": t.id, "number": t.number}

    def _emit_finished(self, t: Ticket, counter: int | None, now: datetime, outcome: str,
                       materials: list[str], reason: str) -> dict[str, Any]:
        now_ts = now.timestamp()
        begun = t.started_ts or t.called_ts or now_ts
        # An appointment's promised time runs from the appointment, not from the day it was booked.
        total_s = round(now_ts - max(t.issued_ts, t.appointment_ts or 0.0), 3)
        promised = self.cfg.services_by_name[t.service].promised_minutes * 60
        data: dict[str, Any] = dict(
            ticket=t.id, number=t.number, counter=counter, service=t.service, group=t.group, outcome=outcome,
            materials=materials, reason=reason, duration_s=round(now_ts - begun, 3),
            wait_s=round((t.called_ts or now_ts) - (t.appointment_ts or t.issued_ts), 3) if t.called_ts else None,
            total_s=total_s, on_time=total_s <= promised,
        )
        self._emit("ticket_finished", now, **data)
        result: dict[str, Any] = {"ticket": t.id, "number": t.number, "outcome": outcome}
        if outcome == "materials_missing":
            items = "；".join(f"{i}. {m}" for i, m in enumerate(materials, start=1))
            result["notice"] = f"一次性告知：请补齐以下材料后再来办理（{t.service}）：{items}"
        return result

    def _finish(self, cmd: c.Finish, now: datetime) -> dict[str, Any]:
        t = self._current(cmd.counter)
        return self._emit_finished(t, cmd.counter, now, cmd.outcome, list(cmd.materials), cmd.reason)

    def _transfer(self, cmd: c.Transfer, now: datetime) -> dict[str, Any]:
        t = self._current(cmd.counter)
        service = cmd.to_service or t.service
        self._check_service(service)
        if cmd.to_counter is not None:
            self._counter(cmd.to_counter)
            if service not in self.cfg.counters_by_number[cmd.to_counter].services:
                raise CommandRejected("not_served_here", f"counter {cmd.to_counter} does not serve {service}")
            if cmd.to_counter == cmd.counter:
                raise CommandRejected("bad_transfer", "transfer to the same counter")
        elif service == t.service:
            raise CommandRejected("bad_transfer", f"{t.number} is already in {service}")
        self._emit("ticket_transferred", now, ticket=t.id, number=t.number, from_counter=cmd.counter,
                   from_service=t.service, to_service=service, to_counter=cmd.to_counter, position=cmd.position)
        return {"ticket": t.id, "number": t.number, "service": service, "counter": cmd.to_counter}

    def _park(self, cmd: c.Park, now: datetime) -> dict[str, Any]:
        t = self._current(cmd.counter)
        self._emit("ticket_parked", now, ticket=t.id, number=t.number, counter=cmd.counter, note=cmd.note)
        return {"ticket": t.id, "number": t.number}

    def _resume_parked(self, cmd: c.ResumeParked, now: datetime) -> dict[str, Any]:
        self._counter(cmd.counter)
        t = self._ticket(cmd.ticket)
        if t.status != s.PARKED or t.counter != cmd.counter:
            raise CommandRejected("not_parked_here", f"{t.number} is not parked at counter {cmd.counter}")
        self._ready_to_call(cmd.counter)
        self._emit("ticket_resumed", now, ticket=t.id, number=t.number, counter=cmd.counter)
        return {"ticket": t.id, "number": t.number}

    def _rate(self, cmd: c.Rate, now: datetime) -> dict[str, Any]:
        t = self._ticket(cmd.ticket)
        if t.status != s.FINISHED:
            raise CommandRejected("not_finished", f"{t.number} is {t.status}; rate a case when it is finished")
        if t.rating is not None:
            raise CommandRejected("already_rated", f"{t.number} was already rated {t.rating} (一事一评)")
        level = cmd.level_name
        self._emit("rating_recorded", now, ticket=t.id, number=t.number, level=level, service=t.service,
                   counter=t.counter, comment=cmd.comment)
        result: dict[str, Any] = {"ticket": t.id, "level": level}
        if level in c.FOLLOW_UP_LEVELS:
            fid = f"FU-{self.state.followup_count + 1:06d}"
            self._emit("followup_opened", now, followup_id=fid, ticket=t.id, number=t.number, level=level,
                       service=t.service, counter=t.counter, comment=cmd.comment)
            result["followup_id"] = fid
        return result

    def _close_followup(self, cmd: c.CloseFollowUp, now: datetime) -> dict[str, Any]:
        f = self.state.followups.get(cmd.followup_id)
        if f is None:
            raise CommandRejected("unknown_followup", f"no follow-up {cmd.followup_id}")
        if f.status != "open":
            raise CommandRejected("bad_state", f"{f.id} is already {f.status}")
        self._emit("followup_closed", now, followup_id=f.id, ticket=f.ticket, note=cmd.note)
        return {"followup_id": f.id}

    # ------------------------------------------------------------------ appliers (replay path: keep them lean)

    def _ap_day_opened(self, ts: float, d: dict[str, Any]) -> None:
        st = self.state
        for tid in d["expired"]:
            t = st.tickets[tid]
            t.status = s.EXPIRED
            st.waiting.pop(tid, None)
            if t.help_id and st.helps[t.help_id].status in ("open", "claimed"):
                st.helps[t.help_id].status = "expired"
        previous = d["previous"]
        if previous is not None:  # keep yesterday for late ratings; forget anything older that is closed
            drop = [tid for tid, t in st.tickets.items() if t.day < previous and t.status not in s.OPEN_STATUSES]
            for tid in drop:
                t = st.tickets.pop(tid)
                if t.help_id:
                    st.helps.pop(t.help_id, None)
            for fid in [fid for fid, f in st.followups.items() if f.status == "closed"]:
                del st.followups[fid]
        for counter in st.counters.values():
            counter.status, counter.current, counter.parked = "closed", None, []
        st.numbers = {}
        st.day = d["day"]

    def _ap_ticket_issued(self, ts: float, d: dict[str, Any]) -> None:
        st = self.state
        appt = d["appointment_at"]
        status = s.WAITING_HELPER if d["helper_required"] else s.WAITING if d["counter_queue"] else s.VISIT
        st.tickets[d["ticket"]] = Ticket(
            id=d["ticket"], number=d["number"], day=st.day or "", service=d["service"], group=d["group"],
            zone=d["zone"], green=d["green"], seated=d["seated"], issued_ts=ts, queue_ts=ts, status=status,
            appointment_ts=datetime.fromisoformat(appt).timestamp() if appt else None, age=d["age"],
        )
        st.numbers[d["prefix"]] = d["n"]
        if status == s.WAITING:
            st.waiting[d["ticket"]] = None

    def _ap_help_requested(self, ts: float, d: dict[str, Any]) -> None:
        self.state.helps[d["help_id"]] = HelpRequest(id=d["help_id"], ticket=d["ticket"], group=d["group"])
        self.state.tickets[d["ticket"]].help_id = d["help_id"]

    def _ap_help_claimed(self, ts: float, d: dict[str, Any]) -> None:
        st = self.state
        h = st.helps[d["help_id"]]
        h.status, h.helper = "claimed", d["helper"]
        h.owners.append(d["helper"])
        t = st.tickets[h.ticket]
        if t.status == s.WAITING_HELPER:
            if self.cfg.groups[t.group].counter_queue:
                t.status = s.WAITING
                st.waiting[t.id] = None
            else:
                t.status = s.VISIT

    def _ap_help_handed_over(self, ts: float, d: dict[str, Any]) -> None:
        h = self.state.helps[d["help_id"]]
        h.helper = d["to_helper"]
        h.owners.append(d["to_helper"])

    def _ap_help_finished(self, ts: float, d: dict[str, Any]) -> None:
        self.state.helps[d["help_id"]].status = "finished"

    def _ap_counter_status(self, status: str) -> Callable[[float, dict[str, Any]], None]:
        def apply(ts: float, d: dict[str, Any]) -> None:
            self.state.counters[d["counter"]].status = status
        return apply

    def _ap_ticket_called(self, ts: float, d: dict[str, Any]) -> None:
        st = self.state
        t = st.tickets[d["ticket"]]
        t.status, t.counter, t.recalls = s.CALLED, d["counter"], 0
        t.front, t.target_counter = False, None
        if t.called_ts is None:
            t.called_ts = ts
        st.waiting.pop(t.id, None)
        counter = st.counters[d["counter"]]
        counter.current = t.id
        counter.status = "open"

    def _ap_ticket_recalled(self, ts: float, d: dict[str, Any]) -> None:
        self.state.tickets[d["ticket"]].recalls = d["count"]

    def _ap_ticket_no_show(self, ts: float, d: dict[str, Any]) -> None:
        t = self.state.tickets[d["ticket"]]
        t.status, t.counter = s.NO_SHOW, None
        self.state.counters[d["counter"]].current = None

    def _ap_ticket_requeued(self, ts: float, d: dict[str, Any]) -> None:
        t = self.state.tickets[d["ticket"]]
        self._back_in_queue(t, ts, d["position"])

    def _back_in_queue(self, t: Ticket, ts: float, position: str) -> None:
        t.status, t.counter, t.recalls = s.WAITING, None, 0
        t.front = position == "front"
        if position == "end":
            t.queue_ts = ts
        elif position == "original":
            t.queue_ts = t.issued_ts
        self.state.waiting[t.id] = None

    def _ap_service_started(self, ts: float, d: dict[str, Any]) -> None:
        t = self.state.tickets[d["ticket"]]
        t.status, t.started_ts = s.SERVING, ts

    def _ap_ticket_finished(self, ts: float, d: dict[str, Any]) -> None:
        st = self.state
        t = st.tickets[d["ticket"]]
        t.status, t.outcome, t.finished_ts = s.FINISHED, d["outcome"], ts
        if d["counter"] is not None:
            st.counters[d["counter"]].current = None
            t.counter = d["counter"]
            recent = st.durations.setdefault(t.service, [])
            recent.append(d["duration_s"])
            if len(recent) > self.cfg.hall.rolling_window:
                del recent[0]

    def _ap_ticket_transferred(self, ts: float, d: dict[str, Any]) -> None:
        st = self.state
        t = st.tickets[d["ticket"]]
        st.counters[d["from_counter"]].current = None
        t.service = d["to_service"]
        t.started_ts = None
        self._back_in_queue(t, ts, d["position"])
        t.target_counter = d["to_counter"]

    def _ap_ticket_parked(self, ts: float, d: dict[str, Any]) -> None:
        st = self.state
        t = st.tickets[d["ticket"]]
        t.status = s.PARKED
        counter = st.counters[d["counter"]]
        counter.current = None
        counter.parked.append(t.id)

    def _ap_ticket_resumed(self, ts: float, d: dict[str, Any]) -> None:
        st = self.state
        t = st.tickets[d["ticket"]]
        t.status = s.SERVING if t.started_ts is not None else s.CALLED
        counter = st.counters[d["counter"]]
        counter.parked.remove(t.id)
        counter.current = t.id
        counter.status = "open"

    def _ap_rating_recorded(self, ts: float, d: dict[str, Any]) -> None:
        self.state.tickets[d["ticket"]].rating = d["level"]

    def _ap_followup_opened(self, ts: float, d: dict[str, Any]) -> None:
        st = self.state
        st.followup_count += 1
        st.followups[d["followup_id"]] = FollowUp(id=d["followup_id"], ticket=d["ticket"], level=d["level"],
                                                  comment=d["comment"])

    def _ap_followup_closed(self, ts: float, d: dict[str, Any]) -> None:
        f = self.state.followups[d["followup_id"]]
        f.status, f.note = "closed", d["note"]
