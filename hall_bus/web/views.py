"""What each page shows, worked out from the hall config, the mirrored hall state and the time: pure, so the
page's facts are tested without a browser and the templates only lay them out.

Everything read here is the mirror's: names and phones there are already masked by the bus (wire/redact.py),
so a page cannot show a whole one even by mistake. The slot arithmetic is the engine's own (booking.open_slots),
so what the page offers is what the hall server will accept, bar bookings made in between.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hall_bus.catalogue.model import Item
from hall_bus.config import HallConfig
from hall_bus.domain import booking as bk
from hall_bus.domain import hours, slots
from hall_bus.domain import state as s
from hall_bus.domain.calling import estimate
from hall_bus.domain.casework import DECISION_NAMES
from hall_bus.domain.handover import case_progress
from hall_bus.domain.state import Booking, HallState
from hall_bus.web import words as w

GROUPS = tuple(w.WHO)  # the groups a visitor may choose on the phone
RATEABLE = frozenset({"concluded", "delivered", "archived"})


def day_words(day: date) -> str:
    return f"{day.month}月{day.day}日 星期{w.WEEKDAYS[day.weekday()]}"


def span(start: datetime, end: datetime) -> str:
    return f"{start:%H:%M}–{end:%H:%M}"


def session_label(kind: str, name: str) -> str:
    """An extended session says which (午间延时); the regular hours need no label."""
    return "" if kind == hours.REGULAR else name


# ---------------------------------------------------------------------- 首页


@dataclass(frozen=True)
class Opening:
    name: str
    time: str
    extended: bool


def opening(cfg: HallConfig, now: datetime) -> dict[str, Any]:
    """Today's sessions, and the next opening when the hall is shut now (today off, or today's hours over)."""
    local = now.astimezone(cfg.hall.tz)
    today = [Opening(x.name, span(x.start, x.end), x.extended) for x in hours.sessions_on(cfg, local.date())]
    shut = hours.session_at(cfg, local) is None
    nxt = hours.next_open(cfg, local) if shut else None
    next_words = ""
    if nxt is not None:
        d = nxt.start.date()
        when = "今天" if d == local.date() else day_words(d)
        next_words = f"{when} {nxt.start:%H:%M}（{nxt.name}）"
    return {"today": day_words(local.date()), "sessions": today, "open_now": not shut, "next": next_words,
            "closed_today": not today}


# ---------------------------------------------------------------------- 预约: items, days, times


def bookable(cfg: HallConfig, item: Item) -> bool:
    return (item.bookable and item.service in cfg.services_by_name
            and slots.window_capacity(cfg, item.service) > 0)


def items_by_department(cfg: HallConfig, query: str = "") -> list[tuple[str, list[Item]]]:
    """The hall's bookable items grouped by department (catalogue order); with a query, those whose name or
    keywords contain it."""
    cat = cfg.catalogue
    if cat is None:
        return []
    q = query.strip().casefold()
    found: dict[str, list[Item]] = {}
    for item in cat.items:
        if not bookable(cfg, item):
            continue
        if q and q not in item.name.casefold() and not any(q in k.casefold() for k in item.keywords):
            continue
        found.setdefault(item.department, []).append(item)
    return list(found.items())


def bookable_item(cfg: HallConfig, code: str) -> Item | None:
    cat = cfg.catalogue
    item = cat.by_code.get(code) if cat is not None else None
    return item if item is not None and bookable(cfg, item) else None


@dataclass(frozen=True)
class DayChoice:
    day: date
    label: str
    left: int
    closed: bool  # the hall is shut that day (休息)
    bookable: bool  # any slot there may still be booked (not too soon)


def day_choices(cfg: HallConfig, st: HallState, item: Item, group: str, now: datetime) -> list[DayChoice]:
    """The days a booking may be made for, today first; a shut day is listed as 休息 (so a visitor counting
    days does not wonder where Sunday went), a day with no slot left to book today is left out."""
    out = []
    days = slots.bookable_days(cfg, now)
    near = {days[0]: "今天 ", days[0].fromordinal(days[0].toordinal() + 1): "明天 "}
    for day in days:
        label = near.get(day, "") + day_words(day)
        if not hours.sessions_on(cfg, day):
            out.append(DayChoice(day, label, 0, True, False))
            continue
        open_ = bk.open_slots(cfg, st, item, group, day, now)
        out.append(DayChoice(day, label, sum(n for _, n in open_), False, bool(open_)))
    return [d for d in out if d.closed or d.bookable]


@dataclass(frozen=True)
class SlotChoice:
    start: str  # ISO time: what the form posts back
    time: str
    left: int
    session: str  # an extended session's name, else ""


def slot_choices(cfg: HallConfig, st: HallState, item: Item, group: str, day: date,
                 now: datetime) -> list[SlotChoice]:
    tz = cfg.hall.tz
    return [SlotChoice(x.start.isoformat(), span(x.start.astimezone(tz), x.end.astimezone(tz)), n,
                       session_label(x.session_kind, x.session))
            for x, n in bk.open_slots(cfg, st, item, group, day, now)]


def slot_words(cfg: HallConfig, start: datetime, item: Item) -> dict[str, str]:
    """A chosen time as the form page repeats it."""
    local = start.astimezone(cfg.hall.tz)
    length = cfg.booking.slot_minutes
    end = local.timestamp() + length * 60
    return {"date": day_words(local.date()),
            "time": span(local, datetime.fromtimestamp(end, cfg.hall.tz)), "item": item.name}


# ---------------------------------------------------------------------- a booking


def tail_matches(masked_phone: str, tail: str) -> bool:
    """The last four digits against the mirror's masked phone (138****5678 keeps them); constant time."""
    return len(tail) == 4 and len(masked_phone) >= 4 and hmac.compare_digest(masked_phone[-4:], tail)


def booking_view(cfg: HallConfig, b: Booking, now: datetime) -> dict[str, Any]:
    tz = cfg.hall.tz
    start = datetime.fromtimestamp(b.start_ts, tz)
    end = datetime.fromtimestamp(b.end_ts, tz)
    cat = cfg.catalogue
    item = cat.by_code.get(b.item) if cat is not None else None
    left_s = b.hold_until_ts - now.timestamp()
    return {"code": b.code, "status": b.status, "status_words": w.BOOKING_STATUS.get(b.status, b.status),
            "item": b.item_name, "item_code": b.item, "date": day_words(start.date()), "time": span(start, end),
            "session": session_label(b.session_kind, b.session), "who": w.WHO_SHORT.get(b.group, ""),
            "group": b.group, "name": b.name, "phone": b.phone, "hall": cfg.hall.name,
            "place": item.place if item is not None else "", "qr": b.qr,
            "hold_minutes": max(0, math.ceil(left_s / 60)), "hold_over": left_s <= 0}


# ---------------------------------------------------------------------- a ticket


def find_ticket(st: HallState, ref: str) -> s.Ticket | None:
    """The ticket of a QR's `{id}.{token}`, or None — the same None for an unknown id and a wrong token, so
    the page tells a guesser nothing."""
    ticket_id, _, token = ref.rpartition(".")
    t = st.tickets.get(ticket_id)
    if t is None or not t.token or not hmac.compare_digest(t.token.encode(), token.encode()):
        return None
    return t


def ticket_view(cfg: HallConfig, st: HallState, t: s.Ticket, now: datetime) -> dict[str, Any]:
    """The queue page's message: `big` read first, `small` after it; `kind` for the style and the tests."""
    view = {"number": t.number, "service": t.service, "kind": t.status, "big": "", "small": "", "live": True}
    if t.status in (s.WAITING, s.WAITING_HELPER):
        ahead, minutes = estimate(cfg, st, t.id, now.timestamp())
        view["big"] = w.TICKET_WAITING.format(ahead=ahead, minutes=minutes) if ahead else w.TICKET_NEXT
        view["small"] = "叫到您时请到窗口；过号要重新排队。"
    elif t.status == s.CALLED:
        view["big"] = w.TICKET_CALLED.format(counter=t.counter)
        view["small"] = f"{t.number} 号，请带好材料到 {t.counter} 号窗口。"
    elif t.status == s.SERVING:
        view["big"] = w.TICKET_SERVING.format(counter=t.counter)
    elif t.status == s.PARKED:
        view["big"] = w.TICKET_PARKED
    elif t.status == s.NO_SHOW:
        view["big"], view["live"] = w.TICKET_NO_SHOW, False
    elif t.status == s.FINISHED:
        view["big"], view["live"] = w.TICKET_FINISHED, False
    else:
        view["big"], view["live"] = w.TICKET_EXPIRED, False
    return view


# ---------------------------------------------------------------------- a case


def case_view(cfg: HallConfig, st: HallState, number: str) -> dict[str, Any] | None:
    """Where a case is, in words and steps with dates; whether it may be rated here now. Nobody named."""
    found = case_progress(st, number, here=cfg.hall.site_code, tz=cfg.hall.tz)
    if found is None:
        return None
    k = st.cases[number]
    decision = DECISION_NAMES.get(k.decision or "", "")
    return {**found, "decision": decision, "rated": k.rating, "rateable": k.status in RATEABLE and k.rating is None,
            "due_day": found["due"][:10]}
