"""The citizen kiosk's screens as a state machine, with no UI toolkit: what step the visitor is on, what they
chose, when the screen goes back to welcome, and what the next tap may do.

The Kivy screens only draw this and forward taps; every rule a visitor feels lives here and is tested in
microseconds: three taps from welcome to a ticket, a double tap never issues two tickets, an idle screen counts
down visibly before it resets, an ID card pre-selects the suggested group but the visitor may change it, and a
kiosk that lost the hall server never shows a number it was not given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

from hall_bus.config import HallConfig
from hall_bus.domain.groups import age_on, suggest_group
from hall_bus.nodes.appointment import Appointment

# The groups a visitor may pick at the kiosk, in the order shown (home visits are booked, not picked here).
KIOSK_GROUPS = ("wheelchair_push", "accompany", "guide", "delegate")
GROUP_WORDS_EN = {"wheelchair_push": "Wheelchair push", "accompany": "Someone goes with me",
                  "guide": "Show me the way", "delegate": "Do it for me", "normal": "No, thank you"}
GROUP_HINTS_ZH = {"wheelchair_push": "工作人员推轮椅陪您办理", "accompany": "工作人员全程陪您办理",
                  "guide": "工作人员带您到窗口", "delegate": "您坐着等，工作人员替您办", "normal": "我自己办理"}


class Step(Enum):
    WELCOME = "welcome"
    SERVICE = "service"
    SCAN = "scan"  # the visitor holds an appointment code to the camera
    HELP = "help"
    ISSUING = "issuing"
    TICKET = "ticket"


@dataclass
class KioskFlow:
    cfg: HallConfig
    idle_seconds: float = 30.0
    countdown_seconds: float = 10.0  # the last part of the idle time shows a countdown
    ticket_seconds: float = 20.0  # how long a printed ticket's screen stays (one only on screen stays till 完成)
    step: Step = Step.WELCOME
    service: str | None = None
    group: str | None = None
    suggested: str | None = None  # from the ID card's birth date
    birth_date: date | None = None
    name_masked: str = ""  # 张*  — never the full name on a screen others can see
    lang: str = "zh"
    large_text: bool = False
    high_contrast: bool = False
    online: bool = True
    answer: dict | None = None  # the server's answer to the issue; only a ticket number the server gave
    on_screen: list[str] = field(default_factory=list)
    printed: bool = False
    message: str = ""  # the server's words about a refusal
    notice: str = ""  # a notice key the screen words in its language: "offline", "appt_other_day", …
    appointment: Appointment | None = None  # the booking read from the visitor's code
    _last_touch: float = 0.0

    # ------------------------------------------------------------------ what to show

    def services(self) -> list[str]:
        """Most used first (the configured share of visitors), so most visitors tap the first row."""
        return [s.name for s in sorted(self.cfg.services, key=lambda s: -s.share)]

    def groups(self) -> list[str]:
        return [g for g in KIOSK_GROUPS if g in self.cfg.groups]

    def group_words(self, group: str) -> str:
        if self.lang == "en":
            return GROUP_WORDS_EN.get(group, group)
        return "不用，谢谢" if group == "normal" else self.cfg.groups[group].label

    def seconds_left(self, now: float) -> float:
        limit = self._limit()
        return max(0.0, limit - (now - self._last_touch))

    def countdown(self, now: float) -> int | None:
        """Whole seconds to show before the screen resets, or None while there is no need to show one."""
        if self.step in (Step.WELCOME, Step.ISSUING):
            return None
        left = self.seconds_left(now)
        return int(left + 0.999) if left <= self.countdown_seconds else None

    def _limit(self) -> float:
        if self.step == Step.TICKET:
            if not self.printed and self.answer is not None and self.answer.get("ok"):
                return math.inf  # the visitor's only copy of the ticket: it stays until they tap 完成
            return self.ticket_seconds
        return self.idle_seconds

    # ------------------------------------------------------------------ taps

    def touch(self, now: float) -> None:
        """Any tap anywhere: the visitor is still here."""
        self._last_touch = now

    def start(self, now: float) -> None:
        self.touch(now)
        if self.step == Step.WELCOME:
            self.step = Step.SERVICE

    def card(self, birth_date: date, name: str, today: date, now: float) -> None:
        """An ID card was read: suggest and pre-select the group from the age on the hall's date. Only before the
        visitor has chosen a service: a read that finishes later belongs to nobody on this screen."""
        if self.step not in (Step.WELCOME, Step.SERVICE):
            return
        self.touch(now)  # a new card replaces the one before: the visitor at the screen is the one with a card
        self.birth_date = birth_date
        self.name_masked = (name[:1] + "*" * max(1, len(name) - 1)) if name else ""
        age = age_on(birth_date, today)
        self.suggested = suggest_group(self.cfg.age, age=age)
        self.group = self.suggested
        if self.step == Step.WELCOME:
            self.step = Step.SERVICE

    def start_scan(self, now: float) -> None:
        """「我有预约」: the camera looks for the visitor's appointment code. A card read on the welcome screen is
        not carried into an appointment (the booking is what counts, and the card may be someone else's)."""
        self.touch(now)
        if self.step == Step.WELCOME:
            self.notice = ""
            self._forget_card()
            self.step = Step.SCAN

    def appointment_read(self, appt: Appointment, now: float) -> bool:
        """A valid code was read: the booking chose the service and the group, so the ticket is issued at once
        (two taps from welcome). True when the caller should issue now; False for a second read of the same
        code (the ticket is already being issued) or while offline."""
        self.touch(now)
        if self.step != Step.SCAN:
            return False
        if not self.online:
            self.notice = "offline"
            return False
        self.appointment = appt
        self.service, self.group = appt.service, appt.group
        self.notice = ""
        self.step = Step.ISSUING
        return True

    def appointment_refused(self, code: str, now: float) -> None:
        """A code that gives no ticket: say why in words (the screen words the notice) and keep scanning, so the
        visitor can show the right code or go back and take an ordinary ticket."""
        if self.step == Step.SCAN:
            self.notice = f"appt_{code}"

    def issue_facts(self) -> dict[str, Any]:
        """What the issue command carries besides service and group: the booked time of an appointment."""
        if self.appointment is None:
            return {}
        return {"appointment_at": self.appointment.at.isoformat(), "appointment_ref": self.appointment.ref}

    def choose_service(self, service: str, now: float) -> None:
        self.touch(now)
        if self.step in (Step.WELCOME, Step.SERVICE) and service in self.cfg.services_by_name:
            self.service = service
            self.step = Step.HELP

    def choose_group(self, group: str, now: float) -> bool:
        """The last tap. True when the caller should issue now; False for a second tap of the same press (the
        ticket is already being issued) or a tap that came too late."""
        self.touch(now)
        if self.step != Step.HELP or self.service is None:
            return False
        if group != "normal" and group not in self.cfg.groups:
            return False
        if not self.online:
            self.notice = "offline"
            return False
        self.group = group
        self.step = Step.ISSUING
        return True

    def back(self, now: float) -> None:
        self.touch(now)
        self.notice = ""
        self.step = {Step.HELP: Step.SERVICE, Step.SERVICE: Step.WELCOME, Step.SCAN: Step.WELCOME}.get(self.step,
                                                                                                   self.step)
        if self.step == Step.WELCOME:  # back at the start, the next person may be someone else
            self._forget_card()

    def _forget_card(self) -> None:
        self.birth_date, self.name_masked, self.suggested, self.group = None, "", None, None

    def toggle_language(self, now: float) -> None:
        self.touch(now)
        self.lang = "en" if self.lang == "zh" else "zh"

    def toggle_large_text(self, now: float) -> None:
        self.touch(now)
        self.large_text = not self.large_text

    def toggle_contrast(self, now: float) -> None:
        self.touch(now)
        self.high_contrast = not self.high_contrast

    # ------------------------------------------------------------------ results

    def issued(self, answer: dict, *, printed: bool, on_screen: list[str], note: str, now: float) -> None:
        """What the server and the printer said. A refused or unanswered issue shows no number at all."""
        self.touch(now)
        self.step = Step.TICKET
        self.printed = printed
        if answer.get("ok"):
            self.answer = answer
            self.on_screen = on_screen
            self.message = note
            self.notice = ""
        else:
            self.answer = None
            self.on_screen = []
            self.message = answer.get("message", "")
            self.notice = "appt_used" if answer.get("code") == "appointment_used" else "" if self.message \
                else "offline"

    def connection(self, online: bool) -> None:
        """The bus connection changed. A ticket being issued stays on the issuing screen until its request is
        answered or gives up: going back would let the same visitor press again, or the next one see it."""
        self.online = online
        if online and self.notice == "offline":
            self.notice = ""

    def tick(self, now: float) -> bool:
        """Called every second; True when the screen went back to welcome."""
        if self.step in (Step.WELCOME, Step.ISSUING):
            return False
        if self.seconds_left(now) <= 0:
            self.reset()
            return True
        return False

    def reset(self) -> None:
        keep = (self.lang, self.large_text, self.high_contrast, self.online, self._last_touch)
        fresh = KioskFlow(self.cfg, self.idle_seconds, self.countdown_seconds, self.ticket_seconds)
        self.__dict__.update(fresh.__dict__)
        self.lang, self.large_text, self.high_contrast, self.online, self._last_touch = keep
        self.lang = "zh"  # the next visitor starts in Chinese
