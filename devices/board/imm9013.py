"""IMM9013 strip screens (one-row counter strips): frames as bytes, no I/O.

    ADDR FE LEN SEQ 86 3C 00 05 00 <GBK text> 00 CRC_hi CRC_lo      show text
    ADDR FE LEN SEQ 8C 00 <"请%s号到%s窗口"> 00 CRC_hi CRC_lo         combined screen: the call sentence

- LEN is the length of the whole frame, ADDR to CRC_lo inclusive, one byte: at most 243 bytes of text.
- SEQ is a rolling frame counter (0–255) the host increments; the board does not check it, it only lets a line
  sniffer tell a repeated frame from a new one.
- CRC is CRC16-CCITT, poly 0x1021, init 0, not reflected, no final XOR (the "XModem" variant; check value
  0x31C3 for b"123456789"), computed over every byte before it, ADDR through the 00 that ends the text, and sent
  high byte first. The vendor text says only "over the frame before the CRC"; including ADDR and LEN is the
  choice that makes a corrupted address or length detectable, which matters on a shared RS-485 line.
- The combined screen is sent for a call only when the whole sentence fits the strip (its second %s is the
  window with 号, so the board shows "请A001号到5号窗口"); otherwise, or with a note, the call goes as a text
  frame of `layout.fit_call`, so a narrow strip never cuts the window number.

There is no brightness command (`encode_brightness` raises `Unsupported`); clear is a frame of blanks, the test
pattern every dot lit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from . import layout
from .frame import Collector, DoesNotFit, Frame, Unsupported, bad, check_address, pad_rows

NAME = "imm9013"
MAX_ADDRESS = 0xFF
TEXT = bytes((0x86, 0x3C, 0x00, 0x05, 0x00))
COMBINED = bytes((0x8C, 0x00))
MIN_LEN = 4 + len(COMBINED) + 1 + 2
MAX_LEN = 0xFF
_SENTENCE = re.compile(r"请(.+?)号到(.+?)号?窗口")


def crc16_ccitt(data: bytes, crc: int = 0) -> int:
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _frame(address: int, seq: int, command: bytes, text: bytes) -> bytes:
    check_address(address, MAX_ADDRESS, NAME)
    length = 4 + len(command) + len(text) + 1 + 2
    if length > MAX_LEN:
        room = MAX_LEN - 4 - len(command) - 3
        raise DoesNotFit(f"{NAME}: {len(text)} bytes of text do not fit one frame (at most {room})",
                         "shorten the text or show it as pages")
    body = bytes((address, 0xFE, length, seq & 0xFF)) + command + text + b"\x00"
    crc = crc16_ccitt(body)
    return body + bytes((crc >> 8, crc & 0xFF))


def encode_text(address: int, rows: Sequence[str], width: int = 0, *, seq: int = 0,
                charset: layout.Charset = "gbk") -> bytes:
    return _frame(address, seq, TEXT, layout.safe_text(pad_rows(list(rows), width), charset).encode(charset))


def sentence(number: str, window: str | int) -> str:
    return f"请{number}号到{window}号窗口"


def encode_call(address: int, number: str, window: str | int, note: str = "", *, width: int = 16, seq: int = 0,
                charset: layout.Charset = "gbk") -> bytes:
    text = layout.fit_call(number, window, width, note, charset=charset)
    whole = sentence(layout.safe_text(str(number).strip(), charset), layout.safe_text(str(window).strip(), charset))
    if text == whole:
        return _frame(address, seq, COMBINED, text.encode(charset))
    return encode_text(address, [text], seq=seq, charset=charset)


def encode_clear(address: int, *, rows: int = 1, width: int = 16, seq: int = 0,
                 charset: layout.Charset = "gbk") -> bytes:
    return encode_text(address, [""] * rows, width, seq=seq, charset=charset)


def encode_brightness(address: int, level: int) -> bytes:
    raise Unsupported("IMM9013 strip screens have no brightness command on the serial line",
                      "set the brightness with the strip's own setup keys")


def encode_test(address: int, *, rows: int = 1, width: int = 16, seq: int = 0,
                charset: layout.Charset = "gbk") -> bytes:
    return encode_text(address, layout.all_lit(rows, width), width, seq=seq, charset=charset)


def _valid_at(buf: bytes, i: int) -> bool:
    if i + 3 > len(buf) or buf[i + 1] != 0xFE or not MIN_LEN <= buf[i + 2] <= len(buf) - i:
        return False
    raw = buf[i:i + buf[i + 2]]
    return crc16_ccitt(raw[:-2]) == (raw[-2] << 8 | raw[-1])


def _parse(raw: bytes) -> Frame:
    address, seq, cmd = raw[0], raw[3], raw[4:]
    if raw[-3] != 0:
        return bad("text not ended by 00", raw)
    if cmd.startswith(TEXT):
        payload, kind = raw[4 + len(TEXT):-3], "text"
    elif cmd.startswith(COMBINED):
        payload, kind = raw[4 + len(COMBINED):-3], "call"
    else:
        return bad(f"unknown command {' '.join(f'{b:02X}' for b in cmd[:5])}", raw)
    try:
        text = payload.decode("gbk")
    except UnicodeDecodeError as exc:
        return bad(f"text is not GBK ({exc.reason})", raw)
    if kind == "text":
        return Frame("text", address=address, text=text, variant=str(seq), raw=raw)
    m = _SENTENCE.fullmatch(text)
    return Frame("call", address=address, text=text, number=m.group(1) if m else "", window=m.group(2) if m else "",
                 variant=str(seq), raw=raw)


def decode(buffer: bytes) -> tuple[list[Frame], bytes]:
    """Frames in `buffer` and the tail still arriving. A wrong CRC is a `bad` frame; decoding then resumes at
    the next valid frame inside the damaged one, if there is one, so a corrupted length cannot swallow it."""
    buf = bytes(buffer)
    out = Collector(buf)
    i = 0
    while i < len(buf):
        wrong_marker = i + 1 < len(buf) and buf[i + 1] != 0xFE
        if wrong_marker or (i + 2 < len(buf) and not MIN_LEN <= buf[i + 2] <= MAX_LEN):
            out.junk(i)
            i += 1
            continue
        if i + 3 > len(buf) or i + buf[i + 2] > len(buf):
            return out.done(i)
        length = buf[i + 2]
        raw = buf[i:i + length]
        got, want = raw[-2] << 8 | raw[-1], crc16_ccitt(raw[:-2])
        if got != want:
            nxt = next((j for j in range(i + 1, i + length) if _valid_at(buf, j)), i + length)
            out.add(i, bad(f"CRC {got:04X}, expected {want:04X}", buf[i:nxt]))
            i = nxt
            continue
        out.add(i, _parse(raw))
        i += length
    return out.done(i)
