"""The greeter tablet's 电话预约 and 上门办 forms, as one small state machine each (kiosk/greeter.kv draws them).

Why a class of its own and not more properties on the app: two forms go through the same steps (事项 → 日期 →
时间 → 来电人 → 复述 → 预约号), and a form left half-filled on one tab must not leak into the other. What is
offered and what the words are comes from the greeter node (hall_bus/nodes/greeter_booking.py); this only keeps
the choices and forwards the taps, one command at a time, through the app.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty

from hall_bus.nodes import greeter_booking as gb

if TYPE_CHECKING:
    from kiosk.greeter import GreeterTabletApp


class BookingFlow(EventDispatcher):
    """One caller's booking, from the item to the code read out. `home`: a 上门办, with an address, needs, and then
    the helpers sent and the time on the road."""

    query = StringProperty("")
    items = ListProperty([])  # [(code, name)] matching the search
    item = StringProperty("")
    item_name = StringProperty("")
    days = ListProperty([])  # [(iso date, "11月24日 周二")]
    day = StringProperty("")
    slots = ListProperty([])  # [(iso start, "09:30–10:00 余 3", left)]
    start = StringProperty("")
    needs = ListProperty([])
    step = StringProperty("form")  # form | readback | done
    readback = StringProperty("")
    code = StringProperty("")
    done_words = StringProperty("")
    helpers = ListProperty([])  # chosen helper ids
    helper_list = ListProperty([])  # [(id, "name（id）")]
    travel = NumericProperty(0)
    helpers_needed = NumericProperty(1)
    assigned = BooleanProperty(False)
    needs_words = StringProperty("")
    home = BooleanProperty(False)

    def __init__(self, app: GreeterTabletApp) -> None:
        super().__init__()
        self.app = app
        self._inputs: tuple[Any, ...] = ()
        self.search("")

    def set_kind(self, home: bool) -> None:
        """电话预约 and 上门办 are one form in two kinds: changing kind starts afresh, and a place held for a
        read-back not finished is let go, so nothing of one caller goes with the next."""
        if home == self.home:
            return
        if self.step == "readback" and self.code:
            self.app._run(self.app.node.cancel_booking(self.code, "帮办员换了预约种类"), lambda _a: None)
        self.new()
        self.home = home
        self.search("")

    @property
    def group(self) -> str:
        return gb.HOME_VISIT if self.home else "normal"

    # ------------------------------------------------------------------ choices

    def search(self, text: str) -> None:
        self.query = text
        found = self.app.node.bookable_items(text, home_visit=self.home)
        self.items = [(i.code, i.name) for i in found[:12]]

    def pick_item(self, code: str) -> None:
        self.item = code
        self.item_name = dict(self.items).get(code, "")
        self.day = self.start = ""
        self.days = [(d.isoformat(), gb.day_words(d)) for d in self.app.node.booking_days(code, group=self.group)][:10]
        self.slots = []

    def pick_day(self, iso: str) -> None:
        self.day, self.start = iso, ""
        self.refresh()

    def pick_time(self, iso: str) -> None:
        row = next((s for s in self.slots if s[0] == iso), None)
        if row is not None and row[2] > 0:
            self.start = iso
        else:
            self.app.message = "这个时间已经约满了，请换一个时间"

    def toggle_need(self, need: str) -> None:
        self.needs = [n for n in self.needs if n != need] if need in self.needs else [*self.needs, need]

    def refresh(self) -> None:
        """Places left follow the hall by push: a time taken meanwhile by the phone page shows 约满 here too."""
        if self.item and self.day:
            rows = self.app.node.open_slots(self.item, date.fromisoformat(self.day), group=self.group)
            self.slots = [(r.start.isoformat(), r.words, r.left) for r in rows]
            if self.start and not any(s[0] == self.start and s[2] > 0 for s in self.slots) and self.step == "form":
                self.start = ""
        if self.step == "done" and self.home:
            self.helper_list = [(sid, f"{name}（{sid}）" if name != sid else name)
                                for sid, name in self.app.node.helper_choices()]

    # ------------------------------------------------------------------ the caller, the read-back, the code

    def review(self, name_in: Any, phone_in: Any, address_in: Any = None) -> None:
        """The place is held first (the read-back may take a minute; nobody else takes it meanwhile), then read
        back; nothing is booked until the caller has heard it and the helper taps 确认."""
        address = address_in.text if address_in is not None else ""
        if not self.item or not self.start:
            self.app.message = "请先选事项、日期和时间"
            return
        why = gb.form_problem(name_in.text, phone_in.text, address, home_visit=self.home)
        if why:
            self.app.message = why
            return
        self._inputs = tuple(w for w in (name_in, phone_in, address_in) if w is not None)
        start = datetime.fromisoformat(self.start)
        name, phone = name_in.text.strip(), phone_in.text.strip()

        def done(a: dict[str, Any]) -> None:
            if not a.get("ok"):
                self.app.message = gb.booking_words(a)
                self.refresh()
                return
            r = a["result"]
            self.code = r["code"]
            self.readback = gb.read_back(self.item_name, datetime.fromisoformat(r["start"]),
                                         datetime.fromisoformat(r["end"]), name, phone, self.app.cfg.hall.tz,
                                         address=address, needs=list(self.needs), home_visit=self.home)
            self.step = "readback"
            self.app.message = "已占位，请在 10 分钟内复述并确认"

        self.app._run(self.app.node.hold_booking(self.item, start, name, phone, group=self.group,
                                                 address=address, needs=list(self.needs)), done)

    def back(self) -> None:
        """返回修改: the place held is let go at once (not left for ten minutes), the form stays as typed."""
        code = self.code

        def done(a: dict[str, Any]) -> None:
            self.step, self.code, self.readback = "form", "", ""
            self.app.message = "已退回修改，原来占的时间已放开"
            self.refresh()

        self.app._run(self.app.node.cancel_booking(code, "复述时来电人要改"), done)

    def confirm(self) -> None:
        def done(a: dict[str, Any]) -> None:
            if not a.get("ok"):
                self.app.message = gb.booking_words(a)
                if a.get("code") == "hold_expired":
                    self.step, self.code = "form", ""
                    self.refresh()
                return
            r = a["result"]
            start = datetime.fromisoformat(r["start"]).astimezone(self.app.cfg.hall.tz)
            self.helpers_needed = int(r.get("helpers_needed", 1))
            self.needs_words = "、".join(gb.needs_two(self.app.cfg, self.needs))
            self.done_words = (f"已预约：{gb.day_words(start.date())} {start:%H:%M}\n「{self.item_name}」\n"
                               + ("请告诉来电人：预约号也会用短信发到手机上。" if not self.home else
                                  "请告诉来电人：帮办员会按时上门，出发前会打电话。"))
            self.step = "done"
            for w in self._inputs:  # the next caller's form starts empty: never this one's name and phone
                w.text = ""
            self.app.message = f"预约号 {self.code}，请读给来电人"
            self.refresh()

        self.app._run(self.app.node.confirm_booking(self.code), done)

    def new(self) -> None:
        """再约一个: everything of this caller is let go."""
        for w in self._inputs:
            w.text = ""
        self._inputs = ()
        self.item = self.item_name = self.day = self.start = self.code = self.readback = self.done_words = ""
        self.days, self.slots, self.needs, self.helpers = [], [], [], []
        self.travel, self.helpers_needed, self.assigned, self.step = 0, 1, False, "form"
        self.needs_words = ""
        self.app.message = ""

    # ------------------------------------------------------------------ 上门办: who goes, and the road

    def toggle_helper(self, staff: str) -> None:
        self.helpers = [h for h in self.helpers if h != staff] if staff in self.helpers else [*self.helpers, staff]

    def pick_travel(self, minutes: str) -> None:
        self.travel = int(minutes)

    def assign(self) -> None:
        if not self.helpers or not self.travel:
            self.app.message = "请点选上门的帮办员和路上要多少分钟"
            return

        def done(a: dict[str, Any]) -> None:
            if a.get("ok"):
                self.assigned = True
                who = "、".join(a["result"]["helpers"])
                self.app.message = f"{self.code} 已派 {who} 上门，路上 {self.travel} 分钟"
            else:
                self.app.message = a.get("message") if a.get("code") == "two_helpers_needed" \
                    else gb.booking_words(a)

        self.app._run(self.app.node.assign_home_visit(self.code, list(self.helpers), int(self.travel)), done)
