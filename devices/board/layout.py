"""What an LED board of `rows` × `width` columns shows, as text; pure, no bytes, no I/O.

Three rules a hall cares about:

- The ticket number and the window number are shown whole or not at all. When "请 A1234 号到 15 号窗口"
  does not fit, the words shrink ("A1234→15号窗口", "A1234→15"), never the digits; if even the bare
  "A1234 15" does not fit, `DoesNotFit` is raised and the board keeps its previous call.
- A multi-row board shows the latest calls newest first, one per row ("A023 → 5号窗口"); a recalled ticket
  moves to the top instead of taking two rows.
- The board's font is GBK (or GB2312 on older 16×16 HZK modules). A character it lacks (a rare name character
  such as 𬌗, emoji) would come out as garbage or shift every following character, so it is replaced before
  encoding: by a known look-alike where there is one, else "?" (or the full-width "？" for a wide character, so
  the columns after it stay where they were). Each replaced character is logged once per process, so an
  operator can see which names the board cannot show without the log filling up at every call.

Columns: an ASCII character takes one, a Chinese character two (the 16×16 font is two 8-dot columns wide).
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from .frame import DoesNotFit, columns

log = logging.getLogger(__name__)

Charset = Literal["gbk", "gb2312"]

# Look-alikes inside GBK for characters hall texts really contain. Checked by tests to be encodable.
SUBSTITUTES: dict[str, str] = {
    "•": "·", "∙": "·", "✓": "√", "✔": "√", "✗": "×", "✘": "×", "€": "EUR", "“": '"', "”": '"',
    "‘": "'", "’": "'", "…": "...", "➜": "→", "➡": "→", "⟶": "→", "✦": "◆", "⭐": "★",
    "♿": "轮椅", "\u00a0": " ", "\u3000": "  ",
}
DROPPED = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\ufe0e", "\ufe0f"}  # zero-width, variation selectors

_logged: set[tuple[str, str]] = set()
_logged_lock = threading.Lock()


def encodable(ch: str, charset: Charset = "gbk") -> bool:
    try:
        ch.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


def _note_replacement(ch: str, by: str, charset: Charset) -> None:
    with _logged_lock:
        if (ch, charset) in _logged:
            return
        _logged.add((ch, charset))
    name = unicodedata.name(ch, f"U+{ord(ch):04X}")
    log.warning("LED board font (%s) lacks %r (U+%04X %s); shown as %r", charset, ch, ord(ch), name, by)


def _replacement(ch: str, charset: Charset) -> str:
    sub = SUBSTITUTES.get(ch)
    if sub is not None and all(encodable(c, charset) for c in sub):
        return sub
    folded = unicodedata.normalize("NFKC", ch)
    if folded != ch and folded and all(encodable(c, charset) for c in folded):
        return folded
    wide = unicodedata.east_asian_width(ch) in ("W", "F")
    return "？" if wide else "?"


def safe_text(text: str, charset: Charset = "gbk") -> str:
    """`text` with every character the board's font lacks replaced; control characters become spaces."""
    out: list[str] = []
    for ch in text:
        if ch in DROPPED:
            continue
        if ch < " " or ch == "\x7f":
            out.append(" ")
        elif encodable(ch, charset):
            out.append(ch)
        elif unicodedata.category(ch) == "Mn":  # a combining mark the font cannot draw: the base stays
            continue
        else:
            by = _replacement(ch, charset)
            _note_replacement(ch, by, charset)
            out.append(by)
    return "".join(out)


# ---------------------------------------------------------------- calls


@dataclass(frozen=True, slots=True)
class CallEntry:
    number: str
    window: str
    note: str = ""


def _forms(number: str, window: str, note: str, style: Literal["sentence", "row"]) -> Iterable[str]:
    """Ways to say "ticket `number` to window `window`", longest and politest first. Every form keeps both
    numbers whole; only the words around them differ."""
    n, w = number, window
    sentence = [f"请 {n} 号到 {w} 号窗口", f"请{n}号到{w}号窗口", f"请{n}到{w}号窗口"]
    row = [f"{n} → {w}号窗口", f"{n}→{w}号窗口", f"{n}→{w}号窗", f"{n} {w}号窗", f"{n}→{w}号", f"{n} → {w}",
           f"{n}→{w}", f"{n} {w}"]
    forms = [*sentence, *row] if style == "sentence" else row
    if note:  # the mark stays while the call can still be said in full, and goes before the words shrink
        yield from (f"{f}{note}" for f in [*forms[: forms.index(row[1]) + 1]])
    yield from forms


def fit_call(number: str, window: str | int, width: int, note: str = "", *,
             style: Literal["sentence", "row"] = "sentence", charset: Charset = "gbk") -> str:
    """The longest form of the call that fits `width` columns, both numbers whole. The note (a group mark such
    as ★ or "（陪同办）") is kept down to "A023→5号窗口★" and dropped before the words shrink further."""
    number = safe_text(str(number).strip(), charset)
    window = safe_text(str(window).strip(), charset)
    note = safe_text(note.strip(), charset)
    for form in _forms(number, window, note, style):
        if columns(form) <= width:
            return form
    raise DoesNotFit(f"call {number} → window {window} needs {columns(number) + 1 + columns(window)} columns; "
                     f"the board has {width}",
                     "set the board's `width` to its real number of columns, or use a wider board")


def calls_screen(calls: Sequence[CallEntry], rows: int, width: int, charset: Charset = "gbk") -> list[str]:
    """The rows of a multi-row board: the latest `rows` calls, `calls` given newest first. One row per call."""
    return [fit_call(c.number, c.window, width, c.note, style="row", charset=charset) for c in calls[:rows]]


def remember(calls: list[CallEntry], entry: CallEntry, keep: int) -> list[CallEntry]:
    """The call history after `entry`: newest first, a recalled number moved to the top, at most `keep`."""
    return [entry, *(c for c in calls if c.number != entry.number)][:keep]


# ---------------------------------------------------------------- text and pages


def _tokens(line: str) -> list[str]:
    """Runs that should not be split across rows: ASCII letters and digits together (A1234, 15, 8:30), every
    other character on its own."""
    out: list[str] = []
    for ch in line:
        keep = ch.isascii() and (ch.isalnum() or ch in ":.-/")
        if keep and out and out[-1][-1:].isascii() and (out[-1][-1].isalnum() or out[-1][-1] in ":.-/"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def wrap(line: str, width: int) -> list[str]:
    """One logical line as rows of at most `width` columns; a number is moved to the next row rather than
    split, unless it is longer than a whole row."""
    rows: list[str] = []
    row = ""
    for tok in _tokens(line):
        if columns(row) + columns(tok) <= width:
            row += tok
            continue
        if row.strip():
            rows.append(row.rstrip())
        row = "" if tok == " " else tok
        while columns(row) > width:  # a run longer than a row: nothing else can be done
            cut = ""
            for ch in row:
                if columns(cut + ch) > width:
                    break
                cut += ch
            rows.append(cut)
            row = row[len(cut):]
    if row.strip() or not rows:
        rows.append(row.rstrip())
    return rows


def pages(lines: Sequence[str], rows: int, width: int, charset: Charset = "gbk") -> list[list[str]]:
    """Text for the board as pages of at most `rows` rows; the board (or the driver's `next_page`) shows them
    in turn. A blank line stays a blank row, so a notice keeps its paragraphs."""
    wrapped: list[str] = []
    for line in lines:
        for part in safe_text(line.replace("\r\n", "\n").replace("\r", "\n"), charset).split("\n") if line else [""]:
            wrapped.extend(wrap(part, width))
    if not wrapped:
        return [[]]
    return [wrapped[i:i + rows] for i in range(0, len(wrapped), rows)]


def split_rows(stream: str, width: int, rows: int) -> list[str]:
    """What a board whose rows are `width` columns shows for a character stream: it fills row after row, a
    double-byte character that would straddle the edge starts the next row, and what is beyond the last row is
    not shown. Trailing blanks are dropped, so the result is what a visitor can read."""
    out: list[str] = []
    row = ""
    for ch in stream:
        if columns(row) + columns(ch) > width:
            out.append(row)
            row = ""
        row += ch
    out.append(row)
    shown = [r.rstrip() for r in out[:rows]]
    while shown and not shown[-1]:
        shown.pop()
    return shown


def all_lit(rows: int, width: int) -> list[str]:
    """Every dot lit: a technician sees a dead LED or a dead module as a dark spot."""
    return ["█" * (width // 2) + " " * (width % 2) for _ in range(rows)]
