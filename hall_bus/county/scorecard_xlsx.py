"""The 考核通报 as XLSX: a 权重与规则 sheet, then one sheet per ranking with the scores as numbers (empty for
无数据, so Excel's averages skip them as the score does)."""

from __future__ import annotations

from pathlib import Path

import xlsxwriter

from hall_bus.county.scorecard import COMPONENTS, NO_DATA, RULE_TEXT, ScorecardResult
from hall_bus.county.words import WEIGHT_NAMES
from hall_bus.reports.xlsx import _safe_row


def write_scorecard_xlsx(path: Path, result: ScorecardResult, made: str) -> None:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    header = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    top = wb.add_format({"bg_color": "#E2F0D9"})
    bottom = wb.add_format({"bg_color": "#FBE5D6"})
    q = result.quarter
    about = wb.add_worksheet("权重与规则")
    about.write_string(0, 0, f"{result.county_name} {q.words} 帮办代办工作考核通报（{q.start} 至 {q.end}），"
                             f"生成 {made}")
    about.write_row(2, 0, ["考核项", "权重"], header)
    for i, name in enumerate(COMPONENTS, 3):
        about.write_string(i, 0, WEIGHT_NAMES[name])
        about.write_number(i, 1, getattr(result.weights, name))
    about.write_string(len(COMPONENTS) + 4, 0, RULE_TEXT)
    about.write_string(len(COMPONENTS) + 5, 0, f"“{NO_DATA}”的项在本表中为空单元格。")
    about.set_column(0, 0, 24)
    for r in result.rankings:
        ws = wb.add_worksheet(r.title[:31])
        ws.write_row(0, 0, ["排名", r.unit, r.where, *(WEIGHT_NAMES[c] for c in r.applicable), "总分", "上季度得分",
                            "上季度排名", "名次变化", "标注"], header)
        ws.freeze_panes(1, 2)
        for i, s in enumerate(r.scores, 1):
            fmt = top if s.mark == "前列" else bottom if s.mark == "末位" else None
            values = [s.rank, s.label, s.where, *(s.components[c] for c in r.applicable), s.total, s.prev_total,
                      s.prev_rank, s.change, s.mark]
            for col, value in enumerate(_safe_row(values)):
                if value is None:
                    ws.write_blank(i, col, None, fmt)
                elif isinstance(value, str):
                    ws.write_string(i, col, value, fmt)
                else:
                    ws.write_number(i, col, value, fmt)
        ws.set_column(1, 2, 26)
        ws.set_column(3, 3 + len(r.applicable) + 4, 11)
    wb.close()
