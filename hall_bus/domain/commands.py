"""Commands a node may send to the hall: one pydantic model per op, so a bad one is refused with a precise reason.

The same models serve the scenario runner, the hall bus and the kiosk; the `op` field selects the model. Each
model also says who may send it (`roles`; admin may send anything) and whether a counter may send it only for
its own window (`own_window`), so the server's permission check has no list of ops of its own.
"""

from __future__ import annotations

import difflib
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

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


class _Cmd(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    roles: ClassVar[frozenset[str]] = frozenset()  # besides admin, who may send it
    own_window: ClassVar[bool] = False  # a counter node may send it only for its own window (`counter` field)
    request_id: Annotated[str, Field(min_length=1, max_length=80)] | None = None


class Issue(_Cmd):
    roles = frozenset({"kiosk", "greeter"})
    op: Literal["issue"]
    service: str
    group: GroupCode | None = None  # None: suggest from the visitor facts below
    appointment_at: datetime | None = None
    appointment_ref: Annotated[str, Field(min_length=1, max_length=64)] | None = None  # one ticket per booking
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


class ClaimHelp(_Cmd):
    roles = frozenset({"greeter"})
    op: Literal["claim_help"]
    help_id: str
    helper: HelperId


class HandoverHelp(_Cmd):
    roles = frozenset({"greeter"})
    op: Literal["handover_help"]
    help_id: str
    from_helper: HelperId
    to_helper: HelperId
    note: str = ""


class FinishHelp(_Cmd):
    roles = frozenset({"greeter"})
    op: Literal["finish_help"]
    help_id: str
    helper: HelperId


class CancelHelp(_Cmd):
    op: Literal["cancel_help"]
    roles = frozenset({"greeter"})
    help_id: str
    by: HelperId
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class ChangeGroup(_Cmd):
    op: Literal["change_group"]
    roles = frozenset({"greeter"})
    ticket: TicketRef
    group: GroupCode
    by: HelperId
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class DeviceStatus(_Cmd):
    op: Literal["device_status"]
    roles = frozenset({"kiosk", "counter", "board"})
    device: Annotated[str, Field(min_length=1, max_length=40)]
    ok: Flag
    problem: Annotated[str, Field(max_length=200)] = ""
    node: str | None = None  # over the bus, the sender's own node id


class Tick(_Cmd):
    op: Literal["tick"]


class ConfirmClock(_Cmd):
    """An admin vouches for a wall clock that jumped ahead (hall_bus/clock.py): the hall takes its time from now."""

    op: Literal["confirm_clock"]
    node: str | None = None  # over the bus, the sender's own node id: who vouched goes into the ledger


class CounterOp(_Cmd):
    roles = frozenset({"counter"})
    own_window = True
    op: Literal["open_counter", "close_counter", "pause_counter", "resume_counter", "call_next", "recall",
                "no_show", "start"]
    counter: CounterNo


class CallTicket(_Cmd):
    roles = frozenset({"counter"})
    own_window = True
    op: Literal["call_ticket"]
    counter: CounterNo
    ticket: TicketRef


class Requeue(_Cmd):
    roles = frozenset({"counter", "greeter"})
    op: Literal["requeue"]
    ticket: TicketRef
    position: Position = "end"


class Finish(_Cmd):
    roles = frozenset({"counter"})
    own_window = True
    op: Literal["finish"]
    counter: CounterNo
    outcome: Outcome = "done"
    materials: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    reason: str = ""

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
    op: Literal["transfer"]
    counter: CounterNo
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
    op: Literal["park"]
    counter: CounterNo
    note: str = ""


class ResumeParked(_Cmd):
    roles = frozenset({"counter"})
    own_window = True
    op: Literal["resume_parked"]
    counter: CounterNo
    ticket: TicketRef


class Rate(_Cmd):
    roles = frozenset({"counter", "kiosk"})
    own_window = True
    op: Literal["rate"]
    ticket: TicketRef
    level: RatingName | Annotated[int, Field(ge=1, le=5, strict=True)]
    comment: str = ""

    @property
    def level_name(self) -> str:
        """Levels may come as 1..5 from a pad or a star screen: 5 is 非常满意 and 1 非常不满意, as five stars
        mean the best everywhere a visitor has rated anything."""
        return RATING_LEVELS[5 - self.level] if isinstance(self.level, int) else self.level


Name = Annotated[str, Field(min_length=1, max_length=40)]
Words = Annotated[str, Field(min_length=1, max_length=1000)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class OpenConsultation(_Cmd):
    """咨询登记: name, contact, question; answered at once or within `consult_answer_days` working days."""

    roles = frozenset({"greeter", "counter"})
    op: Literal["open_consultation"]
    helper: HelperId
    name: Name
    contact: Annotated[str, Field(max_length=40)] = ""
    question: Words
    service: str | None = None
    ticket: TicketRef | None = None
    answer: Annotated[str, Field(max_length=1000)] = ""  # answered on the spot: opened and closed at once


class AnswerConsultation(_Cmd):
    roles = frozenset({"greeter", "counter"})
    op: Literal["answer_consultation"]
    consultation_id: Annotated[str, Field(min_length=1, max_length=20)]
    by: HelperId
    answer: Words


class ReferConsultation(_Cmd):
    """Passed to the department that can answer; the deadline and the owner stay (首问负责)."""

    roles = frozenset({"greeter", "counter"})
    op: Literal["refer_consultation"]
    consultation_id: Annotated[str, Field(min_length=1, max_length=20)]
    by: HelperId
    department: Annotated[str, Field(min_length=1, max_length=60)]
    note: Annotated[str, Field(max_length=500)] = ""


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sha256: Sha256
    file: Annotated[str, Field(min_length=1, max_length=200)]


class RecordDelegation(_Cmd):
    """委托代办协议, signed before a helper acts for a visitor; the signed pages are photographed first."""

    roles = frozenset({"greeter"})
    op: Literal["record_delegation"]
    helper: HelperId
    principal: Name
    services: Annotated[list[str], Field(min_length=1, max_length=20)]
    pages: Annotated[list[Page], Field(min_length=1, max_length=30)]
    ticket: TicketRef | None = None


class CloseDelegation(_Cmd):
    roles = frozenset({"greeter"})
    op: Literal["complete_delegation", "cancel_delegation"]
    delegation_id: Annotated[str, Field(min_length=1, max_length=20)]
    by: HelperId
    note: Annotated[str, Field(max_length=500)] = ""


class IssueNotice(_Cmd):
    """一次性告知: every missing material of a service told once, in writing (the slip the node prints)."""

    roles = frozenset({"greeter", "counter"})
    op: Literal["issue_notice"]
    service: str
    missing: Annotated[list[Annotated[str, Field(min_length=1, max_length=60)]], Field(min_length=1, max_length=30)]
    by: HelperId
    ticket: TicketRef | None = None
    print_at: Annotated[str, Field(min_length=1, max_length=40)] | None = None  # the kiosk that prints the slip


class AssignFollowUp(_Cmd):
    roles = frozenset({"greeter"})
    op: Literal["assign_followup"]
    followup_id: str
    owner: HelperId
    due: date | None = None  # the supervisor may set a date; otherwise `followup_days` working days


class CloseFollowUp(_Cmd):
    op: Literal["close_followup"]
    followup_id: str
    note: Annotated[str, Field(min_length=1)]


Command = Annotated[
    Issue | ClaimHelp | HandoverHelp | FinishHelp | CancelHelp | ChangeGroup | Tick | DeviceStatus | CounterOp
    | CallTicket | Requeue | Finish | Transfer | Park | ResumeParked | Rate | CloseFollowUp | OpenConsultation
    | AnswerConsultation | ReferConsultation | RecordDelegation | CloseDelegation | IssueNotice | AssignFollowUp
    | ConfirmClock,
    Field(discriminator="op"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Command)
MODELS: tuple[type[_Cmd], ...] = get_args(get_args(Command)[0])
MODEL_FOR: dict[str, type[_Cmd]] = {
    op: model for model in MODELS for op in get_args(model.model_fields["op"].annotation)
}
OPS: tuple[str, ...] = tuple(MODEL_FOR)


class CommandInvalid(ValueError):
    """A command that does not fit its schema; the message names the field."""


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
        parts = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"][1:]]  # drop the discriminator tag
            field = ".".join(loc) or "command"
            msg = err["msg"].replace("Value error, ", "")
            if err["type"] == "extra_forbidden":
                msg = "unknown field"
            elif err["type"] == "missing":
                msg = "missing"
            parts.append(f"{field}: {msg}")
        raise CommandInvalid(f"{op}: " + "; ".join(parts)) from None
