"""The helpers' case records the service standard asks for (基层政务服务事项帮办代办服务规范), kept in the ledger:

- consultations (咨询登记): who asked what, and the answer; one not answered at once is due within
  `consult_answer_days` working days and turns overdue (an event the supervisor and the tablets see) once;
- one-time notices (一次性告知): every missing material of a service told once, in writing, from the service's
  materials list in the config plus free items;
- delegation agreements (委托代办协议): signed before a helper acts for a visitor, with the signed pages photographed
  (their hashes in the event; the images beside the ledger), completed or cancelled with who and why.

Follow-ups of bad ratings get their due date here when they open; their 整改 steps are in feedback.py. Names
and contacts are in the events because the 台账 needs them; logs and printouts mask them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.domain import commands as c
from hall_bus.domain.printing import queue_slip
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.staff import check_person
from hall_bus.domain.state import Consultation, Delegation, HallState
from hall_bus.domain.workdays import add_working_days

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine


def notice_text(service: str, items: list[str]) -> str:
    """The slip's words: every item, numbered, once — what 一次性告知 promises the visitor."""
    lines = [f"一次性告知：办理「{service}」还需要以下材料，请备齐后再来（不必重新排队的，请找帮办员）："]
    lines += [f"{i}. {item}" for i, item in enumerate(items, 1)]
    return "\n".join(lines)


# ---------------------------------------------------------------------- consultations


def _consultation(e: QueueEngine, cid: str) -> Consultation:
    found = e.state.consultations.get(cid)
    if found is None:
        raise CommandRejected("unknown_consultation", f"no consultation {cid}")
    return found


@handles("open_consultation")
def open_consultation(e: QueueEngine, cmd: c.OpenConsultation, now: datetime) -> dict[str, Any]:
    helper = check_person(e, cmd.helper, "the helper")
    if cmd.service is not None:
        e.check_service(cmd.service)
    ticket = e.ticket(cmd.ticket).id if cmd.ticket is not None else None  # the id: numbers repeat each day
    cid = f"C-{e.state.consultation_count + 1:06d}"
    due = add_working_days(now.astimezone(e.tz), e.cfg.calendar.consult_answer_days, e.cfg.calendar)
    e.emit("consultation_opened", now, consultation_id=cid, helper=helper, name=cmd.name, contact=cmd.contact,
           question=cmd.question, service=cmd.service, ticket=ticket, due=due.isoformat())
    if cmd.answer:
        e.emit("consultation_answered", now, consultation_id=cid, by=helper, answer=cmd.answer)
    return {"consultation_id": cid, "due": due.isoformat(), "answered": bool(cmd.answer)}


@handles("answer_consultation")
def answer_consultation(e: QueueEngine, cmd: c.AnswerConsultation, now: datetime) -> dict[str, Any]:
    by = check_person(e, cmd.by)
    q = _consultation(e, cmd.consultation_id)
    if q.status == "answered":
        raise CommandRejected("bad_state", f"{q.id} was already answered by {q.answered_by}")
    e.emit("consultation_answered", now, consultation_id=q.id, by=by, answer=cmd.answer)
    return {"consultation_id": q.id, "late": now.timestamp() > q.due_ts}


@handles("refer_consultation")
def refer_consultation(e: QueueEngine, cmd: c.ReferConsultation, now: datetime) -> dict[str, Any]:
    by = check_person(e, cmd.by)
    q = _consultation(e, cmd.consultation_id)
    if q.status == "answered":
        raise CommandRejected("bad_state", f"{q.id} was already answered")
    e.emit("consultation_referred", now, consultation_id=q.id, by=by, department=cmd.department,
           note=cmd.note)
    return {"consultation_id": q.id, "due": datetime.fromtimestamp(q.due_ts, e.tz).isoformat()}


def overdue_due(e: QueueEngine, now: datetime) -> list[str]:
    """Unanswered consultations past their deadline and not yet marked. All are looked at: deadlines do not keep
    the order of asking (Friday 16:00 is due Monday 16:00, Saturday 10:00 on Monday 10:00), and the unanswered
    ones of a hall are a handful, not thousands."""
    now_ts = now.timestamp()
    return [cid for cid in e.state.unanswered if e.state.consultations[cid].due_ts <= now_ts]


def mark_overdue(e: QueueEngine, now: datetime) -> None:
    """Runs before every command (and the server's tick), like the escalation of unclaimed help."""
    for cid in overdue_due(e, now):
        q = e.state.consultations[cid]
        e.emit("consultation_overdue", now, consultation_id=cid, helper=q.helper,
               due=datetime.fromtimestamp(q.due_ts, e.tz).isoformat())


# ---------------------------------------------------------------------- one-time notices


@handles("issue_notice")
def issue_notice(e: QueueEngine, cmd: c.IssueNotice, now: datetime) -> dict[str, Any]:
    by = check_person(e, cmd.by)
    e.check_service(cmd.service)
    ticket = e.ticket(cmd.ticket) if cmd.ticket is not None else None
    if ticket is not None and ticket.service != cmd.service:
        raise CommandRejected("bad_notice", f"{ticket.number} is for {ticket.service}, not {cmd.service}")
    listed = e.cfg.services_by_name[cmd.service].materials
    items = list(dict.fromkeys(m.strip() for m in cmd.missing if m.strip()))  # each item told once
    if not items:
        raise CommandRejected("bad_notice", "a notice needs at least one missing material")
    nid = f"N-{e.state.notice_count + 1:06d}"
    text = notice_text(cmd.service, items)
    if cmd.print_at is not None and cmd.print_at not in {n.id for n in e.cfg.nodes if n.role == "kiosk"}:
        raise CommandRejected("bad_notice", f"no kiosk {cmd.print_at} to print the slip")
    e.emit("notice_issued", now, notice_id=nid, service=cmd.service, items=items,
           free_items=[i for i in items if i not in listed], ticket=ticket.id if ticket else None,
           number=ticket.number if ticket else None, by=by, text=text,
           print_at=cmd.print_at)
    if cmd.print_at is not None:  # the slip is owed until that kiosk says it printed or could not
        member = e.state.staff.get(by)
        queue_slip(e, nid, cmd.print_at, {
            "notice_id": nid, "service": cmd.service, "items": items, "by": member.name if member else by,
            "number": ticket.number if ticket else "", "issued_at": now.isoformat(timespec="seconds")}, now)
    return {"notice_id": nid, "items": items, "text": text}


# ---------------------------------------------------------------------- delegation agreements


@handles("record_delegation")
def record_delegation(e: QueueEngine, cmd: c.RecordDelegation, now: datetime) -> dict[str, Any]:
    helper = check_person(e, cmd.helper, "the helper")
    for service in cmd.services:
        e.check_service(service)
    ticket = e.ticket(cmd.ticket).id if cmd.ticket is not None else None
    did = f"D-{e.state.delegation_count + 1:06d}"
    e.emit("delegation_signed", now, delegation_id=did, helper=helper, principal=cmd.principal,
           services=list(cmd.services), pages=[p.model_dump() for p in cmd.pages], ticket=ticket)
    return {"delegation_id": did, "pages": len(cmd.pages)}


@handles("complete_delegation", "cancel_delegation")
def close_delegation(e: QueueEngine, cmd: c.CloseDelegation, now: datetime) -> dict[str, Any]:
    by = check_person(e, cmd.by)
    d = e.state.delegations.get(cmd.delegation_id)
    if d is None:
        raise CommandRejected("unknown_delegation", f"no delegation {cmd.delegation_id}")
    if d.status != "signed":
        raise CommandRejected("bad_state", f"{d.id} is already {d.status}")
    if cmd.op == "cancel_delegation" and not cmd.note:
        raise CommandRejected("bad_state", "say why the delegation is cancelled (note)")
    if cmd.op == "complete_delegation":
        e.emit("delegation_completed", now, delegation_id=d.id, by=by, note=cmd.note)
        return {"delegation_id": d.id, "status": "completed"}
    e.emit("delegation_cancelled", now, delegation_id=d.id, by=by, note=cmd.note)
    return {"delegation_id": d.id, "status": "cancelled"}


# ---------------------------------------------------------------------- follow-ups


def followup_due(e: QueueEngine, now: datetime) -> str:
    return add_working_days(now.astimezone(e.tz), e.cfg.calendar.followup_days, e.cfg.calendar).isoformat()


# ---------------------------------------------------------------------- appliers


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@applies("consultation_opened")
def consultation_opened(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.consultations[d["consultation_id"]] = Consultation(
        d["consultation_id"], d["helper"], d["name"], d["contact"], d["question"], d["service"], d["ticket"], ts,
        _ts(d["due"]))
    st.unanswered[d["consultation_id"]] = None
    st.consultation_count += 1


@applies("consultation_answered")
def consultation_answered(st: HallState, ts: float, d: dict[str, Any]) -> None:
    q = st.consultations[d["consultation_id"]]
    q.status, q.answer, q.answered_by = "answered", d["answer"], d["by"]
    st.unanswered.pop(q.id, None)


@applies("consultation_referred")
def consultation_referred(st: HallState, ts: float, d: dict[str, Any]) -> None:
    q = st.consultations[d["consultation_id"]]
    q.status, q.referred_to = "referred", d["department"]


@applies("consultation_overdue")
def consultation_overdue(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.consultations[d["consultation_id"]].overdue = True
    st.unanswered.pop(d["consultation_id"], None)


@applies("notice_issued")
def notice_issued(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.notice_count += 1


@applies("delegation_signed")
def delegation_signed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.delegations[d["delegation_id"]] = Delegation(d["delegation_id"], d["helper"], d["principal"],
                                                    list(d["services"]), [dict(p) for p in d["pages"]],
                                                    d["ticket"], ts)
    st.delegation_count += 1


@applies("delegation_completed")
def delegation_completed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    dl = st.delegations[d["delegation_id"]]
    dl.status, dl.note = "completed", d["note"]


@applies("delegation_cancelled")
def delegation_cancelled(st: HallState, ts: float, d: dict[str, Any]) -> None:
    dl = st.delegations[d["delegation_id"]]
    dl.status, dl.note = "cancelled", d["note"]
