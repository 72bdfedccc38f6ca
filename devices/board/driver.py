"""The LED board driver: what to show → the vendor's frames → a byte link, with the gap boards need.

Split in two so the frames can be made without a board: `BoardEncoder` turns calls, text, clear, brightness
and the test pattern into one frame each and keeps what a frame depends on (the latest calls for a multi-row
board, the pages of a long text, IMM9013's frame counter); `BoardDriver` sends them. `hallctl device board
frame` needs only the encoder; a board agent holds a driver.

A single-row board (a counter display) gets the protocol's own call frame, the call fitted to its width; a
multi-row board gets a text frame of the latest calls, newest first, laid out here, so every protocol shows
the same rows. Serial boards never answer; a textnet controller answers every line, and an ERR becomes a
`BoardError` with its reason.

Cheap serial boards drop a frame that follows the previous one too closely (QSystem waits 300 ms), so the driver
keeps `frame_gap` seconds between the end of one write and the start of the next, sleeping only when needed.
Every failure is a `DeviceError` with a fix (the link's, or the board's own subclasses), nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import ModuleType

from ..errors import DeviceError, DeviceTimeout
from ..link import ByteLink
from . import imm9003, imm9013, layout, pingan, textnet
from .frame import BadRequest, BoardError, check_address

PROTOCOLS: dict[str, ModuleType] = {"pingan": pingan, "imm9003": imm9003, "imm9013": imm9013, "textnet": textnet}


def protocol_module(name: str) -> ModuleType:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise BadRequest(f"unknown board protocol {name!r}", f"use one of {', '.join(PROTOCOLS)}") from None


class BoardEncoder:
    """Frames for one board (protocol, address, rows × width). Pure: no I/O, only the state frames need."""

    def __init__(self, protocol: str, address: int, *, rows: int = 1, width: int = 16,
                 charset: layout.Charset = "gbk", summary: bool = False) -> None:
        self.protocol = protocol
        self.module = protocol_module(protocol)
        check_address(address, self.module.MAX_ADDRESS, protocol)
        self.address = address
        self.rows = rows
        self.width = width
        self.charset: layout.Charset = charset
        self.summary = summary
        self.calls: list[layout.CallEntry] = []
        self.pages: list[list[str]] = [[]]
        self.page = 0
        self.expected: list[str] = []  # what the board should show after the last frame made
        self._seq = 0

    def _extra(self) -> dict[str, object]:
        """The keywords only some protocols take: the summary-screen variant, the frame counter."""
        if self.protocol == "pingan":
            return {"summary": self.summary, "charset": self.charset}
        if self.protocol == "imm9013":
            self._seq = (self._seq + 1) & 0xFF
            return {"seq": self._seq, "charset": self.charset}
        return {"charset": self.charset}

    def _rows(self, rows: Sequence[str]) -> bytes:
        rows = [layout.safe_text(r, self.charset) for r in rows][: self.rows]
        if self.protocol == "textnet":
            frame: bytes = textnet.encode_text(self.address, rows, charset=self.charset)
        else:
            frame = self.module.encode_text(self.address, rows, self.width, **self._extra())
        self.expected = [r.rstrip() for r in rows]
        return frame

    def call(self, number: str, window: str | int, note: str = "") -> bytes:
        number, window = str(number).strip(), str(window).strip()
        if not number or not window:
            raise BadRequest(f"a call needs a ticket number and a window, got {number!r} → {window!r}",
                             "check the call event")
        entry = layout.CallEntry(number, window, note)
        if self.rows > 1:
            screen = layout.calls_screen(layout.remember(self.calls, entry, self.rows), self.rows, self.width,
                                         self.charset)  # raises DoesNotFit before the history changes
            self.calls = layout.remember(self.calls, entry, self.rows)
            return self._rows(screen)
        text = layout.fit_call(number, window, self.width, note, charset=self.charset)
        self.calls = [entry]
        if self.protocol == "textnet":
            frame: bytes = textnet.encode_call(self.address, number, window, note, charset=self.charset)
        else:
            frame = self.module.encode_call(self.address, number, window, note, width=self.width, **self._extra())
        self.expected = [text]
        return frame

    def text(self, lines: Sequence[str]) -> list[bytes]:
        """One frame per page; the first page is what `lines` shows at once."""
        self.pages = layout.pages(lines, self.rows, self.width, self.charset)
        frames = [self._rows(p) for p in self.pages]
        self.page = 0
        self.expected = [r.rstrip() for r in self.pages[0]]
        return frames

    def page_frame(self, page: int) -> bytes:
        self.page = page % len(self.pages)
        return self._rows(self.pages[self.page])

    def clear(self) -> bytes:
        self.calls = []
        self.pages = [[]]
        self.expected = []
        if self.protocol == "textnet":
            return textnet.encode_clear(self.address)
        return self.module.encode_clear(self.address, rows=self.rows, width=self.width, **self._extra())

    def brightness(self, level: int) -> bytes:
        frame: bytes = self.module.encode_brightness(self.address, level)
        return frame

    def test_pattern(self) -> bytes:
        self.expected = layout.all_lit(self.rows, self.width)
        if self.protocol == "textnet":
            return textnet.encode_test(self.address)
        return self.module.encode_test(self.address, rows=self.rows, width=self.width, **self._extra())


class BoardDriver:
    """An LED board on a byte link. Methods return what the board should now show, so an agent can log it."""

    def __init__(self, link: ByteLink, encoder: BoardEncoder, *, frame_gap: float = 0.3,
                 reply_timeout: float = 2.0) -> None:
        self.link = link
        self.encoder = encoder
        self.frame_gap = frame_gap
        self.reply_timeout = reply_timeout
        self.answers = encoder.protocol == "textnet" and link.duplex
        self._last = -1e9
        self._replies = b""

    @property
    def where(self) -> str:
        return self.link.where

    def open(self) -> None:
        """Connect now rather than at the first call, so a start-up check can report a missing board."""
        self.link.open()

    def close(self) -> None:
        self.link.close()

    def send(self, frame: bytes) -> None:
        """Write one frame, no sooner than `frame_gap` after the previous one; wait for a textnet answer."""
        wait = self._last + self.frame_gap - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            if self.answers:
                self._replies = b""
                self.link.reset_input()
            self.link.write(frame)
            if self.answers:
                self._await_reply(frame)
        except DeviceError:
            raise
        except (OSError, ValueError) as exc:  # a link that let a raw error through: still a DeviceError
            self.link.close()
            raise DeviceError(f"{self.where}: {exc}", "check the cable and the power of the board") from None
        finally:
            self._last = time.monotonic()

    def _await_reply(self, frame: bytes) -> None:
        deadline = time.monotonic() + self.reply_timeout
        while True:
            replies, self._replies = textnet.decode_replies(self._replies)
            if replies:
                reply = replies[0]
                if not reply.ok:
                    request = frame.decode("utf-8", "replace").split(" ", 1)[0].strip()
                    raise BoardError(f"{self.where} refused {request}: {reply.text}",
                                     "check the controller's configuration (rows, width, address)")
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceTimeout(f"{self.where} did not answer within {self.reply_timeout:.1f} s",
                                    "is it a textnet controller? check its power and network")
            self._replies += self.link.read(256, min(left, 0.2))

    def show_call(self, number: str, window: str | int, note: str = "") -> list[str]:
        self.send(self.encoder.call(number, window, note))
        return list(self.encoder.expected)

    def show_lines(self, lines: Sequence[str]) -> int:
        """Show the first page of `lines`; returns the number of pages (call `next_page` to turn them)."""
        frames = self.encoder.text(lines)
        self.send(frames[0])
        return len(frames)

    def next_page(self) -> list[str]:
        """Turn to the next page of the last text (from the last back to the first); what it shows."""
        self.send(self.encoder.page_frame(self.encoder.page + 1))
        return list(self.encoder.expected)

    def clear(self) -> None:
        self.send(self.encoder.clear())

    def brightness(self, level: int) -> None:
        self.send(self.encoder.brightness(level))

    def test_pattern(self) -> list[str]:
        self.send(self.encoder.test_pattern())
        return list(self.encoder.expected)

    def ping(self) -> str:
        """A textnet controller's answer to PING; a serial board cannot answer, so it is only named."""
        if not self.answers:
            return f"{self.encoder.protocol} boards do not answer; nothing to ping"
        self.send(textnet.encode_ping())
        return "answered"
