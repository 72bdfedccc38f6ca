"""textnet: a plain line protocol over TCP for networked board controllers (our design); bytes only, no I/O.

Networked LED controllers (an Ethernet-to-485 box in front of several boards, a Raspberry Pi behind a TV) are
easier to integrate, test and debug with a text protocol a technician can type into `nc` than with a vendor's
binary frames. One request per line, UTF-8, ending in LF (CR LF accepted); every request is answered by one
line, `OK` or `ERR <reason>`, in order:

    PING                                   → OK textnet 1          (is anybody there; used by probe)
    CALL <addr> <number> <window> [note]   → OK                    the controller shows the call, laid out for
                                                                   its own rows and width (devices.board.layout)
    TEXT <addr> <row>|<row>|…              → OK                    exactly these rows, top to bottom
    CLEAR <addr>                           → OK
    BRIGHT <addr> <0–15>                   → OK
    TEST <addr>                            → OK                    every dot lit
    anything else                          → ERR unknown command FOO

`<addr>` is the board behind the controller (0–65535; a controller with one board ignores it). `<number>` and
`<window>` are single tokens; the note is the rest of the line. In a TEXT row, "|" separates rows, so a literal
"|" is written %7C and "%" is written %25 (nothing else is escaped; the rows are already free of line breaks).
Text is UTF-8 but the controller's font is assumed to be GBK, so the driver sends GBK-safe text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import layout
from .frame import BadRequest, Collector, Frame, bad, check_address, check_level

NAME = "textnet"
MAX_ADDRESS = 0xFFFF
MAX_LINE = 4096
VERSION = "textnet 1"


def _escape(row: str) -> str:
    return row.replace("%", "%25").replace("|", "%7C")


def _unescape(row: str) -> str:
    return row.replace("%7C", "|").replace("%7c", "|").replace("%25", "%")


def _token(value: str | int, what: str) -> str:
    text = str(value).strip()
    if not text or any(ch.isspace() for ch in text):
        raise BadRequest(f"{NAME}: {what} {value!r} must be one word", f"send the {what} without spaces")
    return text


def _line(*parts: str) -> bytes:
    return (" ".join(parts).replace("\r", " ").replace("\n", " ") + "\n").encode("utf-8")


def encode_ping() -> bytes:
    return b"PING\n"


def encode_call(address: int, number: str, window: str | int, note: str = "", *,
                charset: layout.Charset = "gbk") -> bytes:
    check_address(address, MAX_ADDRESS, NAME)
    parts = [_token(layout.safe_text(str(number), charset), "ticket number"),
             _token(layout.safe_text(str(window), charset), "window")]
    note = layout.safe_text(note.strip(), charset)
    return _line("CALL", str(address), *parts, *([note] if note else []))


def encode_text(address: int, rows: Sequence[str], *, charset: layout.Charset = "gbk") -> bytes:
    check_address(address, MAX_ADDRESS, NAME)
    return _line("TEXT", str(address), "|".join(_escape(layout.safe_text(r, charset)) for r in rows))


def encode_clear(address: int) -> bytes:
    check_address(address, MAX_ADDRESS, NAME)
    return _line("CLEAR", str(address))


def encode_brightness(address: int, level: int) -> bytes:
    check_address(address, MAX_ADDRESS, NAME)
    check_level(level)
    return _line("BRIGHT", str(address), str(level))


def encode_test(address: int) -> bytes:
    check_address(address, MAX_ADDRESS, NAME)
    return _line("TEST", str(address))


def _address(word: str) -> int:
    value = int(word)
    if not 0 <= value <= MAX_ADDRESS:
        raise ValueError(f"address {value} out of range")
    return value


def _parse(line: str, raw: bytes) -> Frame:
    verb, _, rest = line.strip().partition(" ")
    args = rest.split()
    try:
        if verb == "PING" and not args:
            return Frame("ping", raw=raw)
        if verb == "CALL" and len(args) >= 3:
            note = rest.split(None, 3)[3] if len(args) > 3 else ""
            return Frame("call", address=_address(args[0]), number=args[1], window=args[2], note=note, raw=raw)
        if verb == "TEXT" and args:
            body = rest.split(None, 1)[1] if len(args) > 1 else ""
            rows = tuple(_unescape(r) for r in body.split("|")) if body else ()
            return Frame("text", address=_address(args[0]), lines=rows, raw=raw)
        if verb == "CLEAR" and len(args) == 1:
            return Frame("clear", address=_address(args[0]), raw=raw)
        if verb == "BRIGHT" and len(args) == 2:
            level = int(args[1])
            if not 0 <= level <= 15:
                return bad(f"brightness {level} out of range 0–15", raw)
            return Frame("brightness", address=_address(args[0]), level=level, raw=raw)
        if verb == "TEST" and len(args) == 1:
            return Frame("test", address=_address(args[0]), raw=raw)
    except ValueError as exc:
        return bad(f"{verb}: {exc}", raw)
    known = ("PING", "CALL", "TEXT", "CLEAR", "BRIGHT", "TEST")
    return bad(f"wrong arguments for {verb}" if verb in known else f"unknown command {verb[:20] or '(empty)'}", raw)


def decode(buffer: bytes) -> tuple[list[Frame], bytes]:
    """Requests in `buffer` and the unfinished last line. A line that is not UTF-8, not a known request, or
    longer than MAX_LINE without an end is a `bad` frame (the controller answers ERR and reads on)."""
    buf = bytes(buffer)
    out = Collector(buf)
    i = 0
    while i < len(buf):
        end = buf.find(b"\n", i)
        if end < 0:
            if len(buf) - i > MAX_LINE:
                out.add(i, bad(f"line longer than {MAX_LINE} bytes", buf[i:i + 64]))
                return out.done(len(buf))
            return out.done(i)
        raw = buf[i:end + 1]
        i = end + 1
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            out.add(i, bad("line is not UTF-8", raw))
            continue
        out.add(i, _parse(line, raw))
    return out.done(i)


# ---------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True)
class Reply:
    ok: bool
    text: str


def encode_reply(ok: bool, text: str = "") -> bytes:
    word = "OK" if ok else "ERR"
    return _line(word, text) if text else f"{word}\n".encode()


def decode_replies(buffer: bytes) -> tuple[list[Reply], bytes]:
    """Answers in `buffer` and the unfinished last line; a line that is neither OK nor ERR is an ERR."""
    lines = bytes(buffer).split(b"\n")
    replies = []
    for raw in lines[:-1]:
        line = raw.decode("utf-8", "replace").strip()
        word, _, text = line.partition(" ")
        if word == "OK":
            replies.append(Reply(True, text))
        elif word == "ERR":
            replies.append(Reply(False, text or "no reason given"))
        elif line:
            replies.append(Reply(False, f"unexpected answer {line[:60]!r}"))
    return replies, lines[-1]
