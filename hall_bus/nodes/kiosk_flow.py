"""The citizen kiosk's screens as a state machine, with no UI toolkit: what step the visitor is on, what they
chose, when the screen goes back to welcome, and what the next tap may do.

The Kivy screens only draw this and forward taps; every rule a visitor feels lives here and is tested in
microseconds: three taps from welcome to a ticket, a double tap never issues two tickets, an idle screen warns
and counts down for at least 20 s (one tap on 「我还需要时间」 gives the time back) before it resets, an ID card
pre-selects the suggested group but the visitor may change it, a kiosk that lost the hall server never shows a
number it was not given, and what each screen says aloud is the words it shows (`KioskFlow.news`).

The guide (办事指南, 数字政务指南针) lives here too: search by letters typed on the kiosk's own keys (full pinyin or
initials; the kiosk has no input method for characters), browse by life event (一件事) or by service, one page
per item or bundle, print its short guide, and take a ticket for the item's service from its page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

from hall_bus.catalogue.guide import material_words
from hall_bus.catalogue.model import Bundle, Item, Material
from hall_bus.catalogue.search import GuideIndex, life_events
from hall_bus.config import HallConfig
from hall_bus.domain.groups import age_on, suggest_group
from hall_bus.nodes.appointment import Appointment
from hall_bus.nodes.kiosk_words import FORM_WORDS_EN, GROUP_HINTS, GROUP_LABELS_EN, GROUP_WORDS_EN, TEXT, printer_why

# The groups a visitor may pick at the kiosk, in the order shown (home visits are booked, not picked here).
KIOSK_GROUPS = ("wheelchair_push", "accompany", "guide", "delegate")
GROUP_HINTS_ZH = GROUP_HINTS["zh"]
# WCAG 2.2.1 (and MIIT's "no timeout that jumps"): a visitor is warned and has at least 20 s to keep the screen
# with one tap. The warning comes after the node's idle_seconds of quiet, so every idle_seconds the config
# allows (10 to 600) still leaves the full warning: no setting can shorten it.
COUNTDOWN_SECONDS = 20.0
_END = "。？！；….?!;"
GUIDE_RESULTS = 12  # hits shown per keystroke: the best ones, in a list that scrolls
GUIDE_QUERY_MAX = 24  # letters: more is a key held down, not a word
GUIDE_SAID = 5  # results read aloud after the count: the rest are on screen


# The server's refusals of a booking's ticket, as the words the kiosk shows (kiosk_words)
APPOINTMENT_NOTICES = {"appointment_used": "appt_used", "bad_signature": "appt_forged",
                       "booking_cancelled": "appt_cancelled", "booking_no_show": "appt_cancelled",
                       "booking_expired": "appt_cancelled", "wrong_service": "appt_unknown_service"}

class Step(Enum):
    WELCOME = "welcome"
    SERVICE = "service"
    SCAN = "scan"  # the visitor holds an appointment code to the camera
    HELP = "help"
    ISSUING = "issuing"
    TICKET = "ticket"
    GUIDE = "guide"  # 办事指南: search and browse
    ITEM = "item"  # one item's page
    BUNDLE = "bundle"  # one 一件事's page


@dataclass(frozen=True)
class GuideEntry:
    """One row of the guide's list: what it opens (an item, a bundle, a service's items) and its words."""

    kind: str  # "item" | "bundle" | "service"
    key: str  # the item's or bundle's code, or the service's (Chinese) name
    words: str  # the name in the screen's language
    sub: str = ""  # a second, smaller line: the item's service, the bundle's life event, a service's count


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
    guide_query: str = ""  # letters typed on the guide's keys, lower case
    guide_tab: str = "events"  # what the list browses while nothing is typed: "events" (一件事) or "services"
    guide_service: str | None = None  # a service opened in the services tab: the list shows its items
    pages: list[str] = field(default_factory=list)  # item and bundle codes opened, the one on screen last
    ticket_for: str | None = None  # the item whose page chose the service (back from help returns there)
    slip: str = ""  # the short guide's print: "", "printing", "printed", "failed"
    slip_note: str = ""  # the printer's note when it failed (worded for the visitor by printer_why)
    index: GuideIndex | None = None  # built once from the catalogue; kept across visitors
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

    # ------------------------------------------------------------------ the guide: what to show

    @property
    def can_guide(self) -> bool:
        """The hall has a catalogue: the welcome screen offers 「办事指南」."""
        return self.cfg.catalogue is not None

    def _index(self) -> GuideIndex:
        if self.index is None:
            assert self.cfg.catalogue is not None
            self.index = GuideIndex(self.cfg.catalogue)
        return self.index

    def item_name(self, item: Item) -> str:
        """English where the catalogue has it, else the Chinese name (a name the visitor can show a greeter)."""
        return item.name_en or item.name if self.lang == "en" else item.name

    def guide_entries(self) -> list[GuideEntry]:
        """The guide list now: the best hits for the letters typed, else the tab's browse list (life events'
        bundles, the services, or one service's items)."""
        cat = self.cfg.catalogue
        if cat is None:
            return []
        t = self.words()
        if self.guide_query:
            out = []
            for hit in self._index().search(self.guide_query, limit=GUIDE_RESULTS):
                if hit.kind == "item":
                    item = cat.item(hit.code)
                    out.append(GuideEntry("item", item.code, self.item_name(item), self.service_words(item.service)))
                else:
                    bundle = self._bundle(hit.code)
                    out.append(GuideEntry("bundle", bundle.code, bundle.name, f"{t['bundle_tag']} · "
                                          f"{bundle.life_event}"))
            return out
        if self.guide_tab == "events":
            return [GuideEntry("bundle", b.code, b.name, f"{event} · {t['item_count'].format(n=len(b.items))}")
                    for event, bundles in life_events(cat).items() for b in bundles]
        if self.guide_service is None:
            counts = {s: sum(1 for i in cat.items if i.service == s) for s in self.services()}
            return [GuideEntry("service", s, self.service_words(s), t["item_count"].format(n=n))
                    for s, n in counts.items() if n]
        return [GuideEntry("item", i.code, self.item_name(i), i.department) for i in cat.items
                if i.service == self.guide_service]

    def guide_heading(self) -> str:
        """Above the list: the letters typed, a service opened, or how to search."""
        t = self.words()
        if self.guide_query:
            return t["guide_typed"].format(q=" ".join(self.guide_query.upper()))
        if self.guide_tab == "services" and self.guide_service is not None:
            return t["guide_items_of"].format(service=self.service_words(self.guide_service))
        return t["guide_type_hint"]

    def guide_count(self) -> str:
        """找到 N 项 / 没有找到… while letters are typed; "" while browsing."""
        if not self.guide_query or self.cfg.catalogue is None:
            return ""
        index = self._index()
        n = len(index.search(self.guide_query, limit=len(index)))  # all of them: the list shows the best few
        return self.words()["guide_found"].format(n=n) if n else self.words()["guide_none"]

    def page_item(self) -> Item | None:
        if self.step != Step.ITEM or not self.pages or self.cfg.catalogue is None:
            return None
        return self.cfg.catalogue.by_code.get(self.pages[-1])

    def page_bundle(self) -> Bundle | None:
        if self.step != Step.BUNDLE or not self.pages:
            return None
        return self._bundle(self.pages[-1])

    def _bundle(self, code: str) -> Bundle:
        assert self.cfg.catalogue is not None
        return next(b for b in self.cfg.catalogue.bundles if b.code == code)

    def limit_words(self, item: Item) -> tuple[str, str]:
        """(承诺时限, 法定时限) in the screen's language; the legal one "" when it is the same as the promise."""
        def words(limit: Any) -> str:
            return self.words()["immediate"] if limit.immediate else \
                self.words()["working_days"].format(n=limit.working_days)

        promised, legal = words(item.promised_limit), words(item.legal_limit)
        return promised, "" if legal == promised else legal

    def fee_words(self, item: Item) -> str:
        if self.lang == "en" and item.fee.amount.strip() == "不收费":
            return "free"
        return item.fee.amount

    def visits_words(self, item: Item) -> str:
        t = self.words()
        return t["visits_zero"] if item.visits == 0 else t["visits_n"].format(n=item.visits)

    def item_facts(self, item: Item) -> list[tuple[str, str]]:
        """The page's facts as (label, words): time limits, fee, visits, where, windows and hours, the flags."""
        t = self.words()
        promised, legal = self.limit_words(item)
        facts = [(t["limit_promised"], promised)]
        if legal:
            facts.append((t["limit_legal"], legal))
        facts += [(t["fee"], self.fee_words(item)), (t["visits"], self.visits_words(item))]
        comma, listed = ("，", "、") if self.lang == "zh" else (", ", ", ")
        windows = t["windows"].format(w=listed.join(map(str, sorted(item.windows)))) if item.windows else ""
        where = comma.join(w for w in (item.place, windows) if w)
        if where:
            facts.append((t["place"], where))
        if item.hours:
            facts.append((t["hours"], item.hours))
        flags = [t[key] for on, key in ((item.bookable, "flag_bookable"), (item.delegable, "flag_delegable"),
                                        (item.home_visit, "flag_home")) if on]
        facts.append((t["flags"], ("、" if self.lang == "zh" else ", ").join(flags) or t["flags_none"]))
        return facts

    def material_rows(self, materials: list[Material]) -> list[str]:
        """One row per material with 必要/容缺 and 原件/复印件; in English the marks in English, the document's
        name as the catalogue writes it."""
        if self.lang == "zh":
            return [material_words(m) for m in materials]
        rows = []
        for m in materials:
            copies = f", {m.copies} copies" if m.copies != 1 else ""
            rows.append(f"[{'required' if m.required else 'may follow later'}] {m.name} "
                        f"({FORM_WORDS_EN[m.form]}{copies})")
        return rows

    def materials_heading(self, materials: list[Material], *, merged: bool = False) -> str:
        t = self.words()
        if not materials:
            return t["materials_none"]
        if merged:
            return t["materials_merged"].format(n=len(materials))
        return t["materials"].format(n=len(materials), required=sum(m.required for m in materials))

    def bundle_items(self, bundle: Bundle) -> list[GuideEntry]:
        assert self.cfg.catalogue is not None
        items = [self.cfg.catalogue.item(code) for code in bundle.items]
        return [GuideEntry("item", i.code, self.item_name(i), self.service_words(i.service)) for i in items]

    def bundle_materials(self, bundle: Bundle) -> list[Material]:
        assert self.cfg.catalogue is not None
        return self.cfg.catalogue.bundle_materials(bundle)

    def slip_words(self) -> str:
        """How the short guide's print went, in the screen's language (on screen and said)."""
        t = self.words()
        if self.slip == "printing":
            return t["guide_printing"]
        if self.slip == "printed":
            return t["guide_printed"]
        if self.slip == "failed":
            return t["guide_not_printed"].format(why=printer_why(self.slip_note, self.lang))
        return ""

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
            prompt = _sentences([t["start"], *([t["appt"]] if can_scan else []), t["card"],
                                 *([t["guide_welcome"]] if self.can_guide else [])], lang)
        elif step == Step.SERVICE:
            names = [self.service_words(s) for s in self.services()]
            prompt = _listed(t["service"], names, "、" if lang == "zh" else ", ", lang)
        elif step == Step.SCAN:
            prompt = _sentences([t["scan"], t["scan_hint"]], lang)
        elif step == Step.HELP:
            sep = "，" if lang == "zh" else ": "
            prompt = _listed(t["help"], [f"{self.group_words(g)}{sep}{self.group_hint(g)}" for g in self.choices()],
                             "；" if lang == "zh" else "; ", lang)
        elif step == Step.GUIDE:
            prompt = self._guide_said()
        elif step == Step.ITEM:
            prompt = self._item_said()
        elif step == Step.BUNDLE:
            prompt = self._bundle_said()
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
        if step == Step.GUIDE:  # how to search, once; then each list as it changes
            out.append((f"screen:guide:{lang}", t["guide_prompt"]))
        if prompt:
            out.append((f"screen:{step.value}:{lang}:{prompt}", prompt))
        message = self.shown_message()
        if message and step in (Step.SCAN, Step.HELP):
            out.append((f"notice:{message}", message))
        slip = self.slip_words()
        if slip and step == Step.ITEM and self.slip != "printing":
            out.append((f"slip:{lang}:{slip}", slip))
        if not self.online and step in (Step.WELCOME, Step.SERVICE, Step.SCAN, Step.HELP):
            out.append(("offline", t["offline"]))
        left = self.countdown(now)
        if left is not None:
            out.append(("countdown", t["reset"].format(n=_number(left, lang))))
        return out

    def _guide_said(self) -> str:
        """What the guide's list shows now: the count and the first hits while letters are typed, else the browse
        list (how to search is said once, as the screen opens: see `speech`)."""
        t, lang = self.words(), self.lang
        entries = self.guide_entries()
        sep = "、" if lang == "zh" else ", "
        if self.guide_query:
            count = self.guide_count()
            return _listed(count, [e.words for e in entries[:GUIDE_SAID]], sep, lang) if entries else count
        title = self.guide_heading() if self.guide_service is not None else \
            t["guide_events" if self.guide_tab == "events" else "guide_services"]
        return _listed(title, [e.words for e in entries], sep, lang)

    def _item_said(self) -> str:
        item = self.page_item()
        if item is None:
            return ""
        t = self.words()
        promised, legal = self.limit_words(item)
        key = "item_spoken_legal" if legal else "item_spoken"
        n = len(item.materials)
        head = t[key].format(name=self.item_name(item), limit=promised, legal=legal, fee=self.fee_words(item),
                             visits=self.visits_words(item), n=_count(n, self.lang))
        return _sentences([head, t["item_actions"]], self.lang)

    def _bundle_said(self) -> str:
        bundle = self.page_bundle()
        if bundle is None:
            return ""
        t = self.words()
        items = self.bundle_items(bundle)
        return t["bundle_spoken"].format(name=bundle.name, n=_count(len(items), self.lang),
                                         items=("、" if self.lang == "zh" else ", ").join(e.words for e in items),
                                         m=_count(len(self.bundle_materials(bundle)), self.lang))

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
        facts = {"appointment_at": self.appointment.at.isoformat(), "appointment_ref": self.appointment.ref}
        if self.appointment.sig:
            facts["appointment_sig"] = self.appointment.sig
        return facts

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

    # ------------------------------------------------------------------ the guide: taps

    def open_guide(self, now: float) -> None:
        """「办事指南」 on the welcome screen: the list starts on the life events, nothing typed."""
        self.touch(now)
        if self.step == Step.WELCOME and self.can_guide:
            self.notice = ""
            self._forget_card()
            self.guide_query, self.guide_tab, self.guide_service, self.pages = "", "events", None, []
            self.step = Step.GUIDE

    def type_letter(self, letter: str, now: float) -> None:
        """A letter key: the list shows the hits for everything typed so far."""
        self.touch(now)
        ch = letter.strip().lower()
        if self.step == Step.GUIDE and len(ch) == 1 and "a" <= ch <= "z" and len(self.guide_query) < GUIDE_QUERY_MAX:
            self.guide_query += ch

    def delete_letter(self, now: float) -> None:
        self.touch(now)
        if self.step == Step.GUIDE:
            self.guide_query = self.guide_query[:-1]

    def clear_letters(self, now: float) -> None:
        self.touch(now)
        if self.step == Step.GUIDE:
            self.guide_query = ""

    def guide_browse(self, tab: str, now: float) -> None:
        """The 一件事 / 按服务 tabs: browse from the top of that list (anything typed is cleared: the list is the
        tab's, and the visitor sees which tab is on)."""
        self.touch(now)
        if self.step == Step.GUIDE and tab in ("events", "services"):
            self.guide_tab, self.guide_service, self.guide_query = tab, None, ""

    def open_entry(self, kind: str, key: str, now: float) -> None:
        """A row of the guide list or of a bundle's items: a service shows its items, an item or a bundle opens
        its page (a page opened from a bundle goes back to the bundle)."""
        self.touch(now)
        cat = self.cfg.catalogue
        if cat is None or self.step not in (Step.GUIDE, Step.BUNDLE):
            return
        if kind == "service" and self.step == Step.GUIDE and key in self.cfg.services_by_name:
            self.guide_service, self.guide_tab, self.guide_query = key, "services", ""
        elif kind == "item" and key in cat.by_code:
            self.pages.append(key)
            self.step, self.slip, self.slip_note = Step.ITEM, "", ""
        elif kind == "bundle" and self.step == Step.GUIDE and any(b.code == key for b in cat.bundles):
            self.pages.append(key)
            self.step = Step.BUNDLE

    def guide_item_to_print(self, now: float) -> Item | None:
        """「打印简版指南」: the item whose short guide to print, or None while one is printing (a double tap
        prints once) or off the item page."""
        self.touch(now)
        item = self.page_item()
        if item is None or self.slip == "printing":
            return None
        self.slip, self.slip_note = "printing", ""
        return item

    def guide_printed(self, printed: bool, note: str, now: float) -> None:
        """What the printer said: the page says it came out, or why not and to photograph the page instead."""
        self.touch(now)
        if self.slip == "printing":
            self.slip, self.slip_note = ("printed", "") if printed else ("failed", note)

    def ticket_for_item(self, now: float) -> None:
        """「为此事项取号」: the ticket is for the item's service (the queue is by service): straight to the help
        question, as if that service had been tapped; back returns to the page."""
        self.touch(now)
        item = self.page_item()
        if item is None or item.service not in self.cfg.services_by_name:
            return
        self.service, self.ticket_for = item.service, item.code
        self.notice = ""
        self.step = Step.HELP

    def back(self, now: float) -> None:
        self.touch(now)
        self.notice = ""
        if self.step == Step.HELP and self.ticket_for is not None:  # back to the page the ticket was asked from
            self.step, self.service, self.ticket_for = Step.ITEM, None, None
            return
        if self.step in (Step.ITEM, Step.BUNDLE):
            self.pages.pop()
            self.slip, self.slip_note = "", ""
            cat = self.cfg.catalogue
            self.step = Step.GUIDE if not self.pages else Step.ITEM if cat and self.pages[-1] in cat.by_code \
                else Step.BUNDLE
            return
        if self.step == Step.GUIDE and self.guide_service is not None:
            self.guide_service = None
            return
        self.step = {Step.HELP: Step.SERVICE, Step.SERVICE: Step.WELCOME, Step.SCAN: Step.WELCOME,
                     Step.GUIDE: Step.WELCOME}.get(self.step, self.step)
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
            self.notice = APPOINTMENT_NOTICES.get(answer.get("code", ""), "") or ("" if self.message else "offline")

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
        keep = (self.lang, self.large_text, self.high_contrast, self.online, self._last_touch, self.index)
        fresh = KioskFlow(self.cfg, self.idle_seconds, self.countdown_seconds, self.ticket_seconds)
        self.__dict__.update(fresh.__dict__)
        self.lang, self.large_text, self.high_contrast, self.online, self._last_touch, self.index = keep
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


def _count(n: int, lang: str) -> str:
    """A count before a measure word as it is said: 两项, not 二项."""
    return "两" if n == 2 and lang == "zh" else _number(n, lang)


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
