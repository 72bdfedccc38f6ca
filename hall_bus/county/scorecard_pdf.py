"""The 考核通报 as a PDF: the weights and the rule first, then each ranking with last quarter beside it, the top
and the bottom marked in colour as well as in words (a grey photocopy keeps the words)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, TableStyle

from hall_bus.county.report_pdf import WIDTH, document, footer
from hall_bus.county.scorecard import NO_DATA, RULE_TEXT, Ranking, Score, ScorecardResult, weights_line
from hall_bus.county.words import WEIGHT_NAMES
from hall_bus.reports.pdf import FONT, _grid, _styles

TOP_BG = colors.HexColor("#E2F0D9")
BOTTOM_BG = colors.HexColor("#FBE5D6")
NUMBERS = "一二三四五六七八九十"
PDF_LIMIT = 60


def _v(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.2f}"


def shown_scores(r: Ranking) -> tuple[list[Score], int]:
    """The scores the PDF prints, and how many it leaves out: a ranking longer than PDF_LIMIT (a county's
    windows run to the thousands) keeps its top and bottom halves of the limit, which is what a 通报 is read
    for; the XLSX has every unit."""
    ranked = [s for s in r.scores if s.rank is not None]
    if len(ranked) <= PDF_LIMIT:
        return r.scores, 0
    half = PDF_LIMIT // 2
    return ranked[:half] + ranked[-half:], len(r.scores) - 2 * half


def ranking_rows(r: Ranking, scores: list[Score]) -> list[list[Any]]:
    """The table's rows, header first: what the PDF prints (the XLSX writes the numbers themselves)."""
    head = ["排名", r.unit, r.where, *(WEIGHT_NAMES[c] for c in r.applicable), "总分", "上季度得分", "上季度排名",
            "名次变化", "标注"]
    rows: list[list[Any]] = [head]
    for s in scores:
        rows.append([str(s.rank) if s.rank is not None else "-", s.label, s.where,
                     *(_v(s.components[c]) for c in r.applicable), _v(s.total),
                     "-" if s.prev_total is None else f"{s.prev_total:.2f}",
                     "-" if s.prev_rank is None else str(s.prev_rank), s.change, s.mark])
    return rows


def _table(r: Ranking, scores: list[Score]) -> Any:
    rows = ranking_rows(r, scores)
    head_style = ParagraphStyle("head", fontName=FONT, fontSize=7, leading=8.5, wordWrap="CJK")
    rows[0] = [Paragraph(h, head_style) for h in rows[0]]
    n = len(rows[0])
    label_w, where_w, rank_w = 52 * mm, 44 * mm, 12 * mm
    rest = (WIDTH - label_w - where_w - rank_w) / (n - 3)
    table = _grid(rows, [rank_w, label_w, where_w] + [rest] * (n - 3), font_size=7.5, align_from=3)
    marks = [("BACKGROUND", (0, i), (-1, i), TOP_BG if s.mark == "前列" else BOTTOM_BG)
             for i, s in enumerate(scores, 1) if s.mark]
    if marks:
        table.setStyle(TableStyle(marks))
    return table


def write_scorecard_pdf(path: Path, result: ScorecardResult, made: str) -> None:
    st = _styles()
    q = result.quarter
    title = f"{result.county_name} {q.words} 帮办代办工作考核通报"
    doc = document(path, title, "季度考核通报")
    story: list[Any] = [
        Paragraph(title, st["title"]),
        Paragraph(f"考核期间 {q.start} 至 {q.end}（上季度 {q.previous.start} 至 {q.previous.end}）　生成 {made}",
                  st["body"]),
        Paragraph(f"权重：{weights_line(result.weights)}。", st["body"]),
        Paragraph(RULE_TEXT, st["small"]),
    ]
    for number, r in zip(NUMBERS, result.rankings, strict=False):
        ranked = sum(s.rank is not None for s in r.scores)
        story.append(Paragraph(f"{number}、{r.title}排名（参评 {ranked} 个，共 {len(r.scores)} 个）", st["h1"]))
        scores, left_out = shown_scores(r)
        if scores:
            story.append(_table(r, scores))
            if left_out:
                story.append(Paragraph(f"中间及无数据的 {left_out} 个从略，只列前 {PDF_LIMIT // 2} 名与后 "
                                       f"{PDF_LIMIT // 2} 名；完整排名见同期 XLSX。", st["small"]))
        else:
            story.append(Paragraph(NO_DATA, st["body"]))
    story.append(Paragraph("本通报只含统计得分与站点、窗口、工作人员（花名册）名称，不含群众个人信息。", st["small"]))
    left = f"{result.county_name} · {q.words}考核通报"
    doc.build(story, onFirstPage=footer(left), onLaterPages=footer(left))
