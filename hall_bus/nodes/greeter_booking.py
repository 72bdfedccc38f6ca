"""预约 and 上门办 on the greeter tablet, without a UI toolkit: what a helper reads while booking for a caller on the
phone (热线/电话预约) and while going from one home visit to the next.

Pure functions of the hall's configuration and the mirrored state, so the Kivy tablet and the tests read the same
rows. The slots and places left come from the engine's own functions (domain/booking.py), so what the helper
offers a caller is what the hall will accept, less what others booked in the meantime. Names, phones and
addresses on the lists are masked: the tablet is carried about. The read-back is the exception, and only of what
the helper typed in this call: it exists so the caller hears their own number digit by digit before it is booked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from devices.privacy import mask_address, mask_name, mask_phone
from hall_bus.catalogue.search import GuideIndex
from hall_bus.config import HallConfig
from hall_bus.domain import booking as bk
from hall_bus.domain import slots as sl
from hall_bus.domain import state as s
from hall_bus.domain.commands import RATING_LEVELS
from hall_bus.domain.state import HallState

HOME_VISIT = sl.HOME_VISIT
WEEKDAYS = "一二三四五六日"
# What a helper may tick about the visitor (the roster's `[booking] two_helper_needs` among them): tapped, not typed
HOME_NEEDS = ("轮椅", "卧床", "需要见证", "听力差", "视力差", "不识字", "需要翻译（方言）")
OUTCOMES = (("done", "已办结"), ("materials_missing", "材料不齐，下次再办"), ("not_home", "家中无人"),
            ("refused", "群众不办了"))
RATING_FACES = tuple(zip((5, 4, 3, 2, 1), ("😄", "🙂", "😐", "🙁", "😞"), RATING_LEVELS, strict=True))
TRAVEL_CHOICES = (10, 20, 30, 45, 60, 90)

BOOKING_REFUSALS = {  # the server's booking refusals as a helper says them to the caller
    "slot_full": "这个时间已经约满了，请换一个时间",
    "too_soon": "这个时间太近了，请选晚一点的时间",
    "too_far": "这一天还不能预约，请选近一点的日子",
    "no_such_slot": "这个时间不能预约，请在列表里选",
    "already_booked": "这个手机号当天已经约过这个事项",
    "daily_limit": "这个手机号当天的预约已经够数了",
    "no_show_limited": "这个手机号近期爽约太多，暂时不能预约，请直接来大厅",
    "hold_expired": "占位已超时（10 分钟内没有确认），请重新选时间",
    "not_bookable": "这个事项不能预约",
    "no_home_visit": "这个事项不能上门办",
    "address_needed": "上门办要写上门地址",
    "unknown_booking": "没有这个预约号",
    "two_helpers_needed": "这位群众要两名帮办员一起上门",
    "helper_busy": "帮办员那时正在别的上门办（含路上时间），请换人",
    "not_assigned": "这次上门办没有派给您",
    "clock_ahead": "平板的时钟比大厅快，请校准平板时间",
    "bad_time": "记录的时间早于预约时间，请校准平板时间",
    "same_slot": "这就是原来约的时间",
    "bad_state": "这个预约现在不能这样办（可能已取消、已办结或已过时）",
}


@dataclass(frozen=True, slots=True)
class ItemChoice:
    code: str
    name: str
    service: str
    department: str


@dataclass(frozen=True, slots=True)
class SlotRow:
    start: datetime
    end: datetime
    left: int
    words: str  # "09:30–10:00 余 3" (上门办: "09:00 当天余 4")
    session: str


@dataclass(frozen=True, slots=True)
class VisitItem:
    """One line of 我的上门: a visit of the signed-in helper that day, masked, with what may be done next and what
    this tablet recorded but has not yet sent."""

    code: str
    start_ts: float
    when: str  # "09:00–10:00"
    item_name: str
    who: str  # masked
    phone: str  # masked
    address: str  # masked: the whole address is on the printed route sheet
    needs: tuple[str, ...]
    helpers: tuple[str, ...]
    status: str
    status_words: str
    can_arrive: bool
    can_finish: bool
    arrived: str  # "到达 09:02" (from the hall, or recorded here and waiting)
    finished: str
    waiting: str  # "已记录，待上传" when this tablet holds an act of this visit not yet sent


def bookable_items(cfg: HallConfig, index: GuideIndex | None, query: str = "", *, home_visit: bool = False,
                   limit: int = 30) -> list[ItemChoice]:
    """Catalogue items a caller may book (可预约), or have done at home (可上门): all of them for an empty query,
    else the guide's search (characters, pinyin, initials, keywords), best match first."""
    cat = cfg.catalogue
    if cat is None:
        return []

    def fits(item: Any) -> bool:
        return bool(item.home_visit if home_visit else item.bookable) and item.service in cfg.services_by_name

    if not query.strip() or index is None:
        found = [i for i in cat.items if fits(i)]
    else:
        found = [cat.by_code[h.code] for h in index.search(query.strip(), limit=200)
                 if h.kind == "item" and h.code in cat.by_code and fits(cat.by_code[h.code])]
    return [ItemChoice(i.code, i.name, i.service, i.department) for i in found[:limit]]


def day_words(day: date) -> str:
    return f"{day.month}月{day.day}日 周{WEEKDAYS[day.weekday()]}"


def booking_days(cfg: HallConfig, now: datetime) -> list[date]:
    """The days a booking may be made for from now, the hall open on each (a weekend or holiday is not offered)."""
    return [d for d in sl.bookable_days(cfg, now) if bk.sessions_on(cfg, d)]


def slot_rows(cfg: HallConfig, state: HallState, item_code: str, day: date, now: datetime,
              group: str = "normal") -> list[SlotRow]:
    """The day's times for the item, with the places left for this visitor's group (0: 约满, shown, not offered).
    A home visit's times share the day's visits (`home_visits_per_day`): 余 N counts the day."""
    cat = cfg.catalogue
    if cat is None or item_code not in cat.by_code:
        return []
    item = cat.by_code[item_code]
    tz = cfg.hall.tz
    rows = []
    for slot, left in bk.open_slots(cfg, state, item, group, day, now):
        a, b = slot.start.astimezone(tz), slot.end.astimezone(tz)
        # two lines, so a narrow button never breaks "余 3" from its number
        words = f"{a:%H:%M}–{b:%H:%M}\n" + (f"余 {left}" if left else "约满")
        if slot.session_kind != "regular":
            words += f"（{slot.session}）"
        rows.append(SlotRow(slot.start, slot.end, left, words, slot.session))
    return rows


def needs_two(cfg: HallConfig, needs: Iterable[str]) -> list[str]:
    """The needs that call for two helpers (a bed-bound visitor is lifted, a dispute is witnessed)."""
    return sorted(set(needs) & set(cfg.booking.two_helper_needs))


def read_back(item_name: str, start: datetime, end: datetime, name: str, phone: str, tz: Any, *,
              address: str = "", needs: Sequence[str] = (), home_visit: bool = False) -> str:
    """What the helper reads to the caller before confirming, with the phone in groups of digits (138 1234 5678),
    as people say them, so a wrong digit is heard."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    digits = phone.strip()
    spoken = f"{digits[:3]} {digits[3:7]} {digits[7:]}" if len(digits) == 11 else digits
    what = "上门办理" if home_visit else "到大厅办理"
    lines = [f"请向来电人复述：{day_words(a.date())} {a:%H:%M}–{b:%H:%M}，{what}「{item_name}」；",
             f"姓名 {name.strip()}，手机 {spoken}（短信提醒发到这个号码）"]
    if home_visit:
        lines.append(f"上门地址：{address.strip()}")
        if needs:
            lines.append("情况：" + "、".join(needs))
    lines.append("来电人确认无误后，点「确认预约」。")
    return "\n".join(lines)


MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


def form_problem(name: str, phone: str, address: str = "", *, home_visit: bool = False) -> str:
    """What is missing or wrong on the caller's form, in the helper's words ("" when it can be sent)."""
    if not name.strip():
        return "请写上来电人的姓名"
    if not MOBILE.match(phone.strip()):
        return "请写上来电人的 11 位手机号（预约提醒用短信发送）"
    if home_visit and not address.strip():
        return "上门办要写上门地址"
    return ""


def booking_words(answer: Mapping[str, Any]) -> str:
    """A refused booking act in the words a helper says on the phone (the server's own words otherwise)."""
    if answer.get("ok"):
        return ""
    code = str(answer.get("code", ""))
    said = BOOKING_REFUSALS.get(code)
    if said is None:
        return f"未办成：{answer.get('message') or code or '大厅系统没有回应'}"
    if code == "slot_full" and "still free that day: " in str(answer.get("message", "")):
        free = str(answer["message"]).split("still free that day: ", 1)[1]
        said += f"（当天还有 {free}）"
    return said


def helper_choices(state: HallState | None) -> list[tuple[str, str]]:
    """(staff id, name) of the roster's active helpers: who may be sent to a home."""
    if state is None:
        return []
    return sorted(((m.id, m.name) for m in state.staff.values() if m.active and "helper" in m.duties),
                  key=lambda x: x[0])


STATUS_WORDS = {s.BOOKED: "待上门", s.CHECKED_IN: "已到达", s.BOOKING_DONE: "已办结", s.BOOKING_NO_SHOW: "家中无人",
                s.HELD: "待确认", s.BOOKING_CANCELLED: "已取消", s.BOOKING_EXPIRED: "已失效"}
SHOWN = frozenset({s.BOOKED, s.CHECKED_IN, s.BOOKING_DONE, s.BOOKING_NO_SHOW})


def _hm(ts: float, tz: Any) -> str:
    return f"{datetime.fromtimestamp(ts, tz):%H:%M}"


def home_visits(state: HallState, helper: str, day: date, tz: Any,
                waiting: Mapping[str, Sequence[tuple[str, datetime]]] | None = None) -> list[VisitItem]:
    """The helper's home visits of the day in time order. `waiting` (booking code → [(op, done_at)]) is what this
    tablet recorded and has not yet sent: a visit arrived at offline shows 到达 at once, and its 办结 button."""
    waiting = waiting or {}
    out = []
    for b in state.bookings.values():
        if b.group != HOME_VISIT or helper not in b.helpers or b.status not in SHOWN:
            continue
        if datetime.fromtimestamp(b.start_ts, tz).date() != day:
            continue
        mine = {op: at for op, at in waiting.get(b.code, ())}
        arrived_at = mine.get("arrive_home_visit")
        finished_at = mine.get("finish_home_visit")
        status = b.status
        if status == s.BOOKED and arrived_at is not None:
            status = s.CHECKED_IN
        if finished_at is not None and status in (s.BOOKED, s.CHECKED_IN):
            status = s.BOOKING_DONE
        arrived = (f"到达 {arrived_at.astimezone(tz):%H:%M}" if arrived_at is not None else
                   f"到达 {_hm(b.arrived_ts, tz)}" if b.arrived_ts is not None else "")
        finished = (f"办结 {finished_at.astimezone(tz):%H:%M}" if finished_at is not None else
                    f"办结 {_hm(b.finished_ts, tz)}" if b.finished_ts is not None else "")
        out.append(VisitItem(
            b.code, b.start_ts, f"{_hm(b.start_ts, tz)}–{_hm(b.end_ts, tz)}", b.item_name, mask_name(b.name),
            mask_phone(b.phone), mask_address(b.address), tuple(b.needs), tuple(b.helpers), status,
            STATUS_WORDS.get(status, status), status == s.BOOKED, status in (s.BOOKED, s.CHECKED_IN),
            arrived, finished, "已记录，待上传" if mine else ""))
    out.sort(key=lambda v: (v.start_ts, v.code))
    return out


def unassigned_visits(cfg: HallConfig, state: HallState) -> list[tuple[str, str, str, int]]:
    """(code, "11月24日 09:00 最低生活保障", needs words, helpers needed) of confirmed home visits nobody is sent to
    yet, soonest first: the 上门办 screen's 派人 list."""
    out = []
    for b in sorted(state.bookings.values(), key=lambda x: x.start_ts):
        if b.group == HOME_VISIT and b.status == s.BOOKED and not b.helpers:
            at = datetime.fromtimestamp(b.start_ts, cfg.hall.tz)
            out.append((b.code, f"{day_words(at.date())} {at:%H:%M} {b.item_name} {mask_name(b.name)}",
                        "、".join(b.needs), 2 if needs_two(cfg, b.needs) else 1))
    return out
