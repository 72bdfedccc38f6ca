"""QSystem-style RS-485 keypads: bytes ↔ values. Pure: no I/O.

Keypad → host: `01 ADDR KEY 07`, exactly four bytes, no checksum. QSystem's own driver treats any other burst
length as a collision, so this decoder does too: a run that does not parse as `01 xx KEY 07` with a known KEY is
dropped and counted.

Host → keypad:
- `01 ADDR CMD 07`, CMD 0x30–0x3D: LED off/red/green, blinking red/green at 200 or 500 ms, each with or
  without a 500 ms beep (`Led`).
- `01 ADDR BLINK c c c 07`: the keypad's 3-character display; BLINK 0x20 steady, 0x21 blinking, 0x22…0x7F
  blink (BLINK − 0x21) times.
- `01 ADDR 3F 07`: the liveness poll. Not a QSystem code: QSystem never asks whether a keypad is there. 0x3F
  lies outside the LED range, so a keypad that does not know it ignores it; one that does (our simulator, and
  keypads whose firmware echoes unknown frames) answers with the same four bytes. Keypads that never answer
  run with `poll_seconds = 0` and are reported as "not polled" instead of "not answering".
"""

from __future__ import annotations

import re
from enum import IntEnum

from .frames import BadFrame

START = 0x01
END = 0x07
FRAME_LEN = 4
DISPLAY_LEN = 7
DISPLAY_CHARS = 3


class Key(IntEnum):
    """Keys as the keypad sends them. What each means depends on the counter's state (see keymap)."""

    CALL = 0x31  # call next when idle, recall while the visitor has been called
    START = 0x32  # the visitor arrived: start serving
    REDIRECT = 0x33  # while serving: transfer to the configured service
    FINISH = 0x34  # no-show while called, finish while serving


POLL = 0x3F
DEVICE_CODES = frozenset({*Key, POLL})  # what a keypad may send; anything else is line noise


class Led(IntEnum):
    OFF = 0x30
    RED = 0x31
    GREEN = 0x32
    RED_BLINK_FAST = 0x33  # 200 ms
    GREEN_BLINK_FAST = 0x34
    RED_BLINK = 0x35  # 500 ms
    GREEN_BLINK = 0x36
    BEEP_OFF = 0x37  # 500 ms beep, then the LED as named
    BEEP_RED = 0x38
    BEEP_GREEN = 0x39
    BEEP_RED_BLINK_FAST = 0x3A
    BEEP_GREEN_BLINK_FAST = 0x3B
    BEEP_RED_BLINK = 0x3C
    BEEP_GREEN_BLINK = 0x3D


BLINK_NONE = 0x20
BLINK_ALWAYS = 0x21


class Frame:
    """One 4-byte frame: from a keypad (a key or a poll answer) or, in the simulator, from the host."""

    __slots__ = ("address", "code")

    def __init__(self, address: int, code: int) -> None:
        self.address = address
        self.code = code

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Frame) and (self.address, self.code) == (other.address, other.code)

    def __hash__(self) -> int:
        return hash((self.address, self.code))

    def __repr__(self) -> str:
        return f"qsystem.Frame(address={self.address}, code=0x{self.code:02X})"

    @property
    def is_poll(self) -> bool:
        return self.code == POLL


class DisplayFrame:
    """The host's 3-character display frame (only the simulator decodes these)."""

    __slots__ = ("address", "blink", "text")

    def __init__(self, address: int, blink: int, text: str) -> None:
        self.address, self.blink, self.text = address, blink, text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DisplayFrame) and (self.address, self.blink, self.text) == (
            other.address, other.blink, other.text)

    def __hash__(self) -> int:
        return hash((self.address, self.blink, self.text))

    def __repr__(self) -> str:
        return f"qsystem.DisplayFrame(address={self.address}, blink=0x{self.blink:02X}, text={self.text!r})"


def _check_address(address: int) -> None:
    if not 0 <= address <= 0xFF:
        raise ValueError(f"address {address} is outside 0..255")


def encode_key(address: int, key: int) -> bytes:
    """What a keypad sends when a key is pressed (the simulator uses this)."""
    _check_address(address)
    return bytes([START, address, key, END])


def encode_command(address: int, command: int) -> bytes:
    _check_address(address)
    if not (Led.OFF <= command <= Led.BEEP_GREEN_BLINK or command == POLL):
        raise ValueError(f"0x{command:02X} is not a keypad command (0x30..0x3D, or 0x3F to poll)")
    return bytes([START, address, command, END])


def encode_poll(address: int) -> bytes:
    return encode_command(address, POLL)


def encode_display(address: int, text: str, blink: int = BLINK_NONE) -> bytes:
    """Three characters, right-aligned: numbers line up the way the clerk reads them."""
    _check_address(address)
    if not BLINK_NONE <= blink <= 0x7F:
        raise ValueError(f"blink mode 0x{blink:02X} is outside 0x20..0x7F")
    if len(text) > DISPLAY_CHARS or not all(0x20 <= ord(c) < 0x7F for c in text):
        raise ValueError(f"{text!r}: the keypad shows at most {DISPLAY_CHARS} printable ASCII characters")
    return bytes([START, address, blink]) + text.rjust(DISPLAY_CHARS).encode("ascii") + bytes([END])


_TICKET = re.compile(r"([A-Za-z]*)(\d+)")


def display_text(ticket: str) -> str:
    """What the 3-character display shows for a ticket, or ValueError when it cannot without lying.

    A ticket that fits is shown whole ("A23"). A longer one (A023) loses its letter prefix, never a digit:
    "023" is the number the visitor holds, while QSystem's own "first three characters" rule shows "A02", a
    number nobody holds. The letter is on the hall board and in the voice call; the clerk knows the counter's
    services. A number of more than three digits cannot be shown and is refused.
    """
    text = ticket.strip()
    if 0 < len(text) <= DISPLAY_CHARS and all(c.isascii() and c.isalnum() for c in text):
        return text.rjust(DISPLAY_CHARS)
    m = _TICKET.fullmatch(text)
    if m is None:
        raise ValueError(f"{ticket!r} is not a ticket number (letters, then digits)")
    digits = m.group(2)
    if len(digits) > DISPLAY_CHARS:
        raise ValueError(f"{ticket!r}: {len(digits)} digits do not fit the keypad's {DISPLAY_CHARS}-character display")
    return digits.rjust(DISPLAY_CHARS)


class Decoder:
    """Incremental decoder. `to_host=True` (the line) accepts only 4-byte keypad frames; `to_host=False` (the
    simulator) also accepts the host's 7-byte display frames.

    Without a length field or checksum, a frame is recognised by shape alone: START, address, a known code, END.
    Every run of bytes that does not fit is dropped as one BadFrame, "collision" when it began like a frame and
    "garbage" when it did not.
    """

    def __init__(self, *, to_host: bool = True) -> None:
        self.to_host = to_host
        self.buf = bytearray()
        self._bad = bytearray()
        self._bad_reason: str = "garbage"

    def _code_ok(self, code: int) -> bool:
        if self.to_host:
            return code in DEVICE_CODES
        return Led.OFF <= code <= Led.BEEP_GREEN_BLINK or code == POLL

    def _drop(self, n: int, reason: str) -> None:
        if not self._bad:
            self._bad_reason = reason
        self._bad += self.buf[:n]
        del self.buf[:n]

    def _flush_bad(self, out: list[Frame | DisplayFrame | BadFrame]) -> None:
        if self._bad:
            reason = self._bad_reason
            detail = ("bytes without a frame start" if reason == "garbage"
                      else "not a 4-byte 01 ADDR KEY 07 frame: two devices talking at once?")
            out.append(BadFrame(reason, bytes(self._bad), detail))  # type: ignore[arg-type]
            self._bad.clear()

    def feed(self, data: bytes) -> list[Frame | DisplayFrame | BadFrame]:
        self.buf += data
        out: list[Frame | DisplayFrame | BadFrame] = []
        while self.buf:
            if self.buf[0] != START:
                nxt = self.buf.find(START)
                self._drop(len(self.buf) if nxt < 0 else nxt, "garbage")
                continue
            if len(self.buf) < FRAME_LEN:
                break  # maybe the start of a frame: wait for more
            addr, code, end = self.buf[1], self.buf[2], self.buf[3]
            if end == END and self._code_ok(code):
                self._flush_bad(out)
                out.append(Frame(addr, code))
                del self.buf[:FRAME_LEN]
                continue
            if not self.to_host:
                if len(self.buf) < DISPLAY_LEN:
                    break
                if BLINK_NONE <= code <= 0x7F and self.buf[6] == END and all(
                        0x20 <= b < 0x7F for b in self.buf[3:6]):
                    self._flush_bad(out)
                    out.append(DisplayFrame(addr, code, self.buf[3:6].decode("ascii")))
                    del self.buf[:DISPLAY_LEN]
                    continue
            self._drop(1, "collision")
        if self._bad and not self.buf:
            self._flush_bad(out)
        return out

    def pending(self) -> int:
        """Bytes held back as the possible start of a frame (or of a bad run still growing)."""
        return len(self.buf) + len(self._bad)

    def flush(self) -> list[BadFrame]:
        """The line went quiet with bytes held back: they were a partial frame. Drop and report them."""
        out: list[Frame | DisplayFrame | BadFrame] = []
        self._flush_bad(out)
        if self.buf:
            out.append(BadFrame("partial", bytes(self.buf), f"{len(self.buf)} of {FRAME_LEN} bytes, then silence"))
            self.buf.clear()
        return [f for f in out if isinstance(f, BadFrame)]
