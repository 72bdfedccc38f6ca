"""SAM reader frames: bytes ↔ values. Pure: no I/O, so every byte rule is tested in microseconds.

Request:  AA AA AA 96 69 | LEN_HI LEN_LO | CMD | PARA | data | CHK
Response: AA AA AA 96 69 | LEN_HI LEN_LO | SW1 SW2 SW3 | data | CHK
LEN (big-endian) counts every byte after itself, the checksum included; CHK is the XOR of every byte from
LEN_HI through the last data byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

HEADER = bytes.fromhex("AAAAAA9669")
MAX_LEN = 0x1000  # the largest real answer (text + photo + fingerprint) is about 2.3 KB


class Command(Enum):
    """(CMD, PARA) pairs."""

    SAM_STATUS = (0x11, 0xFF)
    RESET_SAM = (0x10, 0xFF)
    SAM_ID = (0x12, 0xFF)
    FIND_CARD = (0x20, 0x01)
    SELECT_CARD = (0x20, 0x02)
    READ_TEXT_PHOTO = (0x30, 0x01)
    READ_WITH_FINGERPRINT = (0x30, 0x10)


STATUS_TEXT: dict[int, str] = {
    0x90: "ok",
    0x91: "no content",
    0x9F: "card found",
    0x10: "checksum error (the reader received a damaged frame)",
    0x11: "length error",
    0x21: "command error",
    0x23: "unauthorised",
    0x24: "unrecognised command",
    0x31: "card failed to authenticate the SAM",
    0x32: "SAM failed to authenticate the card",
    0x33: "information verification error",
    0x40: "unknown card type",
    0x41: "reading the card failed (card moved or pulled?)",
    0x47: "random number failed",
    0x60: "SAM self-test failed",
    0x66: "SAM not authorised",
    0x80: "no card found",
    0x81: "selecting the card failed",
}
OK_STATUSES = frozenset({0x90, 0x9F})


class FrameError(ValueError):
    """A frame that cannot be trusted; the message says what was wrong."""


def checksum(body: bytes) -> int:
    x = 0
    for b in body:
        x ^= b
    return x


def encode_request(command: Command, data: bytes = b"") -> bytes:
    cmd, para = command.value
    length = 3 + len(data)  # CMD + PARA + data + CHK
    body = length.to_bytes(2, "big") + bytes([cmd, para]) + data
    return HEADER + body + bytes([checksum(body)])


def encode_response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """What a reader answers (the simulator uses this)."""
    length = 4 + len(data)  # SW1 SW2 SW3 + data + CHK
    body = length.to_bytes(2, "big") + bytes([sw1, sw2, sw3]) + data
    return HEADER + body + bytes([checksum(body)])


@dataclass(frozen=True, slots=True)
class Response:
    sw1: int
    sw2: int
    sw3: int
    data: bytes

    @property
    def ok(self) -> bool:
        return self.sw3 in OK_STATUSES

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.sw3, f"unknown status 0x{self.sw3:02X}")


@dataclass(frozen=True, slots=True)
class Request:
    cmd: int
    para: int
    data: bytes

    @property
    def command(self) -> Command | None:
        for c in Command:
            if c.value == (self.cmd, self.para):
                return c
        return None


class FrameDecoder:
    """Incremental decoder for a byte stream: feed what arrived, take whole frames out.

    Problems do not stop the stream: noise before a header is reported and skipped, a bad checksum or an
    impossible length drops that frame, and decoding resumes at the next header. `errors` collects the reports.
    """

    def __init__(self, min_len: int = 4) -> None:
        self.buf = bytearray()
        self.min_len = min_len  # 4 for responses (SW1..SW3 + CHK), 3 for requests
        self.errors: list[str] = []

    def feed(self, data: bytes) -> list[bytes]:
        """Returns the bodies (from LEN_HI through the last data byte, checksum checked and removed)."""
        self.buf += data
        out: list[bytes] = []
        while True:
            start = self.buf.find(HEADER)
            if start < 0:
                keep = self._partial_header_tail()
                if len(self.buf) - keep > 0:
                    self.errors.append(f"{len(self.buf) - keep} byte(s) of noise without a frame header")
                del self.buf[: len(self.buf) - keep]
                return out
            if start > 0:
                self.errors.append(f"{start} byte(s) of noise before a frame header: {bytes(self.buf[:8]).hex(' ')}…")
                del self.buf[:start]
            if len(self.buf) < 7:
                return out
            length = int.from_bytes(self.buf[5:7], "big")
            if length < self.min_len or length > MAX_LEN:
                self.errors.append(f"impossible frame length {length} (expected {self.min_len}..{MAX_LEN}); "
                                   "skipping to the next header")
                del self.buf[:5]
                continue
            if len(self.buf) < 7 + length:
                return out
            body = bytes(self.buf[5 : 7 + length - 1])
            chk = self.buf[7 + length - 1]
            if checksum(body) != chk:
                self.errors.append(f"checksum mismatch: frame says 0x{chk:02X}, bytes give 0x{checksum(body):02X}; "
                                   "frame dropped")
                del self.buf[:5]
                continue
            del self.buf[: 7 + length]
            out.append(body)

    def _partial_header_tail(self) -> int:
        """How many trailing bytes could be the start of a header split across reads."""
        for n in range(min(len(HEADER) - 1, len(self.buf)), 0, -1):
            if self.buf.endswith(HEADER[:n]):
                return n
        return 0

    def pending(self) -> int:
        return len(self.buf)

    def describe_truncation(self) -> str | None:
        """After a timeout: what a partial frame in the buffer lacked."""
        if not self.buf.startswith(HEADER):
            return None
        if len(self.buf) < 7:
            return f"truncated frame: header and {len(self.buf) - 5} of 2 length bytes"
        length = int.from_bytes(self.buf[5:7], "big")
        return f"truncated frame: got {len(self.buf)} of {7 + length} bytes"


def parse_response(body: bytes) -> Response:
    if len(body) < 5:
        raise FrameError(f"response too short: {len(body)} bytes after the header")
    return Response(body[2], body[3], body[4], body[5:])


def parse_request(body: bytes) -> Request:
    if len(body) < 4:
        raise FrameError(f"request too short: {len(body)} bytes after the header")
    return Request(body[2], body[3], body[4:])


def split_read_payload(data: bytes, fingerprint: bool) -> tuple[bytes, bytes, bytes]:
    """(text, photo, fingerprint) from a read answer, using the lengths in the frame rather than fixed offsets."""
    n = 3 if fingerprint else 2
    if len(data) < 2 * n:
        raise FrameError(f"read answer too short for its {n} length fields: {len(data)} bytes")
    lengths = [int.from_bytes(data[2 * i : 2 * i + 2], "big") for i in range(n)]
    need = 2 * n + sum(lengths)
    if len(data) != need:
        raise FrameError(f"read answer has {len(data)} data bytes but its lengths {lengths} need {need}")
    parts = []
    pos = 2 * n
    for length in lengths:
        parts.append(data[pos : pos + length])
        pos += length
    if not fingerprint:
        parts.append(b"")
    return parts[0], parts[1], parts[2]
