"""The hall's state as the queue engine sees it; rebuilt only by applying events, saved whole in snapshots.

Plain dataclasses, so a snapshot is `to_dict()` and replay equality is a dict comparison. Two views are derived
and never saved: the queue index (queue_index.py) and the open help requests not yet escalated, oldest first.
Both are rebuilt when a state is loaded, and kept in step by `enqueue`/`dequeue` and the help appliers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hall_bus.domain.queue_index import QueueIndex

# Ticket statuses. A ticket is "open" while it can still be called or served.
WAITING_HELPER = "waiting_helper"  # before 2026-11: an assistance ticket held back until a helper claimed it
WAITING = "waiting"
CALLED = "called"
SERVING = "serving"
PARKED = "parked"
NO_SHOW = "no_show"
VISIT = "visit"  # home visit: served at the visitor's place, never queued at a counter
FINISHED = "finished"
EXPIRED = "expired"
OPEN_STATUSES = frozenset({WAITING_HELPER, WAITING, CALLED, SERVING, PARKED, NO_SHOW, VISIT})
STATE_FORMAT = 3  # bump when a snapshot of the old layout would load wrongly


@dataclass(slots=True)
class Ticket:
    id: str
    number: str
    day: str
    service: str
    group: str
    zone: str | None
    green: bool
    seated: bool
    issued_ts: float
    queue_ts: float
    status: str
    appointment_ts: float | None = None
    appointment_ref: str | None = None  # the booking's reference: one ticket per booking
    front: bool = False
    counter: int | None = None
    target_counter: int | None = None
    recalls: int = 0
    called_ts: float | None = None  # first call: waits are measured to it
    last_called_ts: float | None = None  # latest call: service time without `start` is measured from it
    started_ts: float | None = None
    finished_ts: float | None = None
    outcome: str | None = None
    help_id: str | None = None
    rating: str | None = None
    age: int | None = None
    counter_queue: bool = True  # from ticket_issued: does it queue at a counter at all (not a home visit)?
    priority: int = 0  # from the group at issue: higher is called earlier among queued tickets
    routes: list[str] = field(default_factory=list)  # where it may be called ("dept", an assistance zone id)
    # 延时/错时服务: the extended session it was served in (issued in, or called in, the call's if both), from
    # ticket_issued / ticket_called; None for the regular hours. A default, so older snapshots load unchanged.
    session: str | None = None
    session_kind: str | None = None
    token: str = ""  # the ticket QR's proof for the phone page (booking.ticket_token)


@dataclass(slots=True)
class CounterState:
    number: int
    status: str = "closed"  # closed | open | paused
    signed_in: bool = False  # opened at least once this hall day: only the first call signs a window in
    current: str | None = None
    parked: list[str] = field(default_factory=list)


@dataclass(slots=True)
class HelpRequest:
    id: str
    ticket: str
    group: str
    status: str = "open"  # open | claimed | finished | cancelled | lapsed (case ended unclaimed) | expired
    helper: str | None = None
    owners: list[str] = field(default_factory=list)
    requested_ts: float = 0.0
    escalated: bool = False


@dataclass(slots=True)
class FollowUp:
    id: str
    ticket: str
    level: str
    comment: str = ""
    status: str = "open"  # the 整改 states (rectification.py): open | assigned | rectified | closed
    note: str = ""  # the supervisor's verification when closing
    owner: str | None = None  # who follows it up (assigned by a greeter or the supervisor)
    due_ts: float | None = None  # `followup_days` working days after the rating
    case: str | None = None  # the 办件 whose rating opened it (a case's rating, not a visit's)
    done: str = ""  # what was done (整改情况)
    done_by: str = ""
    closed_by: str = ""
    closed_ts: float | None = None


@dataclass(slots=True)
class Consultation:
    """咨询登记: a question asked at the hall; one not answered at once is due within a working day."""

    id: str
    helper: str  # 首问负责: who took the question owns it
    name: str
    contact: str
    question: str
    service: str | None
    ticket: str | None
    opened_ts: float
    due_ts: float
    status: str = "open"  # open | referred | answered
    answer: str = ""
    answered_by: str = ""
    referred_to: str = ""
    overdue: bool = False


@dataclass(slots=True)
class Delegation:
    """委托代办协议: a helper acts for a visitor, for these services, on the strength of these photographed pages."""

    id: str
    helper: str
    principal: str
    services: list[str]
    pages: list[dict[str, str]]  # {"sha256", "file"}: the camera pages stored beside the ledger
    ticket: str | None
    signed_ts: float
    status: str = "signed"  # signed | completed | cancelled
    note: str = ""


# ---------------------------------------------------------------------- complaints (投诉): complaints.py


@dataclass(slots=True)
class Complaint:
    """投诉: one complaint from any channel, about a window, a person or a service, through the 整改 states
    (rectification.py) to the reply to the citizen."""

    id: str
    channel: str  # window | hotline (12345) | mailbox (局长信箱) | box (意见箱) | online
    subject_kind: str  # window | staff | service
    subject: str
    complainant: str  # personal data: masked on the bus and on paper
    phone: str
    text: str
    received_ts: float
    due_ts: float | None  # `complaint_days` working days after it was received
    registered_by: str
    ticket: str | None = None
    status: str = "open"  # open | assigned | rectified | closed
    owner: str | None = None
    done: str = ""
    done_by: str = ""
    reply: str = ""
    closed_by: str = ""
    closed_ts: float | None = None
    overdue: bool = False  # a complaint_overdue event was written for it


@dataclass(slots=True)
class PrintJob:
    """Paper a kiosk owes a visitor (a notice, receipt or result slip), kept until the kiosk says it printed or
    could not."""

    id: str
    kiosk: str
    kind: str  # notice | receipt | result (printing.PAPER_KINDS)
    slip: dict[str, Any]  # what goes on the paper, masked: a notice's notice_id, service, items, by, number,
    # issued_at; a receipt's or result's case, title, lines, qr, at
    queued_ts: float
    status: str = "pending"  # pending | printed | failed | expired
    problem: str = ""
    done_ts: float | None = None


@dataclass(slots=True)
class Staff:
    """A person on the hall's roster (五员一体 duties). The PIN is kept only as a salted scrypt hash."""

    id: str
    name: str
    employment: str  # 专职 | 兼职
    zone: str | None
    duties: list[str]
    pin_hash: str
    card: str | None = None
    active: bool = True
    added_ts: float = 0.0


# ---------------------------------------------------------------------- 办件 (casework.py)

CASE_OPEN = frozenset({"accepted", "in_progress", "supplement"})  # not yet concluded: the clock matters
# The cases the overdue timer watches: running here, or handed over to another site (转办, handover.py), whose
# due date this site still answers for until the result comes back.
CASE_WATCHED = frozenset({"accepted", "in_progress", "handed_over"})


@dataclass(slots=True)
class CaseStep:
    """One department's part of a 重大事项, with its 环节跟踪员 and its own due date (chained after the last)."""

    department: str
    name: str
    working_days: int
    due_ts: float
    tracker: str | None = None
    started_ts: float | None = None
    finished_ts: float | None = None
    by: str | None = None


@dataclass(slots=True)
class CaseRecord:
    """A 办件 from 受理 to 评价: the item, the applicant (personal data: masked on the bus and on paper), who is
    responsible (首问负责), its due date (moved only by 补正 pauses and written delays) and every visit and record
    that belongs to it. The log is the case's own history: what, who, when."""

    number: str  # SITE-YYYYMMDD-NNNN (办件编号, project_no)
    item: str  # 实施编码
    item_name: str
    service: str
    kind: str  # immediate | promised | major
    applicant: str
    id_number: str
    phone: str
    owner: str  # 首问负责: the first-responsible person, to the end
    counter: int | None
    accepted_ts: float
    due_ts: float
    status: str = "accepted"  # accepted | in_progress | supplement | concluded | delivered | archived; 转办
    # (handover.py): handed_over (out at `out_to`) | inbox (received, not yet accepted) | declined | returned
    tickets: list[str] = field(default_factory=list)
    delegation: str | None = None
    consultations: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    steps: list[CaseStep] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    paused_ts: float | None = None  # in 补正 since
    paused_days: int = 0  # working days the 补正 pauses added to the due date
    delays: int = 0  # 延期: working days added by written delays
    decision: str | None = None  # approved | refused
    reason: str = ""
    concluded_ts: float | None = None
    on_time: bool | None = None
    delivery: str | None = None  # window | ems | elicence
    collector: str = ""
    collector_id: str = ""
    handed_by: str | None = None
    tracking: str = ""
    link: str = ""
    delivered_ts: float | None = None
    archived_ts: float | None = None
    rating: str | None = None
    followup: str | None = None
    overdue: bool = False
    log: list[dict[str, Any]] = field(default_factory=list)  # {"ts", "what", "by"}; "site" when done elsewhere
    # 转办 (handover.py). A case received from another site: where from, by which hand-over, the sites up the chain
    # waiting for its result (the origin first), who here took it, and by when it had to be taken.
    owner_site: str = ""  # the first-responsible person's site ("": this one)
    origin_site: str | None = None
    handover_id: str | None = None
    route: list[str] = field(default_factory=list)
    accept_by_ts: float | None = None
    handler: str | None = None  # the person here who accepted it (the owner stays the origin's)
    handover_overdue: bool = False  # a handover_overdue event was written for it
    handover_note: str = ""  # the latest hand-over's words: why it was handed over, or why it was declined
    log_from: int = 0  # where this site's part of the log begins: sent back with the result
    # A case this site handed on: to whom, as which hand-over, since when.
    out_to: str | None = None
    out_id: str | None = None
    out_ts: float | None = None
    hops: int = 0  # the case's hand-overs county-wide as known here: the next one's number is hops + 1
    received_ids: list[str] = field(default_factory=list)  # hand-overs received here (a redelivery is a no-op)
    answered_ids: list[str] = field(default_factory=list)  # hand-overs out whose result or decline came back
    # The case came back down its chain while this site waited for its result (县 handing it back to 镇): this
    # site's own hand-over waits underneath, its fields (handover.FRAME_FIELDS) kept here, innermost last.
    stack: list[dict[str, Any]] = field(default_factory=list)
    # 延时/错时服务: the extended session it was accepted in (case_accepted), None in the regular hours.
    session: str | None = None
    session_kind: str | None = None


# A booking's statuses (booking.py). Held, booked and checked in take a place in their slot.
HELD = "held"
BOOKED = "booked"
CHECKED_IN = "checked_in"  # a ticket was issued for it at the kiosk, or the helper is at the visitor's home
BOOKING_DONE = "done"  # a home visit finished at the visitor's home
BOOKING_CANCELLED = "cancelled"
BOOKING_EXPIRED = "expired"  # a hold never confirmed
BOOKING_NO_SHOW = "no_show"
TAKES_PLACE = frozenset({HELD, BOOKED, CHECKED_IN, BOOKING_DONE})


@dataclass(slots=True)
class Booking:
    """预约: a visitor's place in a slot (or a 上门办 visit at home), from the hold to the visit."""

    code: str
    item: str  # catalogue item code
    item_name: str
    service: str
    group: str
    slot: str  # slots.slot_key, or the home-visit day key
    start_ts: float
    end_ts: float
    session: str
    session_kind: str
    status: str
    channel: str  # phone (the citizen's phone page), hotline (a helper for a caller), tablet, hall
    phone: str
    name: str
    held_ts: float
    hold_until_ts: float
    by: str | None = None  # the staff member who booked it for the visitor, if any
    qr: str = ""  # the signed code the kiosk reads (nodes/appointment.py)
    address: str = ""  # 上门办 only
    needs: list[str] = field(default_factory=list)
    helpers: list[str] = field(default_factory=list)
    travel_minutes: int = 0
    ticket: str | None = None
    case: str | None = None
    reminded: bool = False
    reschedules: int = 0
    arrived_ts: float | None = None
    finished_ts: float | None = None
    rating: str | None = None
    note: str = ""


@dataclass
class HallState:
    day: str | None = None
    numbers: dict[str, int] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    waiting: dict[str, None] = field(default_factory=dict)  # insertion-ordered set of callable tickets
    counters: dict[int, CounterState] = field(default_factory=dict)
    helps: dict[str, HelpRequest] = field(default_factory=dict)
    followups: dict[str, FollowUp] = field(default_factory=dict)
    durations: dict[str, list[float]] = field(default_factory=dict)
    followup_count: int = 0
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)  # "node/device" -> problem, since_ts
    consultations: dict[str, Consultation] = field(default_factory=dict)
    delegations: dict[str, Delegation] = field(default_factory=dict)
    notice_count: int = 0
    consultation_count: int = 0  # ids come from counts, not from how many records are kept
    delegation_count: int = 0
    staff: dict[str, Staff] = field(default_factory=dict)
    on_duty: dict[str, str] = field(default_factory=dict)  # node -> the staff id signed in on it
    print_jobs: dict[str, PrintJob] = field(default_factory=dict)
    cases: dict[str, CaseRecord] = field(default_factory=dict)  # 办件 by case number
    case_day: str = ""  # YYYYMMDD of the latest case number, and its serial: numbers come from state, not counts
    case_serial: int = 0
    complaints: dict[str, Complaint] = field(default_factory=dict)  # complaints.py
    complaint_count: int = 0
    bookings: dict[str, Booking] = field(default_factory=dict)  # booking.py, by code
    booking_serial: dict[str, int] = field(default_factory=dict)  # booked day (YYYYMMDD) -> last serial
    seq: int = 0  # ledger sequence number of the last event applied
    index: QueueIndex = field(default_factory=QueueIndex, repr=False, compare=False)
    # Open help requests not yet escalated: walk-ins in request order (so a check stops at the first not yet
    # due), booked visits apart (due at their appointment, a handful a day).
    unescalated: dict[str, None] = field(default_factory=dict, repr=False, compare=False)
    unescalated_booked: dict[str, None] = field(default_factory=dict, repr=False, compare=False)
    # Consultations not answered and not yet overdue, in the order asked (their deadlines keep that order).
    unanswered: dict[str, None] = field(default_factory=dict, repr=False, compare=False)

    index_deferred: bool = field(default=False, repr=False, compare=False)  # replay builds the index once, after
    # The earliest due time among cases still running and not yet marked overdue; None: to be recomputed.
    case_next_due: float | None = field(default=None, repr=False, compare=False)
    # Cases the overdue timer watches (CASE_WATCHED), and received cases not yet accepted nor marked overdue.
    case_running: dict[str, None] = field(default_factory=dict, repr=False, compare=False)
    case_inbox: dict[str, None] = field(default_factory=dict, repr=False, compare=False)
    # Bookings taking a place, by slot key and group; codes by phone; holds not yet confirmed or expired.
    slot_taken: dict[str, dict[str, int]] = field(default_factory=dict, repr=False, compare=False)
    bookings_of: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    holds: dict[str, None] = field(default_factory=dict, repr=False, compare=False)
    booked_open: dict[str, None] = field(default_factory=dict, repr=False, compare=False)  # BOOKED, not yet here
    # The earliest time a hold runs out or a booking is missed; None: to be recomputed (booking.due)
    booking_next_due: float | None = field(default=None, repr=False, compare=False)

    def enqueue(self, t: Ticket) -> None:
        """Into the queue (or re-placed after its calling facts changed)."""
        self.waiting[t.id] = None
        if not self.index_deferred:
            self.index.add(t)

    def dequeue(self, ticket_id: str) -> None:
        self.waiting.pop(ticket_id, None)
        if not self.index_deferred:
            self.index.remove(ticket_id)

    def rebuild_index(self) -> None:
        self.index_deferred = False
        self.index = QueueIndex()
        for tid in self.waiting:
            self.index.add(self.tickets[tid])

    def rebuild_derived(self) -> None:
        self.rebuild_index()
        self.unescalated, self.unescalated_booked = {}, {}
        for h in sorted(self.helps.values(), key=lambda h: h.requested_ts):
            if h.status == "open" and not h.escalated:
                self.watch_help(h)
        self.unanswered = {c.id: None for c in sorted(self.consultations.values(), key=lambda c: c.opened_ts)
                           if c.status != "answered" and not c.overdue}
        self.case_running = {k.number: None for k in self.cases.values() if k.status in CASE_WATCHED}
        self.case_inbox = {k.number: None for k in self.cases.values()
                           if k.status == "inbox" and not k.handover_overdue}
        self.case_next_due = None
        self.slot_taken, self.bookings_of, self.holds, self.booked_open = {}, {}, {}, {}
        self.booking_next_due = None
        for b in self.bookings.values():
            self.index_booking(b)

    def index_booking(self, b: Booking) -> None:
        """A booking as the derived views know it: its place in its slot, its phone, a hold to expire."""
        self.booking_next_due = None
        self.bookings_of.setdefault(b.phone, []).append(b.code)
        if b.status in TAKES_PLACE:
            taken = self.slot_taken.setdefault(b.slot, {})
            taken[b.group] = taken.get(b.group, 0) + 1
        if b.status == HELD:
            self.holds[b.code] = None
        elif b.status == BOOKED:
            self.booked_open[b.code] = None

    def release_place(self, b: Booking) -> None:
        taken = self.slot_taken.get(b.slot, {})
        if taken.get(b.group, 0) > 0:
            taken[b.group] -= 1
        self.holds.pop(b.code, None)

    def watch_help(self, h: HelpRequest) -> None:
        booked = self.tickets[h.ticket].appointment_ts is not None
        (self.unescalated_booked if booked else self.unescalated)[h.id] = None

    def unwatch_help(self, help_id: str) -> None:
        self.unescalated.pop(help_id, None)
        self.unescalated_booked.pop(help_id, None)

    def signed_in(self, node: str) -> tuple[str | None, str]:
        """(staff id, name) of the person signed in on a tablet or panel; (None, "") when nobody is. A mirror
        knows this too: which person a screen acts for is the hall's word, not the screen's."""
        staff = self.on_duty.get(node)
        member = self.staff.get(staff) if staff is not None else None
        return staff, member.name if member is not None else (staff or "")

    def counter(self, number: int) -> CounterState:
        """A window's state, made on first mention: an event about a window today's configuration no longer
        has must still replay."""
        c = self.counters.get(number)
        if c is None:
            c = self.counters[number] = CounterState(number)
        return c

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "day": self.day,
            "numbers": dict(self.numbers),
            "tickets": {k: asdict(v) for k, v in self.tickets.items()},
            "waiting": list(self.waiting),
            "counters": {str(k): asdict(v) for k, v in self.counters.items()},
            "helps": {k: asdict(v) for k, v in self.helps.items()},
            "followups": {k: asdict(v) for k, v in self.followups.items()},
            "durations": {k: list(v) for k, v in self.durations.items()},
            "followup_count": self.followup_count,
            "faults": {k: dict(v) for k, v in self.faults.items()},
            "consultations": {k: asdict(v) for k, v in self.consultations.items()},
            "delegations": {k: asdict(v) for k, v in self.delegations.items()},
            "notice_count": self.notice_count,
            "consultation_count": self.consultation_count,
            "delegation_count": self.delegation_count,
            "staff": {k: asdict(v) for k, v in self.staff.items()},
            "on_duty": dict(self.on_duty),
            "print_jobs": {k: asdict(v) for k, v in self.print_jobs.items()},
            "cases": {k: asdict(v) for k, v in self.cases.items()},
            "case_day": self.case_day,
            "case_serial": self.case_serial,
            "complaints": {k: asdict(v) for k, v in self.complaints.items()},
            "complaint_count": self.complaint_count,
            "bookings": {k: asdict(v) for k, v in self.bookings.items()},
            "booking_serial": dict(self.booking_serial),
            "seq": self.seq,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HallState:
        if data.get("format") != STATE_FORMAT:
            # Older snapshots lack facts this code relies on (routes, request times); the ledger's events have
            # them, so the caller replays instead.
            raise ValueError(f"snapshot format {data.get('format')!r} is not {STATE_FORMAT}")
        state = cls(
            day=data["day"],
            numbers=dict(data["numbers"]),
            tickets={k: Ticket(**v) for k, v in data["tickets"].items()},
            waiting=dict.fromkeys(data["waiting"]),
            counters={int(k): CounterState(**v) for k, v in data["counters"].items()},
            helps={k: HelpRequest(**v) for k, v in data["helps"].items()},
            followups={k: FollowUp(**v) for k, v in data["followups"].items()},
            durations={k: list(v) for k, v in data["durations"].items()},
            followup_count=data["followup_count"],
            faults={k: dict(v) for k, v in data["faults"].items()},
            consultations={k: Consultation(**v) for k, v in data.get("consultations", {}).items()},
            delegations={k: Delegation(**v) for k, v in data.get("delegations", {}).items()},
            notice_count=data.get("notice_count", 0),
            consultation_count=data.get("consultation_count", len(data.get("consultations", {}))),
            delegation_count=data.get("delegation_count", len(data.get("delegations", {}))),
            staff={k: Staff(**v) for k, v in data.get("staff", {}).items()},
            on_duty=dict(data.get("on_duty", {})),
            print_jobs={k: PrintJob(**v) for k, v in data.get("print_jobs", {}).items()},
            cases={k: _case(v) for k, v in data.get("cases", {}).items()},
            case_day=data.get("case_day", ""),
            case_serial=data.get("case_serial", 0),
            complaints={k: Complaint(**v) for k, v in data.get("complaints", {}).items()},
            complaint_count=data.get("complaint_count", len(data.get("complaints", {}))),
            bookings={k: Booking(**v) for k, v in data.get("bookings", {}).items()},
            booking_serial=dict(data.get("booking_serial", {})),
            seq=data["seq"],
        )
        state.rebuild_derived()
        return state


def _case(v: dict[str, Any]) -> CaseRecord:
    return CaseRecord(**{**v, "steps": [CaseStep(**st) for st in v.get("steps", [])],
                         "log": [dict(x) for x in v.get("log", [])]})
