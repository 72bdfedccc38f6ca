"""办件: the case beyond the visit — 受理 → 办理 (steps) → 补正 → 办结 → 出件 → 归档 → 评价, in the ledger.

A visit (ticket) lasts minutes; a case lasts days and several visits, and 按时办结 is about the case: concluded
by its due date, counted from the catalogue item's time limit on the hall's working-day calendar. So the due
date is decided once, when the case is accepted, and written into the event with every fact that decided it
(kind, each step's due date); replay never consults the catalogue or the calendar again. Only two things move a
due date, and both are on record: a 补正 pause (the clock stops while the applicant fetches materials; the due
date moves by exactly the working days it was paused) and a written delay (延期), asked before the due date.

Rules of the day's end: 即办件 are due at END_OF_DAY local time the day they are accepted ("当天办结"; one accepted
after it, the same calendar day's last minute); days-counted due dates fall at END_OF_DAY of their last working
day, as follow-ups do (cases.assign_followup).

Case numbers are site code + local date + serial (HALL-20261203-0007), the serial per day kept in the state, so
a replay numbers the same. The first-responsible person (首问负责) is the clerk who accepted the case, or the
helper of the delegation it came under, and stays on it to the end unless a supervisor moves it with a reason.

Records belong to cases: the case keeps the tickets of its visits, and the consultations, one-time notices and
the delegation agreement that are part of it; a 补正 issues its one-time notice through the notice machinery
(printed at a kiosk when asked), and a bad rating opens a follow-up like a visit's does.

A case may be handed to another site of the county (转办, handover.py): out there it is `handed_over` here and
still watched by this site's overdue timer (its due date is still this site's promise); the site that has it
works it with the commands below, and its conclusion goes back to where the case came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from hall_bus.config import WorkCalendar
from hall_bus.domain import commands as c
from hall_bus.domain.cases import followup_due, notice_text
from hall_bus.domain.hours import event_fields
from hall_bus.domain.printing import check_kiosk, queue_slip
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.staff import check_person
from hall_bus.domain.state import CASE_WATCHED, CaseRecord, CaseStep, HallState
from hall_bus.domain.workdays import add_working_days, is_working_day

if TYPE_CHECKING:
    from hall_bus.catalogue.model import Item
    from hall_bus.domain.engine import QueueEngine

END_OF_DAY = time(17, 30)  # the end of a working day: 即办件 and day-counted due dates fall here
RUNNING = frozenset({"accepted", "in_progress"})  # the clock runs (in 补正 it is stopped)
KIND_NAMES = {"immediate": "即办件", "promised": "承诺件", "major": "重大事项"}
STATUS_NAMES = {"accepted": "已受理", "in_progress": "办理中", "supplement": "补正中", "concluded": "已办结",
                "delivered": "已出件", "archived": "已归档", "handed_over": "已转办", "inbox": "待接收",
                "declined": "已退回", "returned": "已回传"}
ELSEWHERE = frozenset({"handed_over", "inbox", "declined", "returned"})  # 转办: not worked here now
DECISION_NAMES = {"approved": "准予", "refused": "不予"}
DELIVERY_NAMES = {"window": "窗口领取", "ems": "邮寄送达", "elicence": "电子证照"}


# ---------------------------------------------------------------------- pure rules


def end_of(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, END_OF_DAY, tz)


def due_dates(item: Item, accepted: datetime, cal: WorkCalendar) -> tuple[datetime, list[datetime]]:
    """(the case's due time, each step's due time) for an item accepted at `accepted` (hall-local).

    即办件: the end of that working day (the last minute of the day when accepted after it); 承诺件: the end of
    the working day the promised working days after; 重大事项: the steps chained, each due its working days after
    the one before it, the case due with the last."""
    tz = accepted.tzinfo
    assert isinstance(tz, ZoneInfo)
    if item.kind == "major" and item.steps:
        dues, prev = [], accepted
        for step in item.steps:
            prev = end_of(add_working_days(prev, step.working_days, cal).date(), tz)
            dues.append(prev)
        return dues[-1], dues
    if item.kind == "immediate" or item.promised_limit.working_days == 0:
        close = end_of(accepted.date(), tz)
        return (close if accepted <= close else datetime.combine(accepted.date(), time(23, 59, 59), tz)), []
    return end_of(add_working_days(accepted, item.promised_limit.working_days, cal).date(), tz), []


def working_days_between(start: date, end: date, cal: WorkCalendar) -> int:
    """Working days in (start, end]: a 补正 from Friday to Tuesday paused Monday and Tuesday, two."""
    n, day = 0, start
    while day < end:
        day += timedelta(days=1)
        n += is_working_day(day, cal)
    return n


def case_number(site: str, day: date, serial: int) -> str:
    return f"{site}-{day:%Y%m%d}-{serial:04d}"


def _mask_name(name: str) -> str:
    """The family name only, as on every slip (devices.privacy.mask_name's rule; the domain imports no driver)."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def _mask_id(number: str) -> str:
    return number[:4] + "*" * (len(number) - 8) + number[-4:] if len(number) > 8 else "*" * len(number)


def receipt_qr(case: CaseRecord, phone_url: str = "") -> str:
    """What the receipt's QR code holds: the case number, all a progress lookup needs and nothing personal; as
    a link to the phone page's progress when the hall has one (web/links.py's form, kept in step by a test)."""
    return f"{phone_url.rstrip('/')}/c/{case.number}" if phone_url else case.number


def receipt_lines(case: CaseRecord, hall: str, tz: ZoneInfo) -> list[str]:
    """受理回执: the words of the slip handed over at 受理 (the applicant masked: the slip leaves the hall)."""
    due = datetime.fromtimestamp(case.due_ts, tz)
    lines = [f"{hall} 受理回执", f"办件编号：{case.number}", f"事项：{case.item_name}（{case.item}）",
             f"类型：{KIND_NAMES.get(case.kind, case.kind)}", f"申请人：{_mask_name(case.applicant)}"]
    if case.id_number:
        lines.append(f"证件号码：{_mask_id(case.id_number)}")
    lines += [f"受理时间：{datetime.fromtimestamp(case.accepted_ts, tz):%Y-%m-%d %H:%M}",
              f"承诺办结：{due:%Y-%m-%d %H:%M} 前", f"首问负责人：{case.owner}"]
    for i, step in enumerate(case.steps, 1):
        lines.append(f"环节{i} {step.department}·{step.name}：{datetime.fromtimestamp(step.due_ts, tz):%m-%d} 前")
    lines.append("扫码查询办理进度")
    return lines


QR_CAPTION = "扫码查询办理进度"
BRING = "请携带申请人身份证原件；代领的，另带委托书和代领人身份证"


def receipt_slip(case: CaseRecord, tz: ZoneInfo, phone_url: str = "") -> dict[str, Any]:
    """The 受理回执 as a print job carries it: the receipt's words (applicant masked) and its QR payload. The
    hall's name and the title are the kiosk's layout; the caption goes under the QR code."""
    lines = receipt_lines(case, "", tz)[1:]
    return {"case": case.number, "title": "受理回执", "lines": [x for x in lines if x != QR_CAPTION],
            "qr": receipt_qr(case, phone_url), "caption": QR_CAPTION,
            "due": datetime.fromtimestamp(case.due_ts, tz).isoformat()}


def result_lines(case: CaseRecord, tz: ZoneInfo, concluded: datetime) -> list[str]:
    """领取通知: the result is ready — where to collect it and what to bring; the applicant masked."""
    lines = [f"办件编号：{case.number}", f"事项：{case.item_name}（{case.item}）",
             f"申请人：{_mask_name(case.applicant)}",
             f"办理结果：{DECISION_NAMES.get(case.decision or '', case.decision or '')}"]
    if case.decision == "refused" and case.reason:
        lines.append(f"不予理由：{case.reason}")
    lines += [f"办结时间：{concluded.astimezone(tz):%Y-%m-%d %H:%M}", result_text(case), BRING]
    return lines


def result_slip(case: CaseRecord, tz: ZoneInfo, concluded: datetime, phone_url: str = "") -> dict[str, Any]:
    return {"case": case.number, "title": "领取通知", "lines": result_lines(case, tz, concluded),
            "qr": receipt_qr(case, phone_url), "caption": QR_CAPTION}


def result_text(case: CaseRecord) -> str:
    where = f"{case.counter} 号窗口" if case.counter else "服务大厅"
    what = "办理结果" if case.decision == "approved" else "不予办理告知书"
    return f"办件 {case.number}（{case.item_name}）已办结，请凭身份证到{where}领取{what}。"


def overdue_cases(st: HallState, now_ts: float) -> list[CaseRecord]:
    """The 服务督办员's list: cases past their due date and not concluded (a case paused for 补正 whose due date
    passed is listed too: it is late when it resumes; so is one handed over to another site: this site promised
    the date and answers for it until the result comes back), oldest due first."""
    late = [k for k in st.cases.values() if k.status in CASE_WATCHED | {"supplement"} and k.due_ts < now_ts]
    return sorted(late, key=lambda k: k.due_ts)


def due_soon(st: HallState, now: datetime, cal: WorkCalendar, within_days: int = 1) -> list[CaseRecord]:
    """Running cases (and cases out at another site) due within `within_days` working days and not yet late,
    soonest first."""
    now_ts, limit = now.timestamp(), add_working_days(now, within_days, cal).timestamp()
    soon = [k for k in st.cases.values() if k.status in CASE_WATCHED and now_ts <= k.due_ts <= limit]
    return sorted(soon, key=lambda k: k.due_ts)


# ---------------------------------------------------------------------- handlers


def _item(e: QueueEngine, code: str) -> Item:
    if e.cfg.catalogue is None:
        raise CommandRejected("no_catalogue", "this hall has no service catalogue ([hall] catalogue)")
    try:
        return e.cfg.catalogue.item(code)
    except KeyError:
        raise CommandRejected("unknown_item", f"no catalogue item {code!r}") from None


def _case(e: QueueEngine, number: str, *states: str) -> CaseRecord:
    found = e.state.cases.get(number)
    if found is None:
        raise CommandRejected("unknown_case", f"no case {number}")
    if states and found.status not in states:
        if found.status in ELSEWHERE:
            raise CommandRejected("not_here", elsewhere_words(found, e.cfg.hall.site_code, e.tz))
        raise CommandRejected("bad_state", f"{number} is {found.status} ({STATUS_NAMES.get(found.status, '')}); "
                              "nothing was changed")
    return found


def elsewhere_words(k: CaseRecord, here: str, tz: ZoneInfo) -> str:
    """Why a case is not worked at this site now, and where it is: a clerk's refusal names both."""
    def hm(ts: float | None) -> str:
        return f"{datetime.fromtimestamp(ts, tz):%Y-%m-%d %H:%M}" if ts is not None else "?"

    if k.status == "handed_over":
        return (f"{k.number} is out at {k.out_to} (已转办 from {here} since {hm(k.out_ts)}, {k.out_id}): it is "
                f"worked and concluded there, and its result comes back to {here}; nothing was changed")
    if k.status == "inbox":
        return (f"{k.number} waits in {here}'s inbox, handed over from {k.origin_site} (待接收, to be accepted by "
                f"{hm(k.accept_by_ts)}): accept_handover first; nothing was changed")
    if k.status == "declined":
        return f"{k.number} was declined at {here} and went back to {k.origin_site} (已退回); nothing was changed"
    return (f"{k.number} was concluded at {here} and its result went back to {k.origin_site} (已回传); nothing "
            "was changed")


def _iso(ts: float, e: QueueEngine) -> str:
    return datetime.fromtimestamp(ts, e.tz).isoformat()


def _open(e: QueueEngine, now: datetime, item: Item, *, applicant: str, id_number: str, phone: str, owner: str,
          counter: int | None, ticket: str | None, delegation: str | None, consultation: str | None,
          by: str, print_at: str | None = None) -> dict[str, Any]:
    local = now.astimezone(e.tz)
    day = f"{local:%Y%m%d}"
    serial = (e.state.case_serial if e.state.case_day == day else 0) + 1
    number = case_number(e.cfg.hall.site_code, local.date(), serial)
    due, step_dues = due_dates(item, local, e.cfg.calendar)
    steps = [{"department": s.department, "name": s.name, "working_days": s.working_days, "due": d.isoformat()}
             for s, d in zip(item.steps, step_dues, strict=False)] if item.kind == "major" else []
    e.emit("case_accepted", now, case=number, item=item.code, item_name=item.name, service=item.service,
           case_kind=item.kind, applicant=applicant, id_number=id_number, phone=phone, owner=owner, counter=counter,
           ticket=ticket, delegation_id=delegation, consultation_id=consultation, due=due.isoformat(), steps=steps,
           by=by, **event_fields(e.cfg, now))
    case = e.state.cases[number]
    result = {"case": number, "kind": item.kind, "due": due.isoformat(), "owner": owner,
              "receipt": receipt_lines(case, e.cfg.hall.name, e.tz),
              "qr": receipt_qr(case, e.cfg.booking.phone_url)}
    if print_at is not None:  # the receipt is owed until that kiosk says it printed it or could not
        result["print_job"] = f"{number}-R"
        queue_slip(e, result["print_job"], print_at, receipt_slip(case, e.tz, e.cfg.booking.phone_url), now,
                   paper="receipt")
    return result


@handles("accept_case")
def accept_case(e: QueueEngine, cmd: c.AcceptCase, now: datetime) -> dict[str, Any]:
    by = check_person(e, cmd.by or cmd.actor, "the clerk accepting it")
    item = _item(e, cmd.item)
    if cmd.counter is not None:
        e.counter(cmd.counter)
    ticket = e.ticket(cmd.ticket).id if cmd.ticket is not None else None
    owner = by
    if cmd.delegation_id is not None:
        d = e.state.delegations.get(cmd.delegation_id)
        if d is None:
            raise CommandRejected("unknown_delegation", f"no delegation {cmd.delegation_id}")
        if d.status != "signed":
            raise CommandRejected("bad_state", f"{d.id} is {d.status}")
        owner = d.helper  # 首问负责: the helper who took the delegation owns the case
    if cmd.consultation_id is not None and cmd.consultation_id not in e.state.consultations:
        raise CommandRejected("unknown_consultation", f"no consultation {cmd.consultation_id}")
    check_kiosk(e, cmd.print_at, "bad_print_at")
    return _open(e, now, item, applicant=cmd.applicant, id_number=cmd.id_number or "", phone=cmd.phone or "",
                 owner=owner, counter=cmd.counter, ticket=ticket, delegation=cmd.delegation_id,
                 consultation=cmd.consultation_id, by=by, print_at=cmd.print_at)


@handles("accept_delegation")
def accept_delegation(e: QueueEngine, cmd: c.AcceptDelegation, now: datetime) -> dict[str, Any]:
    by = check_person(e, cmd.by or cmd.actor, "the helper")
    d = e.state.delegations.get(cmd.delegation_id)
    if d is None:
        raise CommandRejected("unknown_delegation", f"no delegation {cmd.delegation_id}")
    if d.status != "signed":
        raise CommandRejected("bad_state", f"{d.id} is {d.status}")
    item = _item(e, cmd.item)
    if not item.delegable:
        raise CommandRejected("not_delegable", f"{item.name} ({item.code}) is not 可代办 in the catalogue")
    return _open(e, now, item, applicant=d.principal, id_number=cmd.id_number or "", phone=cmd.phone or "",
                 owner=d.helper, counter=None, ticket=d.ticket, delegation=d.id, consultation=None, by=by)


@handles("continue_case")
def continue_case(e: QueueEngine, cmd: c.ContinueCase, now: datetime) -> dict[str, Any]:
    case = _case(e, cmd.case)
    t = e.ticket(cmd.ticket)
    if t.id in case.tickets:
        return {"case": case.number, "ticket": t.id, "already": True}
    e.emit("case_visit_added", now, case=case.number, ticket=t.id, number=t.number, by=cmd.by)
    return {"case": case.number, "ticket": t.id}


@handles("attach_to_case")
def attach_to_case(e: QueueEngine, cmd: c.AttachToCase, now: datetime) -> dict[str, Any]:
    case = _case(e, cmd.case)
    st = e.state
    if cmd.record == "consultation" and cmd.record_id not in st.consultations:
        raise CommandRejected("unknown_consultation", f"no consultation {cmd.record_id}")
    if cmd.record == "delegation":
        if cmd.record_id not in st.delegations:
            raise CommandRejected("unknown_delegation", f"no delegation {cmd.record_id}")
        if case.delegation not in (None, cmd.record_id):
            raise CommandRejected("bad_state", f"{case.number} is under delegation {case.delegation}")
    if cmd.record == "notice" and not (cmd.record_id[:2] == "N-" and cmd.record_id[2:].isdigit()
                                       and 0 < int(cmd.record_id[2:]) <= st.notice_count):
        raise CommandRejected("unknown_notice", f"no notice {cmd.record_id}")
    e.emit("case_record_attached", now, case=case.number, record=cmd.record, record_id=cmd.record_id, by=cmd.by)
    return {"case": case.number, cmd.record: cmd.record_id}


@handles("start_case")
def start_case(e: QueueEngine, cmd: c.StartCase, now: datetime) -> dict[str, Any]:
    case = _case(e, cmd.case, "accepted")
    e.emit("case_started", now, case=case.number, by=cmd.by)
    return {"case": case.number, "status": "in_progress"}


@handles("assign_step")
def assign_step(e: QueueEngine, cmd: c.AssignStep, now: datetime) -> dict[str, Any]:
    case = _case(e, cmd.case, "accepted", "in_progress", "supplement")
    if not 1 <= cmd.step <= len(case.steps):
        raise CommandRejected("unknown_step", f"{case.number} has {len(case.steps)} steps, not a step {cmd.step}")
    tracker = check_person(e, cmd.tracker, "the 环节跟踪员")
    member = e.state.staff.get(tracker)
    if member is not None and "tracker" not in member.duties:  # with a roster, only its 环节跟踪员 track steps
        raise CommandRejected("not_a_tracker", f"{tracker} is not a 环节跟踪员 (tracker) on the roster; nothing "
                              "was changed (hallctl staff add … --duty tracker)")
    e.emit("case_step_assigned", now, case=case.number, step=cmd.step, tracker=tracker, by=cmd.by)
    return {"case": case.number, "step": cmd.step, "tracker": tracker}


@handles("finish_step")
def finish_step(e: QueueEngine, cmd: c.FinishStep, now: datetime) -> dict[str, Any]:
    case = _case(e, cmd.case, "in_progress")
    current = next((i for i, s in enumerate(case.steps, 1) if s.finished_ts is None), None)
    if current is None or cmd.step != current:
        where = f"step {current} is the one under way" if current else "every step is finished"
        raise CommandRejected("bad_state", f"{case.number}: {where}, not step {cmd.step}")
    step = case.steps[current - 1]
    late = now.timestamp() > step.due_ts
    e.emit("case_step_finished", now, case=case.number, step=current, department=step.department, late=late,
           note=cmd.note, by=cmd.by)
    return {"case": case.number, "step": current, "late": late, "next": current + 1 if current < len(case.steps)
            else None}


@handles("request_supplement")
def request_supplement(e: QueueEngine, cmd: c.RequestSupplement, now: datetime) -> dict[str, Any]:
    case = _case(e, cmd.case, "accepted", "in_progress")
    items = list(dict.fromkeys(m.strip() for m in cmd.missing if m.strip()))
    if not items:
        raise CommandRejected("bad_notice", "name at least one missing material")
    check_kiosk(e, cmd.print_at)
    nid = f"N-{e.state.notice_count + 1:06d}"
    text = notice_text(case.item_name, items)
    last = e.state.tickets.get(case.tickets[-1]) if case.tickets else None
    listed = {m.name for m in e.cfg.catalogue.item(case.item).materials} \
        if e.cfg.catalogue is not None and case.item in e.cfg.catalogue.by_code else set()
    e.emit("notice_issued", now, notice_id=nid, service=case.service, items=items,
           free_items=[i for i in items if i not in listed], ticket=last.id if last else None,
           number=last.number if last else None, by=cmd.by, text=text, print_at=cmd.print_at, case=case.number)
    e.emit("case_supplement_requested", now, case=case.number, missing=items, notice_id=nid, by=cmd.by)
    if cmd.print_at is not None:
        member = e.state.staff.get(cmd.by or "")
        queue_slip(e, nid, cmd.print_at, {
            "notice_id": nid, "service": case.item_name, "items": items,
            "by": member.name if member else (cmd.by or ""), "number": case.number,
            "issued_at": now.isoformat(timespec="seconds")}, now)
    return {"case": case.number, "notice_id": nid, "items": items, "text": text}


def _shifted(ts: float, days: int, e: QueueEngine) -> str:
    return add_working_days(datetime.fromtimestamp(ts, e.tz), days, e.cfg.calendar).isoformat()


@handles("resume_case")
def resume_case(e: QueueEngine, cmd: c.ResumeCase, now: datetime) -> dict[str, Any]:
    case = _case(e, cmd.case, "supplement")
    assert case.paused_ts is not None
    since = datetime.fromtimestamp(case.paused_ts, e.tz).date()
    paused = working_days_between(since, now.astimezone(e.tz).date(), e.cfg.calendar)
    due = _shifted(case.due_ts, paused, e)
    steps = [_shifted(s.due_ts, paused, e) if s.finished_ts is None else None for s in case.steps]
    e.emit("case_resumed", now, case=case.number, paused_days=paused, due=due, step_dues=steps, by=cmd.by)
    return {"case": case.number, "paused_days": paused, "due": due}


@handles("delay_case")
def delay_case(e: QueueEngine, cmd: c.DelayCase, now: datetime) -> dict[str, Any]:
    case = _case(e, cmd.case, "accepted", "in_progress", "supplement")
    if now.timestamp() > case.due_ts:
        raise CommandRejected("too_late", f"{case.number} was due {_iso(case.due_ts, e)}: a delay is asked "
                              "before the due date, not after it")
    due = _shifted(case.due_ts, cmd.days, e)
    steps = [_shifted(s.due_ts, cmd.days, e) if s.finished_ts is None else None for s in case.steps]
    e.emit("case_delayed", now, case=case.number, days=cmd.days, reason=cmd.reason, due=due, step_dues=steps,
           by=cmd.by)
    return {"case": case.number, "due": due}


@handles("change_case_owner")
def change_case_owner(e: QueueEngine, cmd: c.ChangeCaseOwner, now: datetime) -> dict[str, Any]:
    case = _case(e, cmd.case)
    if case.owner_site and case.owner_site != e.cfg.hall.site_code:
        raise CommandRejected("not_here", f"{case.number}'s first-responsible person ({case.owner}) is at "
                              f"{case.owner_site}, not {e.cfg.hall.site_code}: only that site moves it; nothing "
                              "was changed")
    if e.state.staff:  # on the bus the server checks the duty; a direct caller (a script) is checked here
        who = e.state.staff.get(cmd.by or cmd.actor or "")
        if who is None or "supervisor" not in who.duties:
            raise CommandRejected("forbidden", "only a supervisor (服务督办员) moves a case's first-responsible "
                                  "person")
    owner = check_person(e, cmd.owner, "the new first-responsible person")
    if owner == case.owner:
        raise CommandRejected("bad_state", f"{owner} already owns {case.number}")
    e.emit("case_owner_changed", now, case=case.number, owner=owner, previous=case.owner, reason=cmd.reason,
           by=cmd.by)
    return {"case": case.number, "owner": owner}


@handles("conclude_case")
def conclude_case(e: QueueEngine, cmd: c.ConcludeCase, now: datetime) -> dict[str, Any]:
    case = _case(e, cmd.case, "in_progress")
    open_steps = [i for i, s in enumerate(case.steps, 1) if s.finished_ts is None]
    if open_steps and cmd.decision == "approved":
        raise CommandRejected("bad_state", f"{case.number}: step {open_steps[0]} is not finished")
    check_kiosk(e, cmd.print_at, "bad_print_at")
    if case.origin_site is not None and cmd.print_at is not None:
        raise CommandRejected("bad_print_at", f"{case.number} came from {case.origin_site}: its 领取通知 is printed "
                              f"there, where the applicant collects the result, not at {e.cfg.hall.site_code}")
    on_time = now.timestamp() <= case.due_ts
    e.emit("case_concluded", now, case=case.number, decision=cmd.decision, reason=cmd.reason, on_time=on_time,
           due=_iso(case.due_ts, e), by=cmd.by)
    result = {"case": case.number, "decision": cmd.decision, "on_time": on_time}
    if case.origin_site is not None:  # 转办: the result goes back to where the case came from, for 出件 there
        from hall_bus.domain import handover  # handover builds on this module; imported here, not at the top

        result["returned_to"] = handover.return_result(e, case, now, cmd.by)
        return result
    e.emit("case_result_ready", now, case=case.number, counter=case.counter, text=result_text(case), by=cmd.by)
    if cmd.print_at is not None:  # the 领取通知 on paper, at the window's kiosk
        result["print_job"] = f"{case.number}-G"
        slip = result_slip(case, e.tz, now, e.cfg.booking.phone_url)
        queue_slip(e, result["print_job"], cmd.print_at, slip, now, paper="result")
    return result


@handles("deliver_case")
def deliver_case(e: QueueEngine, cmd: c.DeliverCase, now: datetime) -> dict[str, Any]:
    case = _case(e, cmd.case, "concluded")
    if cmd.how == "window" and (not cmd.id_checked or cmd.collector is None):
        raise CommandRejected("id_not_checked", "a result is handed over at the window only after the "
                              "collector's ID card is checked (id_checked, collector)")
    e.emit("case_delivered", now, case=case.number, how=cmd.how, collector=cmd.collector or "",
           collector_id=cmd.collector_id or "", tracking=cmd.tracking or "", link=cmd.link or "",
           handed_by=cmd.by)
    return {"case": case.number, "how": cmd.how}


@handles("archive_case")
def archive_case(e: QueueEngine, cmd: c.ArchiveCase, now: datetime) -> dict[str, Any]:
    case = _case(e, cmd.case, "delivered")
    e.emit("case_archived", now, case=case.number, by=cmd.by)
    return {"case": case.number, "status": "archived"}


@handles("rate_case")
def rate_case(e: QueueEngine, cmd: c.RateCase, now: datetime) -> dict[str, Any]:
    if cmd.phone_tail is not None and (e.state.cases.get(cmd.case) is None
                                       or not e.state.cases[cmd.case].phone.endswith(cmd.phone_tail)):
        raise CommandRejected("unknown_case", f"no case {cmd.case} with that phone number")
    if cmd.channel == "phone" and cmd.phone_tail is None:
        raise CommandRejected("phone_needed", "a rating from the phone page comes with the phone's last four digits")
    case = _case(e, cmd.case, "concluded", "delivered", "archived")
    if case.rating is not None:
        raise CommandRejected("already_rated", f"{case.number} was already rated {case.rating} (一事一评)")
    level = cmd.level_name
    fid = f"FU-{e.state.followup_count + 1:06d}" if level in c.FOLLOW_UP_LEVELS else None
    e.emit("case_rated", now, case=case.number, level=level, comment=cmd.comment, followup_id=fid, by=cmd.by,
           channel=cmd.channel)
    result: dict[str, Any] = {"case": case.number, "level": level}
    if fid is not None:
        e.emit("followup_opened", now, followup_id=fid, ticket=case.number, number=case.number, level=level,
               service=case.service, counter=case.counter, comment=cmd.comment, due=followup_due(e, now),
               case=case.number)
        result["followup_id"] = fid
    return result


# ---------------------------------------------------------------------- the overdue timer


def overdue_due(e: QueueEngine, now: datetime) -> list[str]:
    """Running cases past their due date not yet marked. Cheap on the command path: the earliest due time is
    kept and the cases are looked at only once it has passed."""
    st = e.state
    if st.case_next_due is None:
        st.case_next_due = min((k.due_ts for k in _watched(st)), default=float("inf"))
    now_ts = now.timestamp()
    if now_ts <= st.case_next_due:
        return []
    return [k.number for k in _watched(st) if k.due_ts < now_ts]


def _watched(st: HallState) -> Iterable[CaseRecord]:
    return (st.cases[n] for n in st.case_running if not st.cases[n].overdue)


def mark_overdue(e: QueueEngine, now: datetime) -> None:
    """Runs before every command (and the server's tick): an overdue case turns visible once, for the 督办员."""
    for number in overdue_due(e, now):
        k = e.state.cases[number]
        e.emit("case_overdue", now, case=number, owner=k.owner, due=_iso(k.due_ts, e), item=k.item)


# ---------------------------------------------------------------------- appliers


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _log(st: HallState, ts: float, kind: str, d: dict[str, Any]) -> CaseRecord:
    k = st.cases[d["case"]]
    k.log.append({"ts": ts, "what": kind, "by": d.get("actor") or d.get("by") or d.get("handed_by")})
    st.case_next_due = None  # a status, due date or mark may have changed: the timer looks again
    return k


def _running(st: HallState, k: CaseRecord) -> None:
    """Keep the overdue timer's set in step with the case's status (CASE_WATCHED)."""
    if k.status in CASE_WATCHED:
        st.case_running[k.number] = None
    else:
        st.case_running.pop(k.number, None)


@applies("case_accepted")
def case_accepted(st: HallState, ts: float, d: dict[str, Any]) -> None:
    number = d["case"]
    st.cases[number] = CaseRecord(
        number=number, item=d["item"], item_name=d["item_name"], service=d["service"], kind=d["case_kind"],
        applicant=d["applicant"], id_number=d["id_number"], phone=d["phone"], owner=d["owner"],
        counter=d["counter"], accepted_ts=ts, due_ts=_ts(d["due"]), tickets=[d["ticket"]] if d["ticket"] else [],
        delegation=d["delegation_id"], consultations=[d["consultation_id"]] if d["consultation_id"] else [],
        steps=[CaseStep(s["department"], s["name"], s["working_days"], _ts(s["due"])) for s in d["steps"]],
        session=d.get("session"), session_kind=d.get("session_kind"))
    day, serial = number.rsplit("-", 2)[1:]
    st.case_day, st.case_serial = day, int(serial)
    _log(st, ts, "case_accepted", d)
    _running(st, st.cases[number])


@applies("case_visit_added")
def case_visit_added(st: HallState, ts: float, d: dict[str, Any]) -> None:
    _log(st, ts, "case_visit_added", d).tickets.append(d["ticket"])


@applies("case_record_attached")
def case_record_attached(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = _log(st, ts, "case_record_attached", d)
    if d["record"] == "delegation":
        k.delegation = d["record_id"]
    else:
        (k.consultations if d["record"] == "consultation" else k.notices).append(d["record_id"])


@applies("case_started")
def case_started(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = _log(st, ts, "case_started", d)
    k.status = "in_progress"
    if k.steps:
        k.steps[0].started_ts = ts


@applies("case_step_assigned")
def case_step_assigned(st: HallState, ts: float, d: dict[str, Any]) -> None:
    _log(st, ts, "case_step_assigned", d).steps[d["step"] - 1].tracker = d["tracker"]


@applies("case_step_finished")
def case_step_finished(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = _log(st, ts, "case_step_finished", d)
    step = k.steps[d["step"] - 1]
    step.finished_ts, step.by = ts, d.get("by")
    if d["step"] < len(k.steps):
        k.steps[d["step"]].started_ts = ts


@applies("case_supplement_requested")
def case_supplement_requested(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = _log(st, ts, "case_supplement_requested", d)
    k.status, k.paused_ts, k.missing = "supplement", ts, list(d["missing"])
    k.notices.append(d["notice_id"])
    _running(st, k)


def _move_dues(k: CaseRecord, d: dict[str, Any]) -> None:
    k.due_ts = _ts(d["due"])
    for step, due in zip(k.steps, d["step_dues"], strict=False):
        if due is not None:
            step.due_ts = _ts(due)


@applies("case_resumed")
def case_resumed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = _log(st, ts, "case_resumed", d)
    k.status, k.paused_ts, k.missing = "in_progress", None, []
    k.paused_days += d["paused_days"]
    _move_dues(k, d)
    _running(st, k)


@applies("case_delayed")
def case_delayed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = _log(st, ts, "case_delayed", d)
    k.delays += d["days"]
    _move_dues(k, d)


@applies("case_owner_changed")
def case_owner_changed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    _log(st, ts, "case_owner_changed", d).owner = d["owner"]


@applies("case_concluded")
def case_concluded(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = _log(st, ts, "case_concluded", d)
    k.status, k.decision, k.reason, k.concluded_ts, k.on_time = "concluded", d["decision"], d["reason"], ts, \
        d["on_time"]
    _running(st, k)


@applies("case_result_ready")
def case_result_ready(st: HallState, ts: float, d: dict[str, Any]) -> None:
    _log(st, ts, "case_result_ready", d)


@applies("case_delivered")
def case_delivered(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = _log(st, ts, "case_delivered", d)
    k.status, k.delivery, k.delivered_ts, k.handed_by = "delivered", d["how"], ts, d.get("handed_by")
    k.collector, k.collector_id, k.tracking, k.link = d["collector"], d["collector_id"], d["tracking"], d["link"]


@applies("case_archived")
def case_archived(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = _log(st, ts, "case_archived", d)
    k.status, k.archived_ts = "archived", ts


@applies("case_rated")
def case_rated(st: HallState, ts: float, d: dict[str, Any]) -> None:
    k = _log(st, ts, "case_rated", d)
    k.rating, k.followup = d["level"], d.get("followup_id")


@applies("case_overdue")
def case_overdue(st: HallState, ts: float, d: dict[str, Any]) -> None:
    _log(st, ts, "case_overdue", d).overdue = True
