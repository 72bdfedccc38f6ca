"""The citizen kiosk (自助取号机) in Kivy: it draws `KioskFlow` and forwards taps, nothing more.

Issuing a ticket, reading the ID card and printing go through the node layer (`KioskAgent`), which runs on the
same asyncio loop as this app (`App.async_run`); blocking device calls run in threads inside the agent, and no
thread touches a widget. The screens are in citizen.kv.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, DictProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from hall_bus.nodes.kiosk_flow import GuideEntry, KioskFlow, Step
from hall_bus.nodes.kiosk_words import TEXT, printer_why
from kiosk.theme import Theme

log = logging.getLogger("kiosk.citizen")
KV = Path(__file__).with_name("citizen.kv")
ICONS = Path(__file__).resolve().parents[1] / "assets" / "icons"
TOUCH_GUARD_SECONDS = 0.5  # a touch this soon after a screen change belongs to the screen before

Issue = Callable[[str, str, Any], Awaitable[Any]]  # (service, group, card or None) -> KioskOutcome


PrintGuide = Callable[[Any], Awaitable[tuple[bool, str]]]  # (catalogue item) -> (printed, printer note)
# The guide's letter keys: A–Z in order (an older visitor looks for a letter in the alphabet, not on a QWERTY row).
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
__all__ = ["CitizenKioskApp", "printer_why"]


class CitizenKioskApp(App):
    """Properties the .kv binds to; methods the buttons call. The rules are in `self.flow`."""

    step = StringProperty("welcome")
    t = DictProperty(TEXT["zh"])
    # rebind: the .kv reads app.theme.palette.x and app.theme.body, and a new Theme must restyle every widget
    # already drawn, not only those built after the switch
    theme = ObjectProperty(Theme(), rebind=True)
    wide = BooleanProperty(False)  # the window is wider than tall: screens lay out side by side
    services = ListProperty([])
    groups = ListProperty([])
    suggested = StringProperty("")
    countdown = StringProperty("")
    warning = BooleanProperty(False)  # the idle warning is up: 「我还需要时间」 shows (a tap elsewhere hides it)
    card_words = StringProperty("")  # 已读取身份证：张**，74岁，为您选好「陪同办」，可以改选
    online = BooleanProperty(True)
    message = StringProperty("")
    number = StringProperty("")
    ticket_lines = ListProperty([])
    printed = BooleanProperty(False)
    helper_coming = StringProperty("")
    ticket_info = StringProperty("")  # 医保 · 陪同办 / 前面还有 3 人，约 9 分钟
    ticket_service = StringProperty("")  # 医保 · 陪同办
    ticket_ahead = StringProperty("")  # 前面还有 3 人，约 9 分钟
    printer_why = StringProperty("")  # a ticket only on screen: why it did not come out
    busy = BooleanProperty(False)
    hall_name = StringProperty("")
    qr_source = StringProperty("")
    issues = NumericProperty(0)  # tickets issued by this window: the double-tap tests count them
    can_scan = BooleanProperty(False)  # the kiosk has a camera: the welcome screen offers 「我有预约」
    can_guide = BooleanProperty(False)  # the hall has a catalogue: the welcome screen offers 「办事指南」
    guide_tab = StringProperty("events")
    guide_query = StringProperty("")
    guide_heading = StringProperty("")  # 查找：Y B / how to search / the service opened
    guide_count = StringProperty("")  # 找到 7 项
    page_title = StringProperty("")
    page_sub = StringProperty("")
    page_facts = StringProperty("")
    page_materials_heading = StringProperty("")
    page_materials = StringProperty("")
    slip_words = StringProperty("")  # the short guide came out, or why not
    slip_busy = BooleanProperty(False)

    def __init__(self, flow: KioskFlow, issue: Issue, *, hall_name: str = "", px_per_mm: float = 4.0,
                 on_start_tasks: list[Callable[[CitizenKioskApp], Awaitable[None]]] | None = None,
                 speak: Callable[[str], None] | None = None, can_scan: bool = False, large_text: bool = False,
                 high_contrast: bool = False, print_guide: PrintGuide | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        # The node's starting mode (a kiosk in the 帮办代办 area starts in large text); each new visitor gets it back.
        self._start_mode = (large_text, high_contrast)
        flow.large_text, flow.high_contrast = large_text, high_contrast
        self.can_scan = can_scan
        self.flow = flow
        self._issue = issue
        # The kiosk agent's print_guide; without it the page says this kiosk cannot print (and to photograph it).
        self._print_guide = print_guide
        self._printing: asyncio.Task[None] | None = None
        self._rows: dict[int, list[Any]] = {}  # the list rows of each container, reused (clear_widgets leaks)
        self._kept: dict[tuple[int, str], Any] = {}  # service and group buttons by container, reused likewise
        self.hall_name = hall_name
        self._ppm = px_per_mm
        self._tasks_to_start = on_start_tasks or []
        self._tasks: list[asyncio.Task[None]] = []
        self._issuing: asyncio.Task[None] | None = None
        self._timers: list[Any] = []
        self.card: Any = None  # the ID card read for the visitor now at the screen (never the one before)
        # What comes on screen is said aloud (KioskFlow.news), for visitors who cannot read: a PromptSpeaker's say
        # in a hall, a no-op without a voice; what was said is recorded for the tests either way.
        self._speak = speak or (lambda _text: None)
        self.spoken: list[str] = []
        self._changed_at = 0.0  # time.monotonic() of the last screen change: a touch just after it is stray
        self._stopped = False
        self.title = "自助取号"

    # ------------------------------------------------------------------ Kivy life cycle

    def build(self) -> ScreenManager:
        Builder.load_file(str(KV))
        root = ScreenManager(transition=NoTransition())
        for name in ("welcome", "service", "scan", "help", "issuing", "ticket", "guide", "item", "bundle"):
            root.add_widget(_screen(name))
        root.bind(on_touch_down=lambda *_: self.tap())  # any touch, not only buttons, keeps the screen
        root.bind(on_touch_down=self._stray)  # bound last, so it runs first and can stop the touch
        from kivy.core.window import Window

        Window.bind(size=self._resized)
        self._resized(Window, Window.size)
        self.sync()
        self._timers = [Clock.schedule_interval(self._tick, 1.0)]
        return root

    def on_start(self) -> None:
        loop = asyncio.get_event_loop()
        self._tasks = [loop.create_task(task(self)) for task in self._tasks_to_start]

    def on_stop(self) -> None:
        self._stopped = True  # a card read, a bus answer or a timer arriving now must not redraw a closed window
        for task in [*self._tasks, *([self._issuing] if self._issuing else []),
                     *([self._printing] if self._printing else [])]:
            task.cancel()
        for timer in self._timers:
            timer.cancel()

    def open_settings(self, *args: Any) -> bool:  # F1 must not open Kivy's settings panel on a kiosk
        return False

    # ------------------------------------------------------------------ taps (from the .kv)

    def accepts_touch(self) -> bool:
        return time.monotonic() - self._changed_at >= TOUCH_GUARD_SECONDS

    def _stray(self, _root: Any, _touch: Any) -> bool:
        """A touch within half a second of a screen change was meant for the screen before (a double tap on a
        service would otherwise land on the help screen's first choice): it does nothing."""
        return not self.accepts_touch()

    def tap(self) -> None:
        self.flow.touch(time.monotonic())
        self.countdown = ""

    def more_time(self) -> None:
        """「我还需要时间」: the screen stays as it is, with the whole time again."""
        self.flow.more_time(time.monotonic())
        self.countdown, self.warning = "", False
        self._say_news()

    def start(self) -> None:
        self.flow.start(time.monotonic())
        self.sync()

    def choose_service(self, service: str) -> None:
        """`service` is a button's words (English in English); the flow chooses the hall's service by them."""
        self.flow.choose_service(self.flow.service_named(service), time.monotonic())
        self.sync()

    def start_scan(self) -> None:
        self.flow.start_scan(time.monotonic())
        self.sync()

    def code_read(self, appt: Any) -> None:
        """From the camera watcher: a valid appointment code; the booking's ticket is issued at once."""
        if self.flow.appointment_read(appt, time.monotonic()):
            self.sync()
            self._issuing = asyncio.get_event_loop().create_task(self._do_issue(appt.group))
        else:
            self.sync()

    def code_refused(self, code: str) -> None:
        self.flow.appointment_refused(code, time.monotonic())
        self.sync()

    def choose_group(self, group: str) -> None:
        if self.flow.choose_group(group, time.monotonic()):
            self.sync()
            self._issuing = asyncio.get_event_loop().create_task(self._do_issue(group))
        else:
            self.sync()

    def back(self) -> None:
        self.flow.back(time.monotonic())
        self.sync()

    # ------------------------------------------------------------------ the guide (from the .kv)

    def open_guide(self) -> None:
        self.flow.open_guide(time.monotonic())
        self.sync()

    def key(self, letter: str) -> None:
        self.flow.type_letter(letter, time.monotonic())
        self.sync()

    def delete_letter(self) -> None:
        self.flow.delete_letter(time.monotonic())
        self.sync()

    def clear_letters(self) -> None:
        self.flow.clear_letters(time.monotonic())
        self.sync()

    def guide_browse(self, tab: str) -> None:
        self.flow.guide_browse(tab, time.monotonic())
        self.sync()

    def open_entry(self, kind: str, key: str) -> None:
        self.flow.open_entry(kind, key, time.monotonic())
        self.sync()

    def ticket_for_item(self) -> None:
        self.flow.ticket_for_item(time.monotonic())
        self.sync()

    def print_guide(self) -> None:
        """「打印简版指南」: printed by the agent on the loop (the printer call itself runs in a thread there)."""
        item = self.flow.guide_item_to_print(time.monotonic())
        self.sync()
        if item is not None:
            self._printing = asyncio.get_event_loop().create_task(self._do_print_guide(item))

    async def _do_print_guide(self, item: Any) -> None:
        if self._print_guide is None:
            printed, note = False, "no printer on this kiosk"
        else:
            try:
                printed, note = await self._print_guide(item)
            except Exception as exc:  # a printer or driver error: the page says so, the visitor photographs it
                log.warning("short guide not printed: %s", exc)
                printed, note = False, f"printing failed: {exc}"
        self.flow.guide_printed(printed, note, time.monotonic())
        self.sync()

    def done(self) -> None:
        self._reset()
        self.sync()

    def _reset(self) -> None:
        """The next visitor: the node's starting mode again, whatever the one before switched to."""
        self.flow.reset()
        self.flow.large_text, self.flow.high_contrast = self._start_mode
        self.card = None

    def toggle(self, what: str) -> None:
        now = time.monotonic()
        {"lang": self.flow.toggle_language, "large": self.flow.toggle_large_text,
         "contrast": self.flow.toggle_contrast}[what](now)
        self.sync()

    # ------------------------------------------------------------------ from the hall

    def card_read(self, birth_date: date, name: str, today: date) -> None:
        self.flow.card(birth_date, name, today, time.monotonic())
        self.sync()

    def connection(self, online: bool) -> None:
        self.flow.connection(online)
        self.sync()

    def slip_failed(self, _notice_id: str, _problem: str) -> None:
        """A notice slip for a visitor at this kiosk did not come out: they are told here, the greeters by the
        hall (the kiosk reported it)."""
        self.flow.notice = "slip_failed"
        self.sync()

    async def _do_issue(self, group: str) -> None:
        flow = self.flow
        assert flow.service is not None
        try:
            # "normal" is sent as it is: a visitor who declines help must not get the group their age suggests
            outcome = await self._issue(flow.service, group, self.card)
            answer, printed, on_screen, note = outcome.answer, outcome.printed, outcome.on_screen, outcome.printer_note
        except Exception as exc:  # the bus timed out or refused: no number, see a greeter
            log.warning("issue failed: %s", exc)
            answer, printed, on_screen, note = {"ok": False}, False, [], ""
        if answer.get("ok"):
            self.issues += 1
        flow.issued(answer, printed=printed, on_screen=on_screen, note=note, now=time.monotonic())
        self.sync()

    # ------------------------------------------------------------------ drawing

    def sync(self) -> None:
        """Copy the flow into the properties the screens bind to; the only place the UI learns anything."""
        if self._stopped:  # the .kv rules read `app`, which is gone once the app has stopped
            return
        f = self.flow
        self.t = f.words()
        self.theme = Theme(px_per_mm=self._ppm, large_text=f.large_text, high_contrast=f.high_contrast)
        self.services = f.services_shown()  # English names in English; choose_service maps them back
        self.groups = f.choices()
        self.suggested = f.suggested or ""
        self.online = f.online
        self.message = f.shown_message()
        self.card_words = f.card_words()
        self.warning = self.warning and f.countdown(time.monotonic()) is not None
        if f.birth_date is None:
            self.card = None
        self.busy = f.step == Step.ISSUING
        answer = f.result_words()  # the service and group in the screen's language
        self.number = answer.get("number", "") if f.answer else ""
        self.printed = f.printed
        self.ticket_lines = f.on_screen if not f.printed else []
        ahead = self.t["ahead"].format(ahead=answer.get("ahead", 0), wait=answer.get("wait_min", 0)) \
            if answer.get("ahead") else self.t["nobody_ahead"]
        self.ticket_service = f"{answer.get('service', '')} · {answer.get('label', '')}" if self.number else ""
        self.ticket_ahead = ahead if self.number else ""
        self.ticket_info = f"{self.ticket_service}\n{ahead}" if self.number else ""
        self.printer_why = printer_why(f.message, f.lang) if self.number and not f.printed else ""
        self.qr_source = self._qr(answer.get("ticket", "")) if self.number and not f.printed else ""
        self.helper_coming = self.t["helper"].format(where=self.t["assist_area"]) if answer.get("help_id") else ""
        self._sync_guide()
        if self.root is not None:
            if self.root.current != f.step.value:
                self.root.current = f.step.value
                self._changed_at = time.monotonic()
            # The dynamic lists carry words and sizes: rebuild the one on screen after a language or size switch.
            screen = self.root.current_screen
            if f.step == Step.HELP:
                self.fill_groups(screen.ids.choices)
            elif f.step == Step.SERVICE:
                self.fill_services(screen.ids.grid)
            elif f.step == Step.GUIDE:
                self.fill_keys(screen.ids.letters)
                self.fill_rows(screen.ids.results, f.guide_entries())
            elif f.step == Step.BUNDLE and (bundle := f.page_bundle()) is not None:
                self.fill_rows(screen.ids.bundle_rows, f.bundle_items(bundle))
        self.step = f.step.value
        self._say_news()

    def _sync_guide(self) -> None:
        """The guide's words for its screens: the search line, and the page of the item or bundle on show."""
        f, t = self.flow, self.t
        self.can_guide = f.can_guide
        self.guide_tab, self.guide_query = f.guide_tab, f.guide_query
        self.guide_heading = f.guide_heading() if f.step == Step.GUIDE else ""
        self.guide_count = f.guide_count() if f.step == Step.GUIDE else ""
        self.slip_words, self.slip_busy = f.slip_words(), f.slip == "printing"
        item, bundle = f.page_item(), f.page_bundle()
        if item is not None:
            self.page_title, self.page_sub = f.item_name(item), f.service_words(item.service)
            self.page_facts = "\n".join(f"[b]{label}[/b]{'：' if f.lang == 'zh' else ': '}{words}"
                                         for label, words in f.item_facts(item))
            self.page_materials_heading = f.materials_heading(item.materials)
            self.page_materials = _numbered(f.material_rows(item.materials))
        elif bundle is not None:
            materials = f.bundle_materials(bundle)
            self.page_title, self.page_sub = bundle.name, f"{t['bundle_tag']} · {bundle.life_event}"
            self.page_facts = ""
            self.page_materials_heading = f.materials_heading(materials, merged=True)
            self.page_materials = _numbered(f.material_rows(materials))

    def fill_keys(self, grid: Any) -> None:
        """The letter keys, made once: they never change (their size follows the theme through the .kv)."""
        from kivy.factory import Factory

        if grid.children:
            return
        for letter in LETTERS:
            button = Factory.GuideKey(text=letter)
            button.bind(on_release=lambda _b, ch=letter: self.key(ch))
            grid.add_widget(button)

    def fill_rows(self, box: Any, entries: list[GuideEntry]) -> None:
        """A list of guide rows (results, a service's items, a bundle's items), reusing the row buttons already
        made: the list changes on every key, and a kiosk runs for days."""
        from kivy.factory import Factory

        pool = self._rows.setdefault(id(box), [])
        while len(pool) < len(entries):
            row = Factory.GuideRow()
            row.bind(on_release=lambda b: self.open_entry(b.entry_kind, b.entry_key))
            pool.append(row)
        box.clear_widgets()
        sub_dp = self.theme.body  # the second line smaller than the name, never under 18 (30) dp
        for row, entry in zip(pool[:len(entries)], entries, strict=True):
            row.entry_kind, row.entry_key = entry.kind, entry.key
            row.text = f"[b]{entry.words}[/b]" + (f"\n[size={sub_dp:g}dp]{entry.sub}[/size]" if entry.sub else "")
            box.add_widget(row)
        if hasattr(box.parent, "scroll_y"):
            box.parent.scroll_y = 1  # a new list starts at its top, where its best hit is

    def _say_news(self) -> None:
        """Say what came on screen since the last time: each screen's prompt and choices, a card read, a notice,
        the offline banner, the idle warning; each once while it stays (the flow keeps track)."""
        words = self.flow.news(time.monotonic(), can_scan=self.can_scan)
        if words:
            self.spoken.append(words)
            self._speak(words)

    def _resized(self, _window: Any, size: tuple[int, int]) -> None:
        self.wide = size[0] > size[1] * 1.15

    def fill_services(self, grid: Any) -> None:
        from kivy.factory import Factory

        grid.clear_widgets()
        for service in self.services:
            button = self._kept.get((id(grid), service))
            if button is None:  # made once and reused: a dropped button's kv rules stay bound to app.theme and
                # raise ReferenceError at the next mode switch once it is collected
                button = self._kept[(id(grid), service)] = Factory.ServiceButton(text=service)
                button.bind(on_release=lambda _b, s=service: self.choose_service(s))
            grid.add_widget(button)

    def fill_groups(self, box: Any) -> None:
        from kivy.factory import Factory

        box.clear_widgets()
        for group in self.groups:
            words = self.group_words(group)
            hint = self.group_hint(group)
            hint_dp = self.theme.body  # under the words, smaller than they are, and never under 18 (30) dp
            text = f"[b]{words}[/b]" + (f"\n[size={hint_dp:g}dp]{hint}[/size]" if hint else "")
            button = self._kept.get((id(box), group))
            if button is None:  # reused, as fill_services's
                button = self._kept[(id(box), group)] = Factory.ChoiceButton()
                button.bind(on_release=lambda _b, g=group: self.choose_group(g))
            # kv-declared properties: not constructor kwargs
            button.text, button.group_code, button.icon = text, group, self.icon_for(group)
            box.add_widget(button)

    def group_hint(self, group: str) -> str:
        return self.flow.group_hint(group)

    def group_words(self, group: str) -> str:
        return self.flow.group_words(group)

    def icon_for(self, name: str) -> str:
        path = ICONS / f"{name}.png"
        return str(path) if path.exists() else ""

    def _qr(self, ticket_id: str) -> str:
        """The ticket's QR on screen when the paper did not come out: a greeter's scanner reads it off a phone."""
        import qrcode

        folder = Path(self.user_data_dir) / "qr"
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.png"):  # one file per ticket: Kivy caches images by path
            old.unlink(missing_ok=True)
        out = folder / f"{ticket_id}.png"
        qrcode.make(ticket_id, box_size=8, border=2).save(out)
        return str(out)

    def _tick(self, _dt: float) -> None:
        now = time.monotonic()
        if self.flow.tick(now):
            self._reset()
            self.sync()
            return
        left = self.flow.countdown(now)
        self.countdown = self.t["reset"].format(n=left) if left is not None else ""
        # tap() clears the words at once but the button stays till here, so a tap on it lands on it
        self.warning = left is not None
        self._say_news()  # the warning, once, when it appears


def _numbered(rows: list[str]) -> str:
    """Materials as a numbered list: a visitor ticking them off at home, or telling a greeter "the third one"."""
    return "\n".join(f"{n}. {row}" for n, row in enumerate(rows, 1))


def _screen(name: str) -> Any:
    from kivy.factory import Factory

    return getattr(Factory, name.capitalize() + "Screen")(name=name)


def watch_connection(
    client: Any, every: float = 0.5, grace: float = 3.0
) -> Callable[[CitizenKioskApp], Awaitable[None]]:
    """An on-start task: the kiosk says it is offline while the bus client is not connected, and comes back by
    itself when the client reconnects (the client rebuilds its sockets with back-off)."""

    async def task(app: CitizenKioskApp) -> None:
        down_since: float | None = None
        while True:
            now = time.monotonic()
            online = client.connected.is_set()
            down_since = None if online else (down_since if down_since is not None else now)
            # Offline only after `grace` seconds without the link: at start the client needs a moment to connect,
            # and a kiosk that says "cannot reach the hall" (aloud) every time it is switched on teaches visitors
            # and staff to ignore it.
            if online != app.flow.online and (down_since is None or now - down_since >= grace):
                app.connection(online)
            await asyncio.sleep(every)

    return task


def watch_camera(camera: Any, cfg: Any, every: float = 0.4) -> Callable[[CitizenKioskApp], Awaitable[None]]:
    """An on-start task: while the scan screen is up, frames from the kiosk's camera are searched for an
    appointment code (in a thread: decoding a frame takes tens of milliseconds). The camera is used only on that
    screen, and the frames it buffered before are dropped when the screen opens. A camera that fails says so on
    screen, 「我有预约」 is hidden until it works again, and it is reopened every few seconds; each change is
    logged once. Nothing of a refused code is logged (it may be a payment code or an e-ID)."""
    from datetime import datetime

    from hall_bus.nodes.appointment import AppointmentRefused, parse

    def look(fresh: bool) -> list[str]:
        from devices.camera.codes import scan

        if fresh:
            camera.flush()
        return [code.text for code in scan(camera.read())]

    async def task(app: CitizenKioskApp) -> None:
        last_refused, scanning, failing = "", False, False
        while True:
            await asyncio.sleep(every if not failing else 3.0)
            if failing:  # try the camera again, whatever screen is up
                try:
                    await asyncio.to_thread(camera.reopen)
                    await asyncio.to_thread(camera.read)
                except Exception:
                    continue
                log.warning("camera works again: appointment codes can be scanned")
                failing, app.can_scan = False, True
            if app.flow.step != Step.SCAN:
                last_refused, scanning = "", False
                continue
            try:
                texts = await asyncio.to_thread(look, not scanning)
                scanning = True
            except Exception as exc:  # a camera unplugged, a driver error: the visitor goes back for a ticket
                log.warning("camera failed: %s; appointment codes cannot be scanned until it works", exc)
                failing, app.can_scan = True, False
                app.code_refused("camera")
                continue
            for text in texts:
                try:
                    appt = parse(text, cfg, datetime.now(cfg.hall.tz))
                except AppointmentRefused as exc:
                    if exc.code != last_refused:  # the same wrong code in view is logged once
                        log.info("appointment code refused: %s (%s)", exc.code, exc.detail)
                        last_refused = exc.code
                    app.code_refused(exc.code)
                    continue
                app.code_read(appt)
                break

    return task


def watch_card(agent: Any, tz: Any, every: float = 1.5) -> Callable[[CitizenKioskApp], Awaitable[None]]:
    """An on-start task: a card placed on the reader before the visitor has chosen a service suggests and
    pre-selects the group from the age (the visitor may still change it). Each insertion counts once, so a card
    left on the reader is not the next visitor's; the reader is polled only on the welcome and service screens,
    so nothing else uses it at the same time."""
    from datetime import datetime

    from devices.idcard.reader import CardWatcher

    async def task(app: CitizenKioskApp) -> None:
        inserted: list[Any] = []
        watcher = CardWatcher(agent.reader, on_inserted=inserted.append, on_removed=lambda: None)
        while True:
            await asyncio.sleep(every)
            if app.flow.step not in (Step.WELCOME, Step.SERVICE):
                continue
            await asyncio.to_thread(watcher.poll_once)
            while inserted:
                card = inserted.pop(0)
                if card.birth is not None:  # a newly placed card replaces any earlier one
                    app.card = card
                    app.card_read(card.birth, card.name, datetime.now(tz).date())

    return task
