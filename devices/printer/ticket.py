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
        QR(t.ticket_id),
        Line("扫码查看排队进度"),
        Rule(),
        Line(PRIVACY_NOTE),
        Cut(),
    ]
    return ops
