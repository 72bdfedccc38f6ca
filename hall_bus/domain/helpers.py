"""Help requests (帮办): the first helper to claim one owns it (首问负责) until an explicit hand-over."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.domain import commands as c
from hall_bus.domain import state as s
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.staff import check_person
from hall_bus.domain.state import HallState, HelpRequest
from hall_bus.domain.tickets import emit_finished

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine


def _help(e: QueueEngine, help_id: str) -> HelpRequest:
    h = e.state.helps.get(help_id)
    if h is None:
        raise CommandRejected("unknown_help", f"no help request {help_id}")
    return h


def _owned(e: QueueEngine, help_id: str, helper: str | None) -> HelpRequest:
    helper = check_person(e, helper, "the helper")
    h = _help(e, help_id)
    if h.status != "claimed":
        raise CommandRejected("bad_state", f"{h.id} is {h.status}, not claimed")
    if h.helper != helper:
        raise CommandRejected("not_owner", f"{h.id} belongs to {h.helper}, not {helper}")
    return h


@handles("claim_help")
def claim_help(e: QueueEngine, cmd: c.ClaimHelp, now: datetime) -> dict[str, Any]:
    helper = check_person(e, cmd.helper, "the helper")
    h = _help(e, cmd.help_id)
    if h.status == "claimed":
        if h.helper == helper:
            return {"help_id": h.id, "helper": h.helper, "already": True}
        raise CommandRejected("help_taken", f"{h.id} is already taken by {h.helper} (首问负责)")
    if h.status != "open":
        raise CommandRejected("bad_state", f"{h.id} is {h.status}")
    e.emit("help_claimed", now, help_id=h.id, ticket=h.ticket, helper=helper)
    return {"help_id": h.id, "helper": helper}


@handles("handover_help")
def handover_help(e: QueueEngine, cmd: c.HandoverHelp, now: datetime) -> dict[str, Any]:
    h = _owned(e, cmd.help_id, cmd.from_helper)
    check_person(e, cmd.to_helper, "the helper taking over")
    if cmd.to_helper == h.helper:
        raise CommandRejected("bad_handover", "hand-over to the same helper")
    e.emit("help_handed_over", now, help_id=h.id, ticket=h.ticket, from_helper=h.helper,
           to_helper=cmd.to_helper, note=cmd.note)
    return {"help_id": h.id, "helper": cmd.to_helper}


@handles("finish_help")
def finish_help(e: QueueEngine, cmd: c.FinishHelp, now: datetime) -> dict[str, Any]:
    h = _owned(e, cmd.help_id, cmd.helper)
    t = e.state.tickets[h.ticket]
    e.emit("help_finished", now, help_id=h.id, ticket=h.ticket, helper=h.helper)
    if t.status == s.VISIT:  # a home visit ends when its helper says so; there is no counter
        emit_finished(e, t, None, now, "done", [], "")
    return {"help_id": h.id}


def escalate_due(e: QueueEngine, now: datetime) -> None:
    """Help requests nobody claimed in time are escalated: the greeter tablets put them on top and the supervisor
    sees them. In time is `help_escalate_minutes` after the request, or for a booked visit (上门办) its
    appointment. Runs before every command (and the server's `tick`), so it stops at the first walk-in request
    not yet due instead of walking every open one."""
    now_ts = now.timestamp()
    for help_id in due_for_escalation(e, now):
        h = e.state.helps[help_id]
        t = e.state.tickets[h.ticket]
        e.emit("help_escalated", now, help_id=h.id, ticket=t.id, number=t.number, group=h.group,
               waited_s=round(now_ts - h.requested_ts, 3))


def due_for_escalation(e: QueueEngine, now: datetime) -> list[str]:
    st = e.state
    if not st.unescalated and not st.unescalated_booked:
        return []
    now_ts = now.timestamp()
    limit = e.cfg.hall.help_escalate_minutes * 60
    due: list[str] = []
    for help_id in st.unescalated:
        if now_ts - st.helps[help_id].requested_ts < limit:
            break  # request order: the rest are younger
        due.append(help_id)
    for help_id in st.unescalated_booked:
        appt = st.tickets[st.helps[help_id].ticket].appointment_ts
        if appt is not None and now_ts >= appt:
            due.append(help_id)
    return due


@handles("cancel_help")
def cancel_help(e: QueueEngine, cmd: c.CancelHelp, now: datetime) -> dict[str, Any]:
    """The visitor needs no helper after all (or a greeter raised it by mistake); the ticket keeps its place."""
    by = check_person(e, cmd.by)
    h = _help(e, cmd.help_id)
    if h.status not in ("open", "claimed"):
        raise CommandRejected("bad_state", f"{h.id} is {h.status}; nothing was changed")
    if h.status == "claimed" and h.helper != by and e.state.staff:
        raise CommandRejected("not_owner", f"{h.id} belongs to {h.helper}; only they (or a hand-over) may "
                              "cancel it (首问负责)")
    e.emit("help_cancelled", now, help_id=h.id, ticket=h.ticket, by=by, reason=cmd.reason)
    return {"help_id": h.id, "status": "cancelled"}


@handles("tick")
def tick(e: QueueEngine, cmd: c.Tick, now: datetime) -> dict[str, Any]:
    """Nothing of its own: the day rollover and escalations run before every command, and a quiet hall still
    needs them, so the server sends this every few seconds."""
    return {"day": e.state.day}


# ---------------------------------------------------------------------- appliers


@applies("help_requested")
def help_requested(st: HallState, ts: float, d: dict[str, Any]) -> None:
    h = st.helps[d["help_id"]] = HelpRequest(id=d["help_id"], ticket=d["ticket"], group=d["group"], requested_ts=ts)
    st.tickets[d["ticket"]].help_id = h.id
    st.watch_help(h)


@applies("help_escalated")
def help_escalated(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.helps[d["help_id"]].escalated = True
    st.unwatch_help(d["help_id"])


@applies("help_cancelled")
def help_cancelled(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.helps[d["help_id"]].status = "cancelled"
    st.unwatch_help(d["help_id"])


@applies("help_claimed")
def help_claimed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    h = st.helps[d["help_id"]]
    h.status, h.helper = "claimed", d["helper"]
    h.owners.append(d["helper"])
    st.unwatch_help(h.id)
    t = st.tickets[h.ticket]
    if t.status == s.WAITING_HELPER:  # a ticket from an older ledger, held back until this claim
        if t.counter_queue:
            t.status = s.WAITING
            st.enqueue(t)
        else:
            t.status = s.VISIT


@applies("help_handed_over")
def help_handed_over(st: HallState, ts: float, d: dict[str, Any]) -> None:
    h = st.helps[d["help_id"]]
    h.helper = d["to_helper"]
    h.owners.append(d["to_helper"])


@applies("help_finished")
def help_finished(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.helps[d["help_id"]].status = "finished"
