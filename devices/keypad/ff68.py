"""`FF 68` keypads and evaluation pads (the frame JackQChen/QueueSystem drives): bytes ↔ values. Pure: no I/O.

    FF 68 L L 68 ADDR FUNC DATA… CS 16

L (sent twice) counts ADDR + FUNC + DATA; CS = (ADDR + FUNC + ΣDATA) mod 256. Device → host:

- FUNC 0x01, a key press: the key code is the last DATA byte (0x0C call next, 0x0D recall, 0x0B ask for a
  rating, 0x12 pause, 0x13 transfer, 0x0F confirm; a digit before 0x0F, as in "6 confirm", selects a function).
  The host echoes the whole frame back as the acknowledgement.
- FUNC 0x11, a rating from an evaluation pad: DATA[0] is the raw rating (see keymap for what it means).

Host → device: FUNC 0x02 with six digit bytes (0–9, 0x0A blank) for the keypad's display; FUNC 0x03 beeps.

FUNC 0x00 with no DATA is the liveness poll. The vendor host never polls; the frame is harmless (no display,
no beep), and a device that acknowledges frames by echoing them, as the host does for keys, answers it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .frames import BadFrame

HEADER = b"\xff\x68"
MID = 0x68
END = 0x16
MIN_LEN = 2  # ADDR + FUNC
MAX_LEN = 32  # the longest real frame is the display (8); anything much longer is two frames run together

FUNC_POLL = 0x00
FUNC_KEY = 0x01
FUNC_DISPLAY = 0x02
FUNC_BEEP = 0x03
FUNC_RATING = 0x11

KEY_CALL_NEXT = 0x0C
KEY_RECALL = 0x0D
KEY_ASK_RATING = 0x0B
KEY_CANCEL = 0x0E
KEY_CONFIRM = 0x0F
KEY_PAUSE = 0x12
KEY_TRANSFER = 0x13

BLANK = 0x0A
DISPLAY_DIGITS = 6
HALF = 3


@dataclass(frozen=True, slots=True)
class Frame:
    address: int
    func: int
    data: bytes = b""

    @property
    def key(self) -> int | None:
        """The key code of a key frame (its last DATA byte)."""
        return self.data[-1] if self.func == FUNC_KEY and self.data else None

    @property
    def is_poll(self) -> bool:
        return self.func == FUNC_POLL


def checksum(address: int, func: int, data: bytes) -> int:
    return (address + func + sum(data)) % 256


def encode(address: int, func: int, data: bytes = b"") -> bytes:
    if not 0 <= address <= 0xFF or not 0 <= func <= 0xFF:
        raise ValueError(f"address {address} and FUNC {func} must each be one byte")
    length = 2 + len(data)
    if length > MAX_LEN:
        raise ValueError(f"{len(data)} data bytes is more than a frame carries ({MAX_LEN - 2})")
    return (HEADER + bytes([length, length, MID, address, func]) + data
            + bytes([checksum(address, func, data), END]))


def encode_frame(frame: Frame) -> bytes:
    return encode(frame.address, frame.func, frame.data)


def encode_key(address: int, key: int, prefix: bytes = b"") -> bytes:
    """A key press as the keypad sends it; `prefix` holds digits typed before the key (6 then confirm)."""
    return encode(address, FUNC_KEY, prefix + bytes([key]))


def encode_rating(address: int, raw: int) -> bytes:
    return encode(address, FUNC_RATING, bytes([raw]))


def encode_poll(address: int) -> bytes:
    return encode(address, FUNC_POLL)


def encode_beep(address: int) -> bytes:
    return encode(address, FUNC_BEEP)


def encode_display(address: int, digits: bytes) -> bytes:
    if len(digits) != DISPLAY_DIGITS or any(d > 9 and d != BLANK for d in digits):
        raise ValueError(f"the display takes {DISPLAY_DIGITS} digit bytes (0–9, 0x0A blank), got {digits.hex(' ')}")
    return encode(address, FUNC_DISPLAY, digits)


_TICKET = re.compile(r"([A-Za-z]*)(\d+)")


def _digits(text: str) -> bytes:
    return bytes(int(c) for c in text)


def display_digits(ticket: str | None, waiting: int | None = None) -> bytes:
    """The six display bytes for a ticket (right half) and, optionally, the waiting count (left half).

    The display has digits only. A ticket's letter prefix is not shown and its place stays blank: A023 shows
    as "   023", never as a digit standing for the letter (A→1 would read as 1023, a number nobody holds).
    The number itself is never cut: a ticket of four to six digits takes the whole display (and the waiting
    count is left out), more than six is refused with ValueError. The waiting count, as the vendor host shows
    it, is zero-padded and capped at 999.
    """
    right = b""
    if ticket is not None and ticket.strip():
        m = _TICKET.fullmatch(ticket.strip())
        if m is None:
            raise ValueError(f"{ticket!r} is not a ticket number (letters, then digits)")
        number = m.group(2)
        if len(number) > DISPLAY_DIGITS:
            raise ValueError(f"{ticket!r}: {len(number)} digits do not fit the keypad's {DISPLAY_DIGITS} digits")
        right = _digits(number)
    if len(right) > HALF or waiting is None:
        return right.rjust(DISPLAY_DIGITS, bytes([BLANK]))
    if waiting < 0:
        raise ValueError(f"waiting count {waiting} is negative")
    left = _digits(f"{min(waiting, 999):03d}")
    return left + right.rjust(HALF, bytes([BLANK]))


def show(digits: bytes) -> str:
    """How the six display bytes read on the keypad ("   023"): for the simulator, logs and the monitor."""
    return "".join(" " if d == BLANK else str(d) if d <= 9 else "?" for d in digits)


class Decoder:
    """Incremental decoder for either direction (the frame format is the same both ways).

    A header with a length that disagrees with itself, an impossible length, a wrong middle or end byte, or a
    bad checksum is a collision or line noise: the frame is dropped and counted, and decoding resumes at the
    next `FF 68` after the broken header.
    """

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[Frame | BadFrame]:
        self.buf += data
        out: list[Frame | BadFrame] = []
        while self.buf:
            start = self.buf.find(HEADER)
            if start < 0:
                keep = 1 if self.buf.endswith(HEADER[:1]) else 0  # FF could begin the next header
                if len(self.buf) > keep:
                    out.append(BadFrame("garbage", bytes(self.buf[: len(self.buf) - keep]),
                                        "bytes without an FF 68 header"))
                    del self.buf[: len(self.buf) - keep]
                break
            if start > 0:
                out.append(BadFrame("garbage", bytes(self.buf[:start]), "bytes before an FF 68 header"))
                del self.buf[:start]
            if len(self.buf) < 5:
                break
            l1, l2, mid = self.buf[2], self.buf[3], self.buf[4]
            if l1 != l2 or mid != MID or not MIN_LEN <= l1 <= MAX_LEN:
                self._broken(out, "collision", f"header says length {l1}/{l2}, middle byte 0x{mid:02X}")
                continue
            total = l1 + 7
            if len(self.buf) < total:
                nxt = self.buf.find(HEADER, 2)
                if nxt > 0:  # a new header arrived before this frame was complete: it was cut off
                    self._broken(out, "collision", f"cut off after {nxt} of {total} bytes by a new header", nxt)
                    continue
                break
            body = bytes(self.buf[5 : 5 + l1])
            cs, end = self.buf[5 + l1], self.buf[6 + l1]
            if end != END:
                self._broken(out, "collision", f"end byte 0x{end:02X}, expected 0x16")
                continue
            if checksum(body[0], body[1], body[2:]) != cs:
                self._broken(out, "checksum", f"frame says 0x{cs:02X}, bytes give "
                             f"0x{checksum(body[0], body[1], body[2:]):02X}", total)
                continue
            out.append(Frame(body[0], body[1], body[2:]))
            del self.buf[:total]
        return out

    def _broken(self, out: list[Frame | BadFrame], reason: str, detail: str, upto: int | None = None) -> None:
        """Drop a broken frame: up to `upto`, or else to the next header after this one."""
        if upto is None:
            nxt = self.buf.find(HEADER, 2)
            upto = nxt if nxt > 0 else len(self.buf)
        out.append(BadFrame(reason, bytes(self.buf[:upto]), detail))  # type: ignore[arg-type]
        del self.buf[:upto]

    def pending(self) -> int:
        return len(self.buf)

    def flush(self) -> list[BadFrame]:
        """The line went quiet with a frame incomplete: drop and report it as partial."""
        if not self.buf:
            return []
        bad = BadFrame("partial", bytes(self.buf), f"{len(self.buf)} bytes of a frame, then silence")
        self.buf.clear()
        return [bad]
