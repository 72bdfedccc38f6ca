"""The hall display (叫号屏) for a TV, in Kivy: it draws `DisplayModel` and nothing else.

Events arrive by push from the hall bus (the client's `on_event`, on this same asyncio loop); a resync after a
server restart or a gap rebuilds the model from the snapshot. The newest call is large and highlighted for a
few seconds with a chime; the last calls stay listed, because a number shown for one second is a number missed.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from hall_bus.nodes.board import DisplayModel
from kiosk.theme import Theme

log = logging.getLogger("kiosk.display")
KV = Path(__file__).with_name("display.kv")
CHIME = Path(__file__).resolve().parents[1] / "assets" / "sounds" / "chime.wav"
HIGHLIGHT_SECONDS = 8.0


class HallDisplayApp(App):
    latest_number = StringProperty("")
    latest_counter = StringProperty("")
    latest_words = StringProperty("")
    latest_mark = StringProperty("")
    highlight = BooleanProperty(False)
    recent = ListProperty([])  # [(mark, number, counter words)]
    waiting = ListProperty([])  # [(service, count)]
    notice = StringProperty("")
    notice_x = NumericProperty(0.0)
    theme = ObjectProperty(Theme(large_text=True))
    hall_name = StringProperty("")
    redraws = NumericProperty(0)

    def __init__(self, model: DisplayModel, *, hall_name: str = "", notice: str = "", **kw: Any) -> None:
        super().__init__(**kw)
        self.model = model
        self.hall_name = hall_name
        self.notice = notice or "请保管好随身物品；需要帮助请找穿红马甲的帮办员；办事不满意请扫码评价。"
        self._seen_version = -1
        self._highlight_until = 0.0
        self._chime: Any = None
        self._timers: list[Any] = []
        self.title = "叫号屏"

    def build(self) -> BoxLayout:
        from kivy.factory import Factory

        Builder.load_file(str(KV))
        root = Factory.DisplayRoot()
        self._timers = [Clock.schedule_interval(self._scroll, 1 / 30),
                        Clock.schedule_interval(self._expire_highlight, 0.5)]
        self.refresh(chime=False)
        return root

    def on_start(self) -> None:
        try:
            from kivy.core.audio import SoundLoader

            self._chime = SoundLoader.load(str(CHIME)) if CHIME.exists() else None
        except Exception:  # no sound card (a headless test, a TV without audio): the highlight still shows
            self._chime = None

    def on_stop(self) -> None:
        for timer in self._timers:
            timer.cancel()

    def open_settings(self, *args: Any) -> bool:
        return False

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
        self.recent = [(c.mark, c.number, f"{c.counter} 号窗口") for c in list(m.recent)[1:]]
        self.waiting = sorted(m.waiting.items(), key=lambda kv: -kv[1])
        self.redraws += 1
        if chime and latest is not None:
            self.highlight = True
            self._highlight_until = time.monotonic() + HIGHLIGHT_SECONDS
            if self._chime is not None:
                self._chime.play()

    def _expire_highlight(self, _dt: float) -> None:
        if self.highlight and time.monotonic() > self._highlight_until:
            self.highlight = False

    def _scroll(self, dt: float) -> None:
        if self.root is None:
            return
        label = self.root.ids.notice
        self.notice_x -= 120 * dt
        if self.notice_x < -label.texture_size[0]:
            self.notice_x = self.root.width
        label.x = self.notice_x
