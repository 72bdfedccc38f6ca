"""投诉: the complaint register the service standard asks for ("记录投诉情况，进行汇总"; 咨询、投诉及时处理率 100%).

A complaint comes from any channel (the window, 12345, 局长信箱, 意见箱, online) about a window, a person or a
service. Its reply is due `[calendar] complaint_days` working days after it was received (a 12345 work order may
reach the hall a day after the call: the clock runs from the call). It then goes through the same 整改 states as
a bad rating's follow-up (rectification.py). One not closed by its due time turns overdue once (an event the
supervisor's screens and the 台账 see), like an unanswered consultation.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.domain import commands as c
from hall_bus.domain import rectification as r
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.staff import check_person, member
from hall_bus.domain.state import Complaint, HallState

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine


def _complaint(e: QueueEngine, cid: str) -> Complaint:
    found = e.state.complaints.get(cid)
    if found is None:
        raise CommandRejected("unknown_complaint", f"no complaint {cid}")
    return found


def _check_subject(e: QueueEngine, kind: str, subject: str) -> str:
    """The subject as the 台账 groups it: a window number, a staff id on the roster, a service of the hall."""
    if kind == "window":
        if not subject.isdigit():
            raise CommandRejected("bad_complaint", f"a window is named by its number, not {subject!r}")
        e.counter(int(subject))
        return str(int(subject))
    if kind == "staff":
        if e.state.staff:
            member(e, subject)
        return subject
    e.check_service(subject)
    return subject


@handles("register_complaint")
def register_complaint(e: QueueEngine, cmd: c.RegisterComplaint, now: datetime) -> dict[str, Any]:
    by = check_person(e, cmd.by)
    subject = _check_subject(e, cmd.subject_kind, cmd.subject.strip())
    received = cmd.received_at.astimezone(e.tz) if cmd.received_at is not None else now.astimezone(e.tz)
    if received > now:
        raise CommandRejected("bad_complaint", "received_at is in the future")
    ticket = e.ticket(cmd.ticket).id if cmd.ticket is not None else None
    if cmd.handler is not None:
        check_person(e, cmd.handler, "who handles it")
    cid = f"CP-{e.state.complaint_count + 1:06d}"
    due = r.due_after(e, received, e.cfg.calendar.complaint_days)
    e.emit("complaint_registered", now, complaint_id=cid, channel=cmd.channel, subject_kind=cmd.subject_kind,
           subject=subject, complainant=cmd.complainant, phone=cmd.phone, text=cmd.text,
           received_at=received.isoformat(timespec="seconds"), due=due, by=by, ticket=ticket)
    if cmd.handler is not None:
        e.emit("complaint_assigned", now, complaint_id=cid, owner=cmd.handler, due=due)
    return {"complaint_id": cid, "due": due}


@handles("assign_complaint")
def assign_complaint(e: QueueEngine, cmd: c.AssignComplaint, now: datetime) -> dict[str, Any]:
    q = _complaint(e, cmd.complaint_id)
    due = r.check_assign(e, q, cmd.owner, cmd.due, "", "complaint_taken")
    e.emit("complaint_assigned", now, complaint_id=q.id, owner=cmd.owner, due=due)
    return {"complaint_id": q.id, "owner": cmd.owner, "due": due}


@handles("rectify_complaint")
def rectify_complaint(e: QueueEngine, cmd: c.RectifyComplaint, now: datetime) -> dict[str, Any]:
    q = _complaint(e, cmd.complaint_id)
    by = r.check_rectify(e, q, cmd.by)
    e.emit("complaint_rectified", now, complaint_id=q.id, by=by, note=cmd.note)
    return {"complaint_id": q.id, "status": r.RECTIFIED}


@handles("reply_complaint")
def reply_complaint(e: QueueEngine, cmd: c.ReplyComplaint, now: datetime) -> dict[str, Any]:
    q = _complaint(e, cmd.complaint_id)
    by, first = r.check_close(e, q, cmd.by)
    if first:  # the supervisor dealt with it themself: the reply stands for what was done
        e.emit("complaint_rectified", now, complaint_id=q.id, by=by, note=cmd.reply)
    e.emit("complaint_closed", now, complaint_id=q.id, by=by, reply=cmd.reply)
    on_time = q.due_ts is None or now.timestamp() <= q.due_ts
    return {"complaint_id": q.id, "on_time": on_time}


def overdue_due(e: QueueEngine, now: datetime) -> list[str]:
    """Complaints not closed by their due time and not yet marked. All are looked at: a hall's complaints are a
    few a month, and due times do not follow registration order (received_at may be earlier)."""
    now_ts = now.timestamp()
    return [q.id for q in e.state.complaints.values()
            if q.status != r.CLOSED and not q.overdue and q.due_ts is not None and q.due_ts <= now_ts]


def mark_overdue(e: QueueEngine, now: datetime) -> None:
    """Runs before every command (and the server's tick), like the consultations' deadline."""
    for cid in overdue_due(e, now):
        q = e.state.complaints[cid]
        e.emit("complaint_overdue", now, complaint_id=cid, owner=q.owner,
               due=datetime.fromtimestamp(q.due_ts or 0.0, e.tz).isoformat())


def open_complaints(st: HallState) -> list[Complaint]:
    """What the supervisor's 督办 list shows: not closed, overdue first, then by due time."""
    active = [q for q in st.complaints.values() if q.status != r.CLOSED]
    return sorted(active, key=lambda q: (not q.overdue, q.due_ts or 0.0, q.id))


# ---------------------------------------------------------------------- appliers


@applies("complaint_registered")
def complaint_registered(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.complaints[d["complaint_id"]] = Complaint(
        d["complaint_id"], d["channel"], d["subject_kind"], d["subject"], d["complainant"], d["phone"], d["text"],
        datetime.fromisoformat(d["received_at"]).timestamp(), datetime.fromisoformat(d["due"]).timestamp(),
        d["by"], d.get("ticket"))
    st.complaint_count += 1


@applies("complaint_assigned")
def complaint_assigned(st: HallState, ts: float, d: dict[str, Any]) -> None:
    r.assigned(st.complaints[d["complaint_id"]], d["owner"], d["due"])


@applies("complaint_rectified")
def complaint_rectified(st: HallState, ts: float, d: dict[str, Any]) -> None:
    r.rectified(st.complaints[d["complaint_id"]], d["by"], d["note"])


@applies("complaint_closed")
def complaint_closed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    q = st.complaints[d["complaint_id"]]
    r.closed(q, ts, d["by"])
    q.reply = d["reply"]


@applies("complaint_overdue")
def complaint_overdue(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.complaints[d["complaint_id"]].overdue = True
