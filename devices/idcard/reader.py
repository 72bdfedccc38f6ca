"""The SAM reader driver: commands over a byte link, answers checked, the card parsed.

Every exchange has a deadline (5 s by default, what vendor tools use); a damaged frame is reported and the
decoder resynchronises on the next header, so one bad byte never wedges the kiosk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import DeviceError, DeviceTimeout
from ..link import ByteLink
from .card import CardData, CardError, parse_text
from .protocol import Command, FrameDecoder, FrameError, Response, encode_request, parse_response, split_read_payload


class ReaderError(DeviceError):
    """The reader answered with a failure status."""

    def __init__(self, command: Command, response: Response) -> None:
        super().__init__(f"{command.name.lower()}: reader says {response.status_text} (0x{response.sw3:02X})",
                         _FIX.get(response.sw3))
        self.status = response.sw3


_FIX = {
    0x60: "the reader's security module failed its self-test: power-cycle the reader; if it persists, replace it",
    0x41: "ask the visitor to keep the card flat on the reader until the beep",
    0x10: "the cable may be picking up noise: reseat it or shorten it",
}


@dataclass
class IdCardReader:
    link: ByteLink
    timeout: float = 5.0
    warnings: list[str] = field(default_factory=list)  # frame problems seen and recovered from

    def exchange(self, command: Command, data: bytes = b"") -> Response:
        self.link.reset_input()
        self.link.write(encode_request(command, data))
        decoder = FrameDecoder()
        deadline = time.monotonic() + self.timeout
        dropped: str | None = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                what = dropped or decoder.describe_truncation() or "no answer"
                raise DeviceTimeout(f"{command.name.lower()}: {what} within {self.timeout:.1f} s",
                                    "check that the reader is powered and on this port (115200 8N1)")
            chunk = self.link.read(4096, min(left, 0.05))
            if not chunk:
                continue
            frames = decoder.feed(chunk)
            errors, decoder.errors = decoder.errors, []
            self.warnings.extend(errors)
            if frames:
                return parse_response(frames[0])
            broken = [e for e in errors if "noise" not in e]
            if broken and not decoder.pending():  # the answer was damaged; no point waiting for the deadline
                raise DeviceError(f"{command.name.lower()}: bad answer from the reader: {broken[-1]}", _FIX[0x10])
            if broken:
                dropped = broken[-1]

    def _ok(self, command: Command, data: bytes = b"") -> Response:
        r = self.exchange(command, data)
        if not r.ok:
            raise ReaderError(command, r)
        return r

    def sam_status(self) -> Response:
        return self._ok(Command.SAM_STATUS)

    def reset_sam(self) -> Response:
        return self._ok(Command.RESET_SAM)

    def sam_id(self) -> str:
        data = self._ok(Command.SAM_ID).data
        return data.hex(".", 2).upper() if data else ""

    def find_card(self) -> bool:
        r = self.exchange(Command.FIND_CARD)
        if r.sw3 == 0x80:
            return False
        if not r.ok:
            raise ReaderError(Command.FIND_CARD, r)
        return True

    def select_card(self) -> None:
        self._ok(Command.SELECT_CARD)

    def read_card(self, fingerprint: bool = False) -> CardData:
        command = Command.READ_WITH_FINGERPRINT if fingerprint else Command.READ_TEXT_PHOTO
        r = self._ok(command)
        try:
            text, photo, fp = split_read_payload(r.data, fingerprint)
            return parse_text(text, photo, fp)
        except (FrameError, CardError) as exc:
            raise DeviceError(f"{command.name.lower()}: {exc}", "ask the visitor to place the card again") from None

    def read(self, fingerprint: bool = False) -> CardData | None:
        """find → select → read; None when no card is on the reader."""
        if not self.find_card():
            return None
        self.select_card()
        return self.read_card(fingerprint)

    def close(self) -> None:
        self.link.close()


class CardWatcher:
    """Polls the reader and reports each insertion once and each removal once.

    A read that fails (card pulled mid-read) is reported as an error and retried on the next poll, so the
    visitor who puts the card back gets read.
    """

    def __init__(self, reader: IdCardReader, on_inserted: Callable[[CardData], None],
                 on_removed: Callable[[], None], on_error: Callable[[DeviceError], None] | None = None) -> None:
        self.reader = reader
        self.on_inserted = on_inserted
        self.on_removed = on_removed
        self.on_error = on_error or (lambda exc: None)
        self.present = False

    def poll_once(self) -> None:
        try:
            found = self.reader.find_card()
            if found and not self.present:
                self.reader.select_card()
                card = self.reader.read_card()
                self.present = True
                self.on_inserted(card)
            elif not found and self.present:
                self.present = False
                self.on_removed()
        except DeviceError as exc:
            self.on_error(exc)

    def run(self, interval: float, should_stop: Callable[[], bool]) -> None:
        while not should_stop():
            self.poll_once()
            time.sleep(interval)
