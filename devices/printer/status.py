"""DLE EOT real-time status: the request bytes and what each answer byte means. Pure.

n=1 printer status (bit 3: offline), n=2 offline cause (bit 2: cover open, bit 5: stopped for paper end,
bit 6: error), n=4 roll paper sensor (bits 2-3: near end, bits 5-6: paper out). Bits 1 and 4 are always set,
bit 0 and 7 always clear: an answer that breaks that is not a status byte.
"""

from __future__ import annotations

from dataclasses import dataclass

QUERIES = (1, 2, 4)


def request(n: int) -> bytes:
    return bytes([0x10, 0x04, n])


def well_formed(byte: int) -> bool:
    return byte & 0b1001_0011 == 0b0001_0010


@dataclass(frozen=True)
class PrinterStatus:
    online: bool
    cover_open: bool = False
    paper_near_end: bool = False
    paper_out: bool = False
    error: bool = False
    known: bool = True  # False for transports that cannot answer (a file)

    @property
    def can_print(self) -> bool:
        return self.known and self.online and not (self.cover_open or self.paper_out or self.error)

    def describe(self) -> str:
        if not self.known:
            return "status unknown (this transport cannot report it)"
        parts = []
        if self.cover_open:
            parts.append("cover open")
        if self.paper_out:
            parts.append("paper out")
        elif self.paper_near_end:
            parts.append("paper near end")
        if self.error:
            parts.append("error")
        if not self.online and not parts:
            parts.append("offline (no answer, or switched off line)")
        return ", ".join(parts) or "ready"


UNKNOWN = PrinterStatus(online=False, known=False)


def parse(answers: dict[int, int]) -> PrinterStatus:
    for n, b in answers.items():
        if not well_formed(b):
            raise ValueError(f"DLE EOT {n}: 0x{b:02X} is not a status byte")
    s1, s2, s4 = answers.get(1, 0x12), answers.get(2, 0x12), answers.get(4, 0x12)
    return PrinterStatus(
        online=not s1 & 0x08,
        cover_open=bool(s2 & 0x04),
        paper_near_end=bool(s4 & 0x0C),
        paper_out=bool(s4 & 0x60) or bool(s2 & 0x20),
        error=bool(s2 & 0x40),
    )


def encode(status: PrinterStatus) -> dict[int, int]:
    """The bytes a printer in this state answers (for the simulator)."""
    offline = not status.online or status.cover_open or status.paper_out or status.error
    return {
        1: 0x12 | (0x08 if offline else 0),
        2: 0x12 | (0x04 if status.cover_open else 0) | (0x20 if status.paper_out else 0)
        | (0x40 if status.error else 0),
        4: 0x12 | (0x0C if status.paper_near_end or status.paper_out else 0) | (0x60 if status.paper_out else 0),
    }
