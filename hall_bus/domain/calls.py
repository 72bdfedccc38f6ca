"""A ticket at the window: calling, recalling, no-shows, service start, transfer, park and resume.

Which ticket a window calls is decided in calling.py; this module records what happened to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.domain import calling
from hall_bus.domain import commands as c
from hall_bus.domain import state as s
from hall_bus.domain.counters import ready_to_call, sign_in
from hall_bus.domain.hours import event_fields
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.state import HallState, Ticket

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine


def emit_called(e: QueueEngine, t: Ticket, number: int, now: datetime) -> dict[str, Any]:
    """A call in an extended session (延时/错时服务) says which, so a visitor who took a ticket before 12:00 and
    was served in the 午间延时 counts for it: the hall stayed open for them."""
    e.emit("ticket_called", now, ticket=t.id, number=t.number, counter=number, service=t.service,
           group=t.group, label=e.label(t.group), seated=t.seated, **event_fields(e.cfg, now))
    return {"ticket": t.id, "number": t.number, "counter": number, "service": t.service, "group": t.group,
            "label": e.label(t.group)}


@handles("call_next")
def call_next(e: QueueEngine, cmd: c.CounterOp, now: datetime) -> dict[str, Any]:
    counter = ready_to_call(e, cmd.counter)
    t = calling.select(e.cfg, e.state, cmd.counter, now.timestamp())
    if t is None:
        raise CommandRejected("queue_empty", f"nobody is waiting for counter {cmd.counter}")
    sign_in(e, counter, now)
    return emit_called(e, t, cmd.counter, now)


@handles("call_ticket")
def call_ticket(e: QueueEngine, cmd: c.CallTicket, now: datetime) -> dict[str, Any]:
    counter = ready_to_call(e, cmd.counter)
    t = e.ticket(cmd.ticket)
    if t.status in (s.CALLED, s.SERVING, s.PARKED):
        raise CommandRejected("already_called", f"{t.number} is {t.status} at counter {t.counter}")
    if t.status == s.WAITING_HELPER:
        raise CommandRejected("needs_helper", f"{t.number} waits for a helper to claim {t.help_id} first")
    if t.status not in (s.WAITING, s.NO_SHOW):
        raise CommandRejected("bad_state", f"{t.number} is {t.status}")
    if t.service not in e.cfg.counters_by_number[cmd.counter].services and t.target_counter != cmd.counter:
        raise CommandRejected("not_served_here", f"counter {cmd.counter} does not serve {t.service}")
    sign_in(e, counter, now)
    return emit_called(e, t, cmd.counter, now)


@handles("recall")
def recall(e: QueueEngine, cmd: c.AtWindow, now: datetime) -> dict[str, Any]:
    t = e.current(cmd.counter, cmd.ticket, (s.CALLED,))
    if t.recalls >= e.cfg.hall.recall_limit:
        e.emit("ticket_no_show", now, ticket=t.id, number=t.number, counter=cmd.counter, recalls=t.recalls)
        return {"ticket": t.id, "number": t.number, "no_show": True}
    e.emit("ticket_recalled", now, ticket=t.id, number=t.number, counter=cmd.counter,
           count=t.recalls + 1, service=t.service, group=t.group, label=e.label(t.group))
    return {"ticket": t.id, "number": t.number, "count": t.recalls, "no_show": False}


@handles("no_show")
def no_show(e: QueueEngine, cmd: c.AtWindow, now: datetime) -> dict[str, Any]:
    t = e.current(cmd.counter, cmd.ticket, (s.CALLED,))
    e.emit("ticket_no_show", now, ticket=t.id, number=t.number, counter=cmd.counter, recalls=t.recalls)
    return {"ticket": t.id, "number": t.number, "no_show": True}


@handles("requeue")
def requeue(e: QueueEngine, cmd: c.Requeue, now: datetime) -> dict[str, Any]:
    t = e.ticket(cmd.ticket)
    if t.status != s.NO_SHOW:
        raise CommandRejected("bad_state", f"only a no-show can be re-queued; {t.number} is {t.status}")
    e.emit("ticket_requeued", now, ticket=t.id, number=t.number, position=cmd.position)
    return {"ticket": t.id, "number": t.number, "position": cmd.position}


@handles("start")
def start(e: QueueEngine, cmd: c.AtWindow, now: datetime) -> dict[str, Any]:
    t = e.current(cmd.counter, cmd.ticket, (s.CALLED,))
    e.emit("service_started", now, ticket=t.id, number=t.number, counter=cmd.counter)
    return {"ticket": t.id, "number": t.number}


@handles("transfer")
def transfer(e: QueueEngine, cmd: c.Transfer, now: datetime) -> dict[str, Any]:
    t = e.current(cmd.counter, cmd.ticket)
    service = cmd.to_service or t.service
    e.check_service(service)
    if cmd.to_counter is not None:
        target = e.counter(cmd.to_counter)
        if target.status == "closed":
            raise CommandRejected("counter_closed", f"counter {cmd.to_counter} is closed; the visitor would "
                                  f"wait for nobody. Transfer to the service ({service}) or an open window")
        if service not in e.cfg.counters_by_number[cmd.to_counter].services:
            raise CommandRejected("not_served_here", f"counter {cmd.to_counter} does not serve {service}")
        if cmd.to_counter == cmd.counter:
            raise CommandRejected("bad_transfer", "transfer to the same counter")
    elif service == t.service:
        raise CommandRejected("bad_transfer", f"{t.number} is already in {service}")
    e.emit("ticket_transferred", now, ticket=t.id, number=t.number, from_counter=cmd.counter,
           from_service=t.service, to_service=service, to_counter=cmd.to_counter, position=cmd.position)
    return {"ticket": t.id, "number": t.number, "service": service, "counter": cmd.to_counter}


@handles("park")
def park(e: QueueEngine, cmd: c.Park, now: datetime) -> dict[str, Any]:
    t = e.current(cmd.counter, cmd.ticket)
    e.emit("ticket_parked", now, ticket=t.id, number=t.number, counter=cmd.counter, note=cmd.note)
    return {"ticket": t.id, "number": t.number}


@handles("resume_parked")
def resume_parked(e: QueueEngine, cmd: c.ResumeParked, now: datetime) -> dict[str, Any]:
    e.counter(cmd.counter)
    t = e.ticket(cmd.ticket)
    if t.status != s.PARKED or t.counter != cmd.counter:
        raise CommandRejected("not_parked_here", f"{t.number} is not parked at counter {cmd.counter}")
    ready_to_call(e, cmd.counter)
    e.emit("ticket_resumed", now, ticket=t.id, number=t.number, counter=cmd.counter)
    return {"ticket": t.id, "number": t.number}


# ---------------------------------------------------------------------- appliers


@applies("ticket_called")
def ticket_called(st: HallState, ts: float, d: dict[str, Any]) -> None:
    t = st.tickets[d["ticket"]]
    st.dequeue(t.id)  # before its calling facts change: the index finds it by them
    t.status, t.counter, t.recalls = s.CALLED, d["counter"], 0
    t.front, t.target_counter = False, None
    if t.called_ts is None:
        t.called_ts = ts
    t.last_called_ts = ts
    if "session" in d:  # called in an extended session: served in it, whatever the hour it was issued
        t.session, t.session_kind = d["session"], d["session_kind"]
    counter = st.counter(d["counter"])
    counter.current = t.id
    counter.status = "open"


@applies("ticket_recalled")
def ticket_recalled(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.tickets[d["ticket"]].recalls = d["count"]


@applies("ticket_no_show")
def ticket_no_show(st: HallState, ts: float, d: dict[str, Any]) -> None:
    t = st.tickets[d["ticket"]]
    t.status, t.counter = s.NO_SHOW, None
    st.counter(d["counter"]).current = None


def back_in_queue(st: HallState, t: Ticket, ts: float, position: str, target: int | None = None) -> None:
    t.status, t.counter, t.recalls = s.WAITING, None, 0
    t.front = position == "front"
    t.target_counter = target
    if position == "end":
        t.queue_ts = ts
    elif position == "original":
        t.queue_ts = t.issued_ts
    st.enqueue(t)


@applies("ticket_requeued")
def ticket_requeued(st: HallState, ts: float, d: dict[str, Any]) -> None:
    back_in_queue(st, st.tickets[d["ticket"]], ts, d["position"])


@applies("service_started")
def service_started(st: HallState, ts: float, d: dict[str, Any]) -> None:
    t = st.tickets[d["ticket"]]
    t.status, t.started_ts = s.SERVING, ts


@applies("ticket_transferred")
def ticket_transferred(st: HallState, ts: float, d: dict[str, Any]) -> None:
    t = st.tickets[d["ticket"]]
    st.counter(d["from_counter"]).current = None
    t.service = d["to_service"]
    t.started_ts = None
    back_in_queue(st, t, ts, d["position"], d["to_counter"])


@applies("ticket_parked")
def ticket_parked(st: HallState, ts: float, d: dict[str, Any]) -> None:
    t = st.tickets[d["ticket"]]
    t.status = s.PARKED
    counter = st.counter(d["counter"])
    counter.current = None
    counter.parked.append(t.id)


@applies("ticket_resumed")
def ticket_resumed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    t = st.tickets[d["ticket"]]
    t.status = s.SERVING if t.started_ts is not None else s.CALLED
    counter = st.counter(d["counter"])
    counter.parked.remove(t.id)
    counter.current = t.id
    counter.status = "open"
