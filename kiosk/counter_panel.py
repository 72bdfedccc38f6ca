"""The counter panel (窗口软件叫号面板) in Kivy: it draws `PanelModel`'s view and forwards taps, nothing more.

What the window shows follows the hall, not the taps: the node's bus client mirrors the hall state and pushes each
event (`on_event`, `on_resync`) on this same asyncio loop, so a call from the window's keypad or console shows
here too, and a panel restarted in the middle of a case shows that case. Ops go through `CounterPanelNode`; the
screens are in counter_panel.kv. The 办件 screens (the window's cases, 受理, one case, 补正, 办结, 出件, 延期, and a
重大事项's 环节 with its tracker picker) draw `PanelModel.cases` and `PanelModel.steps` rows and forward to the
node's case ops. The rating screen faces the visitor: it rates only
the case just finished here, once, and goes back to the clerk's screen by itself.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    DictProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.screenmanager import NoTransition, ScreenManager
from kivy.uix.widget import Widget

from hall_bus.nodes.counter_panel import (
    ACTION_WORDS,
    DECISION_CHOICES,
    DELAY_DAYS,
    DELAY_REASONS,
    DELIVERY_CHOICES,
    OUTCOMES,
    POSITIONS,
    RATING_CHOICES,
    REFUSE_REASONS,
    Buttons,
    CounterPanelNode,
    PanelView,
)
from hall_bus.nodes.greeter import STAFF_REFUSALS
from kiosk.theme import Theme

log = logging.getLogger("kiosk.counter_panel")
KV = Path(__file__).with_name("counter_panel.kv")
THANKS_SECONDS = 2.5  # the visitor sees the thanks before the clerk's screen comes back
RATE_SECONDS = 120.0  # a visitor who walked away without rating does not leave the window on the rating screen
TICKET = re.compile(r"^([A-Z]{1,2})(\d{1,3})$")
# Ops a clerk cannot take back ask once: the words of the first tap; the second must come after a pause.
CONFIRM = {"close_counter": "再点一次「签退」确认：本窗口将停止叫号",
           "no_show": "再点一次「过号」确认：{number} 将记为过号",
           "finish_step": "再点一次「环节办结」确认：环节{step} 将记为办结，不能撤销"}
CONFIRM_AFTER, CONFIRM_WITHIN = 0.6, 5.0  # seconds: a double tap is not a confirmation; a stale one is not either
OFFLINE = "连不上大厅系统：按钮暂不可用，系统会自动重连"
ONLINE_AGAIN = "已连上大厅系统"


class Edged(Widget):
    """A control whose edge is drawn along its border (counter_panel.kv): typed here, so the line has a width and a
    colour from its first frame, before the .kv's theme bindings have run."""

    edge_width = NumericProperty(2.0)
    edge_color = ColorProperty((0, 0, 0, 0))


class CounterPanelApp(App):
    """Properties the .kv binds to; methods the buttons call. The rules are in `self.node.model`."""

    screen = StringProperty("main")
    # rebind: the .kv reads app.theme.body, app.theme.palette.text; without it Kivy binds only the last name in
    # such a chain (on a plain Theme, nothing), and a new theme would restyle nothing
    theme = ObjectProperty(Theme(), rebind=True)
    large_text = BooleanProperty(False)  # 大字 and 高对比: the node's starting mode, switched on the panel
    high_contrast = BooleanProperty(False)
    title_words = StringProperty("")
    clerk = StringProperty("")  # the signed-in clerk's name, from the hall ("" nobody: the sign-in screen)
    status = StringProperty("closed")
    status_words = StringProperty("")
    online = BooleanProperty(True)
    message = StringProperty("")
    notice = StringProperty("")
    en = DictProperty(Buttons().as_dict())
    busy = BooleanProperty(False)
    # the visitor at the window
    v_number = StringProperty("")
    v_service = StringProperty("")
    v_group = StringProperty("")
    v_helper = StringProperty("")
    v_time = StringProperty("")
    v_notes = StringProperty("")
    v_status = StringProperty("")
    # the queue
    next_up = ListProperty([])
    waiting_words = StringProperty("")
    by_service_words = StringProperty("")
    parked = ListProperty([])  # [(ticket id, number, service)]
    # the number pad
    pad_text = StringProperty("")
    pad_ok = BooleanProperty(False)
    prefixes = ListProperty([])
    # the finish dialog
    outcome = StringProperty("done")
    materials = ListProperty([])
    chosen = ListProperty([])
    reason = StringProperty("")
    outcomes = DictProperty(OUTCOMES)
    reasons = ListProperty(list(REFUSE_REASONS))
    # the transfer dialog
    to_service = StringProperty("")
    position = StringProperty("front")
    positions = DictProperty(POSITIONS)
    # the visitor's rating
    rate_number = StringProperty("")
    rate_done = StringProperty("")
    choices = ListProperty([list(c) for c in RATING_CHOICES])
    redraws = NumericProperty(0)
    # 办件 (cases)
    case_rows = ListProperty([])  # [(number, words, overdue)]
    case_no = StringProperty("")
    case_head = StringProperty("")
    case_info = StringProperty("")
    case_actions = ListProperty([])
    case_too_late = BooleanProperty(False)  # 延期 greyed because the due date passed: said on the button
    action_words = DictProperty(ACTION_WORDS)
    receipt = StringProperty("")
    receipt_where = StringProperty("")
    item_code = StringProperty("")
    checklist = StringProperty("")
    decision = StringProperty("")
    decisions = DictProperty(DECISION_CHOICES)
    how = StringProperty("window")
    deliveries = DictProperty(DELIVERY_CHOICES)
    id_checked = BooleanProperty(False)
    print_at = StringProperty("")
    # 延期
    delay_days = NumericProperty(0)
    delay_reason = StringProperty("")
    delay_reasons = ListProperty(list(DELAY_REASONS))
    delay_preview = StringProperty("")
    # 环节 and the tracker picker
    steps_head = StringProperty("")
    step_no = NumericProperty(0)
    step_title = StringProperty("")
    trackers = ListProperty([])  # [(staff id, name shown)]
    tracker_pick = StringProperty("")
    tracker_pick_name = StringProperty("")

    def __init__(self, node: CounterPanelNode, *, hall_name: str = "", px_per_mm: float = 4.0,
                 large_text: bool = False, high_contrast: bool = False,
                 on_start_tasks: list[Callable[[CounterPanelApp], Awaitable[None]]] | None = None,
                 **kw: Any) -> None:
        super().__init__(**kw)
        self.node = node
        self._dialog_ticket = ""  # the case a finish or transfer dialog was opened for
        self._armed: tuple[str, str | None, float] | None = None  # (op, ticket, when) awaiting its second tap
        self._receipt_case = ""  # the case whose receipt is on the case screen (the one just accepted)
        self._rows_drawn: list[Any] = []
        self._steps_drawn: list[Any] = []
        self.print_at = node.print_at or ""
        self.px_per_mm = px_per_mm
        self.set_mode(large_text=large_text, high_contrast=high_contrast)
        counter = node.cfg.counters_by_number[node.counter]
        zone = node.cfg.zones_by_id[counter.zone].name
        self.title_words = f"{node.counter} 号窗口 · {counter.name or zone}"
        self.hall_name = hall_name
        self.prefixes = node.model.prefixes()
        self.view: PanelView = node.view()
        self._tasks_to_start = on_start_tasks or []
        self._tasks: list[asyncio.Task[Any]] = []
        self._timers: list[Any] = []
        self._rate_until = 0.0
        self._refresh = Clock.create_trigger(lambda _dt: self.refresh())  # a burst of events, one redraw
        node.on_change = self._refresh
        self.title = "窗口叫号"

    # ------------------------------------------------------------------ Kivy life cycle

    def build(self) -> ScreenManager:
        from kivy.factory import Factory

        Builder.load_file(str(KV))
        root = ScreenManager(transition=NoTransition())
        for name in ("main", "pad", "finish", "transfer", "rate", "signin", "cases", "accept", "case", "supplement",
                     "conclude", "deliver", "delay", "steps", "tracker"):
            root.add_widget(getattr(Factory, name.capitalize() + "PanelScreen")(name=name))
        self._fill_static(root)
        self._timers = [Clock.schedule_interval(self._tick, 1.0)]
        self.refresh()
        root.current = self.screen  # refresh may have chosen a screen before the root was the app's
        return root

    def on_start(self) -> None:
        loop = asyncio.get_event_loop()
        self._tasks += [loop.create_task(task(self)) for task in self._tasks_to_start]

    def on_stop(self) -> None:
        # a redraw already triggered would run after the app is gone, where the .kv's `app` is None
        self.node.on_change = None
        self._refresh.cancel()
        for task in self._tasks:
            task.cancel()
        for timer in self._timers:
            timer.cancel()

    def open_settings(self, *args: Any) -> bool:  # F1 must not open Kivy's settings panel at a window
        return False

    def set_mode(self, *, large_text: bool | None = None, high_contrast: bool | None = None) -> None:
        """大字 / 高对比, at start (the node's config) or from the panel's toggles: one new Theme, and every size and
        colour in the .kv follows it at once, on whatever screen is showing."""
        if large_text is not None:
            self.large_text = large_text
        if high_contrast is not None:
            self.high_contrast = high_contrast
        self.theme = Theme(px_per_mm=self.px_per_mm, large_text=self.large_text, high_contrast=self.high_contrast)

    # ------------------------------------------------------------------ taps (from the .kv)

    def do(self, op: str) -> None:
        """An op with no arguments: 叫下一位, 重呼, 开始办理, 过号, 挂起, 暂停, 继续, 签到, 签退.

        签退 and 过号 cannot be undone by the clerk, so they ask once: the first tap says what a second does, and
        only a second tap after a pause and within a few seconds does it. A double tap on 签到 (whose button
        turns into 签退) or on 叫下一位 never signs the window out or sends a visitor away."""
        who = self.view.visitor  # the visitor on the screen when the clerk tapped, not whoever is there later
        ticket = who.ticket if who is not None else None
        if op in CONFIRM and not self._confirmed(op, ticket, number=who.number if who is not None else ""):
            return
        self._run(self.node.send(op, ticket))

    def _confirmed(self, op: str, key: str | None, **words: Any) -> bool:
        """The second tap on `key` (a visitor, a case's step) after a pause and within a few seconds; any other tap
        arms it and says what a second one does."""
        now = time.monotonic()
        armed, self._armed = self._armed, None
        if armed is None or armed[:2] != (op, key) or not CONFIRM_AFTER <= now - armed[2] <= CONFIRM_WITHIN:
            self._armed = (op, key, now)
            self.message = self.node.message = CONFIRM[op].format(**words)
            return False
        return True

    def go(self, screen: str) -> None:
        if screen == "pad":
            self.pad_text = ""
            self._pad_check()
        elif screen == "finish":
            self.outcome, self.chosen, self.reason = "done", [], ""
            self.materials = self.node.model.materials(self.v_service)
            self._fill_materials()
        elif screen == "transfer":
            self.to_service, self.position = "", "front"
            self._mark_services()
        elif screen == "cases":
            self._fill_cases()
        elif screen == "accept":
            self.item_code, self.checklist = "", ""
            self._fill_items()
        elif screen == "case":
            self._show_case(follow=False)
        elif screen == "supplement":
            row = self.node.case(self.case_no)
            self.chosen = []
            self.materials = [name for name, _ in self.node.model.checklist(row.item)] if row else []
            self._fill_materials("supplement")
        elif screen == "conclude":
            self.decision = ""
        elif screen == "deliver":
            self.how, self.id_checked = "window", False
        elif screen == "delay":
            self.delay_days, self.delay_reason = 0, ""
            self.delay_preview = self.node.delay_preview(self.case_no, 0)
        elif screen == "steps":
            self._steps_drawn = []
            self._fill_steps()
        elif screen == "tracker":
            self.tracker_pick, self.tracker_pick_name = "", ""
            self._fill_trackers()
        if self.root is not None and screen in ("accept", "conclude", "deliver", "delay"):
            for field in ("applicant", "id_number", "phone", "reason", "collector", "tracking", "link"):
                box = self.root.get_screen(screen).ids.get(field)
                if box is not None:
                    box.text = ""
        who = self.view.visitor
        self._dialog_ticket = who.ticket if who is not None and screen in ("finish", "transfer", "accept") else ""
        self.screen = screen
        if self.root is not None:
            self.root.current = screen

    def back(self) -> None:
        self.go("main")

    def pad_key(self, key: str) -> None:
        if key == "back":
            self.pad_text = self.pad_text[:-1]
        elif key == "clear":
            self.pad_text = ""
        elif key.isalpha():
            self.pad_text = key  # a letter starts a new number
        elif len(self.pad_text) < 5:
            self.pad_text += key
        self._pad_check()

    def pad_call(self) -> None:
        number = self.pad_number()
        if number:
            self._run(self.node.call_ticket(number), then_main=True)

    def pad_number(self) -> str:
        """A letter and digits as the clerk typed them (A3), as the ticket says it (A003)."""
        m = TICKET.match(self.pad_text)
        return f"{m.group(1)}{int(m.group(2)):03d}" if m else ""

    def pick_outcome(self, outcome: str) -> None:
        self.outcome = outcome

    def on_outcome(self, _app: Any, outcome: str) -> None:
        if self.root is not None:
            self.root.get_screen("finish").ids.outcomes.current = outcome

    def on_how(self, _app: Any, how: str) -> None:
        if self.root is not None:
            self.root.get_screen("deliver").ids.ways.current = how

    def toggle_material(self, item: str) -> None:
        self.chosen = [m for m in self.chosen if m != item] if item in self.chosen else [*self.chosen, item]

    def add_free_item(self, text: str, screen: str = "finish") -> None:
        item = text.strip()
        if item and item not in self.chosen:
            self.chosen = [*self.chosen, item]
            if item not in self.materials:
                self.materials = [*self.materials, item]
                self._fill_materials(screen)

    def pick_reason(self, reason: str) -> None:
        self.reason = reason

    def finish_ready(self, outcome: str, chosen: list[str], reason: str) -> bool:
        return {"done": True, "materials_missing": bool(chosen), "refused": bool(reason.strip())}[outcome]

    def do_finish(self) -> None:
        async def finish() -> None:
            out = await self.node.finish(self.outcome, list(self.chosen), self.reason, ticket=self._dialog_ticket)
            if out.ok:
                self.notice = out.notice_text
                self._start_rating()

        self._run(finish())

    def pick_service(self, service: str) -> None:
        self.to_service = service
        self._mark_services()

    def pick_position(self, position: str) -> None:
        self.position = position

    def do_transfer(self) -> None:
        if self.to_service:
            self._run(self.node.transfer(self.to_service, self.position, ticket=self._dialog_ticket),
                      then_main=True)

    def resume_parked(self, index: int) -> None:
        if index < len(self.parked):
            self._run(self.node.resume_parked(self.parked[index][0]))

    def ask_rating(self) -> None:
        """From the clerk's screen: the rating prompt for the case just finished (if the visitor was sent
        away before it and comes back)."""
        if self.view.to_rate:
            self._start_rating()

    def rate(self, level: int) -> None:
        async def rate() -> None:
            answer = await self.node.rate(level)
            words = next(name for lvl, name, _ in RATING_CHOICES if lvl == level)
            self.rate_done = f"谢谢您的评价：{words}" if answer.get("ok") else self.node.message
            Clock.schedule_once(lambda _dt: self._end_rating(), THANKS_SECONDS)

        if not self.rate_done:  # one rating per case: a second tap during the thanks is not sent
            self.rate_done = "…"
            self._run(rate(), guard=False)

    # ------------------------------------------------------------------ 办件 taps

    def pick_item(self, code: str) -> None:
        self.item_code = code
        self.checklist = "\n".join(f"{'【必要】' if need == '必要' else '【容缺】'}{name}"
                                    for name, need in self.node.model.checklist(code))

    def do_accept(self, applicant: str, id_number: str, phone: str) -> None:
        async def accept() -> dict[str, Any]:
            out = await self.node.accept_case(self.item_code, applicant, id_number, phone,
                                              ticket=self._dialog_ticket or None)
            if out.ok:
                self._receipt_case = out.case
                self.receipt = "\n".join(out.receipt or [])
                self.receipt_where = out.receipt_where
                self.case_no = out.case
                self.go("case")
            return out.answer

        self._run(accept())

    def pick_case(self, number: str) -> None:
        if number != self._receipt_case:
            self.receipt, self.receipt_where, self._receipt_case = "", "", ""
        self.case_no = number
        self.go("case")

    def lookup_case(self, typed: str) -> None:
        async def lookup() -> dict[str, Any]:
            out = await self.node.open_case(typed)
            if out.case:
                self.pick_case(out.case)
            return out.answer

        self._run(lookup())

    def case_action(self, action: str) -> None:
        """补正, 办结, 出件, 延期 and 环节 ask first (their screens); 材料已补齐 and 归档 are one tap."""
        if action == "resume":
            self._run(self.node.resume_case(self.case_no))
        elif action == "archive":
            self._run(self.node.archive_case(self.case_no))
        else:
            self.go(action)

    def _then_case(self, coro: Coroutine[Any, Any, dict[str, Any]]) -> None:
        async def run() -> dict[str, Any]:
            answer = await coro
            if answer.get("ok"):
                self.go("case")
            return answer

        self._run(run())

    def do_supplement(self) -> None:
        self._then_case(self.node.request_supplement(self.case_no, list(self.chosen)))

    def do_conclude(self, reason: str) -> None:
        self._then_case(self.node.conclude_case(self.case_no, self.decision, reason))

    @staticmethod
    def filled(text: str) -> bool:
        return bool(text.strip())

    def accept_ready(self, item: str, applicant: str) -> bool:
        return bool(item) and bool(applicant.strip())

    def conclude_ready(self, decision: str, reason: str) -> bool:
        """不予 asks for its reason once, here: the button waits for it."""
        return decision == "approved" or (decision == "refused" and bool(reason.strip()))

    def deliver_ready(self, how: str, checked: bool, collector: str, tracking: str, link: str) -> bool:
        return {"window": checked and bool(collector.strip()), "ems": bool(tracking.strip()),
                "elicence": bool(link.strip())}.get(how, False)

    def do_deliver(self, collector: str, tracking: str, link: str) -> None:
        self._then_case(self.node.deliver_case(self.case_no, self.how, collector=collector,
                                               id_checked=self.id_checked, tracking=tracking, link=link))

    # ------------------------------------------------------------------ 延期 and 环节 taps

    def pick_delay_days(self, days: int) -> None:
        self.delay_days = days

    def pick_delay_reason(self, reason: str) -> None:
        """A common reason fills the field; the clerk may go on writing after it (需现场核查：用地红线复核)."""
        self.delay_reason = reason

    def on_delay_days(self, _app: Any, days: float) -> None:
        self.delay_preview = self.node.delay_preview(self.case_no, int(days))

    @staticmethod
    def delay_ready(days: float, reason: str) -> bool:
        return days >= 1 and bool(reason.strip())

    def do_delay(self) -> None:
        if self.delay_ready(self.delay_days, self.delay_reason):
            self._then_case(self.node.delay_case(self.case_no, int(self.delay_days), self.delay_reason))

    def pick_step_tracker(self, step: int) -> None:
        """指派跟踪员… of one step: the picker names the step and who tracks it now."""
        row = next((r for r in self.node.steps(self.case_no) if r.step == step), None)
        if row is None or not row.can_assign:
            return
        self.step_no = step
        self.step_title = f"{row.title}\n现跟踪员：{row.tracker_name}"
        self.go("tracker")

    def pick_tracker(self, staff: str, name: str) -> None:
        self.tracker_pick, self.tracker_pick_name = staff, name

    def do_assign(self) -> None:
        async def assign() -> dict[str, Any]:
            answer = await self.node.assign_step(self.case_no, int(self.step_no), self.tracker_pick)
            if answer.get("ok"):
                self.go("steps")
            return answer

        if self.tracker_pick:
            self._run(assign())

    def finish_step(self, step: int) -> None:
        """环节办结 cannot be taken back: it asks once, as 签退 and 过号 do."""
        if self._confirmed("finish_step", f"{self.case_no}/{step}", step=step):
            self._run(self.node.finish_step(self.case_no, step))

    def sign_in(self, staff: str, pin: str) -> None:
        if not staff.strip() or not pin.strip():
            self.message = "请输入工号和密码"
            return

        async def sign_in() -> None:
            answer = await self.node.sign_in(staff, pin)
            if answer.get("ok") and self.root is not None:
                self.root.get_screen("signin").ids.pin.text = ""
            self.message = (f"{answer['result'].get('name', '')} 已登录" if answer.get("ok")
                            else STAFF_REFUSALS.get(answer.get("code", ""), self.node.message))

        self._run(sign_in())

    def sign_out(self) -> None:
        self._run(self.node.sign_out())

    def skip_rating(self) -> None:
        self._end_rating()

    # ------------------------------------------------------------------ from the hall

    def connection(self, online: bool) -> None:
        """The last answer is dropped either way: an "已签到" from before the hall went away must not stand beside
        a window that can do nothing, nor the offline words once the hall is back."""
        self.online = online
        self.node.message = ""
        self.message = ONLINE_AGAIN if online else OFFLINE

    # ------------------------------------------------------------------ drawing

    def refresh(self) -> None:
        """Copy the model's view into the properties the screens bind to; the only place the UI learns anything."""
        v = self.view = self.node.view()
        self.clerk = self.node.person_name if self.node.person else ""
        if not self.clerk and self.screen not in ("signin", "rate"):
            self.go("signin")  # every tap at a window is recorded in a clerk's name: nobody, no buttons
        elif self.clerk and self.screen == "signin":
            self.go("main")
        self.status, self.status_words = v.status, v.status_words
        self.en = v.buttons.as_dict() if self.online else Buttons().as_dict()
        if self.online:  # offline, the offline words stay: no answer from before the hall went away replaces them
            self.message = self.node.message or self.message
        who = v.visitor
        self.v_number = who.number if who else ""
        self.v_service = who.service if who else ""
        self.v_group = who.group_words if who else ""
        self.v_helper = f"帮办员：{who.helper}" if who and who.helper else ""
        self.v_notes = "、".join(who.notes) if who else ""
        self.v_status = who.status_words if who else ("窗口暂停中" if v.status == "paused" else "窗口空闲")
        self._tick(0)
        self.next_up = [w.words for w in v.next_up]
        self.waiting_words = f"本窗口可叫 {v.waiting} 人"
        self.by_service_words = "　".join(f"{name} {n}" for name, n in v.waiting_by_service)
        self.parked = [(p.ticket, p.number, p.service) for p in v.parked]
        if self.screen == "rate" and self.node.model.to_rate is None and not self.rate_done:
            # the next visitor was called (the keypad, the console): the prompt is over. Not v.to_rate: that is
            # empty too while the mirror has not yet seen the finish the hall just answered
            self._end_rating()
        elif self.screen in ("finish", "transfer") and (who is None or who.ticket != self._dialog_ticket):
            self.back()  # the case ended elsewhere (the keypad), or the next visitor is here: not this dialog's
        elif self.screen == "accept" and (who is None or who.ticket != self._dialog_ticket):
            self.go("cases")  # the visitor the application was for has gone: never accept it for the next one
        self._fill_cases()
        if self.case_no:
            self._show_case()
        if self.screen in ("steps", "tracker"):
            self._fill_steps()
        self.redraws += 1

    def _tick(self, _dt: float) -> None:
        who = self.view.visitor
        self.v_time = f"已在窗口 {who.minutes(time.time())} 分钟" if who else ""
        if self.screen == "rate" and not self.rate_done and time.monotonic() > self._rate_until:
            self._end_rating()

    def _start_rating(self) -> None:
        self.rate_number = self.node.model.to_rate_number
        self.rate_done = ""
        self._rate_until = time.monotonic() + RATE_SECONDS
        self.go("rate")

    def _end_rating(self) -> None:
        self.rate_done = ""
        if self.screen == "rate":
            self.go("main")

    def _run(self, coro: Coroutine[Any, Any, Any], *, then_main: bool = False, guard: bool = True) -> None:
        """One op at a time: a double tap on 叫下一位 must not call two visitors."""
        if guard and self.busy:
            coro.close()
            return

        async def run() -> None:
            self.busy = guard or self.busy
            try:
                answer = await coro
                ok = answer.get("ok") if isinstance(answer, dict) else True
                if then_main and ok:
                    self.back()
            except Exception:  # one failed op never stops the panel
                log.exception("counter panel op failed")
                self.message = "未成功：操作出错，请再试一次"
            finally:
                if guard:
                    self.busy = False
                self.refresh()

        self._tasks.append(asyncio.get_event_loop().create_task(run()))
        self._tasks = [t for t in self._tasks if not t.done()]

    def _pad_check(self) -> None:
        self.pad_ok = bool(self.pad_number())

    # ------------------------------------------------------------------ widgets made from the config

    def _fill_static(self, root: ScreenManager) -> None:
        """The pad's letter keys, the transfer's services and the 延期 days: fixed by the config, made once."""
        from kivy.factory import Factory

        letters = root.get_screen("pad").ids.letters
        for prefix in self.prefixes:
            key = Factory.PanelButton(text=prefix)
            key.bind(on_release=lambda _b, p=prefix: self.pad_key(p))
            letters.add_widget(key)
        days = root.get_screen("delay").ids.days
        for n in range(1, DELAY_DAYS + 1):
            day = Factory.DayButton()
            day.days = n
            days.add_widget(day)
        grid = root.get_screen("transfer").ids.services
        for service in self.node.model.transfer_services():
            button = Factory.PickButton()
            button.code = service
            button.bind(on_release=lambda _b, sv=service: self.pick_service(sv))
            grid.add_widget(button)

    def _mark_services(self) -> None:
        if self.root is None:
            return
        for button in self.root.get_screen("transfer").ids.services.children:
            button.disabled = button.code == self.v_service  # the same service is no transfer

    def _fill_cases(self) -> None:
        """The window's cases as rows (remade only when they changed: the list is redrawn on every event)."""
        from kivy.factory import Factory

        rows = [(r.number, r.words, r.overdue) for r in self.node.cases()]
        if rows == self.case_rows and self._rows_drawn == rows:
            return
        self.case_rows = rows
        if self.root is None:
            return
        grid = self.root.get_screen("cases").ids.rows
        grid.clear_widgets()
        for number, words, late in rows:
            button = Factory.CaseRowButton(text=words)
            button.code, button.late = number, late
            grid.add_widget(button)
        self._rows_drawn = rows

    def _show_case(self, *, follow: bool = True) -> None:
        row = self.node.case(self.case_no)
        if row is None:
            self.case_head, self.case_info, self.case_actions = self.case_no, "没有这个办件", []
            self.case_too_late = False
            return
        self.case_head = f"{row.number}\n{row.kind_words} · {row.due_words}"
        person = "  ".join(x for x in (row.applicant, row.id_number, row.phone) if x)
        lines = [f"事项：{row.item_name}", f"申请人：{person}", f"状态：{row.status_words}"]
        if row.missing:
            lines.append("待补正：" + "、".join(row.missing))
        if row.steps_words:
            lines.append(f"环节：{row.steps_words}")
        if row.delay_words:
            lines.append(f"延期：{row.delay_words}")
        self.case_info = "\n".join(lines)
        self.case_actions = list(row.actions)
        self.case_too_late = row.too_late_to_delay
        if follow and self.screen in ("supplement", "conclude", "deliver", "delay", "steps") \
                and self.screen not in row.actions:
            self.go("case")  # the case moved on elsewhere (another panel, a tablet), or its due date passed
        elif follow and self.screen == "tracker" and not any(
                r.step == self.step_no and r.can_assign for r in self.node.steps(self.case_no)):
            self.go("steps")  # the step was finished meanwhile: nobody is assigned to a finished step

    def _fill_steps(self) -> None:
        """The case's steps as cards (remade only when they changed: a redraw comes with every event)."""
        from kivy.factory import Factory

        row = self.node.case(self.case_no)
        self.steps_head = f"环节 · {row.number} · {row.item_name}" if row is not None else self.case_no
        rows = [(self.case_no, r.step, r.words, r.late, r.state, r.can_assign, r.can_finish)
                for r in self.node.steps(self.case_no)]
        if self.root is None or rows == self._steps_drawn:
            return
        grid = self.root.get_screen("steps").ids.steps
        grid.clear_widgets()
        for _case, step, words, late, state, can_assign, can_finish in rows:
            card = Factory.StepCard()
            card.step, card.words, card.late, card.done = step, words, late, state == "done"
            card.can_assign, card.can_finish = can_assign, can_finish
            grid.add_widget(card)
        self._steps_drawn = rows

    def _fill_trackers(self) -> None:
        """The roster's 环节跟踪员 as buttons with their names (the mirrored staff list, read when the picker opens)."""
        from kivy.factory import Factory

        self.trackers = self.node.trackers()
        if self.root is None:
            return
        grid = self.root.get_screen("tracker").ids.trackers
        grid.clear_widgets()
        for staff, name in self.trackers:
            button = Factory.TrackerButton()
            button.code, button.label = staff, name
            grid.add_widget(button)

    def _fill_items(self) -> None:
        from kivy.factory import Factory

        if self.root is None:
            return
        grid = self.root.get_screen("accept").ids["items"]
        grid.clear_widgets()
        for item in self.node.model.items(self.v_service):
            button = Factory.ItemButton()
            button.code = item.code
            button.label = f"{item.name}（{item.promised_limit.words()}）"
            grid.add_widget(button)

    def _fill_materials(self, screen: str = "finish") -> None:
        from kivy.factory import Factory

        if self.root is None:
            return
        grid = self.root.get_screen(screen).ids.materials
        grid.clear_widgets()
        for item in self.materials:
            button = Factory.MaterialToggle()
            button.code = item
            button.bind(on_release=lambda _b, m=item: self.toggle_material(m))
            grid.add_widget(button)


def watch_connection(client: Any, every: float = 0.5) -> Callable[[CounterPanelApp], Awaitable[None]]:
    """An on-start task: the panel greys its buttons while the bus client is not connected, and comes back by
    itself when the client reconnects."""

    async def task(app: CounterPanelApp) -> None:
        while True:
            online = client.connected.is_set()
            if online != app.online:
                app.connection(online)
                app.refresh()
            await asyncio.sleep(every)

    return task
