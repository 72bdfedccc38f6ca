"""What every board protocol module shares: the decoded frame, the errors, and GBK text as the boards count it.

The vendor modules (pingan, imm9003, imm9013, textnet) are bytes in, bytes out. They return `Frame`s rather than
raising on a bad one, because a simulator (or a line sniffer) must keep reading after a corrupted frame the way
a real board does: it ignores the frame and waits for the next start byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import DeviceError

FrameKind = Literal["text", "call", "clear", "brightness", "test", "ping", "bad"]


class BoardError(DeviceError):
    """Anything a board refuses; a subclass of DeviceError so an agent needs one `except` for boards."""


class Unsupported(BoardError):
    """The vendor's protocol has no such command (most serial LED boards cannot dim from the host)."""


class DoesNotFit(BoardError):
    """A call or a word cannot be shown whole on a board this narrow. Raised instead of cutting digits: a
    visitor sent to window 1 instead of 15 is worse than a board that keeps the previous call."""


class BadRequest(BoardError):
    """A value the protocol cannot carry (an address out of range, an empty ticket number)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame. `text` is the character stream a serial board fills its rows with (row-major, each
    row `width` columns); `lines` is set instead when the protocol carries explicit lines (textnet)."""

    kind: FrameKind
    address: int | None = None
    text: str = ""
    lines: tuple[str, ...] = ()
    number: str = ""
    window: str = ""
    note: str = ""
    level: int | None = None
    variant: str = ""
    error: str = ""
    raw: bytes = b""


def bad(error: str, raw: bytes = b"") -> Frame:
    return Frame("bad", error=error, raw=bytes(raw))


def columns(text: str) -> int:
    """Display columns as an LED board's font counts them: one per ASCII character, two per GBK double-byte
    character. For GBK-safe text this is exactly the encoded length, which is why boards count in bytes."""
    return sum(1 if ord(ch) < 0x80 else 2 for ch in text)


def check_address(address: int, maximum: int, protocol: str) -> None:
    if not 0 <= address <= maximum:
        raise BadRequest(f"{protocol}: address {address} is out of range 0–{maximum}",
                         "set the address shown on the board's DIP switches or its setup menu")


def check_level(level: int, maximum: int = 15) -> None:
    if not 0 <= level <= maximum:
        raise BadRequest(f"brightness {level} is out of range 0–{maximum}", f"use a level from 0 to {maximum}")


def pad_rows(rows: list[str] | tuple[str, ...], width: int) -> str:
    """Rows as one character stream: each row padded to `width` columns so the board's own wrap puts every row
    on its own line and the trailing blanks wipe what the previous frame left there. Width 0: one row as is."""
    if width <= 0:
        return " ".join(rows)
    return "".join(row + " " * max(0, width - columns(row)) for row in rows)


class Collector:
    """Decoded frames in order, with each run of bytes that belongs to no frame reported once as one bad frame
    (a board that hears noise on the line ignores it; a count of noise runs is what a technician can use)."""

    def __init__(self, buffer: bytes) -> None:
        self.buffer = buffer
        self.frames: list[Frame] = []
        self._junk_from: int | None = None

    def junk(self, i: int) -> None:
        if self._junk_from is None:
            self._junk_from = i

    def flush(self, i: int) -> None:
        if self._junk_from is not None:
            raw = self.buffer[self._junk_from:i]
            self.frames.append(bad(f"{len(raw)} byte(s) that belong to no frame", raw))
            self._junk_from = None

    def add(self, i: int, frame: Frame) -> None:
        self.flush(i)
        self.frames.append(frame)

    def done(self, i: int) -> tuple[list[Frame], bytes]:
        """Frames so far and the undecoded tail from `i` (a frame still arriving)."""
        self.flush(i)
        return self.frames, bytes(self.buffer[i:])
