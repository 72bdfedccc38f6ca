"""The greeter tablet (帮办员平板) in Kivy: it draws the greeter node's lists and forwards taps, nothing more.

The help requests and "my cases" are pure functions of the mirrored hall state (hall_bus/nodes/greeter.py);
they are redrawn when an event or a resync arrives by push on this same asyncio loop, never by asking the server.
A local half-minute timer only moves the "minutes waiting" on. Every action is a command through `GreeterNode`;
its answer (or its refusal, in words) is what the helper reads. The screens are in greeter.kv.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import (
    BooleanProperty,
    DictProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.scrollview import ScrollView

from hall_bus.config import HallConfig
from hall_bus.domain.commands import CHANNEL_NAMES, SUBJECT_NAMES
from hall_bus.domain.rectification import STATUS_NAMES as FIX_STATUS
from hall_bus.nodes import greeter_booking as gb
from hall_bus.nodes.greeter import (
    DECLINE_REASONS,
    DUTY_WORDS,
    HANDOVER_REASONS,
    KIND_WORDS,
    GreeterNode,
    NoPageInView,
    PageShot,
    case_actions,
    current_step,
    decline_problem,
    delegation_items,
    due_words,
    duty_actions,
    hall_alerts,
    handover_problem,
    handover_refusal,
    has_handovers,
    problem_words,
    reason_text,
    refusal_words,
    site_words,
    slip_words,
    unowned_followups,
    unprinted_slips,
)
from kiosk.greeter_flows import BookingFlow
from kiosk.theme import NORMAL, Theme

log = logging.getLogger("kiosk.greeter")
KV = Path(__file__).with_name("greeter.kv")
TABS = (("help", "求助"), ("walkin", "登记取号"), ("consult", "咨询登记"), ("notice", "一次性告知"),
        ("deleg", "委托代办"), ("mine", "我的事项"), ("inbox", "转办收件"), ("phone", "预约"), ("visits", "我的上门"),
        ("duty", "督办"))
# One booking form (screen "book") in two kinds, under one tab (预约): 到大厅办 ("phone") or 上门办 ("home")
BOOKING_TABS = {"phone": False, "home": True}
# What each button on the 我的事项 and 督办 panels says, and what it needs written first (None: nothing).
CASE_BUTTONS = {"answer": ("答复", "请写上答复"), "refer": ("转交部门", "请写上转交的部门"),
                "complete": ("代办办结", None), "cancel": ("撤销委托", "撤销要写明原因"),
                "accept": ("受理为办件", None), "finish": ("帮办完成", None),
                "rectify": ("写整改情况", "请写上整改情况"), "close": ("回访办结（督办员）", "请写上回访的结果"),
                "start": ("开始办理", None), "finish_step": ("本环节办结", None),
                "supplement": ("要求补正", "请在上面写缺的材料，用顿号隔开"),
                "resume": ("材料已补齐", None), "delay": ("延期", "延期要在上面写明原因"),
                "handover": ("转办（转给上级站点）", None)}
KIND_BUTTONS = {"consultation": ("answer", "refer"), "delegation": ("accept", "complete", "cancel"),
                "help": ("finish",), "followup": ("rectify", "close"),
                "case": ("start", "finish_step", "supplement", "resume", "delay", "handover")}
DUTY_BUTTONS = {"assign": ("分派给上面的工号", None), "rectify": ("写整改情况", "请写上整改情况"),
                "close": ("核实办结 / 答复群众", "请写上核实结果或给群众的答复"),
                "owner": ("改首问负责人（写工号和原因）", "改首问负责人要在上面写明原因")}


class GreeterTabletApp(App):
    """Properties the .kv binds to; methods its buttons call. What the rows say is decided in the node layer."""

    tab = StringProperty("help")
    theme = ObjectProperty(Theme(), rebind=True)  # rebind: the .kv reads app.theme.x and app.pal.x
    # what the .kv draws with, from the theme (set_mode switches them live): palette, text sizes, target height
    pal = ObjectProperty(NORMAL, rebind=True)
    fs = NumericProperty(22.0)
    fs_small = NumericProperty(18.0)
    fs_head = NumericProperty(27.0)
    tap = NumericProperty(52.0)
    helper = StringProperty("")  # the signed-in person's name, from the hall
    signed_in = BooleanProperty(False)
    supervisor = BooleanProperty(False)  # the signed-in person is a 服务督办员: closes follow-ups
    online = BooleanProperty(False)
    busy = BooleanProperty(False)
    message = StringProperty("")
    help_rows = ListProperty([])  # as shown: while a finger is on the tablet, in the order it had
    held = BooleanProperty(False)  # newer rows wait behind the "n 条新的" bar
    new_count = NumericProperty(0)
    alerts = ListProperty([])  # [HallAlert]: device faults, slips not printed
    case_rows = ListProperty([])
    followups = ListProperty([])  # [(id, number, level)] nobody owns yet
    unprinted = ListProperty([])  # [[job, kiosk, status, why]] notice slips that did not come out
    selected = DictProperty({})  # the help request the right-hand panel acts on
    selected_case = DictProperty({})
    case_buttons = ListProperty([])  # [(action, words, enabled)] for the selected line of 我的事项
    deleg_items = ListProperty([])  # [(code, name)] the selected delegation can be accepted as
    case_item = StringProperty("")
    # 转办: only in a hall with `[county]` (a village station, a town centre); without it no control shows
    county = BooleanProperty(False)
    inbox_rows = ListProperty([])  # 转办收件: cases handed over here, waiting for a person to accept or decline
    selected_inbox = DictProperty({})
    decline_pick = StringProperty("")  # a common decline reason tapped
    handover_open = BooleanProperty(False)  # the 转办 form is up in 我的事项's panel, in place of the buttons
    handover_site = StringProperty("")  # the site code tapped on the form
    handover_pick = StringProperty("")  # a common hand-over reason tapped
    duty_rows = ListProperty([])  # the 督办 list (supervisors only)
    selected_duty = DictProperty({})
    duty_buttons = ListProperty([])
    complaint_channel = StringProperty("window")
    complaint_subject = StringProperty("window")
    booking = ObjectProperty(None, rebind=True)  # the 电话预约 / 上门办 form (kiosk/greeter_flows.py)
    visit_rows = ListProperty([])  # 我的上门: the signed-in helper's visits today, in time order
    outbox_rows = ListProperty([])  # [[request id, words, refused]]: acts on the tablet not yet in the hall
    outbox_count = NumericProperty(0)  # of them, still to send
    finishing = DictProperty({})  # the visit whose 办结 form is open
    outcome = StringProperty("")
    rating = NumericProperty(0)  # 5 非常满意 … 1 非常不满意; 0: not given
    visits_title = StringProperty("")
    services = ListProperty([])
    groups = ListProperty([])  # [(code, label)] a helper may pick at the hall
    walk_service = StringProperty("")
    walk_group = StringProperty("normal")
    walk_result = StringProperty("")
    consult_service = StringProperty("")
    consult_result = StringProperty("")
    notice_service = StringProperty("")
    notice_items = ListProperty([])  # [[item, chosen]]: the service's materials, then free items
    notice_result = StringProperty("")
    deleg_services = ListProperty([])
    deleg_pages = ListProperty([])  # thumbnails' paths
    deleg_result = StringProperty("")
    redraws = ObjectProperty(0)

    # Staff tablets follow the dp rules (44 / 60 dp), not the kiosk's millimetres: a greeter's finger on a tablet
    # held in the other hand. A little above each floor, so rounding never takes a target under it.
    TAP_DP: ClassVar[dict[bool, float]] = {False: 52.0, True: 64.0}
    SETTLE_SECONDS = 3.0  # no touch for this long: the list may take its new order

    def __init__(self, node: GreeterNode, cfg: HallConfig, *, connected: Callable[[], bool] | None = None,
                 large_text: bool = False, high_contrast: bool = False, px_per_mm: float = 6.0,
                 **kw: Any) -> None:
        super().__init__(**kw)
        self.theme = Theme(px_per_mm=px_per_mm, large_text=large_text, high_contrast=high_contrast)
        self._restyle()
        self.settle_seconds = self.SETTLE_SECONDS
        self._last_touch = 0.0  # monotonic time of the last touch anywhere on the tablet
        self._fresh: list[dict[str, Any]] = []  # the rows as the hall has them now (shown or held back)
        self.node = node
        self.cfg = cfg
        self.helper = node.helper_name
        self._connected = connected or (lambda: node.client.connected.is_set())
        self.county = has_handovers(cfg)
        self.services = [s.name for s in cfg.services]
        self.groups = [(code, rule.label) for code, rule in cfg.groups.items() if rule.counter_queue
                       and not rule.appointment]
        self.labels = {code: rule.label for code, rule in cfg.groups.items()}
        self.materials = {s.name: list(s.materials) for s in cfg.services}
        self.claim_notes: dict[str, str] = {}  # help id → why this tablet's claim was refused
        self.pages: list[PageShot] = []
        self.answers: list[dict[str, Any]] = []  # every answer this tablet got: the GUI tests read them
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: list[Any] = []
        self._stopped = False
        self._redraw_soon = Clock.create_trigger(lambda _dt: self.refresh())
        self.title = f"帮办员平板 · {node.node}"
        self.booking = BookingFlow(self)
        self.visit_day: Any = None  # 我的上门 shows this day (None: today, in the hall's time zone)
        self._outbox_seen: tuple[int, int] = (0, 0)

    # ------------------------------------------------------------------ Kivy life cycle

    def build(self) -> BoxLayout:
        from kivy.factory import Factory

        Builder.load_file(str(KV))
        root = Factory.GreeterRoot()
        from kivy.core.window import Window

        self._timers = [Clock.schedule_interval(lambda _dt: self._redraw(), 30.0),
                        Clock.schedule_interval(lambda _dt: self._watch(), 0.5)]
        Window.bind(on_touch_down=self._touched, on_touch_move=self._touched)
        self.root = root
        self.bind(help_rows=lambda *_: self._sync_rows("help", "helps", "HelpRow", self.help_rows),
                  case_rows=lambda *_: self._sync_rows("mine", "cases", "CaseRow", self.case_rows),
                  duty_rows=lambda *_: self._sync_rows("duty", "duties", "DutyRow", self.duty_rows),
                  inbox_rows=lambda *_: self._sync_rows("inbox", "arrivals", "InboxRow", self.inbox_rows),
                  visit_rows=lambda *_: self._sync_rows("visits", "visit_list", "VisitRow", self.visit_rows))
        self._spawn(self.node.keep_sending())  # the outbox: acts done at a visitor's home, sent when the hall is near
        self.refresh()
        return root

    def _spawn(self, job: Awaitable[Any]) -> None:
        task = asyncio.get_event_loop().create_task(job)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ modes

    def set_mode(self, *, large_text: bool | None = None, high_contrast: bool | None = None) -> None:
        """大字 / 高对比 from the header: every screen restyles at once (the .kv binds to these properties)."""
        t = self.theme
        self.theme = Theme(px_per_mm=t.px_per_mm,
                           large_text=t.large_text if large_text is None else large_text,
                           high_contrast=t.high_contrast if high_contrast is None else high_contrast)

    def on_theme(self, *_: Any) -> None:
        self._restyle()

    def _restyle(self) -> None:
        t = self.theme
        self.pal = t.palette
        self.fs, self.fs_small = dp(t.body), dp(t.small)
        self.fs_head = dp(t.body * 1.25)  # the kiosk's headings are for across a room; a tablet is in the hand
        self.tap = dp(self.TAP_DP[t.large_text])

    def on_stop(self) -> None:
        """Events still arriving on the bus must not redraw a window that is gone (the .kv's `app` is None)."""
        self._stopped = True
        self._redraw_soon.cancel()
        for task in self._tasks:
            task.cancel()
        for timer in self._timers:
            timer.cancel()

    def _redraw(self) -> None:
        """Many events in one frame make one redraw."""
        if not self._stopped:
            self._redraw_soon()

    def open_settings(self, *args: Any) -> bool:
        return False

    # ------------------------------------------------------------------ from the hall (push)

    def event(self, ev: dict[str, Any]) -> None:
        self.node.take(ev)
        d = ev.get("data", {})
        if (ev["type"] == "print_reported" and not d.get("ok")) or ev["type"] == "print_expired":
            job = self.node.state.print_jobs.get(d.get("job")) if self.node.state is not None else None
            if job is not None:  # a visitor waits at a kiosk for words that did not come out: say it at once
                self.message = slip_words(job.id, job.kiosk, job.status, job.problem)
        self._redraw()

    def resynced(self) -> None:
        self._redraw()

    def _watch(self) -> None:
        online = self._connected()
        box = self.node.outbox
        seen = (len(box.pending), len(box.refused))
        if seen != self._outbox_seen:  # an act sent or refused: no hall event says so if it was refused
            self._outbox_seen = seen
            self._redraw()
        if online != self.online:
            self.online = online
            self._redraw()
        elif self.held and self._settled():
            self._redraw()

    def _touched(self, *_: Any) -> bool:
        self._last_touch = time.monotonic()
        return False

    def _settled(self) -> bool:
        """Nobody is about to tap the list: it is not on screen, or no finger has touched the tablet lately."""
        on_list = self.root is not None and self.root.ids.screens.current == "help"
        return not on_list or time.monotonic() - self._last_touch >= self.settle_seconds

    def show_new(self) -> None:
        """The "n 条新的" bar: the greeter asks for the new order, so it may move now."""
        self._place_rows(self._fresh, force=True)

    def _place_rows(self, fresh: list[dict[str, Any]], *, force: bool = False) -> None:
        """The new rows go where they belong only if no shown row would change place, or nobody is touching
        the tablet: a tap meant for E003 must land on E003 (a request arriving above it once moved it away
        under the finger, and the tap claimed F001). Meanwhile shown rows keep their places and change in
        place (claimed by someone, finished) and new ones are counted on the bar."""
        self._fresh = fresh
        shown = [r["help_id"] for r in self.help_rows]
        ids = [r["help_id"] for r in fresh]
        if force or ids[:len(shown)] == shown or self._settled():
            self.help_rows, self.held, self.new_count = fresh, False, 0
            return
        by_id = {r["help_id"]: r for r in fresh}
        self.help_rows = [by_id.get(r["help_id"]) or {**r, "can_claim": False, "mine": False, "gone": True,
                                                       "status_text": "已结束或已取消", "note": ""}
                          for r in self.help_rows]
        self.held, self.new_count = True, len(set(ids) - set(shown))

    def _sync_rows(self, screen: str, box_id: str, viewclass: str, rows: list[dict[str, Any]]) -> None:
        """Row widgets are reused, never rebuilt (Kivy leaks what clear_widgets drops over a day); each row's
        height follows its own words, so large text or a long note never spills out."""
        from kivy.factory import Factory

        if self.root is None:
            return
        box = self.root.ids.screens.get_screen(screen).ids[box_id]
        while len(box.children) < len(rows):
            box.add_widget(getattr(Factory, viewclass)())
        while len(box.children) > len(rows):
            box.remove_widget(box.children[0])
        for widget, row in zip(reversed(box.children), rows, strict=True):
            for key, value in row.items():
                setattr(widget, key, value)

    def refresh(self) -> None:
        """Mirror → rows. The only place the lists learn anything."""
        now = time.time()
        self.helper = self.node.helper_name
        self.signed_in = self.node.helper is not None
        self.supervisor = self.node.has_duty("supervisor")
        if self.root is not None:  # nobody signed in: only the sign-in screen; signed in: the tabs
            screens = self.root.ids.screens
            wanted = self._screen_of(self.tab) if self.signed_in else "signin"
            if screens.current != wanted:
                screens.current = wanted
        rows: list[dict[str, Any]] = []
        for i in self.node.help_list(now):
            mark = "★ 已升级" if i.escalated else ""
            status = "待认领" if i.status == "open" else f"{i.helper} 处理中"
            rows.append({"help_id": i.help_id, "ticket": i.ticket, "mark": mark, "number": i.number,
                         "line": f"{i.service} · {self.labels.get(i.group, i.group)} · {i.age_band}"
                                 + (f" · {i.kiosk}" if i.kiosk else ""),
                         "wait": f"等 {int(i.waiting_s // 60)} 分钟" if i.waiting_s >= 60 else "刚到",
                         "status_text": status,
                         "can_claim": i.status == "open", "mine": i.helper == self.helper,
                         "note": self.claim_notes.get(i.help_id, ""), "gone": False,
                         "picked": i.help_id == self.selected.get("help_id")})
        self._place_rows(rows)
        if self.selected:
            fresh = next((r for r in rows if r["help_id"] == self.selected["help_id"]), None)
            self.selected = fresh or {}
        tz = self.cfg.hall.tz
        self.case_rows = [{"case_id": c.case_id, "kind": c.kind, "kind_words": KIND_WORDS[c.kind],
                           "who": c.who, "what": c.what, "overdue": c.overdue, "soon": c.late == "即将到期",
                           "mark": {"逾期": "▲ 逾期", "即将到期": "● 即将到期"}.get(c.late, ""),
                           "due": f"{due_words(c.due_ts, tz)} 前" if c.due_ts else "",
                           "picked": c.case_id == self.selected_case.get("case_id")}
                          for c in self.node.my_cases(now)]
        if self.selected_case:
            fresh_case = next((r for r in self.case_rows if r["case_id"] == self.selected_case["case_id"]), None)
            self.selected_case = fresh_case or {}
        self._case_panel(now)
        self._inbox_rows(now)
        self.duty_rows = [{"ref": i.ref, "kind": i.kind, "kind_words": DUTY_WORDS[i.kind], "who": i.who,
                           "what": i.what, "late": i.late, "overdue": i.overdue, "owner": i.owner,
                           "status_words": FIX_STATUS.get(i.status, "") if i.kind in ("followup", "complaint")
                           else "", "actions": sorted(duty_actions(i)),
                           "mark": "▲ " if i.overdue else "", "picked": i.ref == self.selected_duty.get("ref")}
                          for i in self.node.duty_list(now)]
        if self.selected_duty:
            self.selected_duty = next((r for r in self.duty_rows if r["ref"] == self.selected_duty["ref"]), {})
        can = set(self.selected_duty.get("actions", []))
        self.duty_buttons = [(a, DUTY_BUTTONS[a][0], a in can and (a != "close" or self.supervisor))
                             for a in DUTY_BUTTONS if self.selected_duty and
                             (a == "owner") == self.selected_duty.get("kind", "").startswith("case")]
        self.followups = unowned_followups(self.node.state) if self.node.state is not None else []
        self.unprinted = ([[job, kiosk, status, problem_words(why)] for job, kiosk, status, why in
                           unprinted_slips(self.node.state)] if self.node.state is not None else [])
        self.alerts = hall_alerts(self.node.state, now, self.cfg)
        self.booking.refresh()
        self._visits()
        self.redraws += 1

    # ------------------------------------------------------------------ pickers the .kv asks for

    def fill(self, box: Any, kind: str, reason: Any = None) -> None:
        """Choice buttons built once per box; the lists that change (materials, thumbnails, follow-ups) rebuild
        their small box when their property changes, never the long lists (those are RecycleViews)."""
        from kivy.factory import Factory

        def toggles(items: list[tuple[str, str]], pick: Callable[[str], None], group: str | None) -> None:
            for value, words in items:
                b = _made(Factory.GToggle(), text=words, value=value, group=group, allow_no_selection=group is None)
                b.bind(on_release=lambda btn: pick(btn.value))
                box.add_widget(b)

        def picks(items: list[tuple[str, str]], prop: str) -> None:
            """One of a few, or none: the buttons follow the app's property, so clearing it clears them."""
            def show(*_: Any) -> None:
                for b in box.children:
                    b.state = "down" if b.value == getattr(self, prop) else "normal"

            for value, words in items:
                b = _made(Factory.GToggle(), text=words, value=value)
                b.bind(on_release=lambda btn: self._pick(prop, btn.value))
                box.add_widget(b)
            self.bind(**{prop: show})
            show()

        services = [(s, s) for s in self.services]
        if kind == "walk_service":
            toggles(services, lambda v: setattr(self, "walk_service", v), "walk_service")
        elif kind == "walk_group":
            toggles(self.groups, lambda v: setattr(self, "walk_group", v), "walk_group")
            next(b for b in box.children if b.value == "normal").state = "down"
        elif kind == "consult_service":
            toggles(services, lambda v: setattr(self, "consult_service", "" if v == self.consult_service else v),
                    None)
        elif kind == "notice_service":
            toggles(services, self.pick_notice_service, "notice_service")
        elif kind == "deleg_service":
            toggles(services, self.toggle_deleg_service, None)
        elif kind == "change_group":
            for value, words in self.groups:
                b = Factory.GButton(text=f"改为{words}")
                b.bind(on_release=lambda _b, v=value: self.change_group(v, reason.text))
                self.bind(selected=lambda _a, sel, b=b: setattr(b, "disabled", not sel))
                b.disabled = True
                box.add_widget(b)
        elif kind == "notice_items":
            def items(*_: Any) -> None:
                box.clear_widgets()
                for item, on in self.notice_items:
                    b = _made(Factory.GToggle(), text=item, value=item, state="down" if on else "normal")
                    b.bind(on_release=lambda btn: self.toggle_item(btn.value))
                    box.add_widget(b)
            self.bind(notice_items=items)
        elif kind == "thumbs":
            def thumbs(*_: Any) -> None:
                box.clear_widgets()
                for n, path in enumerate(self.deleg_pages, 1):
                    cell = Factory.BoxLayout(orientation="vertical", size_hint_x=None, width=box.height * 0.75)
                    cell.add_widget(Factory.Image(source=path, fit_mode="contain"))
                    cell.add_widget(Factory.GText(text=f"第 {n} 页", halign="center"))
                    box.add_widget(cell)
            self.bind(deleg_pages=thumbs)
        elif kind == "alerts":
            def alerts(*_: Any) -> None:
                while len(box.children) < len(self.alerts):
                    box.add_widget(Factory.AlertBadge())
                while len(box.children) > len(self.alerts):
                    box.remove_widget(box.children[0])
                for badge, alert in zip(reversed(box.children), self.alerts, strict=True):
                    badge.text = alert.words
            self.bind(alerts=alerts)
        elif kind in FLOW_BOXES:
            self._flow_box(box, kind)
        elif kind == "outcomes":
            picks(list(gb.OUTCOMES), "outcome")
        elif kind == "faces":
            for level, _face, words in gb.RATING_FACES:
                b = _made(Factory.FaceButton(), text=words, level=level)
                b.bind(on_release=lambda btn: setattr(self, "rating", 0 if self.rating == btn.level else btn.level))
                box.add_widget(b)

            def faces(*_: Any) -> None:
                for b in box.children:
                    b.state = "down" if b.level == self.rating else "normal"
            self.bind(rating=faces)
        elif kind == "outbox":
            texts: list[Any] = []  # kept, never dropped (see _flow_box)
            buttons: list[Any] = []

            def lines(*_: Any) -> None:
                box.clear_widgets()
                refused_rows = [r for r in self.outbox_rows if r[2]]
                while len(texts) < len(self.outbox_rows):
                    texts.append(Factory.GText())
                while len(buttons) < len(refused_rows):
                    b = _made(Factory.GButton(), text="知道了（已报告办公室）")
                    b.bind(on_release=lambda btn: self.dismiss_outbox(btn.rid))
                    buttons.append(b)
                spare = iter(buttons)
                for label, (rid, words, refused) in zip(texts, self.outbox_rows, strict=False):
                    label.text, label.bold = ("▲ " if refused else "") + words, refused
                    box.add_widget(label)
                    if refused:
                        b = next(spare)
                        b.rid = rid
                        box.add_widget(b)
            self.bind(outbox_rows=lines)
        elif kind == "channel":
            toggles(list(CHANNEL_NAMES.items()), lambda v: setattr(self, "complaint_channel", v), "channel")
            next(b for b in box.children if b.value == "window").state = "down"
        elif kind == "subject_kind":
            toggles(list(SUBJECT_NAMES.items()), lambda v: setattr(self, "complaint_subject", v), "subject_kind")
            next(b for b in box.children if b.value == "window").state = "down"
        elif kind in ("case_buttons", "duty_buttons"):
            def buttons(*_: Any) -> None:
                box.clear_widgets()
                for action, words, on in getattr(self, kind):
                    b = _made(Factory.GButton(), text=words, disabled=not on)
                    b.action = action
                    b.bind(on_release=lambda btn: reason(btn.action))
                    box.add_widget(b)
            self.bind(**{kind: buttons})
            buttons()
        elif kind == "deleg_items":
            def items_of(*_: Any) -> None:
                box.clear_widgets()
                for code, name in self.deleg_items:
                    b = _made(Factory.GToggle(), text=name, value=code, group="deleg_items",
                              state="down" if code == self.case_item else "normal")
                    b.bind(on_release=lambda btn: self.pick_case_item(btn.value))
                    box.add_widget(b)
            self.bind(deleg_items=items_of)
        elif kind in PICKS:
            picks(*PICKS[kind](self))
        elif kind == "followups":
            def rows(*_: Any) -> None:
                box.clear_widgets()
                for fid, number, level in self.followups:
                    b = Factory.GButton(text=f"{number} {level}：我来回访")
                    b.bind(on_release=lambda _b, f=fid: self.take_followup(f))
                    box.add_widget(b)
            self.bind(followups=rows)

    def _flow_box(self, box: Any, kind: str) -> None:
        """The booking form's choice boxes: rebuilt when what they offer changes (items found, a day's times),
        their state following what is chosen."""
        from kivy.factory import Factory

        f = self.booking
        spec: dict[str, tuple[str | None, Callable[[], list[tuple[str, str]]], Callable[[str], None],
                              Callable[[str], bool]]] = {
            "flow_items": ("items", lambda: list(f.items), f.pick_item, lambda v: v == f.item),
            "flow_days": ("days", lambda: list(f.days), f.pick_day, lambda v: v == f.day),
            "flow_times": ("slots", lambda: [(iso, words) for iso, words, _ in f.slots], f.pick_time,
                           lambda v: v == f.start),
            "flow_needs": (None, lambda: [(n, n) for n in gb.HOME_NEEDS], f.toggle_need, lambda v: v in f.needs),
            "flow_helpers": ("helper_list", lambda: list(f.helper_list), f.toggle_helper, lambda v: v in f.helpers),
            "flow_travel": (None, lambda: [(str(m), f"{m} 分钟") for m in gb.TRAVEL_CHOICES], f.pick_travel,
                            lambda v: v == str(int(f.travel))),
        }
        source, values, pick, chosen = spec[kind]

        def show(*_: Any) -> None:
            for b in box.children:
                b.state = "down" if chosen(b.value) else "normal"

        pool: list[Any] = []  # every button ever made here stays referenced: a dropped one, still bound to the
        # app's palette, would be collected and break the next mode switch (and Kivy leaks what it drops anyway)

        def build(*_: Any) -> None:
            wanted = values()
            while len(pool) < len(wanted):
                b = Factory.GToggle()
                b.bind(on_release=lambda btn: (pick(btn.value), show()))
                pool.append(b)
            box.clear_widgets()
            for b, (value, words) in zip(pool, wanted, strict=False):
                b.value, b.text = value, words
                box.add_widget(b)
            show()

        if source is not None:
            f.bind(**{source: build})
        f.bind(item=show, day=show, start=show, needs=show, helpers=show, travel=show)
        build()

    # ------------------------------------------------------------------ taps (from the .kv)

    def show(self, tab: str) -> None:
        self.tab = tab
        self.message = ""

    @staticmethod
    def _screen_of(tab: str) -> str:
        return "book" if tab in BOOKING_TABS else tab

    def on_tab(self, _app: Any, tab: str) -> None:
        if tab in BOOKING_TABS:
            self.booking.set_kind(BOOKING_TABS[tab])
            if self.root is not None:
                book = self.root.ids.screens.get_screen("book").ids
                book.query.text = ""
                book.book_scroll.scroll_y = 1  # a fresh form starts at its top: the kind, then ① 事项
        if self.root is not None and self.signed_in:
            self.root.ids.screens.current = self._screen_of(tab)

    # signing in: the hall records every act in the signed-in person's name

    def sign_in(self, staff: str, pin: str) -> None:
        if not staff.strip() or not pin.strip():
            self.message = "请输入工号和密码"
            return

        def done(answer: dict[str, Any]) -> None:
            if answer.get("ok"):
                self.message = f"{answer['result'].get('name', '')} 已登录"
                if self.root is not None:
                    self.root.ids.screens.get_screen("signin").ids.pin.text = ""
            else:
                self._said(answer, "")

        self._run(self.node.sign_in(staff, pin), done)

    def sign_out(self) -> None:
        """The next person signs in with their own id: the last one's is not left in the box."""
        def done(a: dict[str, Any]) -> None:
            self._said(a, "已退出登录")
            if a.get("ok") and self.root is not None:
                ids = self.root.ids.screens.get_screen("signin").ids
                ids.staff.text = ids.pin.text = ""

        self._run(self.node.sign_out(), done)

    def _run(self, job: Awaitable[dict[str, Any]], done: Callable[[dict[str, Any]], None]) -> None:
        """One command at a time from this tablet: a second tap while the first is on its way does nothing."""
        if self.busy:
            return
        self.busy = True

        async def go() -> None:
            try:
                answer = await job
            except Exception as exc:  # the bus timed out: say so, keep the form as it was
                log.warning("greeter command failed: %s", exc)
                answer = {"ok": False, "code": "offline", "message": "连不上大厅系统，请稍后再试"}
            finally:
                self.busy = False
            self.answers.append(answer)
            done(answer)
            self._redraw()

        task = asyncio.get_event_loop().create_task(go())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _said(self, answer: dict[str, Any], ok_words: str, help_id: str = "") -> str:
        words = ok_words if answer.get("ok") else refusal_words(answer, self.node.state, help_id)
        self.message = words
        return words

    # help requests

    def claim(self, help_id: str) -> None:
        def done(answer: dict[str, Any]) -> None:
            words = self._said(answer, "已认领，请马上去找这位群众", help_id)
            if answer.get("ok"):
                self.claim_notes.pop(help_id, None)
            else:
                self.claim_notes[help_id] = words
            self.select(help_id)

        self._run(self.node.claim(help_id), done)

    def select(self, help_id: str) -> None:
        if help_id != self.selected.get("help_id"):
            self._clear_help_form()  # words written for one visitor never go with the next one's request
        self.selected = next((r for r in self.help_rows if r["help_id"] == help_id), {})
        self._redraw()

    def _clear_help_form(self) -> None:
        if self.root is not None:
            ids = self.root.ids.screens.get_screen("help").ids
            ids.reason.text = ids.to_helper.text = ""

    def _said_and_cleared(self, words: str) -> Callable[[dict[str, Any]], None]:
        def done(answer: dict[str, Any]) -> None:
            self._said(answer, words)
            if answer.get("ok"):
                self._clear_help_form()

        return done

    def finish_help(self) -> None:
        if self.selected:
            self._run(self.node.finish(self.selected["help_id"]), self._said_and_cleared("帮办已完成"))

    def hand_over(self, to_helper: str, note: str) -> None:
        if not to_helper.strip():
            self.message = "请写上接手的帮办员"
            return
        if self.selected:
            self._run(self.node.hand_over(self.selected["help_id"], to_helper.strip(), note.strip()),
                      self._said_and_cleared(f"已转交给 {to_helper.strip()}"))

    def cancel_help(self, reason: str) -> None:
        if not reason.strip():
            self.message = "取消帮办要写明原因"
            return
        if self.selected:
            self._run(self.node.cancel(self.selected["help_id"], reason.strip()),
                      self._said_and_cleared("已取消帮办，号票照常排队"))

    def change_group(self, group: str, reason: str) -> None:
        if not reason.strip():
            self.message = "改分组要写明原因"
            return
        if self.selected:
            self._run(self.node.change_group(self.selected["ticket"], group, reason.strip()),
                      self._said_and_cleared(f"已改为{self.labels.get(group, group)}，排队位置不变"))

    # walk-ins

    def issue_walkin(self, birth_in: Any, *, green: bool = False) -> None:
        """A birth date typed for one visitor is emptied once their ticket is out: never the next one's age."""
        birth = birth_in.text
        if not self.walk_service:
            self.message = "请先选择事项"
            return
        job = (self.node.green_channel(self.walk_service, birth_date=birth.strip() or None) if green
               else self.node.issue(self.walk_service, self.walk_group, birth_date=birth.strip() or None))

        def done(answer: dict[str, Any]) -> None:
            r = answer.get("result", {})
            self.walk_result = self._said(answer, f"已取号 {r.get('number')}（{r.get('service')} · {r.get('label')}），"
                                                  f"前面 {r.get('ahead')} 人")
            if answer.get("ok"):
                birth_in.text = ""

        self._run(job, done)

    # consultations

    def submit_consultation(self, name_in: Any, contact_in: Any, question_in: Any, answer_in: Any) -> None:
        """From the form's inputs; on success they are emptied: the tablet goes round the floor, and the next
        visitor must neither see this one's name and phone nor be registered under them."""
        name, contact, question, answer = (w.text for w in (name_in, contact_in, question_in, answer_in))
        if not name.strip() or not question.strip():
            self.message = "请写上姓名和问题"
            return

        def done(a: dict[str, Any]) -> None:
            r = a.get("result", {})
            from datetime import datetime

            due = datetime.fromisoformat(r["due"]).timestamp() if r.get("due") else None
            ok = (f"{r.get('consultation_id')} 已当场答复" if r.get("answered")
                  else f"{r.get('consultation_id')} 已登记，须在 {due_words(due, self.cfg.hall.tz)} 前答复")
            self.consult_result = self._said(a, ok)
            if a.get("ok"):
                for w in (name_in, contact_in, question_in, answer_in):
                    w.text = ""

        self._run(self.node.open_consultation(name.strip(), question.strip(), contact=contact.strip(),
                                              service=self.consult_service or None, answer=answer.strip()), done)

    # one-time notices

    def pick_notice_service(self, service: str) -> None:
        self.notice_service = service
        self.notice_items = [[m, False] for m in self.materials.get(service, [])]
        self.notice_result = ""

    def toggle_item(self, item: str) -> None:
        self.notice_items = [[m, (not on) if m == item else on] for m, on in self.notice_items]

    def add_free_item(self, text: str) -> bool:
        item = text.strip()
        if not item:
            return False
        if item not in [m for m, _ in self.notice_items]:
            self.notice_items = [*self.notice_items, [item, True]]
        return True

    def reprint_slips(self) -> None:
        """Every slip that did not come out goes to its kiosk again (after the paper is in)."""
        jobs = [job for job, *_ in self.unprinted]
        if not jobs:
            return

        async def all_of_them() -> dict[str, Any]:
            answers = [await self.node.reprint(job) for job in jobs]
            return next((a for a in answers if not a.get("ok")), answers[-1])

        self._run(all_of_them(), lambda a: self._said(a, f"已重新打印 {len(jobs)} 张告知单"))

    def issue_notice(self) -> None:
        chosen = [m for m, on in self.notice_items if on]
        if not self.notice_service or not chosen:
            self.message = "请选择事项和缺少的材料"
            return

        def done(a: dict[str, Any]) -> None:
            r = a.get("result", {})
            where = f"，在 {self.node.print_at} 打印" if self.node.print_at else "（这台平板没有指定打印的自助机）"
            self._said(a, f"告知单 {r.get('notice_id')} 已出具{where}")
            self.notice_result = f"{r.get('notice_id')}\n{r.get('text')}" if a.get("ok") else self.message
            if a.get("ok"):  # the next visitor's list starts empty, not with this one's missing papers
                self.notice_items = [[m, False] for m, _ in self.notice_items
                                     if m in self.materials.get(self.notice_service, [])]

        self._run(self.node.issue_notice(self.notice_service, chosen), done)

    # delegations

    def toggle_deleg_service(self, service: str) -> None:
        chosen = list(self.deleg_services)
        self.deleg_services = [s for s in chosen if s != service] if service in chosen else [*chosen, service]

    def take_page(self) -> None:
        if self.busy:
            return
        self.busy = True

        async def go() -> None:
            try:
                shot = await self.node.take_page()
            except NoPageInView as exc:
                self.message = str(exc)
                return
            except Exception as exc:  # a camera unplugged: the form stays, the helper tries again
                log.warning("camera failed: %s", exc)
                self.message = "高拍仪不能用，请检查连线后再拍"
                return
            finally:
                self.busy = False
            self.pages.append(shot)
            self.deleg_pages = [str(p.path) for p in self.pages]
            self.message = f"已拍第 {len(self.pages)} 页"

        task = asyncio.get_event_loop().create_task(go())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def discard_pages(self) -> None:
        """An agreement not signed (the visitor left): its pages must not be recorded under the next one."""
        for shot in self.pages:
            with contextlib.suppress(OSError):
                Path(shot.path).unlink()
        self.pages, self.deleg_pages = [], []
        self.message = "已清空，可重新拍摄"

    def sign_delegation(self, principal_in: Any) -> None:
        principal = principal_in.text
        if not principal.strip() or not self.deleg_services or not self.pages:
            self.message = "请写上委托人、选择事项，并拍下签好的协议"
            return

        def done(a: dict[str, Any]) -> None:
            r = a.get("result", {})
            self.deleg_result = self._said(a, f"委托代办协议 {r.get('delegation_id')} 已登记（{r.get('pages')} 页）")
            if a.get("ok"):
                self.pages, self.deleg_pages, self.deleg_services = [], [], []
                principal_in.text = ""

        self._run(self.node.record_delegation(principal.strip(), list(self.deleg_services), list(self.pages)), done)

    # my cases

    def select_case(self, case_id: str) -> None:
        if case_id != self.selected_case.get("case_id"):
            self.case_item = ""  # an item picked for one delegation never goes with the next
            self.close_handover()  # nor a hand-over form begun for another case
        self.selected_case = next((r for r in self.case_rows if r["case_id"] == case_id), {})
        self._case_panel(time.time())
        self._redraw()

    def _case_panel(self, now: float) -> None:
        """The selected line's buttons, only those of its kind; a 办件's are on only when the hall would take
        them (the node's case_actions), a follow-up's close only for a supervisor."""
        case, st = self.selected_case, self.node.state
        kind = case.get("kind", "")
        can = set(KIND_BUTTONS.get(kind, ()))
        if kind == "case" and st is not None and self.node.helper:
            can = set(case_actions(st, case["case_id"], self.node.helper, now,
                                   hand_on=bool(self.node.handover_targets)))
        if kind == "followup" and not self.supervisor:
            can.discard("close")
        items = delegation_items(self.cfg, st, case["case_id"]) if kind == "delegation" and st is not None else []
        if not items:
            can.discard("accept")
        self.deleg_items = items
        self.case_buttons = [(a, CASE_BUTTONS[a][0], a in can) for a in KIND_BUTTONS.get(kind, ())
                             if a != "handover" or self.county]  # no [county]: no 转办 button at all
        if self.handover_open and "handover" not in can:  # handed over meanwhile (another tablet), or gone
            self.close_handover()

    def pick_case_item(self, code: str) -> None:
        self.case_item = "" if code == self.case_item else code

    def case_action(self, action: str, words_in: Any, days_in: Any = None) -> None:
        case = self.selected_case
        if not case:
            return
        if action == "handover":
            self.open_handover()
            return
        cid, text = case["case_id"], words_in.text.strip()
        need = CASE_BUTTONS[action][1]
        if need and not text:
            self.message = need
            return
        days = (days_in.text.strip() if days_in is not None else "")
        if action == "delay" and not days.isdigit():
            self.message = "请写上延期的工作日天数"
            return
        if action == "accept" and not self.case_item:
            self.message = "请先点选要受理的事项"
            return
        st = self.node.state
        step = current_step(st.cases[cid]) if st is not None and cid in st.cases else 0
        missing = [m.strip() for m in text.replace("，", "、").replace(",", "、").split("、") if m.strip()]
        jobs = {"answer": lambda: self.node.answer_consultation(cid, text),
                "refer": lambda: self.node.refer_consultation(cid, text),
                "complete": lambda: self.node.complete_delegation(cid, text),
                "cancel": lambda: self.node.cancel_delegation(cid, text),
                "accept": lambda: self.node.accept_delegation(cid, self.case_item),
                "finish": lambda: self.node.finish(cid),
                "rectify": lambda: self.node.rectify_followup(cid, text),
                "close": lambda: self.node.close_followup(cid, text),
                "start": lambda: self.node.start_case(cid),
                "finish_step": lambda: self.node.finish_step(cid, step, text),
                "supplement": lambda: self.node.request_supplement(cid, missing),
                "resume": lambda: self.node.resume_case(cid),
                "delay": lambda: self.node.delay_case(cid, int(days or 0), text)}

        def done(a: dict[str, Any]) -> None:
            r = a.get("result", {})
            where = f"，告知单在 {self.node.print_at} 打印" if self.node.print_at else ""
            words = {"answer": "已答复", "refer": f"已转交{text}，仍由您负责跟进", "complete": "代办已办结",
                     "cancel": "委托已撤销", "finish": "帮办已完成", "close": "回访已办结",
                     "accept": f"已受理为办件 {r.get('case')}，{self._due(r.get('due'))} 前办结，由您首问负责",
                     "rectify": "整改情况已记下，等督办员核实", "start": f"{cid} 开始办理",
                     "finish_step": f"环节{step} 已办结", "supplement": f"已要求补正，办理时限暂停{where}",
                     "resume": f"继续办理，办结时限顺延到 {self._due(r.get('due'))}",
                     "delay": f"已延期，新的办结时限 {self._due(r.get('due'))}"}
            self._said(a, words[action])
            if a.get("ok"):
                words_in.text = ""
                if days_in is not None:
                    days_in.text = ""
                if action == "accept":
                    self.case_item = ""

        self._run(jobs[action](), done)

    def _due(self, iso: str | None) -> str:
        from datetime import datetime

        return due_words(datetime.fromisoformat(iso).timestamp(), self.cfg.hall.tz) if iso else ""

    def _pick(self, prop: str, value: str) -> None:
        """A choice on a 转办 form tapped (again: taken back); a word about what was missing is stale now."""
        setattr(self, prop, "" if getattr(self, prop) == value else value)
        self.message = ""

    # 转办 from 我的事项: the form in the panel (destination, reason), then one command naming the case

    def open_handover(self) -> None:
        if self.selected_case:
            self.handover_open = True
            self.message = f"转办 {self.selected_case['case_id']}：点选转给哪个站点和原因，再点「确认转办」"

    def close_handover(self) -> None:
        """The form is closed empty: a destination or reason chosen for one case never goes with the next."""
        self.handover_open = False
        self.handover_site = self.handover_pick = ""
        if self.root is not None:
            self.root.ids.screens.get_screen("mine").ids.handover_words.text = ""

    def confirm_handover(self, words_in: Any) -> None:
        case = self.selected_case
        if not case or not self.handover_open:
            return
        cid, site = case["case_id"], self.handover_site
        reason = reason_text(self.handover_pick, words_in.text)
        why = handover_problem(site, reason, self.node.handover_targets)
        if why:
            self.message = f"{cid}：{why}"
            return
        name = site_words(site, self.node.sites)

        def done(a: dict[str, Any]) -> None:
            self._said_case(a, cid, f"{cid} 已转办至 {name}，办结后结果送回本站出件；仍在您的「我的事项」里")
            if a.get("ok"):
                self.close_handover()

        self._run(self.node.hand_over_case(cid, site, reason), done)

    # 转办收件: cases handed over to this site

    def _inbox_rows(self, now: float) -> None:
        self.inbox_rows = [{"case_id": i.case_id, "who": i.who, "item_name": i.item_name,
                            "from_words": i.from_words, "received": i.received, "accept_by": i.accept_by,
                            "late": i.late, "mark": f"▲ {i.late}" if i.late else "", "reason": i.reason,
                            "picked": i.case_id == self.selected_inbox.get("case_id")}
                           for i in self.node.inbox(now)]
        if self.selected_inbox:  # accepted or declined meanwhile (here or on another tablet): nothing to act on
            picked = self.selected_inbox["case_id"]
            self.selected_inbox = next((r for r in self.inbox_rows if r["case_id"] == picked), {})
            if not self.selected_inbox:
                self._clear_decline()

    def select_inbox(self, case_id: str) -> None:
        if case_id != self.selected_inbox.get("case_id"):
            self._clear_decline()  # a reason written for one case never goes back with another
        self.selected_inbox = next((r for r in self.inbox_rows if r["case_id"] == case_id), {})
        self._redraw()

    def _clear_decline(self) -> None:
        self.decline_pick = ""
        if self.root is not None:
            self.root.ids.screens.get_screen("inbox").ids.decline_words.text = ""

    def accept_inbox(self) -> None:
        """接收办理: the case is the signed-in person's here from now on (its handler); it moves to 我的事项."""
        row = self.selected_inbox
        if not row:
            return
        cid = row["case_id"]

        def done(a: dict[str, Any]) -> None:
            due = self._due(a.get("result", {}).get("due"))
            self._said_case(a, cid, f"已接收 {cid}（{row['item_name']}），由您办理，{due} 前办结；"
                                    "在「我的事项」里继续办理")

        self._run(self.node.accept_handover(cid), done)

    def decline_inbox(self, words_in: Any) -> None:
        """退回: back to the site it came from, with the reason tapped or written (required)."""
        row = self.selected_inbox
        if not row:
            return
        cid, reason = row["case_id"], reason_text(self.decline_pick, words_in.text)
        why = decline_problem(reason)
        if why:
            self.message = f"{cid}：{why}"
            return

        def done(a: dict[str, Any]) -> None:
            self._said_case(a, cid, f"已退回 {cid} 给 {row['from_words']}：{reason}")
            if a.get("ok"):
                self._clear_decline()

        self._run(self.node.decline_handover(cid, reason), done)

    def _said_case(self, answer: dict[str, Any], case: str, ok_words: str) -> str:
        words = ok_words if answer.get("ok") else handover_refusal(answer, case, self.node.state, self.node.sites)
        self.message = words
        return words

    # 督办: the supervisor's list

    def select_duty(self, ref: str) -> None:
        self.selected_duty = next((r for r in self.duty_rows if r["ref"] == ref), {})
        self.refresh()

    def duty_action(self, action: str, owner_in: Any, words_in: Any) -> None:
        item = self.selected_duty
        if not item:
            return
        ref, kind, text, owner = item["ref"], item["kind"], words_in.text.strip(), owner_in.text.strip()
        need = DUTY_BUTTONS[action][1]
        if need and not text:
            self.message = need
            return
        if action in ("assign", "owner") and not owner:
            self.message = "请写上接手人的工号"
            return
        complaint = kind == "complaint"
        jobs = {"assign": lambda: (self.node.assign_complaint(ref, owner) if complaint
                                   else self.node.assign_followup(ref, owner)),
                "rectify": lambda: (self.node.rectify_complaint(ref, text) if complaint
                                    else self.node.rectify_followup(ref, text)),
                "close": lambda: (self.node.reply_complaint(ref, text) if complaint
                                  else self.node.close_followup(ref, text)),
                "owner": lambda: self.node.change_case_owner(ref, owner, text)}
        words = {"assign": f"{ref} 已分派给 {owner}", "rectify": f"{ref} 整改情况已记下",
                 "close": f"{ref} 已办结" + ("，答复已记下" if complaint else ""),
                 "owner": f"{ref} 的首问负责人改为 {owner}"}

        def done(a: dict[str, Any]) -> None:
            self._said(a, words[action])
            if a.get("ok"):
                owner_in.text = words_in.text = ""

        self._run(jobs[action](), done)

    def register_complaint(self, subject_in: Any, who_in: Any, phone_in: Any, text_in: Any) -> None:
        """A complaint from any channel; the form is emptied once registered (the next one is someone else's)."""
        subject, text = subject_in.text.strip(), text_in.text.strip()
        if not subject or not text:
            self.message = "请写上投诉对象和投诉内容"
            return

        def done(a: dict[str, Any]) -> None:
            r = a.get("result", {})
            self._said(a, f"投诉 {r.get('complaint_id')} 已登记，{self._due(r.get('due'))} 前答复")
            if a.get("ok"):
                for w in (subject_in, who_in, phone_in, text_in):
                    w.text = ""

        self._run(self.node.register_complaint(self.complaint_channel, self.complaint_subject, subject, text,
                                               complainant=who_in.text.strip(), phone=phone_in.text.strip()), done)

    # 我的上门: the day's visits, 到达 and 办结 recorded on the tablet first (kiosk/greeter_flows.py books them)

    def _visits(self) -> None:
        self.visit_rows = [{"code": v.code, "when": v.when, "item_name": v.item_name, "who": v.who,
                            "address": v.address, "needs": "、".join(v.needs), "status_words": v.status_words,
                            "done": "  ".join(x for x in (v.arrived, v.finished) if x), "waiting": v.waiting,
                            "can_arrive": v.can_arrive, "can_finish": v.can_finish,
                            "picked": v.code == self.finishing.get("code")}
                           for v in self.node.my_home_visits(self.visit_day)]
        if self.finishing:
            row = next((r for r in self.visit_rows if r["code"] == self.finishing["code"]), None)
            self.finishing = row if row is not None and row["can_finish"] else {}
        n = len(self.visit_rows)
        day = "今天" if self.visit_day is None else gb.day_words(self.visit_day)
        self.visits_title = f"{day}的上门办 {n} 件（按时间）" if n else f"{day}没有派给您的上门办"
        self.outbox_rows = [list(x) for x in self.node.outbox_lines()]
        self.outbox_count = len(self.node.outbox.pending)

    def arrive(self, code: str) -> None:
        def done(a: dict[str, Any]) -> None:
            at = a.get("result", {}).get("done_at", "")[11:16]
            self._said(a, f"已记录到达 {code}（{at}），有网时自动上传")

        self._run(self.node.arrive_home_visit(code), done)

    def start_finish(self, code: str) -> None:
        """The 办结 form for this visit, empty: an outcome and a rating given for one visit never go with the
        next one's."""
        self.finishing = next((r for r in self.visit_rows if r["code"] == code), {})
        self.outcome, self.rating = "done", 0
        if self.root is not None:
            ids = self.root.ids.screens.get_screen("visits").ids
            ids.note.text = ids.comment.text = ""
        self.message = f"办结 {code}：点选结果，请群众点一个表情评价，再点「确认办结」"
        self._redraw()

    def finish_visit(self, note_in: Any, comment_in: Any) -> None:
        row = self.finishing
        if not row:
            return
        if not self.outcome:
            self.message = "请点选办理结果"
            return
        code, rating = row["code"], self.rating or None

        def done(a: dict[str, Any]) -> None:
            at = a.get("result", {}).get("done_at", "")[11:16]
            self._said(a, f"已记录办结 {code}（{at}）" + ("，评价已记下" if rating else "") + "，有网时自动上传")
            if a.get("ok"):
                note_in.text = comment_in.text = ""
                self.finishing, self.outcome, self.rating = {}, "", 0

        self._run(self.node.finish_home_visit(code, self.outcome, note=note_in.text, rating=rating,
                                              comment=comment_in.text), done)

    def dismiss_outbox(self, request_id: str) -> None:
        """A refusal read: it leaves the list (the helper has told the office or written it down)."""
        self.node.dismiss_outbox(request_id)
        self._redraw()

    def take_followup(self, followup_id: str) -> None:
        self._run(self.node.assign_followup(followup_id), lambda a: self._said(a, "回访已由您负责"))


# The pick-one-or-none boxes of the 转办 forms: what they offer, and the app property holding the pick.
FLOW_BOXES = frozenset({"flow_items", "flow_days", "flow_times", "flow_needs", "flow_helpers", "flow_travel"})
PICKS: dict[str, Callable[[GreeterTabletApp], tuple[list[tuple[str, str]], str]]] = {
    "handover_sites": lambda app: (app.node.handover_targets, "handover_site"),
    "handover_reasons": lambda app: ([(r, r) for r in HANDOVER_REASONS], "handover_pick"),
    "decline_reasons": lambda app: ([(r, r) for r in DECLINE_REASONS], "decline_pick"),
}


class Scroller(ScrollView):
    """A column that scrolls when its content is taller than the window gives it (large text on a small tablet).

    Content that shrinks while scrolled down (a form folded away, a panel emptied after its case was done) left
    Kivy's scroll effect springing back from far out of range: the panel showed its words mid-way down, or cut
    off at the top, for a while. Once the content has its new height the panel goes to its top when it all fits,
    and back within its ends otherwise (never while a finger is scrolling it), with the effect at rest there."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._settle_soon = Clock.create_trigger(lambda _dt: self._settle())
        self.bind(viewport_size=self._settle_soon, height=self._settle_soon)

    def _settle(self) -> None:
        if not self.children:
            return
        spare = self.height - self.children[0].height  # ≥ 0: it all fits
        if spare >= 0:
            target = 1.0
        elif 0.0 <= self.scroll_y <= 1.0 or (self.effect_y is not None and self.effect_y.is_manual):
            return
        else:
            target = min(1.0, max(0.0, self.scroll_y))
        effect = self.effect_y
        if self.scroll_y == target and (effect is None or effect.value == spare * target):
            return
        self.scroll_y = target
        if effect is not None:
            effect.reset(spare * target)  # where the ScrollView keeps its effect for this scroll_y
        self.update_from_scroll()


class TabRows(BoxLayout):
    """The tab bar: one row when every tab's words fit with room at their edges, else two (nine tabs in large
    text on a 1280 tablet). A tab's width follows its words; a hidden tab (督办 for someone without that duty,
    转办收件 in a hall without [county]) is taken out, so it neither leaves a gap nor takes a tap."""

    row_height = NumericProperty(0)  # 0: nobody signed in, no tabs
    MARGIN_DP = 14.0  # each side of a tab's words, inside its edge

    def __init__(self, **kw: Any) -> None:
        self._tabs: list[Any] = []
        self._rows: list[BoxLayout] = []
        super().__init__(orientation="vertical", size_hint_y=None, height=0, **kw)
        self._arrange_soon = Clock.create_trigger(lambda _dt: self._arrange())

    def on_kv_post(self, base_widget: Any) -> None:
        self._tabs = list(reversed(self.children))
        self.clear_widgets()
        self._rows = [BoxLayout(spacing=self.spacing) for _ in range(2)]
        for tab in self._tabs:
            tab.bind(hidden=self._arrange_soon, texture_size=self._arrange_soon)
        self.bind(width=self._arrange_soon, row_height=self._arrange_soon)
        self._arrange()

    def _arrange(self) -> None:
        shown = [t for t in self._tabs if not t.hidden]
        margin = dp(self.MARGIN_DP) * 2
        need = sum(t.texture_size[0] + margin for t in shown) + self.spacing * (len(shown) - 1)
        first = len(shown) if need <= self.width else (len(shown) + 1) // 2
        rows = [shown[:first], shown[first:]]
        for row in self._rows:  # all emptied first: a tab may move from one row to the other
            row.clear_widgets()
        for row, tabs in zip(self._rows, rows, strict=True):
            for tab in tabs:
                tab.size_hint_x = tab.texture_size[0] + margin
                row.add_widget(tab)
        self.clear_widgets()
        used = [row for row, tabs in zip(self._rows, rows, strict=True) if tabs]
        for row in used:
            self.add_widget(row)
        self.height = len(used) * self.row_height + (len(used) - 1) * self.spacing if self.row_height else 0


class Fold(BoxLayout):
    """A part of a panel shown only when wanted (the 转办 form in place of a case's buttons). Hidden, its widgets
    are taken out of the tree, not merely made transparent: a transparent button still takes a tap, and a
    zero-height box would leave its widgets overhanging the ones below."""

    shown = BooleanProperty(True)

    def __init__(self, **kw: Any) -> None:
        self._kept: list[Any] | None = None
        super().__init__(**kw)

    def on_kv_post(self, base_widget: Any) -> None:
        self._kept = list(reversed(self.children))
        self._fold()

    def on_shown(self, *_: Any) -> None:
        self._fold()

    def _fold(self) -> None:
        if self._kept is None:
            return
        self.clear_widgets()
        if self.shown:
            for widget in self._kept:
                self.add_widget(widget)


def _made(widget: Any, **values: Any) -> Any:
    """A .kv dynamic class gets its own properties only once built, so they are set after, not passed in."""
    for key, value in values.items():
        setattr(widget, key, value)
    return widget
