"""Help requests (帮办): the first helper to claim one owns it (首问负责) until an explicit hand-over."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.domain import commands as c
from hall_bus.domain import state as s
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.state import HallState, HelpRequest
from hall_bus.domain.tickets import emit_finished

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine


def _help(e: QueueEngine, help_id: str) -> HelpRequest:
    h = e.state.helps.get(help_id)
    if h is None:
        raise CommandRejected("unknown_help", f"no help request {help_id}")
    return h


def _owned(e: QueueEngine, help_id: str, helper: str) -> HelpRequest:
    h = _help(e, help_id)
    if h.status != "claimed":
        raise CommandRejected("bad_state", f"{h.id} is {h.status}, not claimed")
    if h.helper != helper:
        raise CommandRejected("not_owner", f"{h.id} belongs to {h.helper}, not {helper}")
    return h


@handles("claim_help")
def claim_help(e: QueueEngine, cmd: c.ClaimHelp, now: datetime) -> dict[str, Any]:
    h = _help(e, cmd.help_id)
    if h.status == "claimed":
        if h.helper == cmd.helper:
            return {"help_id": h.id, "helper": h.helper, "already": True}
        raise CommandRejected("help_taken", f"{h.id} is already taken by {h.helper} (首问负责)")
    if h.status != "open":
        raise CommandRejected("bad_state", f"{h.id} is {h.status}")
    e.emit("help_claimed", now, help_id=h.id, ticket=h.ticket, helper=cmd.helper)
    return {"help_id": h.id, "helper": cmd.helper}


@handles("handover_help")
def handover_help(e: QueueEngine, cmd: c.HandoverHelp, now: datetime) -> dict[str, Any]:
    h = _owned(e, cmd.help_id, cmd.from_helper)
    if cmd.to_helper == cmd.from_helper:
        raise CommandRejected("bad_handover", "hand-over to the same helper")
    e.emit("help_handed_over", now, help_id=h.id, ticket=h.ticket, from_helper=cmd.from_helper,
           to_helper=cmd.to_helper, note=cmd.note)
    return {"help_id": h.id, "helper": cmd.to_helper}


@handles("finish_help")
def finish_help(e: QueueEngine, cmd: c.FinishHelp, now: datetime) -> dict[str, Any]:
    h = _owned(e, cmd.help_id, cmd.helper)
    t = e.state.tickets[h.ticket]
    e.emit("help_finished", now, help_id=h.id, ticket=h.ticket, helper=cmd.helper)
    if t.status == s.VISIT:  # a home visit ends when its helper says so; there is no counter
        emit_finished(e, t, None, now, "done", [], "")
    return {"help_id": h.id}


# ---------------------------------------------------------------------- appliers


@applies("help_requested")
def help_requested(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.helps[d["help_id"]] = HelpRequest(id=d["help_id"], ticket=d["ticket"], group=d["group"])
    st.tickets[d["ticket"]].help_id = d["help_id"]


@applies("help_claimed")
def help_claimed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    h = st.helps[d["help_id"]]
    h.status, h.helper = "claimed", d["helper"]
    h.owners.append(d["helper"])
    t = st.tickets[h.ticket]
    if t.status == s.WAITING_HELPER:
        if t.counter_queue:  # decided when the ticket was issued, not by today's configuration
            t.status = s.WAITING
            st.waiting[t.id] = None
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
