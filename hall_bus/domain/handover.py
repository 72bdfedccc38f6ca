"""转办: a case handed across the county's sites (村收件 → 镇审核 → 县办理) and its result back to where it came
from, for 出件 near the applicant. Pure domain logic; the county link moves the messages.

For the county link (the only two functions it needs; both pure, plain JSON in and out)
----------------------------------------------------------------------------------------

``outgoing(event_type: str, data: dict) -> tuple[str, dict] | None``
    Call it on every event of a site's ledger (type and data, as stored). For the three events that must travel
    it answers ``(addressee site code, delivery)``, else None:

    - ``case_handed_over``      → the site it was handed to (``to_site``), delivery kind ``"handover"``;
    - ``case_result_returned``  → the site the case came from, kind ``"result"``;
    - ``handover_declined``     → the site the case came from, kind ``"decline"``.

    The delivery is a plain JSON object: ``{"kind": …, "handover_id": …, "case": …, "from_site": …,
    "to_site": …, …}``, everything the addressee needs and nothing of the sender's actor. It holds personal data
    (the applicant, ID number, phone of a hand-over) and goes only to its addressee. Send it as often as needed
    (after a crash, after either side was offline): every delivery is idempotent at the addressee.

``delivery_command(delivery: dict, actor: str) -> dict``
    The command the addressee submits for a delivery (``receive_handover``, ``receive_result`` or
    ``receive_decline``), with ``actor`` (the link's node id) and a ``request_id`` made from the hand-over id and
    the kind (``"<handover_id>/<kind>"``, at most 55 characters: on the bus, where the server puts the node id
    and a colon in front and allows 80, the link's node id may have 24), so a resubmission is answered from the
    ledger and changes nothing; a resubmission under another request id is answered ``{"already": true}`` and
    changes nothing either. A ``"handover"`` delivery must first get ``accept_by`` (an ISO time with offset) from
    the hub: the county's configured hours for accepting a case; without it this raises ValueError. The receive
    commands are admin only on the bus (the link connects with an admin key until the bus has a role for it).

    Deliver at least once, in each sender's ledger order. Retry on no answer, ``storage_unavailable`` or
    ``internal_error``; any other refusal (``wrong_site``, ``case_here``, ``unknown_handover``, ``invalid``) is
    final and names a problem for a person: the same delivery would be refused again.

The rules
---------

A case is one token: it is worked at one site at a time. Handing it over (``hand_over_case``, from accepted or
in progress) writes ``case_handed_over`` with everything the receiving site needs to open it without the
sender's catalogue (item, kind, applicant, the due date as moved so far, the steps and how far they got, the
route of sites waiting for its result); the case turns ``handed_over`` here. The hand-over id is
``"<case>><to_site>#<n>"``, n the case's hand-overs county-wide (carried with the case, so two sites never make the
same id). The first-responsible person (首问负责) stays the origin's; the receiving site's person who accepts it
is its ``handler`` there.

The receiving site holds it in its inbox (``inbox``) until a signed-in person accepts it (→ in progress) or
declines it with a reason (→ ``declined`` there, and back to the sender in progress). Not accepted by
``accept_by``: ``handover_overdue``, once, for the 服务督办员. Accepted, it is worked with the ordinary case
commands; ``conclude_case`` there also writes ``case_result_returned`` (the case turns ``returned`` there) and the
sender gets the result (``receive_result``): concluded with the decision, reason and time it was concluded, then
delivered (出件) at the sender with ``deliver_case``. A site in the middle of a chain (镇, between 村 and 县) that
gets a result concludes and sends it on to its own origin in the same command: the chain unwinds.

A case number a site already holds arrives again. If the site declined the case, or concluded and returned it,
and the case comes back by another way, the record is reopened in the inbox with the new hand-over, its history
kept. If the site is waiting for the case's result (it handed the case on, and the case comes back down its chain:
县 hands it back to 镇), its own hand-over is kept underneath (`CaseRecord.stack`) and the case is in its inbox
again, as any received case: concluded here, the result goes to the site that handed it back, whose result in turn
comes back here and goes on to this site's own origin — the chain unwinds through every site once per hand-over.
Any other case number already here is refused (`case_here`): it would double the case.

Due dates and pauses. The case's due date is the origin's promise and travels with it. A 补正 pause or a written
delay at the receiving site moves the due date there; the result carries the moved due date and the totals of
paused and delayed working days, so the origin's ``on_time`` is decided against the due date as it truly was. Until
the result comes back the origin knows only its own due date: its overdue timer and the 督办 lists count a case
out at another site as late by that date (the origin promised it), and the site working it counts it late by its
own (moved) date.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from hall_bus.domain import commands as c
from hall_bus.domain.casework import (
    ELSEWHERE,
    STATUS_NAMES,
    _case,
    _iso,
    _running,
    _ts,
    result_text,
)
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.staff import check_person
from hall_bus.domain.state import CaseRecord, CaseStep, HallState

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine

# ---------------------------------------------------------------------- what travels (for the county link)

KIND_OF_EVENT = {"case_handed_over": "handover", "case_result_returned": "result", "handover_declined": "decline"}
OP_OF_KIND = {"handover": "receive_handover", "result": "receive_result", "decline": "receive_decline"}
_MODEL_OF_KIND: dict[str, type[c._Cmd]] = {"handover": c.ReceiveHandover, "result": c.ReceiveResult,
                                           "decline": c.ReceiveDecline}
_NOT_CARRIED = frozenset({"op", "request_id", "actor", "accept_by"})  # accept_by: the hub's to add
DELIVERY_FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(f for f in model.model_fields if f not in _NOT_CARRIED) for kind, model in _MODEL_OF_KIND.items()}


def outgoing(event_type: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(addressee site code, delivery) for an event that must travel to another site, else None. The delivery
    is plain JSON: the fields its receive command takes, and `kind`."""
    kind = KIND_OF_EVENT.get(event_type)
    if kind is None:
        return None
    delivery = {"kind": kind, **{f: data[f] for f in DELIVERY_FIELDS[kind] if f in data}}
    return str(data["to_site"]), delivery


def request_id(kind: str, handover_id: str) -> str:
    """One request id per hand-over and kind: the receiving ledger answers a resubmission from its record."""
    return f"{handover_id}/{kind}"


def delivery_command(delivery: dict[str, Any], actor: str) -> dict[str, Any]:
    """The command dict the addressee submits for a delivery from `outgoing` (see the module's docstring)."""
    kind = delivery.get("kind")
    if kind not in OP_OF_KIND:
        raise ValueError(f"not a delivery: kind {kind!r} (expected one of {', '.join(OP_OF_KIND)})")
    if kind == "handover" and not delivery.get("accept_by"):
        raise ValueError("a handover delivery needs accept_by (ISO time with offset), set by the hub from the "
                         "county's configured hours")
    body = {k: v for k, v in delivery.items() if k != "kind"}
    return {**body, "op": OP_OF_KIND[kind], "request_id": request_id(kind, str(delivery["handover_id"])),
            "actor": actor}


# ---------------------------------------------------------------------- helpers


def check_signed_in(e: QueueEngine, who: str | None, what: str) -> str:
    """A person who takes or gives away responsibility for a case across sites: with a roster, someone on it,
    active and signed in at this hall now (the server also checks the sending tablet; an admin script naming a
    person who is not here is refused too). A hall without a roster takes the name as written."""
    who = check_person(e, who, what)
    if e.state.staff and who not in e.state.on_duty.values():
        raise CommandRejected("not_signed_in", f"{who} is not signed in at {e.cfg.hall.site_code}: {what} signs in "
                              "on a tablet or panel here first (PIN or staff card); nothing was changed")
    return who


def carried_steps(k: CaseRecord, tz: ZoneInfo) -> list[dict[str, Any]]:
    """A 重大事项's steps as they travel: due dates as moved so far, started and finished times, who finished each.
    Trackers stay behind: they are persons of the site that named them."""
    def iso(ts: float | None) -> str | None:
        return datetime.fromtimestamp(ts, tz).isoformat() if ts is not None else None

    return [{"department": s.department, "name": s.name, "working_days": s.working_days, "due": iso(s.due_ts),
             "started": iso(s.started_ts), "finished": iso(s.finished_ts), "by": s.by} for s in k.steps]


def _opt_ts(iso: str | None) -> float | None:
    return _ts(iso) if iso is not None else None


def _steps_from(steps: list[dict[str, Any]], keep: list[CaseStep] | None = None) -> list[CaseStep]:
    """Steps from a message; `keep`: this site's own steps, whose trackers stay."""
    out = []
    for i, s in enumerate(steps):
        tracker = keep[i].tracker if keep is not None and i < len(keep) else None
        out.append(CaseStep(s["department"], s["name"], s["working_days"], _ts(s["due"]), tracker=tracker,
                            started_ts=_opt_ts(s.get("started")), finished_ts=_opt_ts(s.get("finished")),
                            by=s.get("by")))
    return out


def _start_current_step(k: CaseRecord, ts: float) -> None:
    """The case is worked again (accepted here, or back after a decline): the step under way starts if it had not."""
    step = next((s for s in k.steps if s.finished_ts is None), None)
    if step is not None and step.started_ts is None:
        step.started_ts = ts


def _aware(value: datetime) -> str:
    return value.isoformat()


# ---------------------------------------------------------------------- handlers: the sending site


@handles("hand_over_case")
def hand_over_case(e: QueueEngine, cmd: c.HandOverCase, now: datetime) -> dict[str, Any]:
    here = e.cfg.hall.site_code
    k = e.state.cases.get(cmd.case)
    if k is not None and k.status not in ("accepted", "in_progress") and k.status not in ELSEWHERE:
        raise CommandRejected("bad_state", f"{k.number} is {STATUS_NAMES.get(k.status, k.status)} ({k.status}) at "
                              f"{here}: only a case accepted or in progress (已受理/办理中) is handed over; nothing "
                              "was changed")
    k = _case(e, cmd.case, "accepted", "in_progress")  # unknown, or not here (out, in the inbox): where it is
    by = check_signed_in(e, cmd.by or cmd.actor, "the person handing it over")
    if cmd.to_site == here:
        raise CommandRejected("bad_handover", f"{k.number} is at {here} already: hand it over to another site")
    n = k.hops + 1
    hid = f"{k.number}>{cmd.to_site}#{n}"
    e.emit("case_handed_over", now, handover_id=hid, hop=n, from_site=here, to_site=cmd.to_site, case=k.number,
           item=k.item, item_name=k.item_name, service=k.service, case_kind=k.kind, applicant=k.applicant,
           id_number=k.id_number, phone=k.phone, owner=k.owner, owner_site=k.owner_site or here,
           due=_iso(k.due_ts, e), steps=carried_steps(k, e.tz), accepted_at=_iso(k.accepted_ts, e),
           sent_at=now.isoformat(), reason=cmd.reason, route=[*k.route, here], paused_days=k.paused_days,
           delays=k.delays, by=by)
    return {"case": k.number, "handover_id": hid, "to_site": cmd.to_site, "status": "handed_over"}


def return_result(e: QueueEngine, k: CaseRecord, now: datetime, by: str | None) -> str:
    """Send a concluded case's result back to the site it came from (the case turns `returned` here); called by
    conclude_case, and by receive_result in the middle of a chain. Returns the site it goes to."""
    assert k.origin_site is not None and k.handover_id is not None and k.concluded_ts is not None
    here = e.cfg.hall.site_code
    history = [{"ts": x["ts"], "what": x["what"], "by": x.get("by"), "site": x.get("site") or here}
               for x in k.log[k.log_from:]]
    to = k.origin_site  # before the event: applied, it may uncover this site's own hand-over underneath
    e.emit("case_result_returned", now, handover_id=k.handover_id, hop=k.hops, from_site=here, to_site=to,
           case=k.number, decision=k.decision, reason=k.reason, concluded_at=_iso(k.concluded_ts, e),
           due=_iso(k.due_ts, e), on_time=k.on_time, paused_days=k.paused_days, delays=k.delays,
           steps=carried_steps(k, e.tz), history=history, by=by)
    return to


# ---------------------------------------------------------------------- handlers: the receiving site


def _addressed_here(e: QueueEngine, cmd: c._Delivery) -> None:
    here = e.cfg.hall.site_code
    if cmd.to_site != here:
        raise CommandRejected("wrong_site", f"{cmd.handover_id} is addressed to {cmd.to_site}; this hall is {here}: "
                              "nothing was changed")


@handles("receive_handover")
def receive_handover(e: QueueEngine, cmd: c.ReceiveHandover, now: datetime) -> dict[str, Any]:
    _addressed_here(e, cmd)
    here = e.cfg.hall.site_code
    old = e.state.cases.get(cmd.case)
    if old is not None and cmd.handover_id in old.received_ids:
        return {"case": cmd.case, "handover_id": cmd.handover_id, "already": True, "status": old.status}
    if old is not None and old.status not in ("declined", "returned", "handed_over"):
        raise CommandRejected("case_here", f"{cmd.case} is already at {here} "
                              f"({STATUS_NAMES.get(old.status, old.status)}): hand-over {cmd.handover_id} from "
                              f"{cmd.from_site} would double it; nothing was changed")
    came_back = old is not None and old.status == "handed_over"  # down its chain: this site's hand-over waits
    fields = cmd.model_dump(mode="json", exclude={"op", "request_id", "actor", "accept_by"})
    e.emit("handover_received", now, **fields, accept_by=_aware(cmd.accept_by),
           reopened=old is not None and not came_back, came_back=came_back)
    return {"case": cmd.case, "handover_id": cmd.handover_id, "status": "inbox", "accept_by": _aware(cmd.accept_by),
            "reopened": old is not None and not came_back, "came_back": came_back}


@handles("accept_handover")
def accept_handover(e: QueueEngine, cmd: c.AcceptHandover, now: datetime) -> dict[str, Any]:
    k = _inbox(e, cmd.case)
    by = check_signed_in(e, cmd.by or cmd.actor, "the person accepting it")
    late = k.accept_by_ts is not None and now.timestamp() > k.accept_by_ts
    e.emit("handover_accepted", now, case=k.number, handover_id=k.handover_id, from_site=k.origin_site, handler=by,
           late=late, by=by)
    return {"case": k.number, "status": "in_progress", "handler": by, "late": late, "due": _iso(k.due_ts, e)}


@handles("decline_handover")
def decline_handover(e: QueueEngine, cmd: c.DeclineHandover, now: datetime) -> dict[str, Any]:
    k = _inbox(e, cmd.case)
    by = check_signed_in(e, cmd.by or cmd.actor, "the person declining it")
    e.emit("handover_declined", now, handover_id=k.handover_id, hop=k.hops, from_site=e.cfg.hall.site_code,
           to_site=k.origin_site, case=k.number, reason=cmd.reason, by=by)
    return {"case": k.number, "status": "declined", "back_to": k.origin_site}


def _inbox(e: QueueEngine, number: str) -> CaseRecord:
    k = e.state.cases.get(number)
    if k is not None and k.status != "inbox":
        where = e.cfg.hall.site_code
        raise CommandRejected("bad_state", f"{number} is {STATUS_NAMES.get(k.status, k.status)} ({k.status}) at "
                              f"{where}, not in its inbox: only a case handed over here and not yet accepted is "
                              "accepted or declined; nothing was changed")
    return _case(e, number, "inbox")


def _answering(e: QueueEngine, cmd: c.ReceiveResult | c.ReceiveDecline) -> CaseRecord | None:
    """The case a result or decline answers; None when it was already answered (a redelivery)."""
    _addressed_here(e, cmd)
    k = e.state.cases.get(cmd.case)
    if k is None:
        raise CommandRejected("unknown_case", f"no case {cmd.case} at {e.cfg.hall.site_code}: nothing was changed")
    if cmd.handover_id in k.answered_ids:
        return None
    if k.status != "handed_over" or k.out_id != cmd.handover_id:
        out = f"its hand-over out is {k.out_id}" if k.status == "handed_over" else \
            f"it is {STATUS_NAMES.get(k.status, k.status)}, not handed over"
        raise CommandRejected("unknown_handover", f"{cmd.case} at {e.cfg.hall.site_code} waits for no answer to "
                              f"{cmd.handover_id} ({out}); nothing was changed")
    return k


@handles("receive_result")
def receive_result(e: QueueEngine, cmd: c.ReceiveResult, now: datetime) -> dict[str, Any]:
    k = _answering(e, cmd)
    if k is None:
        return {"case": cmd.case, "handover_id": cmd.handover_id, "already": True}
    on_time = cmd.concluded_at <= cmd.due
    here = e.cfg.hall.site_code  # entries of this site's own (the case came back down the chain) are in its log
    history = [h.model_dump(mode="json") for h in cmd.history if h.site != here]
    e.emit("handover_result_received", now, handover_id=cmd.handover_id, hop=cmd.hop, from_site=cmd.from_site,
           case=k.number, decision=cmd.decision, reason=cmd.reason, concluded_at=_aware(cmd.concluded_at),
           due=_aware(cmd.due), on_time=on_time, paused_days=cmd.paused_days, delays=cmd.delays,
           steps=[s.model_dump(mode="json") for s in cmd.steps],
           history=history, by=cmd.by)
    result: dict[str, Any] = {"case": k.number, "decision": cmd.decision, "on_time": on_time}
    if k.origin_site is not None:  # the middle of a chain: the result goes on down to where the case came from
        result["returned_to"] = return_result(e, k, now, cmd.by)
    else:  # here is where the applicant collects it: the window is told, as for a case concluded here
        e.emit("case_result_ready", now, case=k.number, counter=k.counter, text=result_text(k), by=cmd.by)
        result["status"] = "concluded"
    return result


@handles("receive_decline")
def receive_decline(e: QueueEngine, cmd: c.ReceiveDecline, now: datetime) -> dict[str, Any]:
    k = _answering(e, cmd)
    if k is None:
        return {"case": cmd.case, "handover_id": cmd.handover_id, "already": True}
    e.emit("handover_decline_received", now, handover_id=cmd.handover_id, hop=cmd.hop, from_site=cmd.from_site,
           case=k.number, reason=cmd.reason, by=cmd.by)
    return {"case": k.number, "status": "in_progress", "reason": cmd.reason}


# ---------------------------------------------------------------------- the acceptance timer


def overdue_due(e: QueueEngine, now: datetime) -> list[str]:
    """Received cases not accepted by their accept_by and not yet marked: the inbox is short, a scan is cheap."""
    st, now_ts = e.state, now.timestamp()
    return [n for n in st.case_inbox if (t := st.cases[n].accept_by_ts) is not None and t < now_ts]


def mark_overdue(e: QueueEngine, now: datetime) -> None:
    """Runs before every command (and the server's tick): a case left in the inbox turns visible once."""
    for number in overdue_due(e, now):
        k = e.state.cases[number]
        assert k.accept_by_ts is not None
        e.emit("handover_overdue", now, case=number, handover_id=k.handover_id, from_site=k.origin_site,
               accept_by=_iso(k.accept_by_ts, e), owner=k.owner, owner_site=k.owner_site, item=k.item)


def inbox_cases(st: HallState) -> list[CaseRecord]:
    """The cases handed over to this site and not yet accepted or declined, the one to accept soonest first."""
    return sorted((k for k in st.cases.values() if k.status == "inbox"), key=lambda k: k.accept_by_ts or 0.0)


def inbox_overdue(st: HallState, now_ts: float) -> list[CaseRecord]:
    """The 服务督办员's list of cases handed over here and not accepted in time, the longest waiting first."""
    late = [k for k in st.cases.values() if k.status == "inbox" and k.accept_by_ts is not None
            and (k.handover_overdue or k.accept_by_ts < now_ts)]
    return sorted(late, key=lambda k: k.accept_by_ts or 0.0)


# ---------------------------------------------------------------------- progress (the receipt's QR)

WHAT_WORDS = {"case_accepted": "受理", "case_started": "开始办理", "case_step_assigned": "派定环节跟踪员",
              "case_step_finished": "环节办结", "case_supplement_requested": "补正（计时暂停）",
              "case_resumed": "材料补齐，恢复办理", "case_delayed": "延期", "case_owner_changed": "更换首问负责人",
              "case_concluded": "办结", "case_result_ready": "结果待领取", "case_delivered": "出件",
              "case_archived": "归档", "case_rated": "评价", "case_overdue": "超期",
              "case_visit_added": "再次到厅", "case_record_attached": "附入材料",
              "case_handed_over": "转办", "handover_received": "收到转办", "handover_accepted": "接收转办",
              "handover_declined": "退回转办", "handover_overdue": "转办超时未接收",
              "case_result_returned": "办理结果回传", "handover_result_received": "收到办理结果",
              "handover_decline_received": "转办被退回"}
_STATUS_EVENTS = frozenset({"case_accepted", "case_started", "case_supplement_requested", "case_resumed",
                            "case_concluded", "case_delivered", "case_archived", "case_handed_over",
                            "handover_received", "handover_accepted", "handover_declined", "case_result_returned",
                            "handover_result_received", "handover_decline_received"})


def case_progress(st: HallState, number: str, *, here: str, tz: ZoneInfo) -> dict[str, Any] | None:
    """What the progress lookup (the receipt's QR holds the case number) answers from this site's own state:
    where the case is now (`site`; `here` false means ask that site next: follow `site` until it is here), since
    when, its status in words and its history. Nothing personal. None for a number this site never held."""
    k = st.cases.get(number)
    if k is None:
        return None
    own = [x for x in k.log if not x.get("site") and x["what"] in _STATUS_EVENTS]
    since = own[-1]["ts"] if own else k.accepted_ts
    status = STATUS_NAMES.get(k.status, k.status)
    site = here
    if k.status == "handed_over":
        site, since = k.out_to or here, k.out_ts or since
        words = f"已转办至 {site} 办理（{_hm(since, tz)} 起），办结后结果送回受理地出件"
    elif k.status == "declined":
        site, words = k.origin_site or here, f"已退回 {k.origin_site}（{_hm(since, tz)}），在该处继续办理"
    elif k.status == "returned":
        site, words = k.origin_site or here, f"已办结，结果已送回 {k.origin_site}（{_hm(since, tz)}），请到受理地领取"
    elif k.status == "inbox":
        words = f"已转至 {here}，待接收（{_hm(since, tz)} 转来）"
    elif k.status == "concluded":
        words = f"已办结（{_hm(k.concluded_ts or since, tz)}），待领取"
    else:
        words = f"{status}（{_hm(since, tz)} 起，{here}）"
    history = [{"at": _hm(x["ts"], tz), "site": x.get("site") or here, "what": WHAT_WORDS.get(x["what"], x["what"])}
               for x in k.log if x["what"] in WHAT_WORDS]
    return {"case": k.number, "item_name": k.item_name, "status": k.status, "status_words": status, "site": site,
            "here": site == here, "since": datetime.fromtimestamp(since, tz).isoformat(), "words": words,
            "due": datetime.fromtimestamp(k.due_ts, tz).isoformat(), "history": history}


def _hm(ts: float, tz: ZoneInfo) -> str:
    return f"{datetime.fromtimestamp(ts, tz):%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------------- appliers


FRAME_FIELDS = ("status", "origin_site", "handover_id", "route", "accept_by_ts", "handler", "handover_overdue",
                "log_from", "out_to", "out_id", "out_ts", "handover_note")  # one hand-over's part of a record


def _push(k: CaseRecord) -> None:
    k.stack.append({f: list(v) if isinstance(v := getattr(k, f), list) else v for f in FRAME_FIELDS})


def _pop_or(k: CaseRecord, status: str) -> None:
    """The hand-over this site dealt with is done: back to its own hand-over underneath (waiting for the
    result again, no decision yet), or to `status` when there is none."""
    if not k.stack:
        k.status = status
        return
    for f, v in k.stack.pop().items():
        setattr(k, f, v)
    k.decision, k.reason, k.concluded_ts, k.on_time = None, "", None, None


def _note(st: HallState, k: CaseRecord, ts: float, kind: str, by: str | None, **extra: Any) -> None:
    k.log.append({"ts": ts, "what": kind, "by": by, **extra})
    st.case_next_due = None  # a status or a due date changed: the overdue timer looks again


@applies("case_handed_over")
def case_handed_over(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = st.cases[d["case"]]
    k.status, k.out_to, k.out_id, k.out_ts = "handed_over", d["to_site"], d["handover_id"], ts
    k.hops, k.handover_note = max(k.hops, d["hop"]), d["reason"]
    _note(st, k, ts, "case_handed_over", d.get("actor") or d.get("by"), peer=d["to_site"])
    _running(st, k)


@applies("handover_received")
def handover_received(st: HallState, ts: float, d: dict[str, Any]) -> None:
    number = d["case"]
    old = st.cases.get(number)
    if d.get("came_back"):  # back down its chain: this site's own hand-over waits underneath
        k = old
        assert k is not None
        _push(k)
        k.due_ts, k.steps = _ts(d["due"]), _steps_from(d["steps"], keep=k.steps)
        k.paused_days, k.delays, k.hops = d["paused_days"], d["delays"], max(k.hops, d["hop"])
        k.status, k.origin_site, k.handover_id, k.route = "inbox", d["from_site"], d["handover_id"], list(d["route"])
        k.accept_by_ts, k.handler, k.handover_overdue = _ts(d["accept_by"]), None, False
        k.out_to = k.out_id = k.out_ts = None
        k.handover_note = d["reason"]
    else:
        k = CaseRecord(
            number=number, item=d["item"], item_name=d["item_name"], service=d["service"], kind=d["case_kind"],
            applicant=d["applicant"], id_number=d["id_number"], phone=d["phone"], owner=d["owner"], counter=None,
            accepted_ts=_ts(d["accepted_at"]), due_ts=_ts(d["due"]), status="inbox", steps=_steps_from(d["steps"]),
            paused_days=d["paused_days"], delays=d["delays"], owner_site=d["owner_site"],
            origin_site=d["from_site"], handover_id=d["handover_id"], route=list(d["route"]),
            accept_by_ts=_ts(d["accept_by"]), hops=d["hop"], handover_note=d["reason"])
        if old is not None:  # reopened: this site's own records of the case and its history stay
            k.log, k.tickets, k.consultations, k.notices = old.log, old.tickets, old.consultations, old.notices
            k.received_ids, k.answered_ids, k.hops = old.received_ids, old.answered_ids, max(old.hops, k.hops)
        st.cases[number] = k
    k.received_ids.append(d["handover_id"])
    k.log_from = len(k.log)
    _note(st, k, ts, "handover_received", d.get("actor") or d.get("by"), peer=d["from_site"])
    _running(st, k)
    st.case_inbox[number] = None


@applies("handover_accepted")
def handover_accepted(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = st.cases[d["case"]]
    k.status, k.handler = "in_progress", d["handler"]
    _start_current_step(k, ts)
    st.case_inbox.pop(k.number, None)
    _note(st, k, ts, "handover_accepted", d["handler"])
    _running(st, k)


@applies("handover_declined")
def handover_declined(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = st.cases[d["case"]]
    _pop_or(k, "declined")
    st.case_inbox.pop(k.number, None)
    _note(st, k, ts, "handover_declined", d.get("actor") or d.get("by"), peer=d["to_site"])
    _running(st, k)


@applies("handover_overdue")
def handover_overdue(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = st.cases[d["case"]]
    k.handover_overdue = True
    st.case_inbox.pop(k.number, None)
    _note(st, k, ts, "handover_overdue", None)


@applies("case_result_returned")
def case_result_returned(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = st.cases[d["case"]]
    _pop_or(k, "returned")
    _note(st, k, ts, "case_result_returned", d.get("actor") or d.get("by"), peer=d["to_site"])
    _running(st, k)


@applies("handover_result_received")
def handover_result_received(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = st.cases[d["case"]]
    k.log.extend({"ts": h["ts"], "what": h["what"], "by": h.get("by"), "site": h["site"]} for h in d["history"])
    k.status, k.decision, k.reason = "concluded", d["decision"], d["reason"]
    k.concluded_ts, k.on_time, k.due_ts = _ts(d["concluded_at"]), d["on_time"], _ts(d["due"])
    k.paused_days, k.delays = d["paused_days"], d["delays"]
    if d["steps"]:
        k.steps = _steps_from(d["steps"], keep=k.steps)
    k.out_to = k.out_id = k.out_ts = None
    k.answered_ids.append(d["handover_id"])
    k.hops = max(k.hops, d["hop"])
    _note(st, k, ts, "handover_result_received", d.get("actor") or d.get("by"), peer=d["from_site"])
    _running(st, k)


@applies("handover_decline_received")
def handover_decline_received(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = st.cases[d["case"]]
    k.status, k.handover_note = "in_progress", d["reason"]
    k.out_to = k.out_id = k.out_ts = None
    k.answered_ids.append(d["handover_id"])
    k.hops = max(k.hops, d["hop"])
    _start_current_step(k, ts)
    _note(st, k, ts, "handover_decline_received", d.get("actor") or d.get("by"), peer=d["from_site"])
    _running(st, k)
