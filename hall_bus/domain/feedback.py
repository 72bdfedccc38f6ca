"""Ratings (一事一评, GB/T 39734) and the follow-ups a bad rating opens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.domain import commands as c
from hall_bus.domain import state as s
from hall_bus.domain.cases import followup_due
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.state import FollowUp, HallState

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine


@handles("rate")
def rate(e: QueueEngine, cmd: c.Rate, now: datetime) -> dict[str, Any]:
    t = e.ticket(cmd.ticket)
    if t.status != s.FINISHED:
        raise CommandRejected("not_finished", f"{t.number} is {t.status}; rate a case when it is finished")
    if t.rating is not None:
        raise CommandRejected("already_rated", f"{t.number} was already rated {t.rating} (一事一评)")
    level = cmd.level_name
    e.emit("rating_recorded", now, ticket=t.id, number=t.number, level=level, service=t.service,
           counter=t.counter, comment=cmd.comment)
    result: dict[str, Any] = {"ticket": t.id, "level": level}
    if level in c.FOLLOW_UP_LEVELS:
        fid = f"FU-{e.state.followup_count + 1:06d}"
        e.emit("followup_opened", now, followup_id=fid, ticket=t.id, number=t.number, level=level,
               service=t.service, counter=t.counter, comment=cmd.comment, due=followup_due(e, now))
        result["followup_id"] = fid
    return result


@handles("close_followup")
def close_followup(e: QueueEngine, cmd: c.CloseFollowUp, now: datetime) -> dict[str, Any]:
    f = e.state.followups.get(cmd.followup_id)
    if f is None:
        raise CommandRejected("unknown_followup", f"no follow-up {cmd.followup_id}")
    if f.status != "open":
        raise CommandRejected("bad_state", f"{f.id} is already {f.status}")
    e.emit("followup_closed", now, followup_id=f.id, ticket=f.ticket, note=cmd.note, by=cmd.by)
    return {"followup_id": f.id}


# ---------------------------------------------------------------------- appliers


@applies("rating_recorded")
def rating_recorded(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.tickets[d["ticket"]].rating = d["level"]


@applies("followup_opened")
def followup_opened(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.followup_count += 1
    due = d.get("due")  # older ledgers: no due date
    st.followups[d["followup_id"]] = FollowUp(id=d["followup_id"], ticket=d["ticket"], level=d["level"],
                                              comment=d["comment"], case=d.get("case"),
                                              due_ts=datetime.fromisoformat(due).timestamp() if due else None)


@applies("followup_closed")
def followup_closed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    f = st.followups[d["followup_id"]]
    f.status, f.note = "closed", d["note"]
