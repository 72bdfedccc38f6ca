"""整改 (rectification): the one lifecycle a complaint and a bad rating's follow-up share.

    open ──assign──▶ assigned ──rectify──▶ rectified ──close──▶ closed
      └──────────────────┴───────close (the supervisor's words stand for both)──┘

- assign: a 服务督办员 gives it an owner and a due date (the end of a given day, else the record's own);
  the first owner keeps it (two tablets tapping 我来回访 at once must not both own it);
- rectify: the owner (or a supervisor) writes what was done;
- close: only a supervisor, with the verification or the reply to the citizen. Closing one not yet rectified
  is the supervisor having done it themself: the handler records the rectification first, in their name, so
  every closed record in the ledger went through every state.

The rules live here once; feedback.py and complaints.py only find their record and emit their own events
(the event names stay per kind: the 台账 and old ledgers know `followup_assigned`/`followup_closed`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Protocol

from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.staff import check_person
from hall_bus.domain.workdays import add_working_days

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine

OPEN, ASSIGNED, RECTIFIED, CLOSED = "open", "assigned", "rectified", "closed"
STATUSES = (OPEN, ASSIGNED, RECTIFIED, CLOSED)
STATUS_NAMES = {OPEN: "待分派", ASSIGNED: "整改中", RECTIFIED: "已整改", CLOSED: "已办结"}
SUPERVISOR = "supervisor"
DAY_END = time(17, 30)  # a due date given as a day means the end of that working day


class Rectifiable(Protocol):
    id: str
    status: str
    owner: str | None
    due_ts: float | None
    done: str
    done_by: str
    closed_by: str
    closed_ts: float | None


def is_active(rec: Rectifiable) -> bool:
    """Still someone's work: not closed."""
    return rec.status != CLOSED


def has_owner(rec: Rectifiable) -> bool:
    """Assigned: a ledger from before the explicit states kept a follow-up `open` with its owner set."""
    return rec.status == ASSIGNED or (rec.status == OPEN and rec.owner is not None)


def is_supervisor(e: QueueEngine, who: str) -> bool:
    """A hall without a roster (a scenario, an old ledger) takes anyone's word, as check_person does."""
    if not e.state.staff:
        return True
    m = e.state.staff.get(who)
    return m is not None and SUPERVISOR in m.duties


def due_after(e: QueueEngine, moment: datetime, days: int) -> str:
    return add_working_days(moment.astimezone(e.tz), days, e.cfg.calendar).isoformat()


def check_assign(e: QueueEngine, rec: Rectifiable, owner: str, given: date | None, default_due: str,
                 taken_code: str) -> str:
    """The due time the assignment records; refuses a record past assignment or owned by someone else."""
    check_person(e, owner, "who handles it")
    if rec.status in (RECTIFIED, CLOSED):
        raise CommandRejected("bad_state", f"{rec.id} is already {rec.status}")
    if rec.owner is not None and rec.owner != owner:
        raise CommandRejected(taken_code, f"{rec.id} is handled by {rec.owner}")
    if given is not None:
        return datetime.combine(given, DAY_END, e.tz).isoformat()
    if rec.due_ts is not None:
        return datetime.fromtimestamp(rec.due_ts, e.tz).isoformat()
    return default_due


def check_rectify(e: QueueEngine, rec: Rectifiable, by: str | None) -> str:
    who = check_person(e, by)
    if rec.status in (RECTIFIED, CLOSED):
        raise CommandRejected("bad_state", f"{rec.id} is already {rec.status}")
    if not has_owner(rec):
        raise CommandRejected("bad_state", f"{rec.id} has no owner yet: a supervisor assigns it first")
    if who != rec.owner and not is_supervisor(e, who):
        raise CommandRejected("not_owner", f"{rec.id} is handled by {rec.owner}, not {who}")
    return who


def check_close(e: QueueEngine, rec: Rectifiable, by: str | None) -> tuple[str, bool]:
    """(who closes, whether the rectification must be recorded first). A hall without a roster (a scenario, an
    old ledger) may leave `by` out, as close_followup always could there."""
    if rec.status == CLOSED:
        raise CommandRejected("bad_state", f"{rec.id} is already closed")
    if not by and not e.state.staff:
        return "", rec.status != RECTIFIED
    who = check_person(e, by)
    if not is_supervisor(e, who):
        raise CommandRejected("not_supervisor", f"only a 服务督办员 closes {rec.id}; {who} is not one")
    return who, rec.status != RECTIFIED


# ---------------------------------------------------------------------- for the appliers


def assigned(rec: Rectifiable, owner: str, due: str) -> None:
    rec.owner, rec.due_ts = owner, datetime.fromisoformat(due).timestamp()
    if rec.status == OPEN:
        rec.status = ASSIGNED


def rectified(rec: Rectifiable, by: str, note: str) -> None:
    rec.status, rec.done, rec.done_by = RECTIFIED, note, by


def closed(rec: Rectifiable, ts: float, by: str | None) -> None:
    rec.status, rec.closed_by, rec.closed_ts = CLOSED, by or "", ts
