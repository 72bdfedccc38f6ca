"""Ratings (一事一评, GB/T 39734) and the follow-ups a bad rating opens, taken through the 整改 states
(rectification.py) a complaint goes through too: assigned by the supervisor, rectified by its owner, closed by
the supervisor with the verification."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.domain import commands as c
from hall_bus.domain import rectification as r
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


# ---------------------------------------------------------------------- 整改 of a follow-up


def _followup(e: QueueEngine, fid: str) -> FollowUp:
    f = e.state.followups.get(fid)
    if f is None:
        raise CommandRejected("unknown_followup", f"no follow-up {fid}")
    return f


@handles("assign_followup")
def assign_followup(e: QueueEngine, cmd: c.AssignFollowUp, now: datetime) -> dict[str, Any]:
    f = _followup(e, cmd.followup_id)
    due = r.check_assign(e, f, cmd.owner, cmd.due, followup_due(e, now), "followup_taken")
    e.emit("followup_assigned", now, followup_id=f.id, owner=cmd.owner, due=due)
    return {"followup_id": f.id, "owner": cmd.owner, "due": due}


@handles("rectify_followup")
def rectify_followup(e: QueueEngine, cmd: c.RectifyFollowUp, now: datetime) -> dict[str, Any]:
    f = _followup(e, cmd.followup_id)
    by = r.check_rectify(e, f, cmd.by)
    e.emit("followup_rectified", now, followup_id=f.id, ticket=f.ticket, by=by, note=cmd.note)
    return {"followup_id": f.id, "status": r.RECTIFIED}


@handles("close_followup")
def close_followup(e: QueueEngine, cmd: c.CloseFollowUp, now: datetime) -> dict[str, Any]:
    f = _followup(e, cmd.followup_id)
    by, first = r.check_close(e, f, cmd.by)
    if first:  # the supervisor followed it up themself: their words stand for what was done
        e.emit("followup_rectified", now, followup_id=f.id, ticket=f.ticket, by=by, note=cmd.note)
    e.emit("followup_closed", now, followup_id=f.id, ticket=f.ticket, note=cmd.note, by=by)
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


@applies("followup_assigned")
def followup_assigned(st: HallState, ts: float, d: dict[str, Any]) -> None:
    r.assigned(st.followups[d["followup_id"]], d["owner"], d["due"])


@applies("followup_rectified")
def followup_rectified(st: HallState, ts: float, d: dict[str, Any]) -> None:
    r.rectified(st.followups[d["followup_id"]], d["by"], d["note"])


@applies("followup_closed")
def followup_closed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    f = st.followups[d["followup_id"]]
    r.closed(f, ts, d.get("by"))
    f.note = d["note"]
