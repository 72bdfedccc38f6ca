"""平安力合-compatible LED boards (counter displays and the hall summary screen): frames as bytes, no I/O.

    AA addr BB 51 54 chk 01 00 99 00 63 <GBK text> FF        counter (window) screen
    AA addr BB 51 54 chk 08 02 99 00 63 <GBK text> FF        summary screen: bytes 6–7 are 08 02

`chk` is the sum of the bytes from index 6 through the closing FF, modulo 256. The published example (address 1,
"A001": AA 01 BB 51 54 CE 01 00 99 00 63 41 30 30 31 FF) reproduces it exactly: 01+00+99+00+63+41+30+30+31+FF
= 0x2CE, so CE, with the FF counted. FF can never occur inside GBK text (lead and trail bytes stop at FE), so it
ends a frame unambiguously; the address is one byte (0–255).

The protocol has one command, "show this text". The board fills its rows with the text, row after row, so a
multi-row frame is each row padded to the board's width (`frame.pad_rows`). Hence:
- a call is a text frame of the call, fitted to the width (`layout.fit_call`);
- clear is a frame of blanks (an empty frame leaves the old text on some boards);
- the test pattern is every dot lit;
- there is no brightness command: boards of this family are dimmed on their own remote, so `encode_brightness`
  raises `Unsupported` rather than pretending.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import layout
from .frame import Collector, Frame, Unsupported, bad, check_address, pad_rows

NAME = "pingan"
MAX_ADDRESS = 0xFF
MAX_TEXT = 1024  # bytes; longer than any board, so a missing FF is noticed instead of waiting forever
WINDOW, SUMMARY = b"\x01\x00", b"\x08\x02"
_TAIL = b"\x99\x00\x63"
HEADER = 11


def checksum(frame_from_index_6: bytes) -> int:
    return sum(frame_from_index_6) & 0xFF


def encode_text(address: int, rows: Sequence[str], width: int = 0, *, summary: bool = False,
                charset: layout.Charset = "gbk") -> bytes:
    check_address(address, MAX_ADDRESS, NAME)
    text = layout.safe_text(pad_rows(list(rows), width), charset).encode(charset)
    body = (SUMMARY if summary else WINDOW) + _TAIL + text + b"\xff"
    return bytes([0xAA, address, 0xBB, 0x51, 0x54, checksum(body)]) + body


def encode_call(address: int, number: str, window: str | int, note: str = "", *, width: int = 16,
                summary: bool = False, charset: layout.Charset = "gbk") -> bytes:
    text = layout.fit_call(number, window, width, note, charset=charset)
    return encode_text(address, [text], width if summary else 0, summary=summary, charset=charset)


def encode_clear(address: int, *, rows: int = 1, width: int = 16, summary: bool = False,
                 charset: layout.Charset = "gbk") -> bytes:
    return encode_text(address, [""] * rows, width, summary=summary, charset=charset)


def encode_brightness(address: int, level: int) -> bytes:
    raise Unsupported("平安力合 boards have no brightness command on the serial line",
                      "set the brightness with the board's remote or its setup menu")


def encode_test(address: int, *, rows: int = 1, width: int = 16, summary: bool = False,
                charset: layout.Charset = "gbk") -> bytes:
    return encode_text(address, layout.all_lit(rows, width), width, summary=summary, charset=charset)


def _header_so_far(buf: bytes, i: int) -> bool:
    """Whether the bytes from `i` can still be the start of a frame (as far as they have arrived)."""
    want = {0: 0xAA, 2: 0xBB, 3: 0x51, 4: 0x54, 8: 0x99, 9: 0x00, 10: 0x63}
    for k, v in want.items():
        if i + k < len(buf) and buf[i + k] != v:
            return False
    if i + 7 < len(buf):
        return bytes(buf[i + 6:i + 8]) in (WINDOW, SUMMARY)
    return not (i + 6 < len(buf) and buf[i + 6] not in (WINDOW[0], SUMMARY[0]))


def decode(buffer: bytes) -> tuple[list[Frame], bytes]:
    """Frames in `buffer` and the tail still arriving. Noise, a wrong checksum, a frame cut short by the next
    one, text that is not GBK: each is a `bad` frame, and decoding goes on."""
    buf = bytes(buffer)
    out = Collector(buf)
    i = 0
    while i < len(buf):
        if not _header_so_far(buf, i):
            out.junk(i)
            i += 1
            continue
        if len(buf) - i < HEADER + 1:
            return out.done(i)
        end = buf.find(b"\xff", i + HEADER)
        nxt = next((j for j in range(i + 1, len(buf) if end < 0 else end)
                    if buf[j] == 0xAA and len(buf) - j >= HEADER and _header_so_far(buf, j)), -1)
        if nxt > 0:  # a new frame starts before this one ended: this one was cut short
            out.add(i, bad("frame cut short by the next one", buf[i:nxt]))
            i = nxt
            continue
        if end < 0:
            if len(buf) - i > HEADER + MAX_TEXT:
                out.add(i, bad(f"no end byte FF within {MAX_TEXT} bytes", buf[i:i + HEADER]))
                i += HEADER
                continue
            return out.done(i)
        raw = buf[i:end + 1]
        want = checksum(raw[6:])
        if raw[5] != want:
            out.add(i, bad(f"checksum {raw[5]:02X}, expected {want:02X}", raw))
        else:
            try:
                text = raw[HEADER:-1].decode("gbk")
            except UnicodeDecodeError as exc:
                out.add(i, bad(f"text is not GBK ({exc.reason})", raw))
            else:
                variant = "summary" if raw[6:8] == SUMMARY else "window"
                out.add(i, Frame("text", address=raw[1], text=text, variant=variant, raw=raw))
        i = end + 1
    return out.done(i)
