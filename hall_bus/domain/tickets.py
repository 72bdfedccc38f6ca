"""A ticket's life outside the counter: the hall day, issuing a ticket, and the end of a case.

Issuing decides once (from the configuration) the facts replay needs: group rules, zone, green channel, whether
the ticket queues at a counter, the extended session (延时/错时服务) it was issued in. They travel in
`ticket_issued`, so the ticket behaves the same after a restart under a changed configuration.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.clock import hall_day
from hall_bus.domain import booking
from hall_bus.domain import commands as c
from hall_bus.domain import state as s
from hall_bus.domain.groups import age_on, suggest_group
from hall_bus.domain.hours import event_fields
from hall_bus.domain.queue_index import DEPT
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.staff import check_person
from hall_bus.domain.state import HallState, Ticket

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine

DEFAULT_ROLLING_WINDOW = 20  # what `[hall] rolling_window` defaulted to before events carried it


def roll_day(e: QueueEngine, now: datetime) -> None:
    """Open a new hall day when the clock has passed the rollover; every command checks this first."""
    day = hall_day(now, e.tz, e.cfg.hall.day_rollover).isoformat()
    st = e.state
    if st.day is not None and day <= st.day:
        return
    expired = []
    for t in st.tickets.values():
        if t.status not in s.OPEN_STATUSES:
            continue
        if t.status == s.VISIT and t.help_id and st.helps[t.help_id].status == "claimed":
            continue  # a home visit under way at the rollover is finished by its helper, whatever the hour
        if t.appointment_ts is not None and t.status not in (s.CALLED, s.SERVING, s.PARKED):
            appt_day = hall_day(datetime.fromtimestamp(t.appointment_ts, e.tz), e.tz,
                                e.cfg.hall.day_rollover).isoformat()
            if appt_day >= day:
                continue  # an appointment for today or later stays valid across the rollover
        expired.append(t.id)
    e.emit("day_opened", now, day=day, previous=st.day, expired=expired)


@handles("issue")
def issue(e: QueueEngine, cmd: c.Issue, now: datetime) -> dict[str, Any]:
    e.check_service(cmd.service)
    local_today = now.astimezone(e.tz).date()
    age = age_on(cmd.birth_date, local_today) if cmd.birth_date else None
    if age is not None and not 0 <= age <= 130:
        raise CommandRejected("bad_birth_date", f"birth date {cmd.birth_date} gives an impossible age {age}")
    suggested = suggest_group(
        e.cfg.age, age=age, first_visit=cmd.first_visit, cannot_read=cmd.cannot_read,
        pregnant=cmd.pregnant, with_infant=cmd.with_infant, limited_mobility=cmd.limited_mobility,
    )
    group = cmd.group or suggested
    rule = e.cfg.groups[group]
    if rule.appointment and cmd.appointment_at is None:
        raise CommandRejected("appointment_needed", f"{rule.label} ({group}) needs appointment_at")
    if cmd.appointment_ref is not None:
        if cmd.appointment_at is None:
            raise CommandRejected("appointment_needed", "appointment_ref comes with appointment_at")
        booked = booking.check_in_problem(e, cmd)
        used = None if booked is not None else next((t for t in e.state.tickets.values()
                                                     if t.appointment_ref == cmd.appointment_ref
                                                     and t.day == e.state.day), None)
        if used is not None:  # the same code shown twice, at this kiosk or another: one booking, one ticket
            raise CommandRejected("appointment_used", f"booking {cmd.appointment_ref} already has ticket "
                                  f"{used.number}")
    service = e.cfg.services_by_name[cmd.service]
    routes = route_list(rule.department_windows, rule.zone)
    st = e.state
    assert st.day is not None
    n = st.numbers.get(service.prefix, 0) + 1
    number = f"{service.prefix}{n:03d}"
    ticket_id = f"{st.day.replace('-', '')}-{number}"
    issued = e.emit(
        "ticket_issued", now, ticket=ticket_id, number=number, n=n, prefix=service.prefix,
        service=service.name, group=group, suggested_group=suggested, label=rule.label, zone=rule.zone,
        green=rule.green_channel, seated=rule.seated_wait, helper_required=rule.helper_required,
        counter_queue=rule.counter_queue, priority=rule.priority, routes=routes,
        appointment_at=cmd.appointment_at.isoformat() if cmd.appointment_at else None,
        appointment_ref=cmd.appointment_ref, age=age, node=cmd.node, **event_fields(e.cfg, now),
        **({"token": token} if (token := booking.ticket_token(e, ticket_id)) else {}),
    )
    if cmd.appointment_ref is not None and cmd.appointment_ref in st.bookings:
        e.emit("booking_checked_in", now, code=cmd.appointment_ref, ticket=ticket_id, number=number)
    ahead, minutes = e.estimate(ticket_id)
    issued["data"]["ahead"] = ahead
    issued["data"]["wait_min"] = minutes
    result: dict[str, Any] = {"ticket": ticket_id, "number": number, "service": service.name,
                              "group": group, "label": rule.label, "ahead": ahead, "wait_min": minutes,
                              "token": token}
    if rule.helper_required:
        help_id = f"H-{ticket_id}"
        e.emit("help_requested", now, help_id=help_id, ticket=ticket_id, number=number, group=group,
               label=rule.label, seated=rule.seated_wait, service=service.name, age=age, node=cmd.node)
        result["help_id"] = help_id
    return result


@handles("change_group")
def change_group(e: QueueEngine, cmd: c.ChangeGroup, now: datetime) -> dict[str, Any]:
    """A greeter corrects the group after issue (the visitor turns out to need a wheelchair push, or declines
    help); the ticket keeps its place in the queue. Who and why are recorded."""
    by = check_person(e, cmd.by)
    t = e.ticket(cmd.ticket)
    if t.status not in (s.WAITING, s.WAITING_HELPER, s.NO_SHOW):
        raise CommandRejected("bad_state", f"{t.number} is {t.status}; change the group before it is called")
    if cmd.group == t.group:
        raise CommandRejected("bad_change", f"{t.number} is already {e.label(t.group)} ({t.group})")
    rule = e.cfg.groups[cmd.group]
    if not rule.counter_queue or rule.appointment:
        raise CommandRejected("bad_change", f"{rule.label} ({cmd.group}) is booked, not changed to at the hall")
    e.emit("group_changed", now, ticket=t.id, number=t.number, from_group=t.group, group=cmd.group,
           label=rule.label, zone=rule.zone, green=rule.green_channel, seated=rule.seated_wait,
           priority=rule.priority, routes=route_list(rule.department_windows, rule.zone), by=by,
           reason=cmd.reason)
    result: dict[str, Any] = {"ticket": t.id, "number": t.number, "group": cmd.group, "label": rule.label}
    help_ = e.state.helps.get(t.help_id) if t.help_id else None
    active = help_ is not None and help_.status in ("open", "claimed")
    if rule.helper_required and not active:
        help_id = f"H-{t.id}" if help_ is None else f"H-{t.id}-{sum(1 for h in e.state.helps if t.id in h) + 1}"
        e.emit("help_requested", now, help_id=help_id, ticket=t.id, number=t.number, group=cmd.group,
               label=rule.label, seated=rule.seated_wait, service=t.service, age=t.age, node=None)
        result["help_id"] = help_id
    elif not rule.helper_required and active:
        assert help_ is not None
        e.emit("help_cancelled", now, help_id=help_.id, ticket=t.id, by=by,
               reason=f"group changed to {rule.label}")
    return result


def route_list(department_windows: bool, zone: str | None) -> list[str]:
    return ([DEPT] if department_windows else []) + ([zone] if zone else [])


def emit_finished(e: QueueEngine, t: Ticket, counter: int | None, now: datetime, outcome: str,
                  materials: list[str], reason: str) -> dict[str, Any]:
    now_ts = now.timestamp()
    begun = t.started_ts or t.last_called_ts or t.called_ts or now_ts
    # An appointment's promised time runs from the appointment, not from the day it was booked; a visitor
    # served before their slot has waited nothing (never a negative wait).
    total_s = max(0.0, round(now_ts - max(t.issued_ts, t.appointment_ts or 0.0), 3))
    promised = e.cfg.services_by_name[t.service].promised_minutes * 60
    notice = None
    if outcome == "materials_missing":  # 一次性告知: in the event, so the ledger holds what the visitor was told
        items = "；".join(f"{i}. {m}" for i, m in enumerate(materials, start=1))
        notice = f"一次性告知：请补齐以下材料后再来办理（{t.service}）：{items}"
    data: dict[str, Any] = dict(
        ticket=t.id, number=t.number, counter=counter, service=t.service, group=t.group, outcome=outcome,
        materials=materials, reason=reason, duration_s=round(now_ts - begun, 3),
        wait_s=max(0.0, round(t.called_ts - (t.appointment_ts or t.issued_ts), 3)) if t.called_ts else None,
        total_s=total_s, on_time=None if outcome == "materials_missing" else total_s <= promised,
        rolling_window=e.cfg.hall.rolling_window, notice=notice,
    )
    e.emit("ticket_finished", now, **data)
    result: dict[str, Any] = {"ticket": t.id, "number": t.number, "outcome": outcome}
    if notice:
        result["notice"] = notice
    return result


@handles("finish")
def finish(e: QueueEngine, cmd: c.Finish, now: datetime) -> dict[str, Any]:
    t = e.current(cmd.counter, cmd.ticket)
    return emit_finished(e, t, cmd.counter, now, cmd.outcome, list(cmd.materials), cmd.reason)


# ---------------------------------------------------------------------- appliers


@applies("day_opened")
def day_opened(st: HallState, ts: float, d: dict[str, Any]) -> None:
    for tid in d["expired"]:
        t = st.tickets[tid]
        t.status = s.EXPIRED
        st.dequeue(tid)
        if t.help_id and st.helps[t.help_id].status in ("open", "claimed"):
            st.helps[t.help_id].status = "expired"
            st.unwatch_help(t.help_id)
    previous = d["previous"]
    if previous is not None:  # keep yesterday for late ratings; forget anything older that is closed
        drop = {tid for tid, t in st.tickets.items() if t.day < previous and t.status not in s.OPEN_STATUSES}
        for tid in drop:
            del st.tickets[tid]
        for hid in [hid for hid, h in st.helps.items() if h.ticket in drop]:  # a changed group may leave two
            del st.helps[hid]
            st.unwatch_help(hid)
        for fid in [fid for fid, f in st.followups.items() if f.status == "closed"]:
            del st.followups[fid]
    for counter in st.counters.values():
        counter.status, counter.current, counter.parked, counter.signed_in = "closed", None, [], False
    st.numbers = {}
    st.day = d["day"]


@applies("ticket_issued")
def ticket_issued(st: HallState, ts: float, d: dict[str, Any]) -> None:
    appt = d["appointment_at"]
    if "routes" in d:  # since 2026-11 an assisted ticket queues at once; its help request runs alongside
        status = s.WAITING if d["counter_queue"] else s.VISIT
    else:  # older ledgers: held back until a helper claimed it
        status = s.WAITING_HELPER if d["helper_required"] else s.WAITING if d["counter_queue"] else s.VISIT
    t = Ticket(
        id=d["ticket"], number=d["number"], day=st.day or "", service=d["service"], group=d["group"],
        zone=d["zone"], green=d["green"], seated=d["seated"], issued_ts=ts, queue_ts=ts, status=status,
        appointment_ts=datetime.fromisoformat(appt).timestamp() if appt else None,
        appointment_ref=d.get("appointment_ref"), age=d["age"],
        counter_queue=d["counter_queue"], priority=d.get("priority", 0), routes=list(d.get("routes", [])),
        session=d.get("session"), session_kind=d.get("session_kind"), token=d.get("token", ""),
    )
    st.tickets[t.id] = t
    st.numbers[d["prefix"]] = d["n"]
    if status == s.WAITING:
        st.enqueue(t)


@applies("group_changed")
def group_changed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    t = st.tickets[d["ticket"]]
    queued = t.id in st.waiting
    if queued:
        st.dequeue(t.id)
    t.group, t.zone, t.green, t.seated = d["group"], d["zone"], d["green"], d["seated"]
    t.priority, t.routes = d["priority"], list(d["routes"])
    help_ = st.helps.get(t.help_id) if t.help_id else None
    if help_ is not None and help_.status in ("open", "claimed"):
        help_.group = d["group"]
    if t.status == s.WAITING_HELPER:  # an older ledger's held-back ticket: the change puts it in the queue
        t.status = s.WAITING
        queued = True
    if queued:
        st.enqueue(t)


@applies("ticket_finished")
def ticket_finished(st: HallState, ts: float, d: dict[str, Any]) -> None:
    t = st.tickets[d["ticket"]]
    t.status, t.outcome, t.finished_ts = s.FINISHED, d["outcome"], ts
    if t.help_id and st.helps[t.help_id].status == "open":  # served before any helper claimed it
        st.helps[t.help_id].status = "lapsed"
        st.unwatch_help(t.help_id)
    if d["counter"] is not None:
        st.counter(d["counter"]).current = None
        t.counter = d["counter"]
        recent = st.durations.setdefault(t.service, [])
        recent.append(d["duration_s"])
        window = d.get("rolling_window", DEFAULT_ROLLING_WINDOW)
        if len(recent) > window:
            del recent[: len(recent) - window]
