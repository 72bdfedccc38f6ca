"""The 上门服务路线单: one helper's day on A4 paper, in the order the homes are driven to.

It is read in a car and at a doorway, so each home is one block that never breaks across pages, the times
come first, and the address is large. Privacy follows the hall's paper rule — the visitor's name and phone
are masked (张**, 138****5678) and ID numbers never appear — with one deliberate exception: the address is
printed whole, because finding the house is what this sheet is for. The sheet is handed back after the day.
Rendering only: every time, total and clash comes from route.plan_day.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape  # visitors' words are text, never reportlab markup

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from devices.privacy import mask_name, mask_names, mask_phone, mask_text
from hall_bus.homevisit.route import RouteDay, RouteRow, hhmm
from hall_bus.reports.pdf import register_font

PAGE_W, PAGE_H = A4
MARGIN = 14 * mm
WIDTH = PAGE_W - 2 * MARGIN
LABEL_W = 17 * mm
WEEKDAYS = "一二三四五六日"
HEAD_BG = colors.HexColor("#DDEBF7")
RULE = colors.HexColor("#9BA9C0")
ALERT = colors.HexColor("#C62828")
ALERT_BG = colors.HexColor("#FFF4E5")
ALERT_EDGE = colors.HexColor("#EF6C00")
BOX_SIZE = 17  # points: the font draws □ small, a box to tick needs more
BOX = "□"  # U+25A1: the hall's CJK font has it; U+2610 ☐ would print as a blank


def day_words(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日 星期{WEEKDAYS[day.weekday()]}"


def visitor_words(row: RouteRow) -> str:
    """Masked as on every other paper of the hall; the helper confirms who the visitor is at the door."""
    phone = re.sub(r"[\s-]", "", row.stop.phone)
    return "　".join(p for p in (mask_name(row.stop.visitor_name), mask_phone(phone) if phone else "") if p)


def _clean(text: str, row: RouteRow) -> str:
    """Free text a helper typed (a note, a need) may hold the visitor's name or a number; those are masked.
    Addresses in it are not: directions to the house are the point of the sheet."""
    return mask_names(mask_text(text), [row.stop.visitor_name])


def _day_span(day: RouteDay) -> str:
    if day.leave_at is None or day.back_at is None:
        return f"{len(day.rows)} 户"
    return f"{len(day.rows)} 户 · {hhmm(day.leave_at)} 出发 · 约 {hhmm(day.back_at)} 回到大厅"


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=14, wordWrap="CJK")
    return {
        "body": base,
        "label": ParagraphStyle("label", parent=base, fontSize=9.5, textColor=colors.HexColor("#555555")),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11, textColor=colors.HexColor("#555555")),
        "title": ParagraphStyle("title", parent=base, fontSize=20, leading=26, alignment=TA_CENTER,
                                spaceAfter=3 * mm),
        "head": ParagraphStyle("head", parent=base, fontSize=12, leading=16, textColor=colors.HexColor("#1F3864")),
        "time": ParagraphStyle("time", parent=base, fontSize=13, leading=18),
        "address": ParagraphStyle("address", parent=base, fontSize=15, leading=20),
        "needs": ParagraphStyle("needs", parent=base, textColor=ALERT),
        "alert": ParagraphStyle("alert", parent=base, fontSize=10, leading=14, textColor=ALERT),
        "check": ParagraphStyle("check", parent=base, leading=BOX_SIZE),
        "sign": ParagraphStyle("sign", parent=base, fontSize=11, leading=15),
    }


def _time_line(row: RouteRow) -> str:
    s = "　→　"
    line = f"出发 {hhmm(row.leave_at)}{s}到达 {hhmm(row.arrive_at)}{s}预计结束 {hhmm(row.end_at)}"
    if row.back_at is not None:
        line += f"{s}回到大厅约 {hhmm(row.back_at)}"
    return line


def _road_words(row: RouteRow, day: RouteDay) -> str:
    start = f"从{day.hall_name}" if row.number == 1 else f"从第{row.number - 1}户"
    words = f"{start}出发，路上约 {row.stop.travel_minutes} 分钟；在群众家约 {row.stop.minutes} 分钟"
    if row.back_at is not None:
        words += f"；最后一户，回大厅路上约 {row.back_minutes} 分钟"
    return words


def _checklist(items: list[str], st: dict[str, ParagraphStyle], columns: int = 3) -> Table:
    """Boxes in columns, so they line up for ticking off at the door; a long list wraps into more rows."""
    cells = [Paragraph(f'<sub rise="2" size="{BOX_SIZE}">{BOX}</sub> {escape(item)}', st["check"]) for item in items]
    cells += [""] * (-len(cells) % columns)
    grid = [cells[i:i + columns] for i in range(0, len(cells), columns)]
    table = Table(grid, colWidths=[(WIDTH - LABEL_W - 12) / columns] * columns)
    table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _block(row: RouteRow, day: RouteDay, st: dict[str, ParagraphStyle]) -> KeepTogether:
    s = row.stop

    def p(text: str, style: str = "body") -> Paragraph:
        return Paragraph(escape(text), st[style])

    address = s.address if not s.village or s.village in s.address else f"{s.address}（{s.village}）"
    item = s.item_name if not s.service or s.service in s.item_name else f"{s.item_name}（{s.service}）"
    sign = "到达时间 __________　　　离开时间 __________　　　群众签字 ________________________"
    rows: list[list[Any]] = [
        [Paragraph(f"第 {row.number} 户　<font size=10>{escape(s.code)}</font>", st["head"]), ""],
        [Paragraph(escape(_time_line(row)), st["time"]), ""],
        [p(_road_words(row, day), "small"), ""],
        [p("事项", "label"), p(item)],
        [p("地址", "label"), p(mask_text(address), "address")],
        [p("群众", "label"), p(visitor_words(row) or "-")],
        [p("需要", "label"), p("、".join(_clean(n, row) for n in s.needs), "needs") if s.needs else p("无")],
        [p("同行", "label"), p("、".join(row.companions) if row.companions else "无（独自上门）")],
        [p("带上", "label"), _checklist([_clean(m, row) for m in s.materials], st) if s.materials else p("无")],
    ]
    boxes = len(rows) - 1  # its label moved down to the line of the boxes, which are taller than the text
    if s.note:
        rows.append([p("备注", "label"), p(_clean(s.note, row))])
    rows += [[p("注意", "label"), p("▲ " + w, "alert")] for w in row.warnings]
    rows.append([p(sign, "sign"), ""])
    last = len(rows) - 1
    table = Table(rows, colWidths=[LABEL_W, WIDTH - LABEL_W])
    table.setStyle(TableStyle([
        ("SPAN", (0, 0), (-1, 0)), ("SPAN", (0, 1), (-1, 1)), ("SPAN", (0, 2), (-1, 2)),
        ("SPAN", (0, last), (-1, last)),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("BOX", (0, 0), (-1, -1), 0.8, RULE),
        ("LINEBELOW", (0, 2), (-1, 2), 0.4, RULE),
        ("LINEABOVE", (0, last), (-1, last), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, last), (-1, last), 7),  # room to write by hand
        ("BOTTOMPADDING", (0, last), (-1, last), 6),
    ]))
    if s.materials:
        table.setStyle(TableStyle([("TOPPADDING", (0, boxes), (0, boxes), 2 + BOX_SIZE - 11)]))
    return KeepTogether([table, Spacer(1, 4 * mm)])


def _totals(day: RouteDay, st: dict[str, ParagraphStyle]) -> KeepTogether:
    back = day.rows[-1].back_minutes if day.rows else 0
    words = [f"合计：{len(day.rows)} 户，在群众家约 {day.visit_minutes} 分钟，路上约 {day.road_minutes} 分钟"
             f"（含回大厅 {back} 分钟）。"]
    if day.leave_at is not None and day.back_at is not None:
        words.append(f"{hhmm(day.leave_at)} 从{day.hall_name}出发，约 {hhmm(day.back_at)} 回到大厅。")
    cells: list[list[Any]] = [[Paragraph(escape("".join(words)), st["body"])]]
    if day.warnings:
        cells.append([Paragraph(f"时间冲突 {len(day.warnings)} 处，出发前请与群众或带班负责人调整：", st["alert"])])
        cells += [[Paragraph(escape("▲ " + w), st["alert"])] for w in day.warnings]
    else:
        cells.append([Paragraph("没有时间冲突。", st["body"])])
    box = Table(cells, colWidths=[WIDTH])
    box.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, -1), ALERT_BG if day.warnings else HEAD_BG),
        ("BOX", (0, 0), (-1, -1), 1.2, ALERT_EDGE if day.warnings else RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
    ]))
    return KeepTogether([box])


def write_route_sheet(day: RouteDay, path: Path) -> None:
    """Write the sheet to `path` (the caller picks one file per helper and day)."""
    font = register_font()
    st = _styles(font)

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(MARGIN, 9 * mm, f"{day.hall_name} · 上门服务路线单 · {day.helper} · {day_words(day.day)}"
                                          " · 姓名电话已脱敏，地址为上门所需，用后交回")
        canvas.drawRightString(PAGE_W - MARGIN, 9 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=16 * mm, title="上门服务路线单", author=day.hall_name,
                            subject=f"{day.helper} {day.day.isoformat()}", creator="hallctl homevisit")
    head = Table([
        [Paragraph("大厅", st["label"]), Paragraph(escape(day.hall_name), st["body"]),
         Paragraph("日期", st["label"]), Paragraph(day_words(day.day), st["body"])],
        [Paragraph("帮办员", st["label"]), Paragraph(escape(day.helper), st["body"]),
         Paragraph("户数", st["label"]), Paragraph(escape(_day_span(day)), st["body"])],
    ], colWidths=[LABEL_W, WIDTH / 2 - LABEL_W, LABEL_W, WIDTH / 2 - LABEL_W])
    head.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, RULE), ("BACKGROUND", (0, 0), (0, -1), HEAD_BG),
                              ("BACKGROUND", (2, 0), (2, -1), HEAD_BG), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story: list[Any] = [Paragraph("上门服务路线单", st["title"]), head, Spacer(1, 2 * mm)]
    if day.warnings:  # said before the first block too: a clash has to be fixed before leaving, not found at the end
        story.append(Paragraph(f"▲ 当天有 {len(day.warnings)} 处时间冲突，见各户“注意”和末尾合计。", st["alert"]))
    story.append(Spacer(1, 3 * mm))
    if not day.rows:
        story.append(Paragraph("这一天没有安排上门服务。", st["body"]))
    story += [_block(row, day, st) for row in day.rows]
    story.append(_totals(day, st))
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
