"""IMM9003-style counter displays and call boards: frames as bytes, no I/O.

    [0x80 | (addr & 0x3F)] [0xC0 | (addr >> 6)] 44 <text> 1A

The two address bytes carry a 12-bit address (0–4095) and are the only bytes with the high bit set: every GBK
byte ≥ 0x80 of the text is sent as two nibble bytes, high nibble first (请 = C7 EB → 0C 07 0E 0B), and ASCII
goes as is. A receiver can therefore find the start of a frame anywhere in a stream of noise, and a text byte
0x10–0x1F (other than the end byte 1A), 0x7F or ≥ 0x80 inside a frame means the frame was corrupted. There is no
checksum, so a flipped bit inside ASCII text cannot be detected; a flipped nibble usually makes invalid GBK.

Example, address 5, "请A001": 85 C0 44 0C 07 0E 0B 41 30 30 31 1A.

The only command is 0x44, "show this text" (filled row after row, see `frame.pad_rows`). Clear is a frame of
blanks, the test pattern every dot lit, and there is no brightness command (`encode_brightness` raises
`Unsupported`).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import layout
from .frame import Collector, Frame, Unsupported, bad, check_address, pad_rows

NAME = "imm9003"
MAX_ADDRESS = 0xFFF
SHOW = 0x44
END = 0x1A
MAX_TEXT = 2048  # nibble-expanded bytes


def nibbles(data: bytes) -> bytes:
    """Each byte ≥ 0x80 as two bytes 0x0H 0x0L; bytes below 0x80 unchanged."""
    out = bytearray()
    for b in data:
        if b >= 0x80:
            out += bytes((b >> 4, b & 0x0F))
        else:
            out.append(b)
    return bytes(out)


def unnibble(data: bytes) -> bytes:
    """The inverse of `nibbles`; ValueError on a lone nibble or a pair that does not make a byte ≥ 0x80."""
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b < 0x10:
            if i + 1 >= len(data) or data[i + 1] >= 0x10:
                raise ValueError(f"lone nibble {b:02X} at {i}")
            value = (b << 4) | data[i + 1]
            if value < 0x80:
                raise ValueError(f"nibble pair {b:02X} {data[i + 1]:02X} makes {value:02X}, not a GBK byte")
            out.append(value)
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def address_bytes(address: int) -> bytes:
    check_address(address, MAX_ADDRESS, NAME)
    return bytes((0x80 | (address & 0x3F), 0xC0 | (address >> 6)))


def encode_text(address: int, rows: Sequence[str], width: int = 0, *, charset: layout.Charset = "gbk") -> bytes:
    text = layout.safe_text(pad_rows(list(rows), width), charset).encode(charset)
    return address_bytes(address) + bytes((SHOW,)) + nibbles(text) + bytes((END,))


def encode_call(address: int, number: str, window: str | int, note: str = "", *, width: int = 16,
                charset: layout.Charset = "gbk") -> bytes:
    return encode_text(address, [layout.fit_call(number, window, width, note, charset=charset)], charset=charset)


def encode_clear(address: int, *, rows: int = 1, width: int = 16, charset: layout.Charset = "gbk") -> bytes:
    return encode_text(address, [""] * rows, width, charset=charset)


def encode_brightness(address: int, level: int) -> bytes:
    raise Unsupported("IMM9003 boards have no brightness command on the serial line",
                      "set the brightness with the board's own setup keys")


def encode_test(address: int, *, rows: int = 1, width: int = 16, charset: layout.Charset = "gbk") -> bytes:
    return encode_text(address, layout.all_lit(rows, width), width, charset=charset)


def _text_byte(b: int) -> bool:
    return b < 0x10 or 0x20 <= b < 0x7F


def decode(buffer: bytes) -> tuple[list[Frame], bytes]:
    """Frames in `buffer` and the tail still arriving; noise, corrupted text and unknown commands are `bad`
    frames. A byte ≥ 0x80 always (re)starts a frame, so one lost end byte costs one frame, not two."""
    buf = bytes(buffer)
    out = Collector(buf)
    i = 0
    while i < len(buf):
        if not 0x80 <= buf[i] < 0xC0:
            out.junk(i)
            i += 1
            continue
        if i + 1 >= len(buf):
            return out.done(i)
        if buf[i + 1] < 0xC0:
            out.junk(i)
            i += 1
            continue
        if i + 2 >= len(buf):
            return out.done(i)
        address = (buf[i] & 0x3F) | ((buf[i + 1] & 0x3F) << 6)
        j = i + 3
        while j < len(buf) and _text_byte(buf[j]) and j - i < MAX_TEXT:
            j += 1
        if j >= len(buf):
            return out.done(i)
        if buf[j] != END:
            why = f"no end byte 1A within {MAX_TEXT} bytes" if j - i >= MAX_TEXT else f"byte {buf[j]:02X} in the text"
            out.add(i, bad(f"frame cut short: {why}", buf[i:j]))
            i = j
            continue
        raw = buf[i:j + 1]
        if buf[i + 2] != SHOW:
            out.add(i, bad(f"unknown command {buf[i + 2]:02X}", raw))
        else:
            try:
                text = unnibble(raw[3:-1]).decode("gbk")
            except (ValueError, UnicodeDecodeError) as exc:
                out.add(i, bad(f"bad text: {exc}", raw))
            else:
                out.add(i, Frame("text", address=address, text=text, raw=raw))
        i = j + 1
    return out.done(i)
