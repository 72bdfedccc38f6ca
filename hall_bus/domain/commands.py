"""Commands a node may send to the hall: one pydantic model per op, so a bad one is refused with a precise reason.

The same models serve the scenario runner, the hall bus and the kiosk; the `op` field selects the model. Each
model also says who may send it (`roles`; admin may send anything) and whether a counter may send it only for
its own window (`own_window`), so the server's permission check has no list of ops of its own.
"""

from __future__ import annotations

import difflib
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from hall_bus.config import GroupCode

RATING_LEVELS: tuple[str, ...] = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
RatingName = Literal["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
FOLLOW_UP_LEVELS = frozenset({"不满意", "非常不满意"})
Position = Literal["front", "end", "original"]
Outcome = Literal["done", "materials_missing", "refused"]
CounterNo = Annotated[int, Field(ge=1, le=9999, strict=True)]  # `true` is not window 1
Flag = Annotated[bool, Field(strict=True)]  # "yes" is not a yes


def _id_card_date(value: Any) -> Any:
    """ID cards and many forms write birth dates as YYYYMMDD (19661124); pydantic would read that number as a
    Unix time. Accept it as the date it is."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if isinstance(text, str) and len(text) == 8 and text.isdigit():
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            raise ValueError(f"{text} is not a date (YYYYMMDD)") from None
    return value


BirthDate = Annotated[date, BeforeValidator(_id_card_date)]
TicketRef = Annotated[str, Field(min_length=2, max_length=40)]
HelperId = Annotated[str, Field(min_length=1, max_length=40)]
HelpId = Annotated[str, Field(min_length=1, max_length=40)]


StaffId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[^\s]+$")]


class _Cmd(BaseModel):
    """What every command shares, and the rules about it that the server, the protocol and the panels read.

    - `roles`: besides admin, who may send it;
    - `own_window`: a counter node may send it only for its own window (`counter` field);
    - `acts_on`: the field naming the visitor or record it acts on (a ticket, a help request…). It is required,
      and the handler refuses the command when that is not the one in the state the command expects (not the
      visitor at that window, a request no longer open), so two panels of one window never act on the wrong one;
    - `person_field`: the field naming the staff member acting. On the bus the server fills it with the person
      signed in on the sending tablet or panel and refuses a command that names anyone else;
    - `needs_person`: a tablet or panel must have someone signed in to send it;
    - `duty`: the roster duty the signed-in person needs (the supervisor's commands);
    - `own_case`: a counter may send it only about a case of its own window (its `ticket` was at that window);
    - `own_services`: a counter may send it only for a `service` its window serves, printed (`print_at`) only at
      its own kiosk.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    roles: ClassVar[frozenset[str]] = frozenset()
    own_window: ClassVar[bool] = False
    acts_on: ClassVar[str | None] = None
    person_field: ClassVar[str | None] = None
    needs_person: ClassVar[bool] = False
    duty: ClassVar[str | None] = None
    own_case: ClassVar[bool] = False
    own_services: ClassVar[bool] = False
    request_id: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    actor: StaffId | None = None  # who did it: on the bus, stamped by the server (the person, else the node)

    def wire(self) -> dict[str, Any]:
        """The command as a node sends it: the server stamps request ids and actors itself."""
        return self.model_dump(mode="json", exclude_none=True, exclude={"request_id", "actor"})


class _PersonCmd(_Cmd):
    """A helper's or clerk's act: someone must be signed in, and it is recorded in their name."""

    needs_person = True


class Issue(_Cmd):
    roles = frozenset({"kiosk", "greeter"})
    op: Literal["issue"] = "issue"
    service: str
    group: GroupCode | None = None  # None: suggest from the visitor facts below
    appointment_at: datetime | None = None
    appointment_ref: Annotated[str, Field(min_length=1, max_length=64)] | None = None  # one ticket per booking
    appointment_sig: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")] | None = None  # the code's signature
    birth_date: BirthDate | None = None
    first_visit: Flag = False
    cannot_read: Flag = False
    pregnant: Flag = False
    with_infant: Flag = False
    limited_mobility: Flag = False
    node: str | None = None

    @model_validator(mode="after")
    def _aware(self) -> Issue:
        if self.appointment_at is not None and self.appointment_at.tzinfo is None:
            raise ValueError("appointment_at needs a UTC offset, e.g. 2026-11-23T10:00:00+08:00")
        return self


class ClaimHelp(_PersonCmd):
    roles = frozenset({"greeter"})
    acts_on = "help_id"
    person_field = "helper"
    op: Literal["claim_help"] = "claim_help"
    help_id: HelpId
    helper: HelperId | None = None


class HandoverHelp(_PersonCmd):
    roles = frozenset({"greeter"})
    acts_on = "help_id"
    person_field = "from_helper"
    op: Literal["handover_help"] = "handover_help"
    help_id: HelpId
    from_helper: HelperId | None = None
    to_helper: HelperId
    note: Annotated[str, Field(max_length=500)] = ""


class FinishHelp(_PersonCmd):
    roles = frozenset({"greeter"})
    acts_on = "help_id"
    person_field = "helper"
    op: Literal["finish_help"] = "finish_help"
    help_id: HelpId
    helper: HelperId | None = None


class CancelHelp(_PersonCmd):
    roles = frozenset({"greeter"})
    acts_on = "help_id"
    person_field = "by"
    op: Literal["cancel_help"] = "cancel_help"
    help_id: HelpId
    by: HelperId | None = None
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class ChangeGroup(_PersonCmd):
    roles = frozenset({"greeter"})
    acts_on = "ticket"
    person_field = "by"
    op: Literal["change_group"] = "change_group"
    ticket: TicketRef
    group: GroupCode
    by: HelperId | None = None
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class DeviceStatus(_Cmd):
    roles = frozenset({"kiosk", "counter", "board"})
    op: Literal["device_status"] = "device_status"
    device: Annotated[str, Field(min_length=1, max_length=40)]
    ok: Flag
    problem: Annotated[str, Field(max_length=200)] = ""
    node: str | None = None  # over the bus, the sender's own node id


class Tick(_Cmd):
    op: Literal["tick"] = "tick"


class ConfirmClock(_Cmd):
    """An admin vouches for a wall clock that jumped ahead (hall_bus/clock.py): the hall takes its time from now."""

    op: Literal["confirm_clock"] = "confirm_clock"
    node: str | None = None  # over the bus, the sender's own node id: who vouched goes into the ledger


class CounterOp(_Cmd):
    """A window's own state: open, close, pause, resume, and calling the next visitor (who is not known yet)."""

    roles = frozenset({"counter"})
    own_window = True
    op: Literal["open_counter", "close_counter", "pause_counter", "resume_counter", "call_next"]
    counter: CounterNo


class AtWindow(_Cmd):
    """An act on the visitor at the window, who must be the one named: a keypad sends the ticket its mirror
    showed when the key was pressed, a panel the ticket its screen showed."""

    roles = frozenset({"counter"})
    own_window = True
    acts_on = "ticket"
    op: Literal["recall", "no_show", "start"]
    counter: CounterNo
    ticket: TicketRef


class CallTicket(_Cmd):
    roles = frozenset({"counter"})
    own_window = True
    op: Literal["call_ticket"] = "call_ticket"
    counter: CounterNo
    ticket: TicketRef


class Requeue(_Cmd):
    roles = frozenset({"counter", "greeter"})
    acts_on = "ticket"
    op: Literal["requeue"] = "requeue"
    ticket: TicketRef
    position: Position = "end"


class Finish(_Cmd):
    roles = frozenset({"counter"})
    own_window = True
    acts_on = "ticket"
    op: Literal["finish"] = "finish"
    counter: CounterNo
    ticket: TicketRef
    outcome: Outcome = "done"
    materials: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(default_factory=list, max_length=30)
    reason: Annotated[str, Field(max_length=500)] = ""

    @model_validator(mode="after")
    def _complete(self) -> Finish:
        if self.outcome == "materials_missing" and not self.materials:
            raise ValueError("outcome materials_missing needs the list of missing materials (一次性告知)")
        if self.outcome == "refused" and not self.reason.strip():
            raise ValueError("outcome refused needs a reason")
        return self


class Transfer(_Cmd):
    roles = frozenset({"counter"})
    own_window = True
    acts_on = "ticket"
    op: Literal["transfer"] = "transfer"
    counter: CounterNo
    ticket: TicketRef
    to_service: str | None = None
    to_counter: CounterNo | None = None
    position: Position = "front"

    @model_validator(mode="after")
    def _target(self) -> Transfer:
        if self.to_service is None and self.to_counter is None:
            raise ValueError("transfer needs to_service or to_counter")
        return self


class Park(_Cmd):
    roles = frozenset({"counter"})
    own_window = True
    acts_on = "ticket"
    op: Literal["park"] = "park"
    counter: CounterNo
    ticket: TicketRef
    note: Annotated[str, Field(max_length=500)] = ""


class ResumeParked(_Cmd):
    roles = frozenset({"counter"})
    own_window = True
    acts_on = "ticket"
    op: Literal["resume_parked"] = "resume_parked"
    counter: CounterNo
    ticket: TicketRef


class Rate(_Cmd):
    """一事一评 of a finished case. A counter's pad or panel rates only a case finished at its own window; a
    kiosk never rates (anyone could walk up and rate anyone's case)."""

    roles = frozenset({"counter"})
    own_window = True
    own_case = True
    acts_on = "ticket"
    op: Literal["rate"] = "rate"
    ticket: TicketRef
    level: RatingName | Annotated[int, Field(ge=1, le=5, strict=True)]
    comment: Annotated[str, Field(max_length=500)] = ""

    @property
    def level_name(self) -> str:
        """Levels may come as 1..5 from a pad or a star screen: 5 is 非常满意 and 1 非常不满意, as five stars
        mean the best everywhere a visitor has rated anything."""
        return RATING_LEVELS[5 - self.level] if isinstance(self.level, int) else self.level


Name = Annotated[str, Field(min_length=1, max_length=40)]
Words = Annotated[str, Field(min_length=1, max_length=1000)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
RecordId = Annotated[str, Field(min_length=1, max_length=20)]


class OpenConsultation(_PersonCmd):
    """咨询登记: name, contact, question; answered at once or within `consult_answer_days` working days."""

    roles = frozenset({"greeter", "counter"})
    person_field = "helper"
    op: Literal["open_consultation"] = "open_consultation"
    helper: HelperId | None = None
    name: Name
    contact: Annotated[str, Field(max_length=40)] = ""
    question: Words
    service: str | None = None
    ticket: TicketRef | None = None
    answer: Annotated[str, Field(max_length=1000)] = ""  # answered on the spot: opened and closed at once


class AnswerConsultation(_PersonCmd):
    roles = frozenset({"greeter", "counter"})
    acts_on = "consultation_id"
    person_field = "by"
    op: Literal["answer_consultation"] = "answer_consultation"
    consultation_id: RecordId
    by: HelperId | None = None
    answer: Words


class ReferConsultation(_PersonCmd):
    """Passed to the department that can answer; the deadline and the owner stay (首问负责)."""

    roles = frozenset({"greeter", "counter"})
    acts_on = "consultation_id"
    person_field = "by"
    op: Literal["refer_consultation"] = "refer_consultation"
    consultation_id: RecordId
    by: HelperId | None = None
    department: Annotated[str, Field(min_length=1, max_length=60)]
    note: Annotated[str, Field(max_length=500)] = ""


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sha256: Sha256
    file: Annotated[str, Field(min_length=1, max_length=200)]


class RecordDelegation(_PersonCmd):
    """委托代办协议, signed before a helper acts for a visitor; the signed pages are photographed first."""

    roles = frozenset({"greeter"})
    person_field = "helper"
    op: Literal["record_delegation"] = "record_delegation"
    helper: HelperId | None = None
    principal: Name
    services: Annotated[list[str], Field(min_length=1, max_length=20)]
    pages: Annotated[list[Page], Field(min_length=1, max_length=30)]
    ticket: TicketRef | None = None


class CloseDelegation(_PersonCmd):
    roles = frozenset({"greeter"})
    acts_on = "delegation_id"
    person_field = "by"
    op: Literal["complete_delegation", "cancel_delegation"]
    delegation_id: RecordId
    by: HelperId | None = None
    note: Annotated[str, Field(max_length=500)] = ""


class IssueNotice(_PersonCmd):
    """一次性告知: every missing material of a service told once, in writing (the slip the node prints)."""

    roles = frozenset({"greeter", "counter"})
    person_field = "by"
    own_case = True
    own_services = True
    op: Literal["issue_notice"] = "issue_notice"
    service: str
    missing: Annotated[list[Annotated[str, Field(min_length=1, max_length=60)]], Field(min_length=1, max_length=30)]
    by: HelperId | None = None
    ticket: TicketRef | None = None
    print_at: Annotated[str, Field(min_length=1, max_length=40)] | None = None  # the kiosk that prints the slip


class AssignFollowUp(_PersonCmd):
    """The supervisor (服务督办员) gives a bad rating's follow-up an owner (回访) and maybe a date."""

    roles = frozenset({"greeter", "counter"})
    acts_on = "followup_id"
    duty = "supervisor"
    op: Literal["assign_followup"] = "assign_followup"
    followup_id: RecordId
    owner: HelperId
    due: date | None = None  # the supervisor may set a date; otherwise `followup_days` working days


class CloseFollowUp(_PersonCmd):
    """Only a supervisor closes a follow-up, on a screen, with what was done."""

    roles = frozenset({"greeter", "counter"})
    acts_on = "followup_id"
    person_field = "by"
    duty = "supervisor"
    op: Literal["close_followup"] = "close_followup"
    followup_id: RecordId
    by: HelperId | None = None
    note: Annotated[str, Field(min_length=1, max_length=1000)]


# ---------------------------------------------------------------------- 整改 and complaints (投诉)
# One lifecycle for a bad rating's follow-up and a complaint (rectification.py): open → assigned → rectified →
# closed. Assigning and closing are a 服务督办员's; rectifying is the owner's (or a supervisor's).


class RectifyFollowUp(_PersonCmd):
    """The owner writes what was done about a bad rating (整改情况); a supervisor then closes it."""

    roles = frozenset({"greeter", "counter"})
    acts_on = "followup_id"
    person_field = "by"
    op: Literal["rectify_followup"] = "rectify_followup"
    followup_id: RecordId
    by: HelperId | None = None
    note: Words


ComplaintChannel = Literal["window", "hotline", "mailbox", "box", "online"]
CHANNEL_NAMES: dict[str, str] = {"window": "窗口", "hotline": "12345热线", "mailbox": "局长信箱", "box": "意见箱",
                                 "online": "网上"}
ComplaintSubject = Literal["window", "staff", "service"]
SUBJECT_NAMES: dict[str, str] = {"window": "窗口", "staff": "工作人员", "service": "事项"}


class RegisterComplaint(_PersonCmd):
    """投诉登记: a complaint from any channel, about a window, a person or a service; due for its reply within
    `[calendar] complaint_days` working days of when it was received (a 12345 work order may arrive later)."""

    roles = frozenset({"greeter", "counter"})
    person_field = "by"
    op: Literal["register_complaint"] = "register_complaint"
    by: HelperId | None = None
    channel: ComplaintChannel
    subject_kind: ComplaintSubject
    subject: Annotated[str, Field(min_length=1, max_length=60)]
    complainant: Annotated[str, Field(max_length=40)] = ""  # an 意见箱 note may be anonymous
    phone: Annotated[str, Field(max_length=40)] = ""
    text: Words
    received_at: datetime | None = None  # None: now
    ticket: TicketRef | None = None
    handler: HelperId | None = None  # assigned at once (the supervisor registering it)

    @model_validator(mode="after")
    def _aware(self) -> RegisterComplaint:
        if self.received_at is not None and self.received_at.tzinfo is None:
            raise ValueError("received_at needs a UTC offset, e.g. 2026-11-23T10:00:00+08:00")
        return self


class AssignComplaint(_PersonCmd):
    """The supervisor gives a complaint its handler and maybe a date, as for a follow-up."""

    roles = frozenset({"greeter", "counter"})
    acts_on = "complaint_id"
    duty = "supervisor"
    op: Literal["assign_complaint"] = "assign_complaint"
    complaint_id: RecordId
    owner: HelperId
    due: date | None = None  # otherwise the complaint's own due date


class RectifyComplaint(_PersonCmd):
    roles = frozenset({"greeter", "counter"})
    acts_on = "complaint_id"
    person_field = "by"
    op: Literal["rectify_complaint"] = "rectify_complaint"
    complaint_id: RecordId
    by: HelperId | None = None
    note: Words


class ReplyComplaint(_PersonCmd):
    """Only a supervisor closes a complaint, with the reply given to the citizen (verified)."""

    roles = frozenset({"greeter", "counter"})
    acts_on = "complaint_id"
    person_field = "by"
    duty = "supervisor"
    op: Literal["reply_complaint"] = "reply_complaint"
    complaint_id: RecordId
    by: HelperId | None = None
    reply: Words


# ---------------------------------------------------------------------- staff: the roster and signing in

Duty = Literal["helper", "clerk", "tracker", "supervisor", "grid"]
DUTY_NAMES: dict[str, str] = {"helper": "帮办员/代办员", "clerk": "窗口人员", "tracker": "环节跟踪员",
                              "supervisor": "服务督办员", "grid": "网格代办员"}
PinHash = Annotated[str, Field(pattern=r"^scrypt\$\d+\$\d+\$\d+\$[0-9a-f]{32}\$[0-9a-f]{64}$")]
Pin = Annotated[str, Field(pattern=r"^[0-9]{4,8}$")]
Card = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{4,32}$")]


class AddStaff(_Cmd):
    """A person on the roster. The PIN arrives hashed (hallctl hashes it): the hall never holds it."""

    op: Literal["add_staff"] = "add_staff"
    staff: StaffId
    name: Name
    employment: Literal["专职", "兼职"] = "专职"
    zone: Annotated[str, Field(max_length=40)] | None = None
    duties: Annotated[list[Duty], Field(min_length=1, max_length=5)]
    pin_hash: PinHash
    card: Card | None = None


class DisableStaff(_Cmd):
    op: Literal["disable_staff"] = "disable_staff"
    staff: StaffId


class ResetPin(_Cmd):
    op: Literal["reset_pin"] = "reset_pin"
    staff: StaffId
    pin_hash: PinHash


class SignIn(_Cmd):
    """A person takes a tablet or a counter panel: PIN on the screen, or their staff card on the reader."""

    roles = frozenset({"greeter", "counter"})
    op: Literal["sign_in"] = "sign_in"
    staff: StaffId | None = None
    pin: Pin | None = None
    card: Card | None = None
    node: str | None = None  # over the bus, the sender's own node id

    @model_validator(mode="after")
    def _how(self) -> SignIn:
        if self.card is None and (self.staff is None or self.pin is None):
            raise ValueError("sign in with a staff id and PIN, or a staff card")
        return self

    def __repr_args__(self) -> Any:  # a PIN never reaches a log line
        return [(k, "****" if k == "pin" and v else v) for k, v in super().__repr_args__()]


class PrintResult(_Cmd):
    """A kiosk's word on a print job it was given (a notice slip): printed whole, or not and why."""

    roles = frozenset({"kiosk"})
    acts_on = "job"
    op: Literal["print_result"] = "print_result"
    job: RecordId
    ok: Flag
    problem: Annotated[str, Field(max_length=200)] = ""
    node: str | None = None  # over the bus, the sender's own node id: a kiosk reports only its own jobs


class Reprint(_PersonCmd):
    """A slip that did not come out goes to its kiosk again (paper loaded, kiosk back)."""

    roles = frozenset({"greeter", "counter"})
    acts_on = "job"
    person_field = "by"
    op: Literal["reprint"] = "reprint"
    job: RecordId
    by: HelperId | None = None


class SignOut(_Cmd):
    roles = frozenset({"greeter", "counter"})
    op: Literal["sign_out"] = "sign_out"
    node: str | None = None
    reason: Annotated[str, Field(max_length=100)] = ""


# ---------------------------------------------------------------------- 办件: the case beyond the visit (casework.py)

CASE_NUMBER = r"^[0-9A-Za-z]{2,12}-[0-9]{8}-[0-9]{4,6}$"  # HALL-20261203-0007 (the receipt's QR, the phone page)
CaseNo = Annotated[str, Field(pattern=CASE_NUMBER)]
ItemCode = Annotated[str, Field(pattern=r"^[0-9A-Za-z-]{4,40}$")]
IdNumber = Annotated[str, Field(pattern=r"^[0-9]{17}[0-9Xx]$")]  # 居民身份证号码
Phone = Annotated[str, Field(pattern=r"^[0-9+\-]{5,20}$")]
Reason = Annotated[str, Field(min_length=1, max_length=500)]


class _CaseCmd(_PersonCmd):
    """An act on one case, which it names (`case`); recorded against the signed-in person (`by`)."""

    roles = frozenset({"counter", "greeter"})
    acts_on = "case"
    person_field = "by"
    case: CaseNo
    by: HelperId | None = None


class AcceptCase(_PersonCmd):
    """受理 at a window: opens a case for a catalogue item. The clerk becomes its first-responsible person
    (首问负责), or the helper of the delegation it is opened under."""

    roles = frozenset({"counter"})
    person_field = "by"
    duty = "clerk"
    op: Literal["accept_case"] = "accept_case"
    item: ItemCode
    applicant: Name
    id_number: IdNumber | None = None
    phone: Phone | None = None
    counter: CounterNo | None = None
    ticket: TicketRef | None = None  # the visit it came from
    delegation_id: RecordId | None = None  # opened under a 委托代办协议
    consultation_id: RecordId | None = None  # a consultation that turned into an application
    by: HelperId | None = None
    print_at: Annotated[str, Field(min_length=1, max_length=40)] | None = None  # the kiosk printing the 受理回执


class AcceptDelegation(_PersonCmd):
    """A helper accepts a signed delegation as a case (受理委托): the principal is the applicant, the helper owns
    it."""

    roles = frozenset({"greeter"})
    acts_on = "delegation_id"
    person_field = "by"
    op: Literal["accept_delegation"] = "accept_delegation"
    delegation_id: RecordId
    item: ItemCode
    id_number: IdNumber | None = None
    phone: Phone | None = None
    by: HelperId | None = None


class ContinueCase(_CaseCmd):
    """A later visit (its ticket) continues the case: the case keeps the tickets of its visits."""

    op: Literal["continue_case"] = "continue_case"
    ticket: TicketRef


class AttachToCase(_CaseCmd):
    """A record made before the case existed, or apart from it, joins it for the 台账."""

    op: Literal["attach_to_case"] = "attach_to_case"
    record: Literal["consultation", "notice", "delegation"]
    record_id: RecordId


class StartCase(_CaseCmd):
    """办理 begins; a 重大事项's first step starts with it."""

    op: Literal["start_case"] = "start_case"


class AssignStep(_CaseCmd):
    """A 重大事项 step gets its 环节跟踪员."""

    op: Literal["assign_step"] = "assign_step"
    step: Annotated[int, Field(ge=1, le=50, strict=True)]
    tracker: HelperId


class FinishStep(_CaseCmd):
    """A department's step done (the steps run in order; the next one starts)."""

    op: Literal["finish_step"] = "finish_step"
    step: Annotated[int, Field(ge=1, le=50, strict=True)]
    note: Annotated[str, Field(max_length=500)] = ""


class RequestSupplement(_CaseCmd):
    """补正: the missing materials named at once (一次性告知); the case's clock stops until they come."""

    op: Literal["request_supplement"] = "request_supplement"
    missing: Annotated[list[Annotated[str, Field(min_length=1, max_length=60)]], Field(min_length=1, max_length=30)]
    print_at: Annotated[str, Field(min_length=1, max_length=40)] | None = None  # the kiosk that prints the notice


class ResumeCase(_CaseCmd):
    """The materials came: the clock runs again, the due date moved by the paused working days."""

    op: Literal["resume_case"] = "resume_case"


class DelayCase(_CaseCmd):
    """延期: more working days, with a written reason, asked before the due date (never after it)."""

    op: Literal["delay_case"] = "delay_case"
    days: Annotated[int, Field(ge=1, le=60, strict=True)]
    reason: Reason


class ChangeCaseOwner(_CaseCmd):
    """首问负责 stays on the case: only a supervisor moves it, and says why."""

    duty = "supervisor"
    op: Literal["change_case_owner"] = "change_case_owner"
    owner: HelperId
    reason: Reason


class ConcludeCase(_CaseCmd):
    """办结: 准予 (approved) or 不予 (refused, with the reason the applicant is given)."""

    op: Literal["conclude_case"] = "conclude_case"
    decision: Literal["approved", "refused"]
    reason: Annotated[str, Field(max_length=500)] = ""
    print_at: Annotated[str, Field(min_length=1, max_length=40)] | None = None  # the kiosk printing the 领取通知

    @model_validator(mode="after")
    def _why(self) -> ConcludeCase:
        if self.decision == "refused" and not self.reason.strip():
            raise ValueError("a refusal (不予) needs the reason the applicant is given")
        return self


class DeliverCase(_CaseCmd):
    """出件: at the window to a person whose ID card was checked (who collected it is recorded), by EMS with its
    tracking number, or as an electronic licence link."""

    op: Literal["deliver_case"] = "deliver_case"
    how: Literal["window", "ems", "elicence"]
    collector: Name | None = None
    collector_id: IdNumber | None = None
    id_checked: Flag = False
    tracking: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{6,30}$")] | None = None
    link: Annotated[str, Field(min_length=8, max_length=300)] | None = None

    @model_validator(mode="after")
    def _how(self) -> DeliverCase:
        if self.how == "ems" and self.tracking is None:
            raise ValueError("EMS delivery needs the tracking number")
        if self.how == "elicence" and self.link is None:
            raise ValueError("an electronic licence needs its link")
        return self


class ArchiveCase(_CaseCmd):
    """归档: the case's papers filed; nothing but its rating changes after."""

    op: Literal["archive_case"] = "archive_case"


class RateCase(_CaseCmd):
    """一事一评 of the case (GB/T 39734), once; a bad one opens a follow-up. From the phone page (role web,
    channel "phone") the visitor proves the case is theirs with the last four digits of its phone."""

    roles = frozenset({"counter", "greeter", "web"})
    op: Literal["rate_case"] = "rate_case"
    channel: Literal["hall", "phone", "home"] = "hall"
    phone_tail: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None
    level: RatingName | Annotated[int, Field(ge=1, le=5, strict=True)]
    comment: Annotated[str, Field(max_length=500)] = ""

    @property
    def level_name(self) -> str:
        return RATING_LEVELS[5 - self.level] if isinstance(self.level, int) else self.level


# ---------------------------------------------------------------------- 转办: a case handed across sites (handover.py)

SiteCode = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{2,12}$")]  # a hall's [hall] site_code
HandoverId = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{2,12}-[0-9]{8}-[0-9]{4,6}>[0-9A-Za-z]{2,12}#[0-9]{1,4}$")]


def _aware_time(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2026-11-23T10:00:00+08:00")
    return value


AwareTime = Annotated[datetime, AfterValidator(_aware_time)]


class HandOverCase(_CaseCmd):
    """转办: the case goes to another site (村 → 镇 → 县) with everything that site needs to open it; the
    first-responsible person and the due date stay."""

    op: Literal["hand_over_case"] = "hand_over_case"
    to_site: SiteCode
    reason: Reason


class AcceptHandover(_CaseCmd):
    """The receiving site takes a case from its inbox: the signed-in person becomes its handler here."""

    op: Literal["accept_handover"] = "accept_handover"


class DeclineHandover(_CaseCmd):
    """The receiving site sends a case in its inbox back, saying why."""

    op: Literal["decline_handover"] = "decline_handover"
    reason: Reason


class CarriedStep(BaseModel):
    """A 重大事项 step as it travels between sites: its due date and how far it got."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    department: Annotated[str, Field(min_length=1, max_length=60)]
    name: Annotated[str, Field(min_length=1, max_length=60)]
    working_days: Annotated[int, Field(ge=0, le=365)]
    due: AwareTime
    started: AwareTime | None = None
    finished: AwareTime | None = None
    by: HelperId | None = None  # who finished it (a person of the site where it was done)


class CarriedEntry(BaseModel):
    """One line of a case's history at another site, sent back with its result."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ts: float
    what: Annotated[str, Field(min_length=1, max_length=40)]
    by: Annotated[str, Field(max_length=80)] | None = None
    site: SiteCode


class _Delivery(_Cmd):
    """A message from another site, brought by the county link (handover.delivery_command): admin only, no
    person, idempotent on `handover_id`."""

    handover_id: HandoverId
    hop: Annotated[int, Field(ge=1, le=9999)]
    from_site: SiteCode
    to_site: SiteCode
    case: CaseNo
    by: HelperId | None = None  # who did it at the sending site


class ReceiveHandover(_Delivery):
    """A case handed over to this site arrives: it waits in the inbox until `accept_by`."""

    op: Literal["receive_handover"] = "receive_handover"
    item: ItemCode
    item_name: Annotated[str, Field(min_length=1, max_length=200)]
    service: Annotated[str, Field(min_length=1, max_length=60)]
    case_kind: Literal["immediate", "promised", "major"]
    applicant: Name
    id_number: IdNumber | Literal[""] = ""
    phone: Phone | Literal[""] = ""
    owner: HelperId
    owner_site: SiteCode
    due: AwareTime
    steps: Annotated[list[CarriedStep], Field(max_length=50)] = Field(default_factory=list)
    accepted_at: AwareTime
    sent_at: AwareTime
    reason: Reason
    route: Annotated[list[SiteCode], Field(min_length=1, max_length=20)]
    paused_days: Annotated[int, Field(ge=0, le=3650)] = 0
    delays: Annotated[int, Field(ge=0, le=3650)] = 0
    accept_by: AwareTime


class ReceiveResult(_Delivery):
    """The result of a case this site handed over comes back: concluded there, delivered (出件) from here."""

    op: Literal["receive_result"] = "receive_result"
    decision: Literal["approved", "refused"]
    reason: Annotated[str, Field(max_length=500)] = ""
    concluded_at: AwareTime
    due: AwareTime
    paused_days: Annotated[int, Field(ge=0, le=3650)] = 0
    delays: Annotated[int, Field(ge=0, le=3650)] = 0
    steps: Annotated[list[CarriedStep], Field(max_length=50)] = Field(default_factory=list)
    history: Annotated[list[CarriedEntry], Field(max_length=2000)] = Field(default_factory=list)


class ReceiveDecline(_Delivery):
    """A case this site handed over was declined there: it is back here, in progress."""

    op: Literal["receive_decline"] = "receive_decline"
    reason: Reason


HANDOVER_MODELS = (HandOverCase, AcceptHandover, DeclineHandover, ReceiveHandover, ReceiveResult, ReceiveDecline)


# ---------------------------------------------------------------------- 预约 and 上门办 (booking.py)

BookingCode = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{2,12}-[0-9]{8}-[0-9]{3,5}$")]  # PA-20261204-007
MobilePhone = Annotated[str, Field(pattern=r"^1[3-9][0-9]{9}$")]  # reminders go by SMS: a mobile number
PhoneTail = Annotated[str, Field(pattern=r"^[0-9]{4}$")]
Channel = Literal["phone", "hotline", "tablet", "hall"]
Need = Annotated[str, Field(min_length=1, max_length=20)]


class _BookingCmd(_Cmd):
    """An act on one booking, which it names (`code`). From the phone page (role web) the visitor proves it is
    theirs with the last four digits of the phone it was booked with (`phone_tail`); a helper's tablet acts
    for the visitor with a person signed in."""

    roles = frozenset({"greeter", "web"})
    acts_on = "code"
    person_field = "by"
    code: BookingCode
    phone_tail: PhoneTail | None = None
    by: HelperId | None = None


class HoldBooking(_Cmd):
    """预约, first step: a place in a slot is held for `hold_minutes` while the visitor checks and confirms.
    The channel says who booked (the server writes "phone" for the phone page, whatever it sends)."""

    roles = frozenset({"greeter", "web"})
    person_field = "by"
    op: Literal["hold_booking"] = "hold_booking"
    item: ItemCode
    start: AwareTime
    group: GroupCode = "normal"
    channel: Channel = "hotline"
    phone: MobilePhone
    name: Name
    address: Annotated[str, Field(max_length=200)] = ""  # 上门办 only
    needs: Annotated[list[Need], Field(max_length=10)] = Field(default_factory=list)
    by: HelperId | None = None


class ConfirmBooking(_BookingCmd):
    op: Literal["confirm_booking"] = "confirm_booking"


class CancelBooking(_BookingCmd):
    op: Literal["cancel_booking"] = "cancel_booking"
    reason: Annotated[str, Field(max_length=200)] = ""


class RescheduleBooking(_BookingCmd):
    """改约: the booking moves to another slot in one step; the old place is freed only if the new one is had."""

    op: Literal["reschedule_booking"] = "reschedule_booking"
    start: AwareTime


class AssignHomeVisit(_BookingCmd):
    """上门办: the helpers who go (two where the visitor's needs call for it) and the time on the road."""

    roles = frozenset({"greeter"})
    needs_person = True
    op: Literal["assign_home_visit"] = "assign_home_visit"
    helpers: Annotated[list[HelperId], Field(min_length=1, max_length=3)]
    travel_minutes: Annotated[int, Field(ge=0, le=600)]


class _VisitAct(_BookingCmd):
    """An act at the visitor's home, often with no network: `done_at` is when it happened, the tablet's
    clock; the ledger records both that and when it arrived."""

    roles = frozenset({"greeter"})
    needs_person = True
    done_at: AwareTime


class ArriveHomeVisit(_VisitAct):
    op: Literal["arrive_home_visit"] = "arrive_home_visit"


class FinishHomeVisit(_VisitAct):
    op: Literal["finish_home_visit"] = "finish_home_visit"
    outcome: Literal["done", "materials_missing", "not_home", "refused"]
    note: Annotated[str, Field(max_length=500)] = ""
    rating: RatingName | Annotated[int, Field(ge=1, le=5, strict=True)] | None = None
    comment: Annotated[str, Field(max_length=500)] = ""

    @property
    def level_name(self) -> str | None:
        if self.rating is None:
            return None
        return RATING_LEVELS[5 - self.rating] if isinstance(self.rating, int) else self.rating


class RecordReminder(_Cmd):
    """The hall server's own record of an SMS reminder sent (or failed) for a booking."""

    roles = frozenset()
    op: Literal["record_reminder"] = "record_reminder"
    code: BookingCode
    ok: Flag  # False: given up (the provider refuses the number); a failure worth retrying is not recorded
    message_id: Annotated[str, Field(max_length=80)] = ""
    error: Annotated[str, Field(max_length=200)] = ""


BOOKING_MODELS = (HoldBooking, ConfirmBooking, CancelBooking, RescheduleBooking, AssignHomeVisit, ArriveHomeVisit,
                  FinishHomeVisit, RecordReminder)


CASE_MODELS = (AcceptCase, AcceptDelegation, ContinueCase, AttachToCase, StartCase, AssignStep, FinishStep,
               RequestSupplement, ResumeCase, DelayCase, ChangeCaseOwner, ConcludeCase, DeliverCase, ArchiveCase,
               RateCase)


Command = Annotated[
    Issue | ClaimHelp | HandoverHelp | FinishHelp | CancelHelp | ChangeGroup | Tick | DeviceStatus | CounterOp
    | AtWindow | CallTicket | Requeue | Finish | Transfer | Park | ResumeParked | Rate | CloseFollowUp
    | OpenConsultation | AnswerConsultation | ReferConsultation | RecordDelegation | CloseDelegation | IssueNotice
    | AssignFollowUp | AddStaff | DisableStaff | ResetPin | SignIn | SignOut | ConfirmClock | PrintResult | Reprint
    | AcceptCase | AcceptDelegation | ContinueCase | AttachToCase | StartCase | AssignStep | FinishStep
    | RequestSupplement | ResumeCase | DelayCase | ChangeCaseOwner | ConcludeCase | DeliverCase | ArchiveCase
    | RateCase | HandOverCase | AcceptHandover | DeclineHandover | ReceiveHandover | ReceiveResult | ReceiveDecline
    | RectifyFollowUp | RegisterComplaint | AssignComplaint | RectifyComplaint | ReplyComplaint
    | HoldBooking | ConfirmBooking | CancelBooking | RescheduleBooking | AssignHomeVisit | ArriveHomeVisit
    | FinishHomeVisit | RecordReminder,
    Field(discriminator="op"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Command)
MODELS: tuple[type[_Cmd], ...] = get_args(get_args(Command)[0])
MODEL_FOR: dict[str, type[_Cmd]] = {
    op: model for model in MODELS for op in get_args(model.model_fields["op"].annotation)
}
OPS: tuple[str, ...] = tuple(MODEL_FOR)


Cmd = _Cmd  # what nodes build commands from


class CommandInvalid(ValueError):
    """A command that does not fit its schema; the message names the field."""


def build(model: type[_Cmd], **fields: Any) -> _Cmd:
    """A command from its model, refused as the server would refuse it (CommandInvalid naming the field), so a
    panel shows the same words for a bad field whether it was caught here or on the server. Fields left None are
    not sent (the model's default stands)."""
    given = {k: v for k, v in fields.items() if v is not None}
    op = given.setdefault("op", model.model_fields["op"].default)
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        raise _refusal(op, exc, tagged=False) from None


def parse_command(data: Any) -> Any:
    if not isinstance(data, dict):
        raise CommandInvalid(f"a command must be a JSON object, got {type(data).__name__}")
    op = data.get("op")
    if op is None:
        raise CommandInvalid("missing 'op'")
    if op not in OPS:
        close = difflib.get_close_matches(str(op), OPS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise CommandInvalid(f"unknown op {op!r}{hint}")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise _refusal(op, exc, tagged=True) from None


def _refusal(op: Any, exc: ValidationError, *, tagged: bool) -> CommandInvalid:
    """Pydantic's errors as one line naming each field; `tagged`: validated through the union, whose error
    locations start with the op (the discriminator)."""
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"][1 if tagged else 0:]]
        field = ".".join(loc) or "command"
        msg = err["msg"].replace("Value error, ", "")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "missing":
            msg = "missing"
        parts.append(f"{field}: {msg}")
    return CommandInvalid(f"{op}: " + "; ".join(parts))
