"""The county report as a printable PDF: A4 landscape, the hall report's CJK font, a short summary and the
tables per level, site and service. Windows and people are in the XLSX: on paper they would be dozens of pages
nobody files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table

from hall_bus.county.report import CountyFigures, Tally
from hall_bus.county.report_layout import PDF_COLUMNS, Column, breakdowns, summary_lines
from hall_bus.reports.pdf import FONT, _grid, _styles, register_font

PAGE = landscape(A4)
MARGIN = 12 * mm
WIDTH = PAGE[0] - 2 * MARGIN


def pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def shown(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return pct(value)
    if kind == "num":
        return f"{value:.1f}"
    return str(value)


def footer(left: str) -> Callable[[Any, Any], None]:
    """The page footer both county PDFs print: what the document is, and the page number."""

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(MARGIN, 7 * mm, left)
        canvas.drawRightString(PAGE[0] - MARGIN, 7 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    return on_page


def document(path: Path, title: str, subject: str) -> SimpleDocTemplate:
    register_font()
    return SimpleDocTemplate(str(path), pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                             bottomMargin=14 * mm, title=title, subject=subject, creator="hallctl county")


def _table(keys: tuple[str, ...], rows: list[tuple[list[Any], Tally]], columns: tuple[Column, ...]) -> Table:
    style = ParagraphStyle("head", fontName=FONT, fontSize=6, leading=7, wordWrap="CJK")
    head = [Paragraph(title, style) for title in (*keys, *(title for title, _, _ in columns))]  # wrapped
    data: list[list[Any]] = [head]
    for key, t in rows:
        data.append([*(str(k) for k in key), *(shown(getattr(t, attr), kind) for _, attr, kind in columns)])
    key_w = min(34 * mm, (WIDTH * 0.36) / len(keys))
    rest = (WIDTH - key_w * len(keys)) / len(columns)
    table = _grid(data, [key_w] * len(keys) + [rest] * len(columns), font_size=6.8, align_from=len(keys))
    return table


def write_report_pdf(path: Path, fig: CountyFigures, county_name: str, made: str) -> None:
    st = _styles()
    title = f"{county_name} 县域帮办代办 汇总报表"
    doc = document(path, title, "县域汇总报表")
    story: list[Any] = [Paragraph(title, st["title"]),
                        Paragraph(f"统计期间 {fig.start} 至 {fig.end}　生成 {made}", st["body"])]
    story += [Paragraph(line, st["body"]) for line in summary_lines(fig, county_name, pct)]
    sections = [b for b in breakdowns(fig) if b.title in ("按层级", "按站点", "按事项类别")]
    for number, part in zip("一二三", sections, strict=True):
        story.append(Paragraph(f"{number}、{part.title}", st["h1"]))
        columns = PDF_COLUMNS if part.hold else tuple(c for c in PDF_COLUMNS if not c[1].startswith("hold"))
        if part.title == "按站点":  # the parent's code says enough on paper: keep the name column wide
            rows = [([k[0], k[1], k[2]], t) for k, t in part.rows]
            story.append(_table(part.keys[:3], rows, columns) if rows else Paragraph("无数据", st["body"]))
        else:
            story.append(_table(part.keys, part.rows, columns) if part.rows else Paragraph("无数据", st["body"]))
    story.append(Paragraph("按窗口、按人员的统计见同期 XLSX 报表。本报表只含统计数字与站点、事项、"
                           "工作人员（花名册）名称，不含群众个人信息。", st["small"]))
    doc.build(story, onFirstPage=footer(f"{county_name} · 县域汇总报表"),
              onLaterPages=footer(f"{county_name} · 县域汇总报表"))
