"""The XLSX's 预约 figures (under the 概览's table) and its two record sheets, 预约台账 and 上门服务台账.

预约台账 can be long (a busy hall books hundreds a day), so it is streamed into the workbook's zip like the 台账
sheet (xlsx.SheetStream), not written cell by cell; 上门服务台账 is a few a day. Names, phones and addresses go
through the report's masking (labels.py): whole only with --unmasked. Helpers are staff, named as everywhere in
the report (王芳（0231）).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hall_bus.reports.bookings import (
    BOOKING_CHANNELS,
    VISIT_OUTCOMES,
    BookingFigures,
    BookingRow,
    hhmm,
    reminder_words,
    session_words,
    status_words,
    summary_pairs,
)
from hall_bus.reports.labels import Labels

if TYPE_CHECKING:
    from hall_bus.reports.xlsx import _Book

BOOKING_SHEET = "预约台账"
VISIT_SHEET = "上门服务台账"
BOOKING_COLUMNS: tuple[tuple[str, float], ...] = (
    ("预约号", 17), ("事项", 22), ("类别", 10), ("预约时间", 17), ("时段", 10), ("渠道", 7), ("分组", 9),
    ("状态", 12), ("取号", 8), ("改约", 5), ("提醒", 10), ("姓名", 8), ("电话", 13),
)
VISIT_COLUMNS: tuple[tuple[str, float], ...] = (
    ("预约号", 17), ("事项", 22), ("预约时间", 17), ("地址", 30), ("需要", 16), ("帮办员", 24), ("路上(分)", 8),
    ("到达", 12), ("结束", 12), ("结果", 9), ("评价", 9), ("状态", 10),
)


def overview_rows(book: _Book, ws: Any, row: int, f: BookingFigures) -> int:
    """预约 and 上门服务 figures, then ratings by channel as a small table; returns the last row written."""
    row += 1
    ws.write_row(row, 0, ["预约与上门服务 bookings", "数值 value"], book.header)
    formats = {"pct": book.pct, "num": book.num, "": None}
    for label, english, value, fmt in summary_pairs(f):
        row += 1
        ws.write_string(row, 0, f"{label} {english}".rstrip())
        if value is None:
            ws.write_string(row, 1, "-")
        elif isinstance(value, str):
            ws.write_string(row, 1, value)
        else:
            ws.write_number(row, 1, value, formats[fmt])
    row += 2
    ws.write_row(row, 0, ["评价渠道 rating channel", "评价数 rated", "满意率 satisfied"], book.header)
    for r in f.ratings:
        row += 1
        ws.write_string(row, 0, f"评价渠道 {r.name} {r.channel}")
        ws.write_number(row, 1, r.rated)
        if r.satisfaction_rate is None:
            ws.write_string(row, 2, "-")
        else:
            ws.write_number(row, 2, r.satisfaction_rate, book.pct)
    return row


def booking_line(b: BookingRow, labels: Labels) -> list[Any]:
    """One 预约台账 row: the visitor's name and phone through the report's masking."""
    return [b.code, b.item_name, b.service, f"{b.day} {b.start[11:16]}", session_words(b),
            BOOKING_CHANNELS.get(b.channel, b.channel), "上门办" if b.home_visit else labels.group(b.group),
            status_words(b), b.ticket, b.reschedules or None, reminder_words(b), labels.name(b.name),
            labels.phone(b.phone)]


def visit_line(b: BookingRow, labels: Labels, who: Callable[[str], str]) -> list[Any]:
    """One 上门服务台账 row: the address masked (the county kept) unless --unmasked; the times are done_at, when
    the helper's tablet says it happened."""
    return [b.code, b.item_name, f"{b.day} {b.start[11:16]}", labels.address(b.address),
            "、".join(labels.text(n, [b.name]) for n in b.needs), "、".join(who(h) for h in b.helpers),
            b.travel_minutes, hhmm(b.arrived), hhmm(b.finished), VISIT_OUTCOMES.get(b.outcome, b.outcome),
            b.rating, status_words(b)]
