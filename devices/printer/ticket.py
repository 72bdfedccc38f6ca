"""What goes on a queue ticket, line by line. Pure: no bytes, no fonts; the encoder and the preview both use it.

An older visitor reads the number first, so it is the biggest thing on the paper; the group is printed in words
(陪同办), not a code; the QR code carries only the ticket id (enough to look up the queue, nothing personal);
a name, when the kiosk has one from the ID card, is masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ..privacy import mask_name

Align = Literal["left", "center", "right"]
PRIVACY_NOTE = "本票不含完整个人信息，请妥善保管，勿随意丢弃"


@dataclass(frozen=True)
class Ticket:
    hall: str
    number: str
    service: str
    group_label: str
    ticket_id: str
    issued_at: datetime
    ahead: int
    wait_min: int
    name: str | None = None
    window_hint: str | None = None  # e.g. 请到帮办代办专区等候
    link: str | None = None  # the QR's content when the hall has a phone page (web/links.py); else the id


@dataclass(frozen=True)
class Line:
    text: str
    align: Align = "center"
    size: int = 1  # character magnification 1..8 (GS !)
    bold: bool = False


@dataclass(frozen=True)
class QR:
    content: str
    size: int = 6  # module size in dots


@dataclass(frozen=True)
class Rule:
    pass


@dataclass(frozen=True)
class Cut:
    pass


Op = Line | QR | Rule | Cut


def layout(t: Ticket) -> list[Op]:
    wait = f"前面还有 {t.ahead} 人，预计等候约 {t.wait_min} 分钟" if t.ahead else "前面没有人，请留意叫号"
    ops: list[Op] = [
        Line(t.hall, bold=True),
        Rule(),
        Line(t.number, size=4, bold=True),
        Line(f"{t.service} · {t.group_label}", size=2),
        Line(wait),
    ]
    if t.window_hint:
        ops.append(Line(t.window_hint))
    if t.name:
        ops.append(Line(f"姓名：{mask_name(t.name)}"))
    ops += [
        Line(f"取号时间 {t.issued_at:%Y-%m-%d %H:%M}"),
        QR(t.link or t.ticket_id),
        Line("扫码查看排队进度"),
        Rule(),
        Line(PRIVACY_NOTE),
        Cut(),
    ]
    return ops


@dataclass(frozen=True)
class NoticeSlip:
    """一次性告知书: every missing material of a service, told once, in writing; the visitor keeps it."""

    hall: str
    notice_id: str
    service: str
    items: tuple[str, ...]
    issued_at: datetime
    by: str = ""  # the helper or window who told it (首问负责)
    number: str = ""  # the ticket, when the visitor has one


def notice_layout(n: NoticeSlip) -> list[Op]:
    ops: list[Op] = [
        Line(n.hall, bold=True),
        Line("一次性告知书", size=2, bold=True),
        Rule(),
        Line(f"办理事项：{n.service}", align="left"),
        Line("还需要以下材料，请备齐后再来：", align="left"),
    ]
    ops += [Line(f"{i}. {item}", align="left") for i, item in enumerate(n.items, 1)]
    ops += [Rule()]
    if n.number:
        ops.append(Line(f"号票 {n.number}", align="left"))
    ops += [
        Line(f"告知人：{n.by}" if n.by else "告知人：帮办员", align="left"),
        Line(f"告知时间 {n.issued_at:%Y-%m-%d %H:%M}", align="left"),
        QR(n.notice_id),
        Line(f"告知书编号 {n.notice_id}"),
        Line("材料备齐后可直接找帮办员，无需重新排队"),
        Cut(),
    ]
    return ops


@dataclass(frozen=True)
class CaseSlip:
    """A case's paper (办件): the 受理回执 handed over at 受理, or the 领取通知 when the result is ready. The hall
    writes the words (already masked: the slip travelled the bus); the printer only lays them out, with the QR
    code that holds the case number for a progress lookup."""

    hall: str
    title: str  # 受理回执 | 领取通知
    lines: tuple[str, ...]
    qr: str
    caption: str = ""


def case_slip_layout(s: CaseSlip) -> list[Op]:
    ops: list[Op] = [Line(s.hall, bold=True), Line(s.title, size=2, bold=True), Rule()]
    ops += [Line(text, align="left") for text in s.lines]
    ops += [Rule(), QR(s.qr)]
    if s.caption:
        ops.append(Line(s.caption))
    ops += [Line(PRIVACY_NOTE), Cut()]
    return ops
