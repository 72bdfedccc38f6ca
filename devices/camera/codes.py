"""QR codes and barcodes from camera frames (pyzbar), with Chinese UTF-8 payloads read correctly.

zbar guesses a QR payload's text encoding and, for UTF-8 Chinese, often guesses Shift-JIS or Big5, then hands
back those characters converted to UTF-8: mojibake. We undo the guess: re-encode what zbar returned in the
encoding it must have assumed, and keep the result if those bytes are valid UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyzbar import pyzbar

_GUESSES = ("shift_jis", "cp932", "big5", "gb18030", "latin-1")


@dataclass(frozen=True)
class Code:
    kind: str
    text: str
    raw: bytes
    rect: tuple[int, int, int, int]


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or ch >= "\U00020000" for ch in text)


def fix_text(data: bytes) -> str:
    """The payload as its author wrote it (UTF-8), undoing zbar's encoding guess where it guessed wrong."""
    text = data.decode("utf-8", errors="replace")
    for enc in _GUESSES:
        try:
            original = text.encode(enc)
            fixed = original.decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if fixed != text and (_has_cjk(fixed) or enc == "latin-1"):
            return fixed
    return text


def scan(frame: np.ndarray) -> list[Code]:
    image = frame if frame.ndim == 2 else frame[:, :, ::-1]  # BGR → RGB for pyzbar's PIL-like input
    found = []
    for r in pyzbar.decode(image):
        found.append(Code(r.type, fix_text(r.data), r.data, (r.rect.left, r.rect.top, r.rect.width, r.rect.height)))
    return found
