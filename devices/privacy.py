"""Masking personal data (names, ID numbers, phone numbers, addresses) for logs, screens and paper.

It lives with the devices because the ID-card reader is where personal data enters the hall; the bus, the
server's logs and the kiosk use the same functions, so a rule changes in one place. Pure: no I/O.

The patterns follow what halls already print: 张*, 4101**********123X, 138****5678, 河南省平安县****.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

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


# Chinese addresses in free text: a run of parts, each a place name and its level (河南省, 平安县, 城关镇, 人民路)
# or a number and its unit (12号, 3单元, 501室). Words that never sit inside a place name (的, 我, 在, 去, 想 …)
# end a name, so "我住在河南省…" starts at 河南省 and a question like "在城区办理还是去乡镇" is no address.
_ADMIN_LEVELS = ("特别行政区", "自治区", "自治州", "自治县", "地区", "省", "市", "州", "盟", "县", "旗", "区")
_LOCAL_LEVELS = ("街道", "社区", "居委会", "小区", "大道", "大街", "胡同", "花园", "镇", "乡", "村", "路", "街",
                 "巷", "弄", "苑")
_NOT_IN_PLACE_NAMES = "的了是在我你他她去到还要想问吗呢吧么什怎哪个这那没说能会就都也给让被把从办请住"
_NUMBER_UNITS = ("号楼", "号院", "号", "栋", "幢", "座", "单元", "室", "层", "楼", "户", "组")
_PLACE = (rf"(?:[^\W\d_{_NOT_IN_PLACE_NAMES}A-Za-z]{{1,8}}?(?:{'|'.join(_ADMIN_LEVELS + _LOCAL_LEVELS)})+)")
_NUMBERED = (r"(?:[0-9０-９一二三四五六七八九十百零〇]{1,6}(?:[-－][0-9０-９]{1,4})?"
             rf"(?:{'|'.join(_NUMBER_UNITS)}))")
_PART_RE = re.compile(rf"{_PLACE}|{_NUMBERED}")
_NUMBERED_RE = re.compile(_NUMBERED)
_ADDRESS_RE = re.compile(rf"(?:{_PLACE}|{_NUMBERED}){{2,}}")


def _is_admin(part: str) -> bool:
    return part.endswith(_ADMIN_LEVELS) and not part.endswith("小区")


def mask_addresses(text: str) -> str:
    """Hide the street, village and house number of every address in free text; the province, city and county
    stay (河南省平安县城关镇人民路12号 → 河南省平安县****), as mask_address does for the card's field.

    A run counts as an address when it has a part below the county (镇, 村, 路, 小区 …) and at least one place
    name: "请到2楼3号窗口" is directions, not an address. Erring the other way masks a few words of a question,
    which a masked report can afford; an address left in it cannot be taken back."""

    def one(m: re.Match[str]) -> str:
        parts = _PART_RE.findall(m.group(0))
        if all(_NUMBERED_RE.fullmatch(p) for p in parts) or all(_is_admin(p) for p in parts):
            return m.group(0)
        keep = 0
        while keep < len(parts) and _is_admin(parts[keep]):
            keep += 1
        return "".join(parts[:keep]) + "****"

    return _ADDRESS_RE.sub(one, text)


def mask_names(text: str, names: Iterable[str]) -> str:
    """Every occurrence of the given names (a visitor's own, known from the record) masked as mask_name does.
    One-character names are left: masking 张 everywhere would mask every 张 in the text, not the person."""
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        text = text.replace(name, mask_name(name))
    return text


def mask_free_text(text: str, names: Iterable[str] = ()) -> str:
    """Free text a visitor or a helper wrote (a question, a comment, a refusal reason, a note): ID and phone
    numbers (mask_text), the names of the people the record is about, and addresses."""
    return mask_addresses(mask_names(mask_text(text), names))


class MaskingFilter(logging.Filter):
    """A logging filter that masks every record's final message, so no handler ever sees raw numbers."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
