"""The hall display (叫号屏) for a TV, in Kivy: it draws `DisplayModel` and nothing else.

Events arrive by push from the hall bus (the client's `on_event`, on this same asyncio loop); a resync after a
server restart or a gap rebuilds the model from the snapshot. The newest call is large and highlighted for a
few seconds with a chime; the last calls stay listed, because a number shown for one second is a number missed.

A TV is read from metres away, so every size is a fraction of the window's height (`u`, 1 % of it), not dp: on a
4K set dp ≈ px and fixed dp sizes would come out half as tall. Lists show only what fits whole (long service
names wrap; services that do not fit are summed in one line), and the notice is shown a page at a time, still,
because moving text is hard to read for old eyes and is always partly cut.

When the hall is lost the screen says so in words (the top bar) and marks every call as possibly out of date,
instead of showing stale calls as if live; the link's state comes from `online`, polled here.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from hall_bus.nodes.board import DisplayModel
from kiosk.theme import HIGH_CONTRAST, NORMAL, Palette, Theme

log = logging.getLogger("kiosk.display")
KV = Path(__file__).with_name("display.kv")
CHIME = Path(__file__).resolve().parents[1] / "assets" / "sounds" / "chime.wav"
HIGHLIGHT_SECONDS = 8.0
# A reconnect after a server restart takes well under a second: no banner for that. Silence itself is already
# judged by the client (its server timeout), so this only keeps a blip from flashing the banner.
LOST_GRACE_SECONDS = 1.0
LOST_WORDS = "叫号系统连接中断，请留意窗口叫号或咨询导服人员"
CONNECTING_WORDS = "正在连接叫号系统，请留意窗口叫号或咨询导服人员"
READ_CHARS_PER_SECOND = 4.0  # a slow reader; a notice page stays up at least as long as it takes to read it
MIN_PAGE_SECONDS = 8.0


def link_state(client: Any) -> Callable[[], bool]:
    """What the launcher passes as `online`: the hall is there when the client is connected and its mirror is
    synced (after a reconnect, the snapshot is in and the calls shown are the hall's current ones)."""
    return lambda: bool(client.connected.is_set() and client.synced)


def text_size(text: str, font_size: float, width: float | None = None) -> tuple[float, float]:
    """How wide and tall `text` is (wrapped to `width` if given), as a Label with the default font draws it."""
    from kivy.core.text import Label as CoreLabel

    core = CoreLabel(text=text, font_size=font_size, text_size=(None if width is None else max(1.0, width), None))
    core.refresh()
    return (float(core.texture.size[0]), float(core.texture.size[1])) if core.texture else (0.0, 0.0)


def text_height(text: str, font_size: float, width: float) -> float:
    return text_size(text, font_size, width)[1]


def notice_pages(text: str, fits: Callable[[str], bool]) -> list[str]:
    """The notice cut into pages that each fit whole: whole sentences where they fit, else clauses, else
    characters; consecutive pieces share a page while they fit."""
    sentences = [s for s in re.split(r"(?<=[。；！？;!?])", text.strip()) if s.strip()]
    pieces: list[str] = []
    for sentence in sentences:
        if fits(sentence):
            pieces.append(sentence)
            continue
        for clause in (c for c in re.split(r"(?<=[，,、：:])", sentence) if c):
            while clause and not fits(clause):
                cut = len(clause) - 1
                while cut > 1 and not fits(clause[:cut]):
                    cut -= 1
                pieces.append(clause[:cut])
                clause = clause[cut:]
            if clause:
                pieces.append(clause)
    pages: list[str] = []
    for piece in pieces:
        if pages and fits(pages[-1] + piece):
            pages[-1] += piece
        else:
            pages.append(piece)
    return pages or [""]


class HallDisplayApp(App):
    latest_number = StringProperty("")
    latest_counter = StringProperty("")
    latest_words = StringProperty("")
    latest_mark = StringProperty("")
    latest_detail = StringProperty("")  # the assisted group's symbol and name, and the service
    caption = StringProperty("")  # above the number: 请 / 新叫号 · 请 / 连接中断前最后叫号
    highlight = BooleanProperty(False)
    recent = ListProperty([])  # [(mark, number, counter words)]
    waiting = ListProperty([])  # [(service, count)]
    notice = StringProperty("")
    notice_page = StringProperty("")
    notice_pages = ListProperty([])
    theme = ObjectProperty(Theme(large_text=True))
    high_contrast = BooleanProperty(False)
    pal = ObjectProperty(NORMAL)
    big_text = ListProperty(list(NORMAL.surface_text))
    u = NumericProperty(10.8)  # 1 % of the window's height, in px
    lost = BooleanProperty(False)  # the hall is not reachable: banner up, calls marked possibly out of date
    banner = StringProperty(CONNECTING_WORDS)
    hall_name = StringProperty("")
    redraws = NumericProperty(0)

    def __init__(self, model: DisplayModel, *, hall_name: str = "", notice: str = "", high_contrast: bool = False,
                 online: Callable[[], bool] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.model = model
        self.hall_name = hall_name
        # the rating channels that exist: the window's 评价器 and a greeter (there is no code to scan)
        self.notice = notice or ("请保管好随身物品；需要帮助请找穿红马甲的帮办员；"
                                 "办完事请在窗口评价器上评价，不满意可告诉帮办员。")
        self.high_contrast = high_contrast
        self._online = online
        self._offline_since: float | None = None
        self._ever_online = False
        self._seen_version = -1
        self._highlight_until = 0.0
        self._chime: Any = None
        self._timers: list[Any] = []
        self._call_rows: list[Any] = []
        self._wait_rows: list[Any] = []
        self._page = 0
        self._next_page: Any = None
        self._fit = Clock.create_trigger(lambda _dt: self._fit_lists())
        self._paginate = Clock.create_trigger(lambda _dt: self._make_pages())
        self.title = "叫号屏"
        self.on_high_contrast(self, high_contrast)

    # ------------------------------------------------------------------ Kivy life cycle

    def build(self) -> BoxLayout:
        from kivy.core.window import Window
        from kivy.factory import Factory

        Builder.load_file(str(KV))
        Window.bind(size=self._resized)
        self._resized(Window, Window.size)
        root = Factory.DisplayRoot()
        self._call_rows = [Factory.CallRow() for _ in range(max(1, (self.model.recent.maxlen or 8) - 1))]
        for box in (root.ids.recent, root.ids.waiting, root.ids.notice_band):
            box.bind(size=self._fit, pos=self._fit)
        root.ids.notice_band.bind(size=self._paginate)
        for head in (root.ids.recent_head, root.ids.waiting_head):
            head.bind(height=self._fit)
        for box in (root.ids.recent, root.ids.waiting):
            box.add_widget(Widget())  # a filler below the rows keeps them at the top of their column
        self._timers = [Clock.schedule_interval(self._expire_highlight, 0.5),
                        Clock.schedule_interval(self._watch_link, 0.25)]
        self.bind(u=self._paginate, notice=self._paginate, lost=self._fit)
        self.refresh(chime=False)
        return root

    def on_start(self) -> None:
        self._make_pages()
        self._fit_lists()
        try:
            from kivy.core.audio import SoundLoader

            self._chime = SoundLoader.load(str(CHIME)) if CHIME.exists() else None
        except Exception:  # no sound card (a headless test, a TV without audio): the highlight still shows
            self._chime = None

    def on_stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._next_page is not None:
            self._next_page.cancel()

    def open_settings(self, *args: Any) -> bool:
        return False

    def _resized(self, _window: Any, size: tuple[int, int]) -> None:
        self.u = size[1] / 100.0

    # ------------------------------------------------------------------ modes and colours

    def on_high_contrast(self, _app: Any, value: bool) -> None:
        self.theme = Theme(large_text=True, high_contrast=value)
        self.pal = HIGH_CONTRAST if value else NORMAL
        self._restyle()

    def on_highlight(self, *_args: Any) -> None:
        self._restyle()

    def on_lost(self, *_args: Any) -> None:
        self._restyle()

    def _restyle(self) -> None:
        p: Palette = self.pal
        self.big_text = list(p.muted if self.lost else p.accent_text if self.highlight else p.surface_text)
        latest = self.model.latest
        if latest is None:
            self.caption = ""
        elif self.lost:
            self.caption = "连接中断前最后叫号\n（可能已过时）"
        elif self.highlight:
            self.caption = "再次呼叫 · 请" if latest.recall else "新叫号 · 请"
        else:
            self.caption = "请"

    # ------------------------------------------------------------------ from the hall (push)

    def event(self, ev: dict[str, Any], state: Any = None) -> None:
        """From the bus client's on_event: a call chimes and highlights; anything else just recounts."""
        if self.model.take(ev, state):
            self.refresh(chime=ev["type"] in ("ticket_called", "ticket_recalled"))

    def resynced(self, state: Any) -> None:
        self.model.resync(state)
        self.refresh(chime=False)

    def refresh(self, *, chime: bool) -> None:
        m = self.model
        if m.version == self._seen_version:
            return
        self._seen_version = m.version
        latest = m.latest
        if latest is not None:
            self.latest_number = latest.number
            self.latest_counter = f"{latest.counter} 号窗口"
            self.latest_words = latest.words()
            self.latest_mark = (latest.mark + " " + latest.label) if latest.assisted else ""
            self.latest_detail = "  ".join(x for x in (self.latest_mark, latest.service) if x)
        self.recent = [(c.mark, c.number, f"{c.counter} 号窗口") for c in list(m.recent)[1:]]
        self.waiting = sorted(m.waiting.items(), key=lambda kv: -kv[1])
        self.redraws += 1
        if chime and latest is not None and not self.lost:
            self.highlight = True
            self._highlight_until = time.monotonic() + HIGHLIGHT_SECONDS
            if self._chime is not None:
                self._chime.play()
        self._restyle()
        self._fit()

    def _expire_highlight(self, _dt: float) -> None:
        if self.highlight and time.monotonic() > self._highlight_until:
            self.highlight = False

    def _watch_link(self, _dt: float) -> None:
        """Banner up after the link has been down a moment; down again as soon as the hall is back and synced
        (the client's resync has by then rebuilt the calls from the hall's snapshot)."""
        if self._online is None:
            return
        now = time.monotonic()
        if self._online():
            self._ever_online = True
            self._offline_since = None
            if self.lost:
                log.info("hall display: the hall is back; calls are current again")
                self.lost = False
            return
        if self._offline_since is None:
            self._offline_since = now
        if not self.lost and now - self._offline_since >= LOST_GRACE_SECONDS:
            log.warning("hall display: lost the hall; calls marked possibly out of date")
            self.banner = LOST_WORDS if self._ever_online else CONNECTING_WORDS
            self.highlight = False
            self.lost = True

    # ------------------------------------------------------------------ what fits

    def _fit_lists(self) -> None:
        """Put in the call and waiting lists as many rows as fit whole; the services that do not fit are summed
        in one last line, so no count is silently dropped."""
        if self.root is None:
            return
        from kivy.factory import Factory

        ids = self.root.ids
        room = int(ids.recent.height // max(1.0, self.u * 8.5))
        calls = []
        for row, (mark, number, window) in zip(self._call_rows, self.recent[:room], strict=False):
            row.mark, row.number, row.window = mark, number, window
            calls.append(row)
        self._place(ids.recent, self._call_rows, calls)

        box = ids.waiting
        font = self.u * 3.6

        def height(service: str, count: int) -> float:
            """A row's height: its name wrapped beside its count (which is never wrapped)."""
            count_w, count_h = text_size(f"{count} 人", font)
            name_width = box.width - max(self.u * 10, count_w) - self.u * 1
            return max(text_height(service, font, name_width), count_h)

        rows: list[tuple[str, int]] = list(self.waiting)
        heights = [height(s, n) for s, n in rows]
        gap = self.u * 1
        if sum(heights) + gap * len(rows) > box.height:
            shown: list[tuple[str, int]] = []
            used = 0.0
            for (service, n), h in zip(rows, heights, strict=True):
                rest = rows[len(shown) + 1:]
                tail = height(f"其余 {len(rest)} 项业务", sum(n for _, n in rest)) + gap if rest else 0.0
                if used + h + gap + tail > box.height:
                    break
                shown.append((service, n))
                used += h + gap
            others = rows[len(shown):]
            rows = [*shown, (f"其余 {len(others)} 项业务", sum(n for _, n in others))]
        while len(self._wait_rows) < len(rows):
            self._wait_rows.append(Factory.WaitRow())
        box.spacing = gap
        for row, (service, count) in zip(self._wait_rows, rows, strict=False):
            row.service, row.count, row.height = service, f"{count} 人", height(service, count)
        self._place(box, self._wait_rows, self._wait_rows[:len(rows)])

    @staticmethod
    def _place(box: Any, pool: list[Any], rows: list[Any]) -> None:
        """`rows` top-down in `box` above its filler; the rest of the pool out. Widgets are reused, never
        rebuilt: a display runs for days (kivy#2560)."""
        for row in pool:
            if row.parent is not None:
                box.remove_widget(row)
        for row in rows:
            box.add_widget(row, index=1)

    def _make_pages(self) -> None:
        if self.root is None:
            return
        label = self.root.ids.notice
        band = self.root.ids.notice_band
        room = band.height - band.padding[1] - band.padding[3] + 1
        width = band.width - band.padding[0] - band.padding[2]
        pages = notice_pages(self.notice, lambda t: text_height(t, label.font_size, width) <= room)
        if pages != self.notice_pages:
            self.notice_pages = pages
            self._page = 0
            self._show_page()

    def _show_page(self, *_args: Any) -> None:
        if self._next_page is not None:
            self._next_page.cancel()
            self._next_page = None
        if not self.notice_pages:
            return
        self._page %= len(self.notice_pages)
        self.notice_page = self.notice_pages[self._page]
        if len(self.notice_pages) > 1:
            self._page += 1
            wait = max(MIN_PAGE_SECONDS, len(self.notice_page) / READ_CHARS_PER_SECOND)
            self._next_page = Clock.schedule_once(self._show_page, wait)
