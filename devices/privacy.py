"""Masking personal data (names, ID numbers, phone numbers, addresses) for logs, screens and paper.

It lives with the devices because the ID-card reader is where personal data enters the hall; the bus, the
server's logs and the kiosk use the same functions, so a rule changes in one place. Pure: no I/O.

The patterns follow what halls already print: 张*, 4101**********123X, 138****5678, 河南省平安县****.
"""

from __future__ import annotations

import logging
import re

# An 18-character resident ID (the last may be X) or the old 15-digit form, not inside a longer number.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8}|\d{6})(\d{3})([0-9Xx])?(?![0-9A-Za-z])")
# Mobile numbers as people write them: 13812345678, 138 1234 5678, 138-1234-5678, +86 138…, 86138….
_PHONE_RE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")


def mask_name(name: str) -> str:
    """Keep the family name (first character; two for the common two-character surnames)."""
    name = name.strip()
    if not name:
        return ""
    keep = 2 if len(name) >= 4 and name[:2] in _COMPOUND_SURNAMES else 1
    return name[:keep] + "*" * max(1, len(name) - keep)


_COMPOUND_SURNAMES = frozenset({"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "司徒"})


def mask_id_number(number: str) -> str:
    """First four digits (province and city) and last four; the birth date and sequence are hidden."""
    n = number.strip()
    if len(n) <= 8:
        return "*" * len(n)
    return n[:4] + "*" * (len(n) - 8) + n[-4:]


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_address(address: str, keep: int = 6) -> str:
    """Keep the first characters (province, county), hide the street and house number."""
    address = address.strip()
    if len(address) <= keep:
        return address[: max(0, len(address) // 2)] + "****"
    return address[:keep] + "****"


def mask_text(text: str) -> str:
    """Mask ID and phone numbers wherever they appear in free text (a log line, a malformed message)."""
    text = _ID_RE.sub(lambda m: mask_id_number(m.group(0)), text)
    return _PHONE_RE.sub(lambda m: mask_phone(m.group(1) + m.group(2) + m.group(3)), text)


class MaskingFilter(logging.Filter):
    """A logging filter that masks every record's final message, so no handler ever sees raw numbers."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
