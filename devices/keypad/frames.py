"""What both keypad protocols' decoders hand back: a frame they trust, or a counted bad one.

A shared RS-485 line is noisy by nature: two devices pressing at the same moment talk over each other, a keypad
powered up mid-frame sends half of one. Decoders therefore never raise; each broken run of bytes becomes one
`BadFrame` with a reason the technician can read, and decoding resumes on the next header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BadReason = Literal["garbage", "collision", "checksum", "partial"]


@dataclass(frozen=True, slots=True)
class BadFrame:
    """Bytes the decoder dropped. `reason` is one word for counting; `detail` says what exactly was wrong."""

    reason: BadReason
    data: bytes
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.reason}: {self.data.hex(' ')}" + (f" ({self.detail})" if self.detail else "")
