"""The guide's search (数字政务指南针): find catalogue items and 一件事 bundles as a visitor types, by characters,
by full pinyin ("yibao", "yi bao", "yī bǎo") or by initials ("yb"), and by the words people use (keywords).

Pure: built once from a catalogue (`GuideIndex(catalogue)`); a keystroke then converts nothing to pinyin: it
looks its first letters up in tables of where every pinyin and initials variant begins (`_Starts`) and checks
only the entries found there, and scans the names themselves as a bare substring search would. Ranked:
exact name (or code) > name prefix (or code prefix) > name substring > pinyin > initials > keyword.

Why every reading: a visitor who reads 重大 as "chongda" or 银行 as "yinxing" should still find it, and pypinyin
cannot know which reading a name means. Each character keeps all its readings (`heteronym=True`), and the pinyin
strings are every combination of them, bounded: from each starting character the span covered grows while the
combinations stay within MAX_VARIANTS (so a pinyin query spanning a long run of many-reading characters may not
match at every start; no real item name comes near that).
"""

from __future__ import annotations

import itertools
import unicodedata
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


@dataclass(frozen=True, slots=True)
class _Entry:
    """One item or bundle as search sees it; its place in GuideIndex is its rank among equal matches."""

    code: str
    name: str
    kind: Literal["item", "bundle"]
    keywords: tuple[str, ...]

    @property
    def rank(self) -> tuple[int, bool, str]:
        """Among hits that match equally well: the shorter name first (the more general item), items before
        bundles, then by code so the order never depends on the file's."""
        return len(self.name), self.kind == "bundle", self.code


class _Starts:
    """Which entries have a variant starting with a given string. Strings of up to DEPTH letters are looked up
    (a table built once); a longer query is checked only against the entries its first DEPTH letters found, so
    a keystroke never scans every entry's pinyin (2,000 items carry megabytes of it)."""

    DEPTH = 6

    def __init__(self, variants: list[list[str]]) -> None:
        table: dict[str, list[int]] = {}
        for eid, found in enumerate(variants):
            for key in {v[:n] for v in found for n in range(1, min(self.DEPTH, len(v)) + 1)}:
                table.setdefault(key, []).append(eid)
        self._table = {key: tuple(ids) for key, ids in table.items()}  # a tuple is an eighth of a set's size
        self._strings = [SEP + SEP.join(found) for found in variants]

    def find(self, letters: str) -> set[int]:
        found = self._table.get(letters[: self.DEPTH], ())
        if len(letters) <= self.DEPTH:
            return set(found)
        needle, strings = SEP + letters, self._strings
        return {i for i in found if needle in strings[i]}


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
        entries = [_Entry(i.code, i.name, "item", tuple(i.keywords)) for i in catalogue.items]
        entries += [_Entry(b.code, b.name, "bundle", (b.life_event,)) for b in catalogue.bundles]
        entries.sort(key=lambda e: e.rank)  # an entry's id is its rank among equal matches
        self._entries = entries
        self._texts = [_fold(e.name) for e in entries]
        self._codes = [e.code.casefold() for e in entries]
        self._keywords = [SEP + SEP.join(_fold(k) for k in e.keywords) for e in entries]
        spans = [_spans(_readings(e.name)) for e in entries]
        self._pinyin = _Starts([[v for full, _ in sp for v in full] for sp in spans])
        self._pinyin_head = _Starts([sp[0][0] if sp else [] for sp in spans])
        self._initials = _Starts([[v for _, ini in sp for v in ini] for sp in spans])
        self._initials_head = _Starts([sp[0][1] if sp else [] for sp in spans])
        self._keyword_pinyin = _Starts([[v for kw in e.keywords for full, ini in _spans(_readings(kw))
                                         for v in (*full, *ini)] for e in entries])

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: str, limit: int = 20) -> list[Hit]:
        """The best `limit` hits for what has been typed so far, best first; [] for an empty query."""
        text = _fold(query)
        if not text or limit <= 0:
            return []
        pin = pinyin_query(query)
        named = [i for i, t in enumerate(self._texts) if text in t]
        coded = [i for i, c in enumerate(self._codes) if c.startswith(text)]
        exact = sorted({i for i in named if self._texts[i] == text} | {i for i in coded if self._codes[i] == text})
        prefix = sorted({i for i in named if self._texts[i].startswith(text)} | set(coded))
        substring = sorted(named, key=lambda i: (self._texts[i].index(text), i))
        tiers: list[tuple[Match, list[int]]] = [(Match.EXACT, exact), (Match.PREFIX, prefix),
                                                (Match.SUBSTRING, substring)]
        if pin:
            head = self._pinyin_head.find(pin)
            tiers.append((Match.PINYIN, sorted(head) + sorted(self._pinyin.find(pin) - head)))
            head = self._initials_head.find(pin)
            tiers.append((Match.INITIALS, sorted(head) + sorted(self._initials.find(pin) - head)))
        keyworded = {i for i, k in enumerate(self._keywords) if text in k}
        if pin:
            keyworded |= self._keyword_pinyin.find(pin)
        tiers.append((Match.KEYWORD, sorted(keyworded)))
        hits: list[Hit] = []
        seen: set[int] = set()
        for match, ids in tiers:
            for i in ids:
                if i not in seen:
                    seen.add(i)
                    e = self._entries[i]
                    hits.append(Hit(e.code, e.name, e.kind, match))
                    if len(hits) == limit:
                        return hits
        return hits


def life_events(catalogue: Catalogue) -> dict[str, list[Bundle]]:
    """一件事 bundles grouped by life event (出生, 开办企业, 退休 …), in the catalogue's order: the kiosk's
    "browse by life event" page."""
    groups: dict[str, list[Bundle]] = {}
    for bundle in catalogue.bundles:
        groups.setdefault(bundle.life_event or "其他", []).append(bundle)
    return groups
