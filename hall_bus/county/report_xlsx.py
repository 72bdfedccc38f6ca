"""The county report as XLSX: a 说明 sheet, then one sheet per breakdown (层级, 站点, 事项类别, 窗口, 人员).

Numbers are written as numbers (rates as fractions with a percentage format), so a county clerk can sort,
filter and add them up in Excel; an empty cell is a rate with nothing to divide by, never a 0% that did not
happen. Every sheet is at most one row per site, window or person, so XlsxWriter's cell API is fast enough
(the hall's year report streams its case list by hand; this report has no list of cases).
"""

from __future__ import annotations

from pathlib import Path

import xlsxwriter

from hall_bus.county.report import CountyFigures
from hall_bus.county.report_layout import COLUMNS, NO_HOLD, breakdowns, summary_lines
from hall_bus.reports.xlsx import _safe_row


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def write_report_xlsx(path: Path, fig: CountyFigures, county_name: str, made: str) -> int:
    """Write the workbook to `path` (the caller's temporary file); returns the rows written."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "constant_memory": True})
    header = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                            "valign": "vcenter"})
    pct = wb.add_format({"num_format": "0.0%"})
    num = wb.add_format({"num_format": "0.0"})
    bold = wb.add_format({"bold": True, "font_size": 13})
    rows = 0
    about = wb.add_worksheet("说明")
    about.write_string(0, 0, f"{county_name} 县域帮办代办 汇总报表 {fig.start} 至 {fig.end}", bold)
    lines = [f"生成时间：{made}", *summary_lines(fig, county_name, _pct),
             "个人信息：本表只含站点、事项类别、窗口与工作人员（花名册）的统计，不含群众姓名、证件号码或联系电话。"]
    for i, line in enumerate(lines, 2):
        about.write_string(i, 0, line)
    about.set_column(0, 0, 120)
    for part in breakdowns(fig):
        ws = wb.add_worksheet(part.title)
        columns = [c for c in COLUMNS if part.hold or c[1] not in NO_HOLD]
        ws.write_row(0, 0, [*part.keys, *(title for title, _, _ in columns)], header)
        ws.freeze_panes(1, len(part.keys))
        ws.set_row(0, 30)
        for r, (keys, tally) in enumerate(part.rows, 1):
            ws.write_row(r, 0, _safe_row(keys))
            for c, (_, attr, kind) in enumerate(columns, len(part.keys)):
                value = getattr(tally, attr)
                if value is None:
                    continue
                ws.write_number(r, c, value, pct if kind == "pct" else num if kind == "num" else None)
            rows += 1
        ws.set_column(0, len(part.keys) - 1, 14)
        ws.set_column(len(part.keys), len(part.keys) + len(columns), 9)
        if part.rows:
            ws.autofilter(0, 0, len(part.rows), len(part.keys) + len(columns) - 1)
    wb.close()
    return rows
