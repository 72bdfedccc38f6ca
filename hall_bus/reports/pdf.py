"""The printable report: A4, in Chinese, with a CJK font embedded, the kind filed for the quarterly review.

Paper is for reading, not for filtering, so the PDF has the summaries, the charts, the follow-ups and
consultations that need a decision, and the cases worth a look (late, refused, rated badly, escalated) — not
every case; the XLSX has every case. Charts are reportlab's vector drawings, so they print sharp at any size.
WenQuanYi Micro Hei (fonts-wqy-microhei, a system package the project installs) is embedded as a subset.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape  # visitors' words are text, never reportlab markup

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from hall_bus.domain.commands import RATING_LEVELS
from hall_bus.errors import UserError
from hall_bus.reports.cases import Consultation, FollowUp
from hall_bus.reports.labels import Labels
from hall_bus.reports.summary import (
    ATTENTION_LIMIT,
    Summary,
    Tally,
    consultation_is_overdue,
    extended_figures,
    followup_is_open,
    followup_is_overdue,
)

FONT = "HallSans"
FONT_FILES = (  # (path, index in a collection)
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # the SC face
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
)
RATING_COLOURS = ("#2E7D32", "#66BB6A", "#FFCA28", "#EF6C00", "#C62828")
BLUE = colors.HexColor("#4472C4")
HEAD_BG = colors.HexColor("#DDEBF7")
PAGE_W, PAGE_H = A4
MARGIN = 14 * mm
WIDTH = PAGE_W - 2 * MARGIN
EXTENDED_NOTE = "延时/错时服务：在延时或错时时段取号或叫号并办结的窗口服务，及在其间受理的办件。"


def register_font() -> str:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    for path, index in FONT_FILES:
        if Path(path).is_file():
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=index))
            pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT, italic=FONT, boldItalic=FONT)
            return FONT
    raise UserError("no Chinese font for the PDF: install the Debian package fonts-wqy-microhei")


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=13, wordWrap="CJK")
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=10),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5),
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=24, alignment=TA_CENTER,
                                spaceAfter=4 * mm),
        "h1": ParagraphStyle("h1", parent=base, fontSize=13, leading=18, spaceBefore=4 * mm, spaceAfter=2 * mm,
                             textColor=colors.HexColor("#1F3864")),
        "h2": ParagraphStyle("h2", parent=base, fontSize=10.5, leading=14, spaceBefore=2 * mm, spaceAfter=1 * mm),
    }


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def _m(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def _two_a_row(pairs: list[tuple[str, Any]]) -> list[list[Any]]:
    """(label, value) pairs laid two to a row, as the summary's figure grids are."""
    grid = []
    for i in range(0, len(pairs), 2):
        row: list[Any] = []
        for label, value in pairs[i:i + 2]:
            row += [label, value]
        grid.append(row + [""] * (4 - len(row)))
    return grid


def _grid(data: list[list[Any]], widths: list[float], *, font_size: float = 7.5, align_from: int = 1) -> Table:
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, font_size),
        ("LEADING", (0, 0), (-1, -1), font_size + 2),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#9BA9C0")),
        ("ALIGN", (align_from, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F5F8FC")]),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    return table


def _tally_table(first: str, items: list[tuple[str, Tally]], *, helpers: bool = False) -> Table:
    head = [first, "件数", "办结", "过号", "未办结", "等候p50", "p90", "限时内率", "评价", "满意率", "差评",
            "回访未结", "咨询逾期"]
    if helpers:
        head[-2:-2] = ["认领p50", "转交"]
    rows: list[list[Any]] = [head]
    for name, t in items:
        row = [name, t.cases, t.served, t.no_show, t.unfinished, _m(t.wait_min(50)), _m(t.wait_min(90)),
               _pct(t.on_time_rate), t.rated, _pct(t.satisfaction_rate), t.bad_ratings, t.followups_open,
               t.consultations_overdue]
        if helpers:
            row[-2:-2] = [_m(t.claim_min(50)), t.handovers]
        rows.append(row)
    first_w = 22 * mm
    rest = (WIDTH - first_w) / (len(head) - 1)
    table = _grid(rows, [first_w] + [rest] * (len(head) - 1), font_size=7 if helpers else 7.5)
    if helpers:  # fifteen columns: the titles need a smaller size than the figures to fit
        table.setStyle(TableStyle([("FONT", (0, 0), (-1, 0), FONT, 6.3)]))
    return table


# ---------------------------------------------------------------------- charts


def _title(d: Drawing, text: str) -> None:
    d.add(String(d.width / 2, d.height - 12, text, fontName=FONT, fontSize=10, textAnchor="middle"))


def _bar_axes(chart: Any) -> None:
    for axis in (chart.categoryAxis, chart.valueAxis):
        axis.labels.fontName = FONT
        axis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#DDDDDD")
    chart.valueAxis.valueMin = 0


def arrivals_chart(summary: Summary, w: float, h: float) -> Drawing:
    d = Drawing(w, h)
    _title(d, "分时段取号 arrivals by hour")
    hours = [i for i, n in enumerate(summary.arrivals_by_hour) if n] or [9, 17]
    span = list(range(min(hours), max(hours) + 1))
    c = VerticalBarChart()
    c.x, c.y, c.width, c.height = 30, 22, w - 40, h - 45
    c.data = [[summary.arrivals_by_hour[i] for i in span]]
    c.categoryAxis.categoryNames = [f"{i}时" for i in span]
    c.bars[0].fillColor = BLUE
    c.bars[0].strokeColor = None
    _bar_axes(c)
    c.valueAxis.valueMax = _nice_max(c.data[0])
    d.add(c)
    return d


def waits_chart(summary: Summary, labels: Labels, w: float, h: float) -> Drawing:
    d = Drawing(w, h)
    _title(d, "各帮办分组等候(分钟) wait by group")
    order = {code: i for i, code in enumerate(labels.group_order)}
    groups = sorted(summary.group.items(), key=lambda kv: order.get(kv[0], 99))
    c = VerticalBarChart()
    c.x, c.y, c.width, c.height = 30, 30, w - 40, h - 58
    c.data = [[t.wait_min(50) or 0 for _, t in groups] or [0], [t.wait_min(90) or 0 for _, t in groups] or [0]]
    c.categoryAxis.categoryNames = [labels.group(g) for g, _ in groups] or ["-"]
    for i, colour in enumerate(("#70AD47", "#ED7D31")):
        c.bars[i].fillColor = colors.HexColor(colour)
        c.bars[i].strokeColor = None
    _bar_axes(c)
    c.valueAxis.valueMax = _nice_max(c.data[1])
    d.add(c)
    legend = Legend()
    legend.x, legend.y = w - 95, h - 22
    legend.fontName, legend.fontSize = FONT, 7
    legend.columnMaximum = 1
    legend.alignment = "right"
    legend.colorNamePairs = [(colors.HexColor("#70AD47"), "p50"), (colors.HexColor("#ED7D31"), "p90")]
    legend.deltax = 40
    d.add(legend)
    return d


def on_time_chart(summary: Summary, labels: Labels, w: float, h: float) -> Drawing:
    d = Drawing(w, h)
    _title(d, "各事项限时内办完率 served within the promised wait")
    order = {name: i for i, name in enumerate(labels.service_order)}
    services = sorted(summary.service.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
    services = [(s, t) for s, t in services if t.on_time_rate is not None] or [("-", Tally())]
    c = HorizontalBarChart()
    c.x, c.y, c.width, c.height = 62, 14, w - 80, h - 36
    c.data = [[round((t.on_time_rate or 0) * 100, 1) for _, t in reversed(services)]]
    c.categoryAxis.categoryNames = [s for s, _ in reversed(services)]
    c.bars[0].fillColor = colors.HexColor("#5B9BD5")
    c.bars[0].strokeColor = None
    _bar_axes(c)
    c.valueAxis.valueMax = 100
    c.valueAxis.valueStep = 20
    c.valueAxis.labelTextFormat = "%d%%"
    c.barLabelFormat = "%.0f%%"
    c.barLabels.fontName = FONT
    c.barLabels.fontSize = 6.5
    c.barLabels.boxAnchor = "w"
    c.barLabels.dx = 2
    d.add(c)
    return d


def ratings_chart(summary: Summary, w: float, h: float) -> Drawing:
    d = Drawing(w, h)
    _title(d, "评价 ratings")
    counts = [summary.total.ratings.get(level, 0) for level in RATING_LEVELS]
    rated = sum(counts)
    pie = Pie()
    size = min(w * 0.5, h - 40)
    pie.x, pie.y, pie.width, pie.height = 16, (h - 20 - size) / 2, size, size
    pie.data = counts if rated else [1]
    pie.labels = None
    pie.slices.strokeColor = colors.white
    pie.slices.strokeWidth = 0.5
    for i, colour in enumerate(RATING_COLOURS if rated else ("#DDDDDD",)):
        pie.slices[i].fillColor = colors.HexColor(colour)
    d.add(pie)
    legend = Legend()
    legend.x, legend.y = 30 + size, h / 2 + 30
    legend.fontName, legend.fontSize = FONT, 7.5
    legend.alignment = "right"
    legend.columnMaximum = 5
    legend.colorNamePairs = [(colors.HexColor(col), f"{lvl}  {n}（{n * 100 / rated:.1f}%）" if rated else lvl)
                             for col, lvl, n in zip(RATING_COLOURS, RATING_LEVELS, counts, strict=True)]
    d.add(legend)
    return d


def period_chart(summary: Summary, w: float, h: float) -> Drawing:
    d = Drawing(w, h)
    _title(d, "各期间限时内办完率与满意率(%) within the promised wait, satisfied")
    periods = summary.periods()
    c = VerticalBarChart()
    c.x, c.y, c.width, c.height = 34, 30, w - 44, h - 64
    c.data = [[round((t.on_time_rate or 0) * 100, 1) for _, t in periods] or [0],
              [round((t.satisfaction_rate or 0) * 100, 1) for _, t in periods] or [0]]
    names = [p[5:] if summary.by != "month" else p for p, _ in periods] or ["-"]
    c.categoryAxis.categoryNames = names
    c.categoryAxis.labels.angle = 45 if len(names) > 12 else 0
    c.categoryAxis.labels.boxAnchor = "ne" if len(names) > 12 else "n"
    for i, colour in enumerate(("#5B9BD5", "#70AD47")):
        c.bars[i].fillColor = colors.HexColor(colour)
        c.bars[i].strokeColor = None
    _bar_axes(c)
    c.valueAxis.valueMax = 100
    c.valueAxis.valueStep = 20
    c.categoryAxis.labels.fontSize = 6.5
    d.add(c)
    legend = Legend()
    legend.x, legend.y = w - 120, h - 20
    legend.fontName, legend.fontSize = FONT, 7
    legend.columnMaximum = 1
    legend.alignment = "right"
    legend.deltax = 55
    legend.colorNamePairs = [(colors.HexColor("#5B9BD5"), "限时内率"), (colors.HexColor("#70AD47"), "满意率")]
    d.add(legend)
    return d


def _nice_max(values: list[float]) -> float:
    """An axis top a little above the highest bar, on a round number, so no bar touches the frame."""
    top = max(values, default=0) * 1.08 or 1
    step = 10 ** math.floor(math.log10(top))
    for m in (1, 2, 2.5, 5, 10):
        if top <= m * step:
            return m * step
    return 10 * step


# ---------------------------------------------------------------------- the document


def write_pdf(path: Path, summary: Summary, labels: Labels, followups: list[FollowUp],
              consultations: list[Consultation], head: dict[str, str], as_of: datetime,
              casework: Any = None, records: Any = None, bookings: Any = None) -> None:
    register_font()
    st = _styles()
    title = head["title"]
    footer_note = "个人信息已脱敏" if labels.masked else "含未脱敏个人信息，妥善保管"

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(MARGIN, 9 * mm, f"{head['大厅 hall']} · 帮办代办台账 · {footer_note}")
        canvas.drawRightString(PAGE_W - MARGIN, 9 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=16 * mm, title=title, author=head["大厅 hall"], subject="帮办代办台账",
                            creator="hallctl report")
    story: list[Any] = [Paragraph(title, st["title"])]
    info = [[k.split(" ")[0], v] for k, v in head.items() if k != "title"]
    story.append(_grid(info, [40 * mm, WIDTH - 40 * mm], font_size=8.5, align_from=99))

    t = summary.total
    story.append(Paragraph("一、总体情况", st["h1"]))
    pairs = [
        ("件数", t.cases), ("办结", t.served), ("过号", t.no_show), ("未办结", t.unfinished),
        ("材料不全", t.materials_missing), ("不予受理", t.refused),
        ("等候 p50 / p90（分钟）", f"{_m(t.wait_min(50))} / {_m(t.wait_min(90))}"),
        ("限时内办完率（窗口）", f"{_pct(t.on_time_rate)}（{t.on_time}/{t.concluded}）"),
        ("评价数", t.rated), ("满意率", _pct(t.satisfaction_rate)), ("差评", t.bad_ratings),
        ("帮办认领 p50 / p90（分钟）", f"{_m(t.claim_min(50))} / {_m(t.claim_min(90))}"),
        ("回访 未结 / 逾期", f"{t.followups}：{t.followups_open} / {t.followups_overdue}"),
        ("咨询 / 逾期", f"{t.consultations} / {t.consultations_overdue}"),
        ("帮办升级", t.escalated), ("需关注案件", summary.attention_total),
    ]
    extended = extended_figures(summary.extended_served, casework.extended_accepted if casework is not None else {},
                                labels.extended_kinds)
    pairs += [(f"{name}（办结 / 受理办件）", f"{served} / {cases}") for _, name, served, cases in extended]
    kpi = _grid([["指标", "数值", "指标", "数值"], *_two_a_row(pairs)], [WIDTH * 0.3, WIDTH * 0.2] * 2, font_size=8.5,
                align_from=99)
    kpi.setStyle(TableStyle([("ALIGN", (1, 1), (1, -1), "RIGHT"), ("ALIGN", (3, 1), (3, -1), "RIGHT")]))
    story += [kpi, Spacer(1, 1.5 * mm)]
    story.append(Paragraph("限时内办完：已作出结论（办结或不予受理）的窗口服务在承诺的服务时长内完成（取号至办完）；材料不全未作结论，不计入。它不是办件的按时办结率（见“办件”一节）。"
                           "满意率：非常满意、满意、基本满意占评价数之比；差评：不满意与非常不满意。"
                           f"回访与咨询的状态截至 {head['回访与咨询状态截至 status as of']}。"
                           + (EXTENDED_NOTE if extended else ""), st["small"]))
    if bookings is not None:  # 预约 and 上门服务 (reports/bookings.py): part of the overall picture
        story += bookings_section(bookings.figures, st)

    story.append(Paragraph("二、图表", st["h1"]))
    half = WIDTH / 2 - 2 * mm
    charts = Table([[arrivals_chart(summary, half, 58 * mm), waits_chart(summary, labels, half, 58 * mm)],
                    [on_time_chart(summary, labels, half, 62 * mm), ratings_chart(summary, half, 62 * mm)]],
                   colWidths=[half + 2 * mm] * 2)
    charts.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story.append(charts)
    if len(summary.periods()) > 1:
        story.append(period_chart(summary, WIDTH, 55 * mm))

    story.append(Paragraph("三、分项统计", st["h1"]))
    order = {name: i for i, name in enumerate(labels.service_order)}
    services = sorted(summary.service.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
    gorder = {code: i for i, code in enumerate(labels.group_order)}
    groups = sorted(summary.group.items(), key=lambda kv: gorder.get(kv[0], 99))
    sections = [
        ("按事项", _tally_table("事项", services), len(services)),
        ("按帮办分组", _tally_table("分组", [(labels.group(k), v) for k, v in groups], helpers=True), len(groups)),
        ("按窗口", _tally_table("窗口", [(labels.window(k), v) for k, v in sorted(summary.window.items())]),
         len(summary.window)),
        ("按帮办员", _tally_table("帮办员", sorted(summary.helper.items()), helpers=True), len(summary.helper)),
        ({"day": "按日", "week": "按周（周一）", "month": "按月"}[summary.by],
         _tally_table("期间", summary.periods()), len(summary.periods())),
    ]
    for name, table, rows in sections:
        if rows < 30:
            story.append(KeepTogether([Paragraph(name, st["h2"]), table]))
        else:  # a long table breaks across pages; its header row repeats
            story += [Paragraph(name, st["h2"]), table]
    story.append(Paragraph("等候：取号（或预约时间）至首次叫号，分钟；认领：帮办请求至帮办员认领，分钟。", st["small"]))

    story.append(Paragraph("四、回访与咨询", st["h1"]))
    open_fus = [f for f in followups if followup_is_open(f)]
    fu_rows: list[list[Any]] = [["编号", "日期", "号码", "事项", "评价", "负责人", "期限", "状态", "意见"]]
    for f in open_fus[:ATTENTION_LIMIT]:
        status = "未结" + ("(逾期)" if followup_is_overdue(f, as_of) else "")
        fu_rows.append([f.id, f.day[5:], f.number, f.service, f.level, f.owner or "-", f.due[5:10] or "-", status,
                        Paragraph(escape(labels.text(f.comment, f.names) or ""), st["cell"])])
    heading = f"回访（差评 {len(followups)} 件，未结 {len(open_fus)} 件；下表为未结的"
    if len(open_fus) > ATTENTION_LIMIT:
        heading += f"前 {ATTENTION_LIMIT} 件，全部见 XLSX"
    story.append(Paragraph(heading + "）", st["h2"]))
    if len(fu_rows) > 1:
        story.append(_grid(fu_rows, [20 * mm, 13 * mm, 13 * mm, 18 * mm, 17 * mm, 20 * mm, 13 * mm, 17 * mm,
                                     WIDTH - 131 * mm], align_from=99))
    else:
        story.append(Paragraph("没有未结的回访。", st["body"]))
    late = [q for q in consultations if consultation_is_overdue(q, as_of)]
    heading = f"咨询（登记 {len(consultations)} 件，逾期 {len(late)} 件；下表为逾期的"
    if len(late) > ATTENTION_LIMIT:
        heading += f"前 {ATTENTION_LIMIT} 件，全部见 XLSX"
    story.append(Paragraph(heading + "）", st["h2"]))
    if late:
        q_rows: list[list[Any]] = [["编号", "日期", "帮办员", "姓名", "事项", "期限", "状态", "问题"]]
        for q in late[:ATTENTION_LIMIT]:
            status = "已答复(迟)" if q.answered else "已转办" if q.referred_to else "未答复"
            q_rows.append([q.id, q.day[5:], q.helper, labels.name(q.name), q.service or "-", q.due[5:16].replace(
                "T", " ") or "-", status, Paragraph(escape(labels.text(q.question, q.names)), st["cell"])])
        story.append(_grid(q_rows, [18 * mm, 12 * mm, 18 * mm, 13 * mm, 18 * mm, 22 * mm, 17 * mm,
                                    WIDTH - 118 * mm], align_from=99))
    else:
        story.append(Paragraph("没有逾期的咨询。", st["body"]))

    story.append(Paragraph("五、需关注的案件", st["h1"]))
    shown = len(summary.attention)
    note = f"超出服务时长、不予受理、差评或帮办升级的案件共 {summary.attention_total} 件"
    if summary.attention_total > shown:
        note += f"，下表列出前 {ATTENTION_LIMIT} 件，全部见 XLSX 台账"
    story.append(Paragraph(note + "。", st["body"]))
    if shown:
        a_rows: list[list[Any]] = [["日期", "号码", "事项", "分组", "帮办员", "窗口", "等候", "结果", "限时内", "评价",
                                    "备注"]]
        for c in summary.attention:
            r = labels.case_row(c)
            a_rows.append([c.day[5:], c.number, c.service, labels.group(c.group),
                           Paragraph(escape(r[4] or "-"), st["cell"]), r[6] or "-", _m(r[11]), r[12], r[14] or "-",
                           r[15] or "-", Paragraph(escape(r[17]), st["cell"])])
        story.append(_grid(a_rows, [11 * mm, 11 * mm, 16 * mm, 13 * mm, 22 * mm, 10 * mm, 10 * mm, 17 * mm,
                                    9 * mm, 17 * mm, WIDTH - 136 * mm], align_from=99))
    if casework is not None:  # 办件: 按时办结率 and the overdue list (reports/casework.py)
        from hall_bus.reports.casework import pdf_section

        story += pdf_section(casework, labels.tz, labels.name, st, _grid, WIDTH, ATTENTION_LIMIT)
    if records is not None:  # 投诉 and the records without a ticket, as the XLSX sheets hold them
        story += complaints_section(records, consultations, as_of, labels, st)
        story += records_section(records, labels, st)
    story.append(Spacer(1, 6 * mm))
    story.append(Paragraph("督办员签字：____________________　　日期：____________", st["body"]))
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)


# ---------------------------------------------------------------------- 投诉 and records (records.py)


def complaints_section(records: Any, consultations: list[Consultation], as_of: datetime, labels: Labels,
                       st: dict[str, ParagraphStyle]) -> list[Any]:
    """投诉: the figures of the 投诉统计 sheet (received, closed, on time, open, overdue, 及时处理率) by channel and
    subject, and the complaints still open or late — what the supervisor signs under must show what is owed."""
    from hall_bus.domain.commands import CHANNEL_NAMES
    from hall_bus.reports.records import ComplaintTally, complaint_figures, complaint_is_overdue, timely_rate
    from hall_bus.reports.records_xlsx import _subject

    fig = complaint_figures(records.complaints.values(), as_of)
    t = fig.total
    out: list[Any] = [Paragraph("投诉", st["h1"]), Paragraph(
        f"收到投诉 {t.received} 件，已办结 {t.closed} 件（按时 {t.on_time}），未结 {t.open} 件，逾期 {t.overdue} 件；"
        f"投诉及时处理率 {_pct(t.rate)}，咨询、投诉及时处理率 {_pct(timely_rate(consultations, t, as_of))}。"
        "及时处理：在答复期限内办结；未到期的未结投诉不计入。", st["body"])]
    if not t.received:
        return out
    head = ["", "收到", "已办结", "按时办结", "未结", "逾期", "及时处理率"]

    def row(name: str, x: ComplaintTally) -> list[Any]:
        return [name, x.received, x.closed, x.on_time, x.open, x.overdue, _pct(x.rate)]

    by_channel = [row(CHANNEL_NAMES[c], fig.channel[c]) for c in CHANNEL_NAMES if c in fig.channel]
    out.append(_grid([["渠道", *head[1:]], *by_channel], [WIDTH - 96 * mm] + [16 * mm] * 6))
    subjects = sorted(fig.subject.items(), key=lambda kv: (-kv[1].received, kv[0]))[:ATTENTION_LIMIT]
    out.append(Spacer(1, 2 * mm))
    out.append(_grid([["对象", *head[1:]], *(row(_subject(k, s), x) for (k, s), x in subjects)],
                     [WIDTH - 96 * mm] + [16 * mm] * 6))
    owed = [q for q in sorted(records.complaints.values(), key=lambda q: q.id)
            if not q.closed or complaint_is_overdue(q, as_of)]
    if owed:
        out.append(Paragraph(f"未结或逾期的投诉（{len(owed)} 件）", st["h2"]))
        rows: list[list[Any]] = [["编号", "收到", "渠道", "对象", "内容", "承办人", "期限", "状态"]]
        for q in owed[:ATTENTION_LIMIT]:
            status = "已办结(逾期)" if q.closed else "已整改" if q.done else "整改中" if q.owner else "待分派"
            rows.append([q.id, q.received[5:16].replace("T", " "), CHANNEL_NAMES.get(q.channel, q.channel),
                         _subject(q.subject_kind, q.subject), Paragraph(escape(labels.text(q.text, q.names)),
                                                                        st["cell"]),
                         q.owner or "-", q.due[5:16].replace("T", " "), status])
        out.append(_grid(rows, [20 * mm, 20 * mm, 16 * mm, 18 * mm, WIDTH - 136 * mm, 16 * mm, 20 * mm, 16 * mm],
                         align_from=99))
    return out


def records_section(records: Any, labels: Labels, st: dict[str, ParagraphStyle]) -> list[Any]:
    """一次性告知 and 委托代办协议, with and without a ticket: a greeter's tablet records them with no ticket, and
    they count in the 台账 all the same (the XLSX sheets list every one)."""
    from hall_bus.reports.records_xlsx import DELEGATION_STATUS

    notices = list(records.notices.values())
    delegations = list(records.delegations.values())
    out: list[Any] = [Paragraph("告知与代办记录", st["h1"])]
    rows: list[list[Any]] = [["记录", "合计", "有票号", "无票号（平板登记）"]]
    rows.append(["一次性告知", len(notices), sum(1 for n in notices if n.ticket),
                 sum(1 for n in notices if not n.ticket)])
    rows.append(["委托代办协议", len(delegations), sum(1 for d in delegations if d.ticket),
                 sum(1 for d in delegations if not d.ticket)])
    for status, name in DELEGATION_STATUS.items():
        rows.append([f"　代办协议·{name}", sum(1 for d in delegations if d.status == status), "", ""])
    out.append(_grid(rows, [WIDTH - 90 * mm, 25 * mm, 25 * mm, 40 * mm]))
    tabled = sorted((d for d in delegations if not d.ticket), key=lambda d: d.id)
    if tabled:
        out.append(Paragraph(f"无票号的代办协议（{len(tabled)} 件）", st["h2"]))
        d_rows: list[list[Any]] = [["编号", "签订", "代办员", "委托人", "事项", "页数", "状态"]]
        for d in tabled[:ATTENTION_LIMIT]:
            d_rows.append([d.id, d.signed[5:16].replace("T", " "), d.helper, labels.name(d.principal),
                           "、".join(d.services), d.pages, DELEGATION_STATUS.get(d.status, d.status)])
        out.append(_grid(d_rows, [20 * mm, 22 * mm, 20 * mm, 18 * mm, WIDTH - 118 * mm, 12 * mm, 26 * mm],
                         align_from=99))
    return out


# ---------------------------------------------------------------------- 预约 and 上门服务 (bookings.py)


def bookings_section(f: Any, st: dict[str, ParagraphStyle]) -> list[Any]:
    """The XLSX overview's 预约 figures and ratings by channel, as two small tables under 总体情况: a supervisor
    signing the paper sees the no-shows and how each channel rates the hall beside the window figures."""
    from hall_bus.reports.bookings import summary_pairs

    def shown(value: Any, fmt: str) -> Any:
        if fmt == "pct":
            return _pct(value)
        if fmt == "num":
            return _m(value)
        return value

    pairs = [(label, shown(v, fmt)) for label, _, v, fmt in summary_pairs(f)]
    table = _grid([["预约与上门服务", "数值", "", "数值"], *_two_a_row(pairs)], [WIDTH * 0.3, WIDTH * 0.2] * 2,
                  font_size=8.5, align_from=99)
    table.setStyle(TableStyle([("ALIGN", (1, 1), (1, -1), "RIGHT"), ("ALIGN", (3, 1), (3, -1), "RIGHT")]))
    rows: list[list[Any]] = [["评价渠道", "评价数", "满意率"]]
    rows += [[r.name, r.rated, _pct(r.satisfaction_rate)] for r in f.ratings]
    return [Paragraph("预约与上门服务", st["h2"]), table, Spacer(1, 1.5 * mm),
            Paragraph("评价渠道", st["h2"]), _grid(rows, [WIDTH - 60 * mm, 30 * mm, 30 * mm]),
            Paragraph("预约按预约日期计入本期。到场：到大厅取号，或帮办员上门见到群众；爽约：未按时取号，或上门不在家；"
                      "爽约率：爽约占到场与爽约之和。评价渠道：评价器为窗口评价器（计本期的办事），手机为群众手机页，"
                      "上门为上门服务时平板上的评价，窗口为办件在窗口的一事一评；满意率：非常满意、满意、基本满意占评价数之比。",
                      st["small"])]
