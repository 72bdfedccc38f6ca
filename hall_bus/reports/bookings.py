"""预约 and 上门服务 in the 台账: one row per booking, the figures a supervisor quotes, and ratings by channel.

A booking belongs to the hall day it is booked for (its slot's day, after any 改约), not the day it was made:
the 台账 of November lists the appointments of November, which is what the windows and the helpers lived
through. Bookings are made up to `horizon_days` ahead and their end (checked in, 爽约, visited) comes after the
range, so the booking events are read from the whole ledger in the report's one pass (`CaseReader(everywhere=)`),
each in O(1): a dict lookup and a few fields set. A booking finished before the range is forgotten as soon as it
is, so memory holds the range's bookings and the few still open, not the ledger's history. Figures describe each
booking as it stands at the newest event, like follow-ups and consultations.

Ratings by channel: the evaluation pad at the window (`rating_recorded`, no channel field: "pad") counts the
visits of the range, as the report's own 满意率 does, so the two agree; 一事一评 of a case (`case_rated`; no
channel in old ledgers: "hall") counts on the hall day it was given; a home visit's (`booking_rated`, "home") with
its booking. 满意率 is the report's own (summary.satisfaction_rate).

Pure: no I/O. `BookingBook.handlers()` are fed (seq, at, data) by whoever reads the ledger.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from hall_bus.clock import hall_day
from hall_bus.domain import state as s
from hall_bus.reports.summary import satisfaction_rate

BOOKING_EVENTS = ("booking_held", "booking_confirmed", "booking_cancelled", "booking_rescheduled", "booking_expired",
                  "booking_no_show", "booking_checked_in", "home_visit_assigned", "home_visit_arrived",
                  "home_visit_finished", "booking_rated", "booking_reminded")
HOME = "home_visit"  # the group of a 上门办 booking (slots.HOME_VISIT)
BOOKING_CHANNELS = {"phone": "手机页", "hotline": "电话", "tablet": "平板", "hall": "大厅"}
RATING_CHANNELS = {"pad": "评价器", "phone": "手机", "home": "上门", "hall": "窗口"}
VISIT_OUTCOMES = {"done": "办结", "materials_missing": "材料不全", "not_home": "不在家", "refused": "拒绝办理"}
STATUS_NAMES = {s.HELD: "待确认", s.BOOKED: "已预约", s.CHECKED_IN: "已到场", s.BOOKING_DONE: "已上门",
                s.BOOKING_CANCELLED: "已取消", s.BOOKING_EXPIRED: "未确认(过期)", s.BOOKING_NO_SHOW: "爽约"}
ARRIVED = frozenset({s.CHECKED_IN, s.BOOKING_DONE})  # the visitor was there: took the ticket, or was found at home
ENDED = frozenset({s.CHECKED_IN, s.BOOKING_DONE, s.BOOKING_CANCELLED, s.BOOKING_EXPIRED, s.BOOKING_NO_SHOW})


@dataclass(slots=True)
class BookingRow:
    """A booking as the 台账 shows it: what the engine's Booking holds, plus what it does not keep (who booked
    through which channel, a late cancel, the visit's outcome, reminders given up, the rating's channel)."""

    code: str
    item: str
    item_name: str
    service: str
    group: str
    start: str  # ISO, as written (the hall's local time)
    end: str
    day: str  # the hall day it is booked for, ISO
    session: str
    session_kind: str
    channel: str
    name: str
    phone: str
    address: str = ""
    needs: list[str] = field(default_factory=list)
    status: str = s.HELD
    confirmed: bool = False
    late_cancel: bool = False
    ticket: str = ""  # the number of the ticket it was checked in with (or its id)
    reschedules: int = 0
    reminders_sent: int = 0
    reminders_failed: int = 0  # given up: the provider refuses the number
    helpers: list[str] = field(default_factory=list)  # staff ids
    travel_minutes: int | None = None  # None until helpers are assigned
    arrived: str = ""  # done_at, ISO: the tablet's time, not when it reached the hall
    finished: str = ""
    outcome: str = ""
    rating: str = ""
    rating_channel: str = ""
    note: str = ""

    @property
    def home_visit(self) -> bool:
        return self.group == HOME


class BookingBook:
    """The bookings for hall days `first`..`last` (ISO) and the 一事一评 of cases given in them, filled by the
    handlers `handlers()` returns, in ledger order."""

    def __init__(self, tz: ZoneInfo, rollover: time, first: str, last: str) -> None:
        self.tz, self.rollover = tz, rollover
        self.first, self.last = first, last
        self.bookings: dict[str, BookingRow] = {}
        self.case_ratings: dict[str, Counter[str]] = {}  # channel → level → count, given in the range

    def _day(self, iso: str) -> str:
        return datetime.fromisoformat(iso).astimezone(self.tz).date().isoformat()

    def _ended(self, b: BookingRow) -> None:
        """A booking that can change no more, of a day before the range: nothing of it is reported."""
        if b.day < self.first and b.status in ENDED:
            del self.bookings[b.code]

    def rows(self) -> list[BookingRow]:
        """The range's bookings, by booked time."""
        return sorted((b for b in self.bookings.values() if self.first <= b.day <= self.last),
                      key=lambda b: (b.start, b.code))

    def handlers(self) -> dict[str, Callable[[int, str, dict[str, Any]], None]]:
        bookings = self.bookings

        def held(seq: int, at: str, d: dict[str, Any]) -> None:
            bookings[d["code"]] = BookingRow(
                d["code"], d["item"], d["item_name"], d["service"], d["group"], d["start"], d["end"],
                self._day(d["start"]), d.get("session") or "", d.get("session_kind") or "", d["channel"],
                d.get("name") or "", d.get("phone") or "", d.get("address") or "", list(d.get("needs") or ()))

        def confirmed(seq: int, at: str, d: dict[str, Any]) -> None:
            if (b := bookings.get(d["code"])) is not None:
                b.status, b.confirmed = s.BOOKED, True

        def ended(status: str) -> Callable[[int, str, dict[str, Any]], None]:
            def end(seq: int, at: str, d: dict[str, Any]) -> None:
                if (b := bookings.get(d["code"])) is not None:
                    b.status = status
                    if status == s.BOOKING_CANCELLED:
                        b.late_cancel = bool(d.get("late"))
                    self._ended(b)
            return end

        def rescheduled(seq: int, at: str, d: dict[str, Any]) -> None:
            if (b := bookings.get(d["code"])) is not None:
                b.start, b.end, b.day = d["start"], d["end"], self._day(d["start"])
                b.session, b.session_kind = d.get("session") or "", d.get("session_kind") or ""
                b.reschedules += 1

        def checked_in(seq: int, at: str, d: dict[str, Any]) -> None:
            if (b := bookings.get(d["code"])) is not None:
                b.status, b.ticket = s.CHECKED_IN, d.get("number") or d.get("ticket") or ""
                self._ended(b)

        def assigned(seq: int, at: str, d: dict[str, Any]) -> None:
            if (b := bookings.get(d["code"])) is not None:
                b.helpers, b.travel_minutes = list(d["helpers"]), int(d["travel_minutes"])

        def arrived(seq: int, at: str, d: dict[str, Any]) -> None:
            if (b := bookings.get(d["code"])) is not None:
                b.status, b.arrived = s.CHECKED_IN, d["done_at"]

        def finished(seq: int, at: str, d: dict[str, Any]) -> None:
            if (b := bookings.get(d["code"])) is None:
                return
            b.finished, b.outcome, b.note = d["done_at"], d["outcome"], d.get("note") or ""
            b.status = s.BOOKING_NO_SHOW if b.outcome == "not_home" else s.BOOKING_DONE
            self._ended(b)

        def rated(seq: int, at: str, d: dict[str, Any]) -> None:
            if (b := bookings.get(d["code"])) is not None:
                b.rating, b.rating_channel = d["level"], d.get("channel") or "home"

        def reminded(seq: int, at: str, d: dict[str, Any]) -> None:
            if (b := bookings.get(d["code"])) is not None:
                if d.get("ok", True):
                    b.reminders_sent += 1
                else:
                    b.reminders_failed += 1

        def case_rated(seq: int, at: str, d: dict[str, Any]) -> None:
            day = hall_day(datetime.fromisoformat(at), self.tz, self.rollover).isoformat()
            if self.first <= day <= self.last:
                self.case_ratings.setdefault(d.get("channel") or "hall", Counter())[d["level"]] += 1

        return {
            "booking_held": held, "booking_confirmed": confirmed, "booking_cancelled": ended(s.BOOKING_CANCELLED),
            "booking_rescheduled": rescheduled, "booking_expired": ended(s.BOOKING_EXPIRED),
            "booking_no_show": ended(s.BOOKING_NO_SHOW), "booking_checked_in": checked_in,
            "home_visit_assigned": assigned, "home_visit_arrived": arrived, "home_visit_finished": finished,
            "booking_rated": rated, "booking_reminded": reminded, "case_rated": case_rated,
        }


# ---------------------------------------------------------------------- the figures


@dataclass
class ChannelRatings:
    channel: str
    name: str
    ratings: Counter[str]

    @property
    def rated(self) -> int:
        return sum(self.ratings.values())

    @property
    def satisfaction_rate(self) -> float | None:
        return satisfaction_rate(self.ratings)


@dataclass
class BookingFigures:
    made: Counter[str] = field(default_factory=Counter)  # holds, by channel: every booking begun
    confirmed: Counter[str] = field(default_factory=Counter)  # by channel
    arrived: int = 0  # checked in at the kiosk, or found at home
    no_show: int = 0  # 爽约: not checked in in time, or not at home
    cancelled: int = 0
    cancelled_late: int = 0  # within the hour before the booked time
    expired: int = 0  # holds never confirmed
    rescheduled: int = 0  # bookings moved at least once
    reschedules: int = 0  # moves in all
    home_booked: int = 0  # confirmed home visits
    home_outcomes: Counter[str] = field(default_factory=Counter)
    home_travel: list[int] = field(default_factory=list)  # minutes of the assigned visits
    home_two_helpers: int = 0
    reminders_sent: int = 0
    reminders_failed: int = 0
    ratings: list[ChannelRatings] = field(default_factory=list)

    @property
    def total_made(self) -> int:
        return sum(self.made.values())

    @property
    def total_confirmed(self) -> int:
        return sum(self.confirmed.values())

    @property
    def no_show_rate(self) -> float | None:
        """爽约率: of the confirmed bookings whose time came and went (the visitor came, or did not); one cancelled
        in time, or still ahead, is neither."""
        due = self.arrived + self.no_show
        return self.no_show / due if due else None

    @property
    def home_done(self) -> int:
        return self.home_outcomes.get("done", 0)

    @property
    def travel_avg(self) -> float | None:
        return sum(self.home_travel) / len(self.home_travel) if self.home_travel else None


def booking_figures(rows: Iterable[BookingRow], pad_ratings: Mapping[str, int],
                    case_ratings: Mapping[str, Counter[str]]) -> BookingFigures:
    """The summary of the range's bookings (`rows`), with ratings by channel: `pad_ratings` are the window pad's
    (the report's own, per level), `case_ratings` the cases' by channel; home visits' ratings come from `rows`."""
    f = BookingFigures()
    by_channel: dict[str, Counter[str]] = {c: Counter() for c in RATING_CHANNELS}
    by_channel["pad"].update(pad_ratings)
    for channel, levels in case_ratings.items():
        by_channel.setdefault(channel, Counter()).update(levels)
    for b in rows:
        f.made[b.channel] += 1
        if b.confirmed:
            f.confirmed[b.channel] += 1
        f.arrived += b.status in ARRIVED
        f.no_show += b.status == s.BOOKING_NO_SHOW
        f.cancelled += b.status == s.BOOKING_CANCELLED
        f.cancelled_late += b.status == s.BOOKING_CANCELLED and b.late_cancel
        f.expired += b.status == s.BOOKING_EXPIRED
        f.rescheduled += b.reschedules > 0
        f.reschedules += b.reschedules
        f.reminders_sent += b.reminders_sent
        f.reminders_failed += b.reminders_failed
        if b.rating:
            by_channel.setdefault(b.rating_channel or "home", Counter())[b.rating] += 1
        if not b.home_visit or not b.confirmed:
            continue
        f.home_booked += 1
        if b.outcome:
            f.home_outcomes[b.outcome] += 1
        if b.travel_minutes is not None and b.helpers:
            f.home_travel.append(b.travel_minutes)
        f.home_two_helpers += len(b.helpers) >= 2
    f.ratings = [ChannelRatings(c, RATING_CHANNELS.get(c, c), n) for c, n in by_channel.items()]
    return f


# ---------------------------------------------------------------------- words both outputs share


def hhmm(iso: str) -> str:
    """"2026-11-24T10:00:00+08:00" → "11-24 10:00" (the report's times are the hall's, as written)."""
    return iso[5:16].replace("T", " ") if iso else ""


def session_words(b: BookingRow) -> str:
    """The extended session's name (延时/错时服务); nothing for the regular hours."""
    return b.session if b.session_kind and b.session_kind != "regular" else ""


def status_words(b: BookingRow) -> str:
    words = STATUS_NAMES.get(b.status, b.status)
    return words + "(开始前一小时内)" if b.status == s.BOOKING_CANCELLED and b.late_cancel else words


def reminder_words(b: BookingRow) -> str:
    if b.reminders_sent:
        return "已发送" if b.reminders_sent == 1 else f"已发送 {b.reminders_sent} 次"
    return "未送达(放弃)" if b.reminders_failed else ""


def summary_pairs(f: BookingFigures) -> list[tuple[str, str, Any, str]]:
    """(label, its English, value, format) of the headline figures, in the order both outputs print them; format
    "pct" for a rate (None when there is nothing to divide), "num" for minutes, "" for counts and texts."""
    pairs: list[tuple[str, str, Any, str]] = [("预约", "bookings made", f.total_made, "")]
    pairs += [(f"　{name}", code, f.made.get(code, 0), "") for code, name in BOOKING_CHANNELS.items()]
    pairs += [(f"　{code}", "", n, "") for code, n in sorted(f.made.items()) if code not in BOOKING_CHANNELS]
    pairs += [
        ("已确认", "confirmed", f.total_confirmed, ""), ("到场", "checked in", f.arrived, ""),
        ("爽约", "no-shows", f.no_show, ""), ("爽约率", "no-show rate", f.no_show_rate, "pct"),
        ("取消（开始前一小时内）", "cancelled (late)", f"{f.cancelled}（{f.cancelled_late}）", ""),
        ("未确认过期", "expired holds", f.expired, ""),
        ("改约（次数）", "rescheduled (moves)", f"{f.rescheduled}（{f.reschedules}）", ""),
        ("上门服务", "home visits booked", f.home_booked, ""), ("上门办结", "home visits done", f.home_done, ""),
    ]
    pairs += [(f"　上门结果·{name}", code, f.home_outcomes.get(code, 0), "") for code, name in VISIT_OUTCOMES.items()]
    pairs += [("上门平均路上（分钟）", "travel", None if f.travel_avg is None else round(f.travel_avg, 1), "num"),
              ("两人上门", "two helpers", f.home_two_helpers, ""),
              ("提醒短信 已发送 / 放弃", "reminders sent / given up", f"{f.reminders_sent} / {f.reminders_failed}", "")]
    return pairs


@dataclass
class BookingReport:
    """What the writers get: the range's bookings, their figures, and how staff are named."""

    rows: list[BookingRow]
    figures: BookingFigures
    who: Callable[[str], str] = str

    @property
    def visits(self) -> list[BookingRow]:
        """The confirmed home visits (a hold never confirmed was no visit), by booked time."""
        return [b for b in self.rows if b.home_visit and b.confirmed]
