"""The citizen kiosk's screens as a state machine, with no UI toolkit: what step the visitor is on, what they
chose, when the screen goes back to welcome, and what the next tap may do.

The Kivy screens only draw this and forward taps; every rule a visitor feels lives here and is tested in
microseconds: three taps from welcome to a ticket, a double tap never issues two tickets, an idle screen warns
and counts down for at least 20 s (one tap on 「我还需要时间」 gives the time back) before it resets, an ID card
pre-selects the suggested group but the visitor may change it, a kiosk that lost the hall server never shows a
number it was not given, and what each screen says aloud is the words it shows (`KioskFlow.news`).
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
from hall_bus.nodes.kiosk_words import GROUP_HINTS, GROUP_LABELS_EN, GROUP_WORDS_EN, TEXT

# The groups a visitor may pick at the kiosk, in the order shown (home visits are booked, not picked here).
KIOSK_GROUPS = ("wheelchair_push", "accompany", "guide", "delegate")
GROUP_HINTS_ZH = GROUP_HINTS["zh"]
# WCAG 2.2.1 (and MIIT's "no timeout that jumps"): a visitor is warned and has at least 20 s to keep the screen
# with one tap. The warning comes after the node's idle_seconds of quiet, so every idle_seconds the config
# allows (10 to 600) still leaves the full warning: no setting can shorten it.
COUNTDOWN_SECONDS = 20.0
_END = "。？！；….?!;"


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
    idle_seconds: float = 30.0  # quiet time before the warning (the node's idle_seconds)
    countdown_seconds: float = COUNTDOWN_SECONDS  # then the warning counts down this long before the reset
    ticket_seconds: float = 10.0  # quiet time on a printed ticket's screen (one only on screen stays till 完成)
    step: Step = Step.WELCOME
    service: str | None = None
    group: str | None = None
    suggested: str | None = None  # from the ID card's birth date
    birth_date: date | None = None
    name_masked: str = ""  # 张*  — never the full name on a screen others can see
    age: int | None = None  # on the hall's date when the card was read
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
    _said: set[str] = field(default_factory=set)  # what is on screen and has been spoken (see `news`)

    def __post_init__(self) -> None:
        for key in ("idle_seconds", "countdown_seconds", "ticket_seconds"):
            if not getattr(self, key) >= 0:  # a negative (or NaN) time would reset the screen without a warning
                raise ValueError(f"{key} must be 0 or more seconds, got {getattr(self, key)!r}")

    # ------------------------------------------------------------------ what to show

    def words(self) -> dict[str, str]:
        return TEXT[self.lang]

    def services(self) -> list[str]:
        """Most used first (the configured share of visitors), so most visitors tap the first row."""
        return [s.name for s in sorted(self.cfg.services, key=lambda s: -s.share)]

    def services_shown(self) -> list[str]:
        """The service buttons' words, in the order of `services`: English names in English."""
        return [self.service_words(s) for s in self.services()]

    def service_words(self, service: str) -> str:
        known = self.cfg.services_by_name.get(service)
        return (known.name_en or service) if known is not None and self.lang == "en" else service

    def service_named(self, words: str) -> str:
        """The service (its Chinese name: the queue is keyed by it) a button's words stand for, in either
        language; unknown words are returned as they are, and choosing them does nothing."""
        for s in self.cfg.services:
            if words in (s.name, s.name_en):
                return s.name
        return words

    def groups(self) -> list[str]:
        return [g for g in KIOSK_GROUPS if g in self.cfg.groups]

    def choices(self) -> list[str]:
        """The help screen's answers: the most-chosen first, so no queue-jump lies where a stray tap lands."""
        return ["normal", *self.groups()]

    def group_words(self, group: str) -> str:
        if self.lang == "en":
            return GROUP_WORDS_EN.get(group, group)
        return "不用，谢谢" if group == "normal" else self.cfg.groups[group].label

    def group_hint(self, group: str) -> str:
        return GROUP_HINTS[self.lang].get(group, "")

    def card_words(self, *, spoken: bool = False) -> str:
        """What the card read chose, and why, while it counts: 已读取身份证：张**，74岁，为您选好「陪同办」，可以改选.
        Spoken English leaves out the name: its Chinese characters would switch the voice to Chinese."""
        if self.birth_date is None or self.step not in (Step.SERVICE, Step.HELP):
            return ""
        t = self.words()
        if self.lang == "en":
            name = f" ({self.name_masked})" if self.name_masked and not spoken else ""
        else:
            name = self.name_masked or "—"
        age = _number(self.age, self.lang) if spoken else str(self.age)
        if self.suggested in (None, "normal"):
            return t["card_read_plain"].format(name=name, age=age)
        return t["card_read"].format(name=name, age=age, group=self.group_words(self.suggested))

    def result_words(self) -> dict[str, Any]:
        """The server's answer to the issue as the ticket screen shows it: in English, the service's and the
        group's English words (the answer itself keeps the Chinese names the hall's queue is keyed by)."""
        result = dict((self.answer or {}).get("result", {}))
        if self.lang == "en" and result:
            if "service" in result:
                result["service"] = self.service_words(result["service"])
            group = result.get("group")
            if group in GROUP_LABELS_EN:
                result["label"] = GROUP_LABELS_EN[group]
        return result

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
        """Seconds from the last tap to the reset: the quiet time, then the whole warning."""
        if self.step == Step.TICKET:
            if not self.printed and self.answer is not None and self.answer.get("ok"):
                return math.inf  # the visitor's only copy of the ticket: it stays until they tap 完成
            return self.ticket_seconds + self.countdown_seconds
        return self.idle_seconds + self.countdown_seconds

    # ------------------------------------------------------------------ what to say

    def speech(self, now: float, *, can_scan: bool = False) -> list[tuple[str, str]]:
        """Everything on screen now that is said aloud, as (key, words), in the order it is said: a card read,
        the screen's prompt with its choices, a notice, the offline banner, the idle warning. The words are the
        screen's own (TEXT, the config's names); a key changes when the words mean something new."""
        t, lang, step = self.words(), self.lang, self.step
        out: list[tuple[str, str]] = []
        card = self.card_words(spoken=True)
        if card:
            out.append((f"card:{lang}:{self.birth_date}:{self.name_masked}", card))
        prompt = ""
        if step == Step.WELCOME and self.online:
            prompt = _sentences([t["start"], *([t["appt"]] if can_scan else []), t["card"]], lang)
        elif step == Step.SERVICE:
            names = [self.service_words(s) for s in self.services()]
            prompt = _listed(t["service"], names, "、" if lang == "zh" else ", ", lang)
        elif step == Step.SCAN:
            prompt = _sentences([t["scan"], t["scan_hint"]], lang)
        elif step == Step.HELP:
            sep = "，" if lang == "zh" else ": "
            prompt = _listed(t["help"], [f"{self.group_words(g)}{sep}{self.group_hint(g)}" for g in self.choices()],
                             "；" if lang == "zh" else "; ", lang)
        elif step == Step.ISSUING:
            prompt = t["issuing"]
        elif step == Step.TICKET:
            number = (self.answer or {}).get("result", {}).get("number", "") if self.answer else ""
            if number:
                helper = (self.answer or {}).get("result", {}).get("help_id")
                where = t["helper"].format(where=t["assist_area"]) if helper else t["wait_where"]
                prompt = _sentences([number, t["take"] if self.printed else t["no_paper"], where], lang)
            else:
                prompt = self.shown_message()
        if prompt:
            out.append((f"screen:{step.value}:{lang}:{prompt}", prompt))
        message = self.shown_message()
        if message and step in (Step.SCAN, Step.HELP):
            out.append((f"notice:{message}", message))
        if not self.online and step in (Step.WELCOME, Step.SERVICE, Step.SCAN, Step.HELP):
            out.append(("offline", t["offline"]))
        left = self.countdown(now)
        if left is not None:
            out.append(("countdown", t["reset"].format(n=_number(left, lang))))
        return out

    def shown_message(self) -> str:
        """A refusal or notice in the screen's language: a notice key worded here, the server's words as given."""
        return self.words().get(self.notice, self.message) if self.notice else self.message

    def news(self, now: float, *, can_scan: bool = False) -> str:
        """What to say now: what came on screen since the last call, as one utterance ("" for nothing new), so
        each thing is said once while it stays. What left the screen is forgotten, so a warning or a banner that
        comes back is said again; a card's words shown on two screens are said once."""
        items = self.speech(now, can_scan=can_scan)
        new = [words for key, words in items if key not in self._said]
        self._said = {key for key, _ in items}
        return _sentences(list(dict.fromkeys(new)), self.lang)

    # ------------------------------------------------------------------ taps

    def touch(self, now: float) -> None:
        """Any tap anywhere: the visitor is still here."""
        self._last_touch = now

    def more_time(self, now: float) -> None:
        """「我还需要时间」 on the warning: the whole time again from now, and the screen stays as it is."""
        self.touch(now)

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
        age = self.age = age_on(birth_date, today)
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
        self.birth_date, self.name_masked, self.age, self.suggested, self.group = None, "", None, None, None

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


def _number(n: int | None, lang: str) -> str:
    """A quantity as it is said: Chinese numerals for the Chinese voice (it reads "20" digit by digit, as it
    must read ticket numbers), digits for English."""
    if n is None:
        return ""
    if lang != "zh":
        return str(n)
    from devices.voice.numerals import window_numeral

    return "".join(window_numeral(n))


def _sentences(parts: list[str], lang: str) -> str:
    """Sentences said one after another, each but the last ended so the voice pauses between them."""
    said = [p.strip() for p in parts if p.strip()]
    ended = [p if p[-1] in _END else p + ("。" if lang == "zh" else ".") for p in said[:-1]]
    return ("" if lang == "zh" else " ").join([*ended, *said[-1:]])


def _listed(prompt: str, items: list[str], sep: str, lang: str) -> str:
    """A question or request and its choices in order, in one sentence: 请选择您要办理的事项：医保、人社、…"""
    if lang == "zh":
        return prompt + ("" if prompt[-1:] in "？：" else "：") + sep.join(items)
    return prompt + (" " if prompt[-1:] in "?:" else ": ") + sep.join(items)
