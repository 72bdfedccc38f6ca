"""The 256-byte text block of a resident ID card and its permit cousins: parse, build (for the simulator), check.

Fields are UTF-16LE, padded with spaces; the card type flag sits at bytes 248–249: a space for the resident ID
card, 'J' for the Hong Kong/Macao/Taiwan residence permit, 'I' and 'Y' for the old and 2023 foreign permanent
resident cards. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from ..privacy import mask_address, mask_id_number, mask_name

TEXT_LEN = 256
PHOTO_LEN = 1024

SEX = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}
# GB 3304 order: the code is the position, 01 汉 … 56 基诺.
_NATIONS = [
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼",
    "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔",
    "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯",
    "鄂温克",
    "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
]
NATION = {f"{i:02d}": f"{name}族" for i, name in enumerate(_NATIONS, start=1)}
NATION |= {"97": "其他", "98": "外国血统中国籍人士"}
CARD_TYPES = {" ": "resident", "J": "hmt_residence_permit", "I": "foreign_permanent_old", "Y": "foreign_permanent"}
CARD_TYPE_NAMES = {"resident": "居民身份证", "hmt_residence_permit": "港澳台居民居住证",
                   "foreign_permanent_old": "外国人永久居留身份证（旧版）", "foreign_permanent": "外国人永久居留身份证"}

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class CardError(ValueError):
    """The text block does not make a valid card; the message names the field."""


def ascii_digits(text: str) -> bool:
    """Only 0-9. str.isdigit() is also true for '²', '①' and other scripts' digits, which int() then refuses or
    reads as another number: a misread or forged card must be refused here, not crash the reader's caller."""
    return text.isascii() and text.isdigit()


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2, as GB 11643 uses for the 18th character."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def id_number_problem(number: str) -> str | None:
    """Why an 18-character ID number is not valid, or None."""
    if len(number) != 18:
        return f"ID number has {len(number)} characters, not 18"
    if not ascii_digits(number[:17]) or not (ascii_digits(number[17]) or number[17] == "X"):
        return "ID number must be 17 digits and a digit or X"
    expected = id_check_digit(number[:17])
    if number[17] != expected:
        return f"ID number check digit is {number[17]} but should be {expected}: misread or forged card"
    return None


def _date(text: str, what: str) -> date | None:
    text = text.strip()
    if not text or text == "长期":
        return None
    if len(text) != 8 or not ascii_digits(text):
        raise CardError(f"{what} {text!r} is not YYYYMMDD")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise CardError(f"{what} {text!r} is not a real date") from None


@dataclass(frozen=True)
class CardData:
    card_type: str
    name: str
    sex: str
    nation: str
    birth: date | None
    address: str
    id_number: str
    authority: str
    valid_from: date | None
    valid_to: date | None  # None with valid_to_text 长期: valid for life
    valid_to_text: str = ""
    english_name: str = ""
    nationality: str = ""
    permit_number: str = ""
    issue_count: str = ""
    photo: bytes = field(default=b"", repr=False)
    fingerprint: bytes = field(default=b"", repr=False)
    id_problem: str | None = None

    def photo_image(self) -> bytes | None:
        """The photo decoded by an installed plug-in (see photo.py), or None."""
        from .photo import decode_photo

        return decode_photo(self.photo) if self.photo else None

    def as_dict(self, *, age: int | None = None, show_id: bool = False) -> dict[str, Any]:
        """The fields a person sees; personal data masked (the birth date as its year) unless show_id, the
        technician's explicit choice. `age` is the caller's: the age rule is the hall's (hall_bus.domain.age),
        and drivers never import hall_bus."""
        d = {k: v for k, v in asdict(self).items() if k not in ("photo", "fingerprint", "valid_to_text")}
        for key in ("birth", "valid_from", "valid_to"):
            d[key] = d[key].isoformat() if d[key] else None
        if not show_id and self.birth:  # the year says enough for a check (and the age is there); the full
            d["birth"] = str(self.birth.year)  # date with the masked name narrows a person down too far
        if self.valid_to is None and self.valid_to_text:
            d["valid_to"] = self.valid_to_text
        d["card_type_name"] = CARD_TYPE_NAMES.get(self.card_type, self.card_type)
        d["age"] = age
        d["photo_bytes"] = len(self.photo)
        if not show_id:
            d["name"] = mask_name(self.name)
            d["id_number"] = mask_id_number(self.id_number)
            d["address"] = mask_address(self.address)
            d["permit_number"] = mask_id_number(self.permit_number) if self.permit_number else ""
            if self.english_name:
                d["english_name"] = self.english_name[:1] + "***"
        return d


def _field(block: bytes, start: int, end: int) -> str:
    return block[start:end].decode("utf-16-le", errors="replace").rstrip(" \x00")


def parse_text(block: bytes, photo: bytes = b"", fingerprint: bytes = b"") -> CardData:
    if len(block) != TEXT_LEN:
        raise CardError(f"text block is {len(block)} bytes, not {TEXT_LEN}")
    flag = block[248:250].decode("utf-16-le", errors="replace")
    kind = CARD_TYPES.get(flag)
    if kind is None:
        raise CardError(f"unknown card type flag {flag!r} at bytes 248-249")
    f = lambda a, b: _field(block, a, b)  # noqa: E731
    if kind in ("resident", "hmt_residence_permit"):
        sex_code, nation_code = f(30, 32), f(32, 36)
        card = dict(
            name=f(0, 30), sex=SEX.get(sex_code, f"代码{sex_code}"),
            nation=NATION.get(nation_code, f"代码{nation_code}") if kind == "resident" else "",
            birth=_date(f(36, 52), "birth date"), address=f(52, 122), id_number=f(122, 158), authority=f(158, 188),
            valid_from=_date(f(188, 204), "valid from"), valid_to=_date(f(204, 220), "valid to"),
            valid_to_text=f(204, 220),
        )
        if kind == "hmt_residence_permit":
            card |= dict(permit_number=f(220, 238), issue_count=f(238, 242))
    elif kind == "foreign_permanent_old":
        dates = f(188, 220)
        card = dict(
            name=f(158, 188), english_name=f(0, 120), sex=SEX.get(f(120, 122), f(120, 122)), nation="",
            id_number=f(122, 152), nationality=f(152, 158), birth=_date(f(220, 236), "birth date"), address="",
            authority=f(240, 248), valid_from=_date(dates[:8], "valid from"), valid_to=_date(dates[8:], "valid to"),
            valid_to_text=dates[8:],
        )
    else:
        dates = f(188, 220)
        card = dict(
            name=f(0, 30), sex=SEX.get(f(30, 32), f(30, 32)), nation="", birth=_date(f(36, 52), "birth date"),
            english_name=(f(52, 122) + f(220, 242)).strip(), id_number=f(122, 158), nationality=f(242, 248),
            address="", authority="", valid_from=_date(dates[:8], "valid from"), valid_to=_date(dates[8:], "valid to"),
            valid_to_text=dates[8:], issue_count=f(32, 36),
        )
    problem = id_number_problem(card["id_number"]) if len(card["id_number"]) == 18 else None
    return CardData(card_type=kind, photo=photo, fingerprint=fingerprint, id_problem=problem, **card)


# ---------------------------------------------------------------------- building (simulator, tests)


def _put(block: bytearray, start: int, end: int, text: str) -> None:
    raw = text.encode("utf-16-le")
    width = end - start
    if len(raw) > width:
        raise CardError(f"{text!r} does not fit in bytes {start}-{end}")
    block[start:end] = raw + " ".encode("utf-16-le") * ((width - len(raw)) // 2)


def build_text(fields: dict[str, str]) -> bytes:
    """A 256-byte block from raw field strings, the reverse of parse_text; for simulators and tests.

    Keys: card_type (' ', 'J', 'I', 'Y'), and the raw codes as on the card: name, sex ('1'), nation ('01'),
    birth ('19900101'), address, id_number, authority, valid_from, valid_to (or '长期'), and for the other
    types permit_number, issue_count, english_name, nationality.
    """
    block = bytearray(" ".encode("utf-16-le") * (TEXT_LEN // 2))
    kind = fields.get("card_type", " ")
    g = fields.get
    if kind in (" ", "J"):
        for (a, b), key in (((0, 30), "name"), ((30, 32), "sex"), ((32, 36), "nation"), ((36, 52), "birth"),
                            ((52, 122), "address"), ((122, 158), "id_number"), ((158, 188), "authority"),
                            ((188, 204), "valid_from"), ((204, 220), "valid_to")):
            _put(block, a, b, g(key, ""))
        if kind == "J":
            _put(block, 220, 238, g("permit_number", ""))
            _put(block, 238, 242, g("issue_count", ""))
    elif kind == "I":
        for (a, b), key in (((0, 120), "english_name"), ((120, 122), "sex"), ((122, 152), "id_number"),
                            ((152, 158), "nationality"), ((158, 188), "name"), ((220, 236), "birth"),
                            ((240, 248), "authority")):
            _put(block, a, b, g(key, ""))
        _put(block, 188, 220, g("valid_from", "") + g("valid_to", ""))
    elif kind == "Y":
        english = g("english_name", "")
        for (a, b), value in (((0, 30), g("name", "")), ((30, 32), g("sex", "")), ((32, 36), g("issue_count", "")),
                              ((36, 52), g("birth", "")), ((52, 122), english[:35]),
                              ((122, 158), g("id_number", "")), ((220, 242), english[35:46]),
                              ((242, 248), g("nationality", ""))):
            _put(block, a, b, value)
        _put(block, 188, 220, g("valid_from", "") + g("valid_to", ""))
    else:
        raise CardError(f"unknown card type {kind!r}")
    _put(block, 248, 250, kind)
    return bytes(block)
