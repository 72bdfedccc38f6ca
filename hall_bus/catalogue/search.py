"""The guide's search (数字政务指南针): find catalogue items and 一件事 bundles as a visitor types, by characters,
by full pinyin ("yibao", "yi bao", "yī bǎo") or by initials ("yb"), and by the words people use (keywords).

Pure: built once from a catalogue (`GuideIndex(catalogue)`), then each keystroke is string containment over
strings prepared here, no pinyin conversion and no allocation per item beyond the hits. Ranked:
exact name (or code) > name prefix (or code prefix) > name substring > pinyin > initials > keyword.

Why every reading: a visitor who reads 重大 as "chongda" or 银行 as "yinxing" should still find it, and pypinyin
cannot know which reading a name means. Each character keeps all its readings (`heteronym=True`), and the pinyin
strings are every combination of them, bounded: from each starting character the span covered grows while the
combinations stay within MAX_VARIANTS (so a pinyin query spanning a long run of many-reading characters may not
match at every start; no real item name comes near that).
"""

from __future__ import annotations

import heapq
import itertools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Literal

from hall_bus.catalogue.model import Bundle, Catalogue

MAX_VARIANTS = 32  # reading combinations kept per starting character
MAX_SPAN = 12  # characters a pinyin query may span from where it starts
SEP = "\x00"  # between variants: never in a query, so a match cannot run from one variant into the next


class Match(IntEnum):
    """How a hit matched, best first; a hit's rank is its best match."""

    EXACT = 0  # the whole name, or the whole code
    PREFIX = 1  # the name (or the code) starts with it
    SUBSTRING = 2  # the name contains it
    PINYIN = 3  # full pinyin from a syllable's start, last syllable maybe unfinished ("yib" → 医保)
    INITIALS = 4  # first letters ("yb" → 医保)
    KEYWORD = 5  # one of the item's keywords, by characters, pinyin or initials


@dataclass(frozen=True, slots=True)
class Hit:
    code: str
    name: str
    kind: Literal["item", "bundle"]
    match: Match


@lru_cache(maxsize=8192)
def char_readings(ch: str) -> tuple[str, ...]:
    """A character's readings, toneless and lower-case; ü as both "v" (as pinyin input methods type it) and "u".
    A letter or digit reads as itself; punctuation and spaces have no reading (skipped in pinyin)."""
    if not ch.isalnum():
        return ()
    if ch.isascii():
        return (ch.lower(),)
    from pypinyin import Style, pinyin

    found = pinyin(ch, style=Style.NORMAL, heteronym=True, errors=lambda _: [[]])
    readings = [r.lower() for r in (found[0] if found else []) if r.isascii() and r.isalpha()]
    if not readings:  # a letter from another script (ｅ, Ⅱ) as NFKC writes it
        folded = unicodedata.normalize("NFKC", ch).lower()
        return (folded,) if folded.isascii() and folded.isalnum() else ()
    out: list[str] = []
    for r in readings:
        for v in (r, r.replace("v", "u")):
            if v not in out:
                out.append(v)
    return tuple(out)


def _spans(readings: list[tuple[str, ...]]) -> list[tuple[list[str], list[str]]]:
    """Per starting character: (full pinyin variants, initials variants) of the span from there, every reading
    combination within the bounds."""
    out: list[tuple[list[str], list[str]]] = []
    for start in range(len(readings)):
        end, product = start, 1
        while end < len(readings) and end - start < MAX_SPAN and product * len(readings[end]) <= MAX_VARIANTS:
            product *= len(readings[end])
            end += 1
        window = [r[:MAX_VARIANTS] for r in readings[start:max(end, start + 1)]]
        full: dict[str, None] = {}
        initials: dict[str, None] = {}
        for combo in itertools.islice(itertools.product(*window), MAX_VARIANTS):
            full["".join(combo)] = None
            initials["".join(r[0] for r in combo)] = None
        out.append((list(full), list(initials)))
    return out


def _readings(text: str) -> list[tuple[str, ...]]:
    return [r for r in (char_readings(ch) for ch in text) if r]


def _joined(parts: Iterable[str]) -> str:
    return SEP + SEP.join(parts)


@dataclass(frozen=True, slots=True)
class _Entry:
    code: str
    name: str
    kind: Literal["item", "bundle"]
    text: str  # the name, folded
    folded_code: str
    pinyin_head: str  # SEP + each variant that starts at the name's first character
    pinyin_all: str  # SEP + each variant from every starting character
    initials_head: str
    initials_all: str
    keywords: str  # SEP + each keyword, folded
    keyword_pinyin: str  # SEP + each keyword's pinyin and initials variants

    @classmethod
    def of(cls, code: str, name: str, kind: Literal["item", "bundle"], keywords: Iterable[str]) -> _Entry:
        spans = _spans(_readings(name))
        head = spans[0] if spans else ([], [])
        kw_parts = [v for kw in keywords for full, ini in _spans(_readings(kw)) for v in (*full, *ini)]
        return cls(code=code, name=name, kind=kind, text=_fold(name), folded_code=code.casefold(),
                   pinyin_head=_joined(head[0]), pinyin_all=_joined(v for full, _ in spans for v in full),
                   initials_head=_joined(head[1]), initials_all=_joined(v for _, ini in spans for v in ini),
                   keywords=_joined(_fold(k) for k in keywords), keyword_pinyin=_joined(kw_parts))


def _fold(text: str) -> str:
    """Full-width letters and digits as ASCII, lower case, no spaces: what the name or query is compared as."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def pinyin_query(query: str) -> str:
    """The query as toneless pinyin letters ("Yī bǎo", "yi1 bao3", "lü" → "yibao", "yibao", "lv"), or "" when it
    has characters (it is then matched as characters only)."""
    text = unicodedata.normalize("NFKC", query).casefold().replace("ü", "v").replace("u:", "v")
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    if not text.isascii():
        return ""
    return "".join(ch for ch in text if "a" <= ch <= "z")


class GuideIndex:
    """Every item and bundle of a catalogue, prepared for search; build once, search per keystroke."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        entries = [_Entry.of(i.code, i.name, "item", i.keywords) for i in catalogue.items]
        entries += [_Entry.of(b.code, b.name, "bundle", [b.life_event]) for b in catalogue.bundles]
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: str, limit: int = 20) -> list[Hit]:
        """The best `limit` hits for what has been typed so far, best first; [] for an empty query."""
        text = _fold(query)
        if not text:
            return []
        pin = pinyin_query(query)
        at_pin = SEP + pin
        ranked: list[tuple[int, int, int, int, str, _Entry, Match]] = []
        for e in self._entries:
            if text == e.text or text == e.folded_code:
                match, pos = Match.EXACT, 0
            elif e.text.startswith(text) or e.folded_code.startswith(text):
                match, pos = Match.PREFIX, 0
            elif text in e.text:
                match, pos = Match.SUBSTRING, e.text.index(text)
            elif pin and at_pin in e.pinyin_all:
                match, pos = Match.PINYIN, 0 if at_pin in e.pinyin_head else 1
            elif pin and pin in e.initials_all:
                match, pos = Match.INITIALS, 0 if at_pin in e.initials_head else 1
            elif text in e.keywords or (pin and (at_pin in e.keyword_pinyin)):
                match, pos = Match.KEYWORD, 0
            else:
                continue
            ranked.append((match, pos, len(e.name), e.kind == "bundle", e.code, e, match))
        best = heapq.nsmallest(limit, ranked, key=lambda r: r[:5])
        return [Hit(e.code, e.name, e.kind, m) for *_, e, m in best]


def life_events(catalogue: Catalogue) -> dict[str, list[Bundle]]:
    """一件事 bundles grouped by life event (出生, 开办企业, 退休 …), in the catalogue's order: the kiosk's
    "browse by life event" page."""
    groups: dict[str, list[Bundle]] = {}
    for bundle in catalogue.bundles:
        groups.setdefault(bundle.life_event or "其他", []).append(bundle)
    return groups
