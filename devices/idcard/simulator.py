"""A SAM reader simulator on a real pseudo-terminal: the driver opens its path like any /dev/ttyUSB0.

It answers every command with the bytes a reader sends, serves cards from a JSON file, and injects the faults
seen in halls: damaged checksums, silence, a failed SAM, a card pulled in the middle of a read, line noise.
"""

from __future__ import annotations

import json
import os
import select
import sys
import threading
from pathlib import Path
from typing import Any

from ..sim_transport import open_raw_pty
from .card import PHOTO_LEN, build_text
from .protocol import Command, FrameDecoder, encode_response, parse_request

FAULTS = ("checksum", "timeout", "sam_failure", "pulled", "noise")
DEFAULT_SAM_ID = bytes.fromhex("0501000000000000000020241123000000000001")


def fake_photo(seed: str) -> bytes:
    """1,024 bytes standing in for a WLT photo (which only a vendor library decodes)."""
    out = bytearray(b"WLT\x00")
    x = sum(seed.encode()) or 1
    while len(out) < PHOTO_LEN:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(x >> 16 & 0xFF)
    return bytes(out[:PHOTO_LEN])


def load_cards(path: str | Path) -> list[dict[str, str]]:
    try:
        cards = json.loads(Path(path).read_text(encoding="utf-8-sig"))  # a BOM from Notepad is no error
    except RecursionError:  # 100,000 '[': the parser gives up before it says anything
        raise ValueError("arrays or objects nested too deeply; a cards file is a list of objects") from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        if "digits" not in str(exc):  # not the int conversion limit: a decoding error, said as it is
            raise
        raise ValueError(f"a number with more than {sys.get_int_max_str_digits()} digits; card fields are "
                         "strings") from None
    if not isinstance(cards, list) or not all(isinstance(c, dict) for c in cards):
        raise ValueError(f"{path}: expected a JSON list of card objects")
    return cards


class IdCardSimulator:
    def __init__(self, cards: list[dict[str, str]], *, sam_id: bytes = DEFAULT_SAM_ID) -> None:
        self.cards = cards
        self.sam_id = sam_id
        self.card: dict[str, str] | None = None
        self.faults: dict[str, int] = {}  # fault -> how many more times (sam_failure: until cleared)
        self.requests: list[Command | None] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.master = self.slave = -1
        self.path = ""

    # ------------------------------------------------------------------ control

    def start(self) -> str:
        self.master, self.slave, self.path = open_raw_pty()
        self._thread = threading.Thread(target=self._serve, name="idcard-sim", daemon=True)
        self._thread.start()
        return self.path

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1

    def insert(self, index: int = 0) -> None:
        with self._lock:
            self.card = self.cards[index % len(self.cards)]

    def remove(self) -> None:
        with self._lock:
            self.card = None

    def inject(self, fault: str, times: int = 1) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        with self._lock:
            self.faults[fault] = times

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def __enter__(self) -> IdCardSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ the device

    def _take(self, fault: str) -> bool:
        n = self.faults.get(fault, 0)
        if n <= 0:
            return False
        if fault != "sam_failure":
            self.faults[fault] = n - 1
        return True

    def _answer(self, command: Command | None) -> bytes | None:
        with self._lock:
            if self._take("timeout"):
                return None
            card = self.card
            if command is Command.SAM_STATUS:
                reply = encode_response(0x60 if self._take("sam_failure") else 0x90)
            elif command is Command.RESET_SAM:
                reply = encode_response(0x90)
            elif command is Command.SAM_ID:
                reply = encode_response(0x90, self.sam_id)
            elif command is Command.FIND_CARD:
                reply = encode_response(0x9F, bytes(4)) if card else encode_response(0x80)
            elif command is Command.SELECT_CARD:
                reply = encode_response(0x90, bytes(8)) if card else encode_response(0x81)
            elif command in (Command.READ_TEXT_PHOTO, Command.READ_WITH_FINGERPRINT):
                if card is None:
                    reply = encode_response(0x41)
                else:
                    reply = self._read_reply(card, command is Command.READ_WITH_FINGERPRINT)
                    if self._take("pulled"):
                        self.card = None
                        reply = reply[: len(reply) // 3]  # the card left the field mid-transfer
            else:
                reply = encode_response(0x21)
            if self._take("checksum"):
                reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])
            if self._take("noise"):
                reply = b"\x00\xff\x13" + reply
            return reply

    def _read_reply(self, card: dict[str, Any], fingerprint: bool) -> bytes:
        text = build_text(card)
        photo = fake_photo(card.get("id_number", ""))
        parts = [text, photo]
        if fingerprint:
            parts.append(bytes(1024))
        lengths = b"".join(len(p).to_bytes(2, "big") for p in parts)
        return encode_response(0x90, lengths + b"".join(parts))

    def _serve(self) -> None:
        decoder = FrameDecoder(min_len=3)
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(self.master, 4096)
            except OSError:
                return
            for body in decoder.feed(data):
                request = parse_request(body)
                command = request.command
                self.requests.append(command)
                reply = self._answer(command)
                if reply is not None:
                    try:
                        os.write(self.master, reply)
                    except OSError:
                        return
            decoder.errors.clear()
