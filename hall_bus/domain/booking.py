"""预约 and 上门办: a visitor's place in a slot, from the hold to the visit, kept in the hall's own ledger.

Bookings live where the windows are: the site's hall server decides every booking in one command, one ledger
transaction, with the same slot functions (slots.py) the phone page and the tablet read, so fifty people
pressing 「确认」 on the last place get one booking and forty-nine clear refusals. The county hub receives the
events like any others (for its views); it never decides a booking.

Who may book is the hall's rule, not the channel's: `per_person_daily` bookings a day and none while
`no_show_limit` were missed in `no_show_days`, counted by the phone number the reminder goes to. A hold lasts
`hold_minutes`; a booking not checked in by `appointment_late_minutes` after its start is a no-show; both are
marked by the engine's housekeeping, written as events, so replay never asks the clock. The signed code (the
QR the kiosk reads) is made here once, at confirmation, and stored in the event.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hall_bus.domain import commands as c
from hall_bus.domain import slots as sl
from hall_bus.domain import state as s
from hall_bus.domain.appointment_code import encode, sign, signature
from hall_bus.domain.cases import followup_due
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.staff import check_person
from hall_bus.domain.state import Booking, HallState

if TYPE_CHECKING:
    from hall_bus.catalogue.model import Item
    from hall_bus.config import HallConfig
    from hall_bus.domain.engine import QueueEngine

CLOCK_SLACK = timedelta(minutes=5)  # a tablet's clock a little ahead of the server's is not a lie


def sessions_on(cfg: HallConfig, day: date) -> list[Any]:
    from hall_bus.domain.hours import sessions_on as hours_on

    return hours_on(cfg, day)


def item_of(cfg: HallConfig, code: str) -> Item:
    cat = cfg.catalogue
    item = cat.by_code.get(code) if cat is not None else None
    if item is None:
        raise CommandRejected("unknown_item", f"no catalogue item {code} in this hall")
    return item


def day_slots(cfg: HallConfig, item: Item, group: str, day: date) -> list[sl.Slot]:
    """The slots of one day a booking of this item and group may take (before counting who took them)."""
    sessions = sessions_on(cfg, day)
    if group == sl.HOME_VISIT:
        return sl.home_visit_slots(cfg, sessions)
    return sl.cut(cfg, item.service, sessions)


def slot_key(cfg: HallConfig, slot: sl.Slot) -> str:
    if slot.service == sl.HOME_VISIT:
        return sl.home_day_key(slot.start.astimezone(cfg.hall.tz).date())
    return slot.key


def left(cfg: HallConfig, st: HallState, slot: sl.Slot, group: str, now: datetime) -> int:
    """Places of a slot still open to a visitor of `group` (what the phone page shows and the engine checks)."""
    taken = st.slot_taken.get(slot_key(cfg, slot), {})
    if slot.service == sl.HOME_VISIT:
        return max(0, slot.capacity - sum(taken.values()))
    cap = slot.capacity
    return sl.places_left(cap, sl.reserves(cfg, cap), taken, group, sl.is_released(cfg, slot.start, now))


def open_slots(cfg: HallConfig, st: HallState, item: Item, group: str, day: date,
               now: datetime) -> list[tuple[sl.Slot, int]]:
    """(slot, places left) for every slot of the day a visitor could still book now."""
    return [(slot, left(cfg, st, slot, group, now)) for slot in day_slots(cfg, item, group, day)
            if not sl.too_soon(cfg, slot.start, now) and not sl.beyond_horizon(cfg, slot.start, now)]


def _slot(e: QueueEngine, item: Item, group: str, start: datetime, now: datetime) -> sl.Slot:
    tz = e.tz
    local = start.astimezone(tz)
    if sl.too_soon(e.cfg, start, now):
        raise CommandRejected("too_soon", f"{local:%m-%d %H:%M} is too soon: book at least "
                              f"{e.cfg.booking.lead_minutes} minutes ahead")
    if sl.beyond_horizon(e.cfg, start, now):
        raise CommandRejected("too_far", f"{local:%m-%d} is too far ahead: bookings open "
                              f"{e.cfg.booking.horizon_days} days ahead")
    slot = next((x for x in day_slots(e.cfg, item, group, local.date()) if x.start == start), None)
    if slot is None:
        raise CommandRejected("no_such_slot", f"{local:%m-%d %H:%M} is not a bookable time for {item.name}")
    if slot.capacity <= 0:
        raise CommandRejected("slot_full", f"{item.name} takes no bookings (no window serves it for bookings)")
    return slot


def _check_person_limits(e: QueueEngine, phone: str, start: datetime, now: datetime, item: str,
                         moving: str | None = None) -> None:
    st, cfg = e.state, e.cfg.booking
    mine = [st.bookings[code] for code in st.bookings_of.get(phone, ()) if code != moving]
    since = (now - timedelta(days=cfg.no_show_days)).timestamp()
    missed = sorted(b.start_ts for b in mine if b.status == s.BOOKING_NO_SHOW and b.start_ts >= since)
    if len(missed) >= cfg.no_show_limit:
        until = datetime.fromtimestamp(missed[-cfg.no_show_limit] + cfg.no_show_days * 86400, e.tz)
        raise CommandRejected("no_show_limited", f"{len(missed)} missed bookings in {cfg.no_show_days} days: "
                              f"booking is open again from {until:%Y-%m-%d}; please come to the hall or call")
    day = start.astimezone(e.tz).date()
    same_day = [b for b in mine if b.status in (s.HELD, s.BOOKED)
                and datetime.fromtimestamp(b.start_ts, e.tz).date() == day]
    if any(b.item == item for b in same_day):
        raise CommandRejected("already_booked", f"this phone already has a booking for that item on {day}")
    if len(same_day) >= cfg.per_person_daily:
        raise CommandRejected("daily_limit", f"this phone already has {len(same_day)} bookings on {day} "
                              f"(at most {cfg.per_person_daily} a day)")


def _check_room(e: QueueEngine, item: Item, slot: sl.Slot, group: str, now: datetime) -> None:
    if left(e.cfg, e.state, slot, group, now) > 0:
        return
    others = [x for x, n in open_slots(e.cfg, e.state, item, group, slot.start.astimezone(e.tz).date(), now)
              if n > 0][:3]
    hint = ("; still free that day: " + ", ".join(f"{x.start.astimezone(e.tz):%H:%M}" for x in others)) \
        if others else "; that day is fully booked"
    raise CommandRejected("slot_full", f"{slot.start.astimezone(e.tz):%m-%d %H:%M} is fully booked{hint}")


def _booking(e: QueueEngine, cmd: c._BookingCmd) -> Booking:
    b = e.state.bookings.get(cmd.code)
    if b is None or (cmd.phone_tail is not None and not b.phone.endswith(cmd.phone_tail)):
        # one answer for both: a guesser learns nothing from which half was wrong
        raise CommandRejected("unknown_booking", f"no booking {cmd.code} with that phone number")
    return b


def _qr(e: QueueEngine, b: Booking, start: datetime) -> str:
    text = encode(b.service, start.astimezone(e.tz), ref=b.code, group=b.group if b.group != sl.HOME_VISIT
                  else "normal", hall=e.cfg.hall.name)
    return sign(text, e.booking_key) if e.booking_key else text


def ticket_token(e: QueueEngine, ticket_id: str) -> str:
    """What the ticket's QR adds to its id so the phone page answers only the person holding the paper: ids
    are a day and a counter, guessable; the token is not. Empty without a key (a scenario, a test engine)."""
    return signature(ticket_id, e.booking_key)[:10] if e.booking_key else ""


def _slot_facts(e: QueueEngine, slot: sl.Slot) -> dict[str, Any]:
    return {"slot": slot_key(e.cfg, slot), "start": slot.start.isoformat(), "end": slot.end.isoformat(),
            "session": slot.session, "session_kind": slot.session_kind}


# ---------------------------------------------------------------------- handlers


@handles("hold_booking")
def hold_booking(e: QueueEngine, cmd: c.HoldBooking, now: datetime) -> dict[str, Any]:
    item = item_of(e.cfg, cmd.item)
    if not item.bookable and cmd.group != sl.HOME_VISIT:
        raise CommandRejected("not_bookable", f"{item.name} ({item.code}) is not 可预约 in the catalogue")
    if cmd.group == sl.HOME_VISIT:
        if not item.home_visit:
            raise CommandRejected("no_home_visit", f"{item.name} ({item.code}) is not 可上门 in the catalogue")
        if not cmd.address.strip():
            raise CommandRejected("address_needed", "a home visit needs the address to go to")
    elif not e.cfg.groups[cmd.group].counter_queue:
        raise CommandRejected("bad_group", f"{cmd.group} is not called at a window")
    if item.service not in e.cfg.services_by_name:
        raise CommandRejected("unknown_service", f"{item.name}'s service {item.service} is not in this hall")
    slot = _slot(e, item, cmd.group, cmd.start, now)
    _check_person_limits(e, cmd.phone, slot.start, now, item.code)
    _check_room(e, item, slot, cmd.group, now)
    day = slot.start.astimezone(e.tz).strftime("%Y%m%d")
    code = f"{e.cfg.hall.site_code}-{day}-{e.state.booking_serial.get(day, 0) + 1:03d}"
    hold_until = now + timedelta(minutes=e.cfg.booking.hold_minutes)
    e.emit("booking_held", now, code=code, item=item.code, item_name=item.name, service=item.service,
           group=cmd.group, **_slot_facts(e, slot), channel=cmd.channel, phone=cmd.phone, name=cmd.name,
           address=cmd.address.strip(), needs=list(cmd.needs), by=cmd.by,
           hold_until=hold_until.isoformat(timespec="seconds"))
    return {"code": code, "start": slot.start.isoformat(), "end": slot.end.isoformat(), "item": item.name,
            "hold_until": hold_until.isoformat(timespec="seconds"), "session": slot.session}


@handles("confirm_booking")
def confirm_booking(e: QueueEngine, cmd: c.ConfirmBooking, now: datetime) -> dict[str, Any]:
    b = _booking(e, cmd)
    if b.status == s.BOOKED:  # the confirm tapped twice, or its answer lost: the same booking
        return {"code": b.code, "qr": b.qr, "start": _iso(e, b.start_ts), "already": True}
    if b.status == s.BOOKING_EXPIRED:
        raise CommandRejected("hold_expired", f"the hold on {b.code} ran out; please choose a time again")
    if b.status != s.HELD:
        raise CommandRejected("bad_state", f"{b.code} is {b.status}")
    start = datetime.fromtimestamp(b.start_ts, e.tz)
    helpers_needed = 1
    if b.group == sl.HOME_VISIT and set(b.needs) & set(e.cfg.booking.two_helper_needs):
        helpers_needed = 2
    qr = _qr(e, b, start)
    e.emit("booking_confirmed", now, code=b.code, qr=qr, channel=b.channel, item=b.item, group=b.group,
           helpers_needed=helpers_needed, by=cmd.by)
    return {"code": b.code, "qr": qr, "start": start.isoformat(), "helpers_needed": helpers_needed}


@handles("cancel_booking")
def cancel_booking(e: QueueEngine, cmd: c.CancelBooking, now: datetime) -> dict[str, Any]:
    b = _booking(e, cmd)
    if b.status not in (s.HELD, s.BOOKED):
        raise CommandRejected("bad_state", f"{b.code} is {b.status}; it cannot be cancelled")
    e.emit("booking_cancelled", now, code=b.code, reason=cmd.reason, by=cmd.by, late=b.start_ts - now.timestamp()
           < 3600)
    return {"code": b.code, "status": s.BOOKING_CANCELLED}


@handles("reschedule_booking")
def reschedule_booking(e: QueueEngine, cmd: c.RescheduleBooking, now: datetime) -> dict[str, Any]:
    b = _booking(e, cmd)
    if b.status != s.BOOKED:
        raise CommandRejected("bad_state", f"{b.code} is {b.status}; only a confirmed booking is moved")
    item = item_of(e.cfg, b.item)
    slot = _slot(e, item, b.group, cmd.start, now)
    if slot_key(e.cfg, slot) == b.slot and slot.start.timestamp() == b.start_ts:
        raise CommandRejected("same_slot", "that is the time already booked")
    _check_person_limits(e, b.phone, slot.start, now, b.item, moving=b.code)
    if slot_key(e.cfg, slot) != b.slot:
        _check_room(e, item, slot, b.group, now)
    qr = _qr(e, b, slot.start)
    e.emit("booking_rescheduled", now, code=b.code, **_slot_facts(e, slot), qr=qr, by=cmd.by,
           was=_iso(e, b.start_ts))
    return {"code": b.code, "qr": qr, "start": slot.start.isoformat(), "end": slot.end.isoformat()}


@handles("assign_home_visit")
def assign_home_visit(e: QueueEngine, cmd: c.AssignHomeVisit, now: datetime) -> dict[str, Any]:
    b = _booking(e, cmd)
    if b.group != sl.HOME_VISIT:
        raise CommandRejected("not_home_visit", f"{b.code} is a booking at the hall, not a home visit")
    if b.status not in (s.BOOKED, s.CHECKED_IN):
        raise CommandRejected("bad_state", f"{b.code} is {b.status}")
    helpers = [check_person(e, h, "a helper") for h in dict.fromkeys(cmd.helpers)]
    needed = 2 if set(b.needs) & set(e.cfg.booking.two_helper_needs) else 1
    if len(helpers) < needed:
        need = "、".join(sorted(set(b.needs) & set(e.cfg.booking.two_helper_needs)))
        raise CommandRejected("two_helpers_needed", f"{b.code} needs two helpers ({need})")
    leave = b.start_ts - cmd.travel_minutes * 60
    for other in e.state.bookings.values():
        if other.code == b.code or other.group != sl.HOME_VISIT or other.status not in (s.BOOKED, s.CHECKED_IN):
            continue
        clash = set(other.helpers) & set(helpers)
        if clash and leave < other.end_ts + other.travel_minutes * 60 and other.start_ts - \
                other.travel_minutes * 60 < b.end_ts + cmd.travel_minutes * 60:
            who = "、".join(sorted(clash))
            raise CommandRejected("helper_busy", f"{who} is on home visit {other.code} then "
                                  f"({_iso(e, other.start_ts)[11:16]}, with the road)")
    e.emit("home_visit_assigned", now, code=b.code, helpers=helpers, travel_minutes=cmd.travel_minutes, by=cmd.by)
    return {"code": b.code, "helpers": helpers}


def _visit(e: QueueEngine, cmd: c._VisitAct, now: datetime, statuses: tuple[str, ...]) -> Booking:
    b = _booking(e, cmd)
    if b.group != sl.HOME_VISIT:
        raise CommandRejected("not_home_visit", f"{b.code} is not a home visit")
    if cmd.by is not None and b.helpers and cmd.by not in b.helpers:
        raise CommandRejected("not_assigned", f"{cmd.by} is not assigned to {b.code}")
    if cmd.done_at > now + CLOCK_SLACK:
        raise CommandRejected("clock_ahead", f"done_at {cmd.done_at.isoformat()} is in the future; check the "
                              "tablet's clock")
    if cmd.done_at.timestamp() < b.held_ts:
        raise CommandRejected("bad_time", f"done_at is before {b.code} was booked")
    if b.status not in statuses:
        raise CommandRejected("bad_state", f"{b.code} is {b.status}")
    return b


@handles("arrive_home_visit")
def arrive_home_visit(e: QueueEngine, cmd: c.ArriveHomeVisit, now: datetime) -> dict[str, Any]:
    b = e.state.bookings.get(cmd.code)
    if b is not None and b.status == s.CHECKED_IN and b.arrived_ts is not None:
        return {"code": b.code, "already": True}  # the outbox sent it twice
    b = _visit(e, cmd, now, (s.BOOKED,))
    e.emit("home_visit_arrived", now, code=b.code, done_at=cmd.done_at.isoformat(), by=cmd.by)
    return {"code": b.code}


@handles("finish_home_visit")
def finish_home_visit(e: QueueEngine, cmd: c.FinishHomeVisit, now: datetime) -> dict[str, Any]:
    b = e.state.bookings.get(cmd.code)
    if b is not None and b.status in (s.BOOKING_DONE, s.BOOKING_NO_SHOW) and b.finished_ts is not None:
        return {"code": b.code, "already": True}
    b = _visit(e, cmd, now, (s.BOOKED, s.CHECKED_IN))
    e.emit("home_visit_finished", now, code=b.code, done_at=cmd.done_at.isoformat(), outcome=cmd.outcome,
           note=cmd.note, by=cmd.by, service=b.service, item=b.item)
    result: dict[str, Any] = {"code": b.code, "outcome": cmd.outcome}
    level = cmd.level_name
    if level is not None and cmd.outcome != "not_home":
        result |= rate_booking(e, b, level, cmd.comment, "home", now)
    return result


def rate_booking(e: QueueEngine, b: Booking, level: str, comment: str, channel: str,
                 now: datetime) -> dict[str, Any]:
    """一事一评 of a home visit, once; a bad one opens a follow-up like any other rating."""
    if b.rating is not None:
        raise CommandRejected("already_rated", f"{b.code} was already rated {b.rating} (一事一评)")
    e.emit("booking_rated", now, code=b.code, level=level, comment=comment, channel=channel, service=b.service)
    result: dict[str, Any] = {"level": level}
    if level in c.FOLLOW_UP_LEVELS:
        fid = f"FU-{e.state.followup_count + 1:06d}"
        e.emit("followup_opened", now, followup_id=fid, ticket=b.code, number=b.code, level=level,
               service=b.service, counter=None, comment=comment, due=followup_due(e, now), case=b.case)
        result["followup_id"] = fid
    return result


@handles("record_reminder")
def record_reminder(e: QueueEngine, cmd: c.RecordReminder, now: datetime) -> dict[str, Any]:
    b = e.state.bookings.get(cmd.code)
    if b is None:
        raise CommandRejected("unknown_booking", f"no booking {cmd.code}")
    e.emit("booking_reminded", now, code=b.code, ok=cmd.ok, message_id=cmd.message_id, error=cmd.error)
    return {"code": b.code}


# ---------------------------------------------------------------------- at the kiosk (tickets.issue)


def check_in_problem(e: QueueEngine, cmd: c.Issue) -> Booking | None:
    """The booking an appointment ticket is for, checked; None for a code of another booking system."""
    b = e.state.bookings.get(cmd.appointment_ref or "")
    if b is None:
        return None
    if e.booking_key and (not cmd.appointment_sig or not b.qr.endswith(f";sig={cmd.appointment_sig}")):
        raise CommandRejected("bad_signature", f"the code for {b.code} is not the one the hall issued")
    if b.status == s.CHECKED_IN:
        raise CommandRejected("appointment_used", f"booking {b.code} already has ticket {b.ticket}")
    if b.status != s.BOOKED:
        raise CommandRejected("booking_" + b.status, f"booking {b.code} is {b.status}")
    if b.service != cmd.service:
        raise CommandRejected("wrong_service", f"booking {b.code} is for {b.service}, not {cmd.service}")
    return b


# ---------------------------------------------------------------------- housekeeping


def due(e: QueueEngine, now: datetime) -> tuple[list[str], list[str]]:
    """(holds run out, bookings missed). Every command asks, so the earliest such time is kept and the held and
    booked codes are looked at only once it has passed (as casework's overdue timer does)."""
    st, now_ts = e.state, now.timestamp()
    late = e.cfg.hall.appointment_late_minutes * 60
    if st.booking_next_due is None:
        st.booking_next_due = min([st.bookings[code].hold_until_ts for code in st.holds]
                                  + [st.bookings[code].start_ts + late for code in st.booked_open
                                     if st.bookings[code].group != sl.HOME_VISIT], default=float("inf"))
    if now_ts <= st.booking_next_due:
        return [], []
    expired = [code for code in st.holds if st.bookings[code].hold_until_ts < now_ts]
    missed = [code for code in st.booked_open
              if st.bookings[code].group != sl.HOME_VISIT and st.bookings[code].start_ts + late < now_ts]
    st.booking_next_due = None  # recomputed once these are marked
    return expired, missed


def mark_due(e: QueueEngine, now: datetime) -> None:
    expired, missed = due(e, now)
    for code in expired:
        e.emit("booking_expired", now, code=code)
    for code in missed:
        e.emit("booking_no_show", now, code=code)


def _iso(e: QueueEngine, ts: float) -> str:
    return datetime.fromtimestamp(ts, e.tz).isoformat()


# ---------------------------------------------------------------------- appliers


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@applies("booking_held")
def booking_held(st: HallState, ts: float, d: dict[str, Any]) -> None:
    day = d["code"].split("-")[-2]
    st.booking_serial[day] = max(st.booking_serial.get(day, 0), int(d["code"].split("-")[-1]))
    b = Booking(code=d["code"], item=d["item"], item_name=d["item_name"], service=d["service"], group=d["group"],
                slot=d["slot"], start_ts=_ts(d["start"]), end_ts=_ts(d["end"]), session=d["session"],
                session_kind=d["session_kind"], status=s.HELD, channel=d["channel"], phone=d["phone"],
                name=d["name"], held_ts=ts, hold_until_ts=_ts(d["hold_until"]), by=d.get("by"),
                address=d.get("address", ""), needs=list(d.get("needs", [])))
    st.bookings[b.code] = b
    st.index_booking(b)


@applies("booking_confirmed")
def booking_confirmed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    b = st.bookings[d["code"]]
    b.status, b.qr = s.BOOKED, d["qr"]
    st.holds.pop(b.code, None)
    st.booked_open[b.code] = None
    st.booking_next_due = None


def _free(st: HallState, b: Booking, status: str) -> None:
    st.release_place(b)
    st.booked_open.pop(b.code, None)
    b.status = status


@applies("booking_cancelled")
def booking_cancelled(st: HallState, ts: float, d: dict[str, Any]) -> None:
    _free(st, st.bookings[d["code"]], s.BOOKING_CANCELLED)


@applies("booking_expired")
def booking_expired(st: HallState, ts: float, d: dict[str, Any]) -> None:
    _free(st, st.bookings[d["code"]], s.BOOKING_EXPIRED)


@applies("booking_no_show")
def booking_no_show(st: HallState, ts: float, d: dict[str, Any]) -> None:
    _free(st, st.bookings[d["code"]], s.BOOKING_NO_SHOW)


@applies("booking_rescheduled")
def booking_rescheduled(st: HallState, ts: float, d: dict[str, Any]) -> None:
    b = st.bookings[d["code"]]
    st.release_place(b)
    b.slot, b.start_ts, b.end_ts = d["slot"], _ts(d["start"]), _ts(d["end"])
    b.session, b.session_kind, b.qr = d["session"], d["session_kind"], d["qr"]
    b.reschedules += 1
    b.reminded = False
    st.booking_next_due = None
    taken = st.slot_taken.setdefault(b.slot, {})
    taken[b.group] = taken.get(b.group, 0) + 1


@applies("booking_checked_in")
def booking_checked_in(st: HallState, ts: float, d: dict[str, Any]) -> None:
    b = st.bookings[d["code"]]
    b.status, b.ticket, b.arrived_ts = s.CHECKED_IN, d["ticket"], ts
    st.booked_open.pop(b.code, None)


@applies("home_visit_assigned")
def home_visit_assigned(st: HallState, ts: float, d: dict[str, Any]) -> None:
    b = st.bookings[d["code"]]
    b.helpers, b.travel_minutes = list(d["helpers"]), d["travel_minutes"]


@applies("home_visit_arrived")
def home_visit_arrived(st: HallState, ts: float, d: dict[str, Any]) -> None:
    b = st.bookings[d["code"]]
    b.status, b.arrived_ts = s.CHECKED_IN, _ts(d["done_at"])
    st.booked_open.pop(b.code, None)


@applies("home_visit_finished")
def home_visit_finished(st: HallState, ts: float, d: dict[str, Any]) -> None:
    b = st.bookings[d["code"]]
    st.booked_open.pop(b.code, None)
    b.finished_ts, b.note = _ts(d["done_at"]), d.get("note", "")
    if d["outcome"] == "not_home":
        _free(st, b, s.BOOKING_NO_SHOW)
    else:
        b.status = s.BOOKING_DONE


@applies("booking_rated")
def booking_rated(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.bookings[d["code"]].rating = d["level"]


@applies("booking_reminded")
def booking_reminded(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.bookings[d["code"]].reminded = True  # sent, or given up: either way not sent again
