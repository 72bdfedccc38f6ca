"""What a call says, as the ordered list of segment names: pure, so the rules are tested without a sound card.

Two readings, as halls speak them: a ticket is read character by character (A023 → A 零 二 三, never "二十三",
because the visitor compares it with the digits printed on the ticket), a window is read as a Chinese numeral
(15 → 十五, 101 → 一百零一) because "五号窗口" is how the signs and the staff say it.

2 is always 二, never 两: a window is a label (二号窗口), not a quantity (两个窗口), and 二百/二千 are correct if
less colloquial than 两百/两千, so one segment serves every place and no hall hears "两号窗口". Tone sandhi of
一 (yī → yì in 一百, 一千) is not applied: segments are spoken in isolation; a recorded 一 sounds right either way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from .inventory import CHIME, INVENTORY

DIGITS = ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九")
NUMBER = "{number}"
WINDOW = "{window}"
DEFAULT_TEMPLATE = "请 {number} 号 到 {window} 号窗口 办理"
SHORT_TEMPLATE = "请 {number} 号 到 {window} 号窗口"
DEFAULT_RECALL_TEMPLATE = "再次 呼叫 请 {number} 号 到 {window} 号窗口 办理"
MAX_WINDOW = 9999
_SEPARATORS = frozenset(" -_·.")
_PLACES = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))


def window_numeral(window: int | str) -> list[str]:
    """A window number as numeral segments, with the 十 rule (10 → 十, but 110 → 一百一十) and the 零 rule (one
    零 for any run of inner zeros, none at the end: 1010 → 一千零一十, 1100 → 一千一百)."""
    n = _window_int(window)
    if n == 0:
        return ["零"]
    out: list[str] = []
    started = zero_pending = False
    for value, unit in _PLACES:
        digit = (n // value) % 10
        if digit == 0:
            zero_pending = started
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        if not (digit == 1 and unit == "十" and not started):
            out.append(DIGITS[digit])
        if unit:
            out.append(unit)
        started = True
    return out


def _window_int(window: int | str) -> int:
    if isinstance(window, bool):
        raise ValueError(f"window must be a number, got {window!r}")
    if isinstance(window, str):
        text = unicodedata.normalize("NFKC", window).strip()
        if not text.isdecimal():
            raise ValueError(f"window must be a number, got {window!r}")
        window = int(text)
    if not 0 <= window <= MAX_WINDOW:
        raise ValueError(f"window {window} is out of range 0–{MAX_WINDOW}")
    return window


def ticket_segments(number: str, readings: Mapping[str, str] | None = None) -> list[str]:
    """A ticket number read one character at a time. `readings` maps a character to the segment that says it
    (letters default to their own segment, digits to 零…九); separators such as "-" are silent. Full-width
    characters from an IME (Ａ０２３) read like their ASCII forms."""
    readings = readings or {}
    out: list[str] = []
    text = unicodedata.normalize("NFKC", str(number)).strip().upper()
    if not text:
        raise ValueError("empty ticket number")
    for ch in text:
        if ch in readings:
            out.append(readings[ch])
        elif ch in _SEPARATORS:
            continue
        elif "0" <= ch <= "9":
            out.append(DIGITS[int(ch)])
        elif "A" <= ch <= "Z":
            out.append(ch)
        else:
            raise ValueError(f"cannot read {ch!r} in ticket {number!r}: add it to the voice device's readings")
    if not out:
        raise ValueError(f"ticket {number!r} has nothing to read")
    return out


def template_tokens(template: str) -> list[str]:
    """A template's words; the placeholders must stand alone so 号窗口 stays one recorded segment."""
    tokens = template.split()
    for token in tokens:
        if ("{" in token or "}" in token) and token not in (NUMBER, WINDOW):
            raise ValueError(f"template word {token!r}: write {NUMBER} and {WINDOW} as separate words")
    return tokens


def template_problems(template: str, known: frozenset[str] | None = None) -> list[str]:
    """Why a template cannot be spoken (for the options model): missing placeholders, words with no segment."""
    try:
        tokens = template_tokens(template)
    except ValueError as exc:
        return [str(exc)]
    problems = [f"template needs {p}" for p in (NUMBER, WINDOW) if p not in tokens]
    names = known if known is not None else frozenset(INVENTORY)
    unknown = [t for t in tokens if t not in (NUMBER, WINDOW) and t not in names]
    if unknown:
        problems.append(f"no segment for {', '.join(map(repr, unknown))} (segments: {', '.join(_WORD_NAMES)})")
    return problems


_WORD_NAMES = [n for n, s in INVENTORY.items() if len(n) > 1 or not ("A" <= n <= "Z")]


def announcement(number: str, window: int | str, *, template: str = DEFAULT_TEMPLATE,
                 readings: Mapping[str, str] | None = None, chime: bool = False) -> list[str]:
    """The segment names of one call, in the order they are spoken: "请 A023 号 到 五 号窗口 办理" by default.
    The template is space-separated segment names with {number} and {window}; `chime=True` puts the chime first
    unless the template already starts with it."""
    tokens = template_tokens(template)
    out: list[str] = [CHIME] if chime and (not tokens or tokens[0] != CHIME) else []
    for token in tokens:
        if token == NUMBER:
            out += ticket_segments(number, readings)
        elif token == WINDOW:
            out += window_numeral(window)
        else:
            out.append(token)
    return out


def spoken_text(number: str, window: int | str, *, template: str = DEFAULT_TEMPLATE) -> str:
    """The call as a line of text for logs and records (请A023号到5号窗口办理), the chime left out."""
    words = [str(number) if t == NUMBER else str(window) if t == WINDOW else t
             for t in template_tokens(template) if t != CHIME]
    return "".join(words)
