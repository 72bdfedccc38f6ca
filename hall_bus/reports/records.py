"""The 台账's records that are not ticket cases: one-time notices, delegation agreements and complaints, with or
without a ticket. A greeter's tablet records a delegation or a notice for a visitor who never took a ticket; the
case rows cannot hold those, so they are kept here, read in the same pass as the cases.

Like follow-ups and consultations they are few (a handful a day) and kept whole: a delegation completes and a
complaint is replied to days after the range, and the report says where they stand at the newest event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from hall_bus.clock import hall_day

# What this module reads. In the range: every type; after it, what becomes of the records already read.
RECORD_STATUS_TYPES = ("delegation_completed", "delegation_cancelled", "complaint_assigned", "complaint_rectified",
                       "complaint_closed", "complaint_overdue", "followup_rectified")
RECORD_MAIN_TYPES = ("notice_issued", "delegation_signed", "complaint_registered", *RECORD_STATUS_TYPES)


@dataclass(slots=True)
class Notice:
    id: str
    day: str
    issued: str  # ISO, as written
    service: str
    items: list[str]
    by: str
    ticket: str
    number: str


@dataclass(slots=True)
class Delegation:
    id: str
    day: str
    signed: str
    helper: str
    principal: str
    services: list[str]
    pages: int
    ticket: str
    status: str = "signed"  # signed | completed | cancelled
    ended: str = ""
    ended_by: str = ""
    note: str = ""


@dataclass(slots=True)
class Complaint:
    id: str
    day: str  # the hall day it was registered
    received: str
    channel: str
    subject_kind: str
    subject: str
    complainant: str
    phone: str
    text: str
    due: str
    registered_by: str
    ticket: str
    owner: str = ""
    done: str = ""
    done_by: str = ""
    closed: str = ""
    closed_by: str = ""
    reply: str = ""
    overdue: bool = False  # a complaint_overdue event was written for it

    @property
    def names(self) -> list[str]:
        return [self.complainant] if self.complainant else []


def complaint_on_time(q: Complaint) -> bool:
    return bool(q.closed) and (not q.due or datetime.fromisoformat(q.closed) <= datetime.fromisoformat(q.due))


def complaint_is_overdue(q: Complaint, as_of: datetime) -> bool:
    """Went overdue (the engine said so), or is open past its due time, or was closed after it."""
    if q.overdue:
        return True
    if not q.due:
        return False
    return (datetime.fromisoformat(q.closed) if q.closed else as_of) > datetime.fromisoformat(q.due)


@dataclass(slots=True)
class ComplaintTally:
    received: int = 0
    closed: int = 0
    on_time: int = 0
    open: int = 0
    overdue: int = 0
    decided: int = 0  # closed, or open past its due time: whether it was handled in time is a fact

    def add(self, q: Complaint, as_of: datetime) -> None:
        late = complaint_is_overdue(q, as_of)
        self.received += 1
        self.closed += bool(q.closed)
        self.on_time += complaint_on_time(q)
        self.open += not q.closed
        self.overdue += late
        self.decided += bool(q.closed) or late

    @property
    def rate(self) -> float | None:
        """及时处理率: closed by the due time, of those whose outcome is known (an open one not yet due is not)."""
        return self.on_time / self.decided if self.decided else None


@dataclass
class ComplaintFigures:
    total: ComplaintTally = field(default_factory=ComplaintTally)
    channel: dict[str, ComplaintTally] = field(default_factory=dict)
    subject: dict[tuple[str, str], ComplaintTally] = field(default_factory=dict)


def complaint_figures(complaints: Iterable[Complaint], as_of: datetime) -> ComplaintFigures:
    out = ComplaintFigures()
    for q in complaints:
        out.total.add(q, as_of)
        out.channel.setdefault(q.channel, ComplaintTally()).add(q, as_of)
        out.subject.setdefault((q.subject_kind, q.subject), ComplaintTally()).add(q, as_of)
    return out


def timely_rate(consultations: Iterable[Any], complaints: ComplaintTally, as_of: datetime) -> float | None:
    """咨询、投诉及时处理率: consultations answered in time and complaints closed in time, of those whose outcome is
    known (answered, closed, or past the deadline)."""
    from hall_bus.reports.summary import consultation_is_overdue

    timely = decided = 0
    for q in consultations:
        late = consultation_is_overdue(q, as_of)
        decided += bool(q.answered) or late
        timely += bool(q.answered) and not late
    timely += complaints.on_time
    decided += complaints.decided
    return timely / decided if decided else None


class RecordBook:
    """The records of hall days `first`..`last` (ISO), filled by the event handlers `handlers()` returns."""

    def __init__(self, tz: ZoneInfo, rollover: time, first: str, last: str, who: Callable[[str], str]) -> None:
        self.tz, self.rollover = tz, rollover
        self.first, self.last = first, last
        self.who = who
        self.notices: dict[str, Notice] = {}
        self.delegations: dict[str, Delegation] = {}
        self.complaints: dict[str, Complaint] = {}
        self.followup_done: dict[str, tuple[str, str]] = {}  # follow-up id → (who, what was done)

    def _day(self, at: str) -> str | None:
        day = hall_day(datetime.fromisoformat(at), self.tz, self.rollover).isoformat()
        return day if self.first <= day <= self.last else None

    def handlers(self) -> dict[str, Callable[[int, str, dict[str, Any]], None]]:
        who = self.who

        def notice(seq: int, at: str, d: dict[str, Any]) -> None:
            if (day := self._day(at)) is not None:
                self.notices[d["notice_id"]] = Notice(d["notice_id"], day, at, d["service"], list(d["items"]),
                                                      who(d["by"]), d.get("ticket") or "", d.get("number") or "")

        def delegation(seq: int, at: str, d: dict[str, Any]) -> None:
            if (day := self._day(at)) is not None:
                self.delegations[d["delegation_id"]] = Delegation(
                    d["delegation_id"], day, at, who(d["helper"]), d["principal"], list(d["services"]),
                    len(d["pages"]), d.get("ticket") or "")

        def delegation_ended(status: str) -> Callable[[int, str, dict[str, Any]], None]:
            def ended(seq: int, at: str, d: dict[str, Any]) -> None:
                if (dl := self.delegations.get(d["delegation_id"])) is not None:
                    dl.status, dl.ended, dl.ended_by, dl.note = status, at, who(d["by"]), d.get("note") or ""
            return ended

        def registered(seq: int, at: str, d: dict[str, Any]) -> None:
            if (day := self._day(at)) is not None:
                self.complaints[d["complaint_id"]] = Complaint(
                    d["complaint_id"], day, d["received_at"], d["channel"], d["subject_kind"], d["subject"],
                    d.get("complainant") or "", d.get("phone") or "", d["text"], d["due"], who(d["by"]),
                    d.get("ticket") or "")

        def assigned(seq: int, at: str, d: dict[str, Any]) -> None:
            if (q := self.complaints.get(d["complaint_id"])) is not None:
                q.owner, q.due = who(d["owner"]), d.get("due") or q.due

        def rectified(seq: int, at: str, d: dict[str, Any]) -> None:
            if (q := self.complaints.get(d["complaint_id"])) is not None:
                q.done, q.done_by = d["note"], who(d["by"]) if d["by"] else ""

        def closed(seq: int, at: str, d: dict[str, Any]) -> None:
            if (q := self.complaints.get(d["complaint_id"])) is not None:
                q.closed, q.closed_by, q.reply = at, who(d["by"]) if d["by"] else "", d["reply"]

        def overdue(seq: int, at: str, d: dict[str, Any]) -> None:
            if (q := self.complaints.get(d["complaint_id"])) is not None:
                q.overdue = True

        def followup_rectified(seq: int, at: str, d: dict[str, Any]) -> None:
            self.followup_done[d["followup_id"]] = (who(d["by"]) if d["by"] else "", d["note"])

        return {"notice_issued": notice, "delegation_signed": delegation,
                "delegation_completed": delegation_ended("completed"),
                "delegation_cancelled": delegation_ended("cancelled"), "complaint_registered": registered,
                "complaint_assigned": assigned, "complaint_rectified": rectified, "complaint_closed": closed,
                "complaint_overdue": overdue, "followup_rectified": followup_rectified}
