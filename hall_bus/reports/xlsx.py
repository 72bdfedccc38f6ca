"""The XLSX report: summaries and native Excel charts by XlsxWriter, the case sheet streamed by hand.

Why the case sheet is not XlsxWriter's: it spends about 5 µs per cell, and a busy hall's year is 600,000 cases
of 18 cells — 50 s for that sheet alone. The sheet is plain SpreadsheetML (inline strings, the form XlsxWriter's
own constant_memory mode writes), so it is streamed straight into the workbook's zip while the ledger is read,
a row at a time; XlsxWriter then writes every other part (styles, the other sheets, charts, the workbook with
the case sheet's autofilter) and those parts are added beside it. Memory stays flat; the zip is the only copy.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from hall_bus.domain.commands import RATING_LEVELS
from hall_bus.reports import bookings_xlsx, records_xlsx
from hall_bus.reports.cases import Consultation, FollowUp
from hall_bus.reports.casework import CONCLUDED_COLUMNS
from hall_bus.reports.labels import CASE_COLUMNS, Labels
from hall_bus.reports.records import RecordBook
from hall_bus.reports.summary import (
    Summary,
    Tally,
    consultation_is_overdue,
    extended_figures,
    followup_is_open,
    followup_is_overdue,
)

CASE_SHEET = "台账"
CONCLUDED_SHEET = "办结清单"
CASE_PART = "xl/worksheets/sheet2.xml"  # the case sheet is the workbook's second sheet
HEADER_XF = 1  # the header format's style index: the first format XlsxWriter meets (the overview's title)
_NS = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
# Characters XML 1.0 does not allow at all (not even escaped): C0 controls but tab and newlines, surrogates,
# U+FFFE and U+FFFF. A visitor's comment typed on a phone, pasted from a PDF or sent by a broken client can hold
# them; one of them makes Excel call the whole file corrupt, so they are dropped from every part we write.
_NOT_XML = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_SPECIAL = re.compile(f"[&<>{_NOT_XML}]")
_CONTROL = re.compile(f"[{_NOT_XML}]")


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids."""
    return _CONTROL.sub("", text)


def _safe_row(values: list[Any]) -> list[Any]:
    """A row for XlsxWriter, its strings cleaned: it writes U+FFFE or a control character as `_xFFFE_`, which
    Excel shows as that text or the character itself, neither of which the visitor wrote."""
    return [xml_safe(v) if isinstance(v, str) else v for v in values]


def _escape(text: str) -> str:
    if not _SPECIAL.search(text):
        return text
    text = _CONTROL.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SheetStream:
    """A sheet's XML written into `archive` row by row, for the lists a year makes too long for XlsxWriter's
    cell API (about 8 µs a cell): the 台账 itself, and the 办件 concluded in the period."""

    def __init__(self, archive: zipfile.ZipFile, part: str, columns: tuple[tuple[str, float], ...], *,
                 autofilter: bool = True, zip64: bool = False) -> None:
        self.cols = [xl_col_to_name(i) for i in range(len(columns))]
        self.last_col = self.cols[-1]
        self.autofilter = autofilter
        # Deflated as the archive says. Zip64 only when asked for (an entry that could pass 4 GiB; a busy year is
        # under 0.5 GiB of XML): Excel is reported to reject a small entry written with zip64 sizes.
        self.out = archive.open(part, "w", force_zip64=zip64)
        self.rows = 1
        self._buf: list[str] = []
        widths = "".join(f'<col min="{i}" max="{i}" width="{w + 0.71}" customWidth="1"/>'
                         for i, (_, w) in enumerate(columns, 1))
        header = "".join(f'<c r="{col}1" s="{HEADER_XF}" t="inlineStr"><is><t>{_escape(title)}</t></is></c>'
                         for col, (title, _) in zip(self.cols, columns, strict=True))
        self.out.write(
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS}>'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            'state="frozen"/><selection pane="bottomLeft"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{widths}</cols><sheetData>'
            f'<row r="1" spans="1:{len(columns)}">{header}</row>'.encode())

    def add(self, values: list[Any]) -> None:
        """One row. A year is 600,000 of them, so the texts are written as they are and looked at once, all
        together, for a character to escape; only a row that has one (rare: a visitor's "<" or a control
        character) is written again, cell by cell, escaped."""
        self.rows += 1
        r = str(self.rows)
        cells: list[str] = []
        texts: list[str] = []
        for col, v in zip(self.cols, values, strict=True):
            if v is None or v == "":
                continue
            if isinstance(v, str):
                texts.append(v)
                cells.append(f'<c r="{col}{r}" t="inlineStr"><is><t>{v}</t></is></c>')
            else:
                cells.append(f'<c r="{col}{r}"><v>{v}</v></c>')
        if _SPECIAL.search("".join(texts)):
            cells = self._escaped(r, values)
        self._buf.append(f'<row r="{r}">{"".join(cells)}</row>')
        if len(self._buf) >= 2000:
            self._flush()

    def _escaped(self, r: str, values: list[Any]) -> list[str]:
        cells = []
        for col, v in zip(self.cols, values, strict=True):
            if v is None or v == "":
                continue
            if isinstance(v, str):
                cells.append(f'<c r="{col}{r}" t="inlineStr"><is><t>{_escape(v)}</t></is></c>')
            else:
                cells.append(f'<c r="{col}{r}"><v>{v}</v></c>')
        return cells

    def _flush(self) -> None:
        self.out.write("".join(self._buf).encode())
        self._buf.clear()

    def close(self) -> int:
        """Ends the sheet; returns the number of rows under the header."""
        self._flush()
        autofilter = f'<autoFilter ref="A1:{self.last_col}{self.rows}"/>' if self.autofilter else ""
        self.out.write(f'</sheetData>{autofilter}<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
                       'header="0.3" footer="0.3"/></worksheet>'.encode())
        self.out.close()
        return self.rows - 1


class CaseSheetStream(SheetStream):
    """The 台账 sheet, streamed while the ledger is read."""

    def __init__(self, archive: zipfile.ZipFile, zip64: bool = False) -> None:
        super().__init__(archive, CASE_PART, CASE_COLUMNS, zip64=zip64)


# ---------------------------------------------------------------------- the summary sheets

_TALLY_COLUMNS: tuple[tuple[str, str, str], ...] = (  # (title, as_dict key, format)
    ("件数", "cases", "int"), ("办结", "served", "int"), ("过号", "no_show", "int"),
    ("未办结", "unfinished", "int"), ("材料不全", "materials_missing", "int"), ("不予受理", "refused", "int"),
    ("等候p50(分)", "wait_p50_min", "num"), ("等候p90(分)", "wait_p90_min", "num"),
    ("已结论", "concluded", "int"), ("限时内", "on_time", "int"), ("限时内率", "on_time_rate", "pct"),
    *((level, f"rating:{level}", "int") for level in RATING_LEVELS),
    ("评价数", "rated", "int"), ("满意率", "satisfaction_rate", "pct"),
    ("回访", "followups", "int"), ("回访未结", "followups_open", "int"), ("回访逾期", "followups_overdue", "int"),
    ("咨询", "consultations", "int"), ("咨询逾期", "consultations_overdue", "int"),
)
_HELP_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("认领p50(分)", "claim_p50_min", "num"), ("认领p90(分)", "claim_p90_min", "num"),
    ("转交", "handovers", "int"), ("帮办升级", "escalated", "int"),
)


def _value(d: dict[str, Any], key: str) -> Any:
    if key.startswith("rating:"):
        return d["ratings"][key[7:]]
    return d[key]


class _Book:
    def __init__(self, buf: io.BytesIO, labels: Labels) -> None:
        self.wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False})
        self.labels = labels
        self.header = self.wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                          "valign": "vcenter"})
        self.pct = self.wb.add_format({"num_format": "0.0%"})
        self.num = self.wb.add_format({"num_format": "0.0"})
        self.bold = self.wb.add_format({"bold": True})
        self.formats = {"pct": self.pct, "num": self.num, "int": None}

    def table(self, ws: Any, row: int, first_title: str, items: list[tuple[str, Tally]],
              extra: tuple[tuple[str, str, str], ...] = ()) -> int:
        """A tally table from `row`; returns the row after it. Column 0 holds the names."""
        columns = _TALLY_COLUMNS + extra
        ws.write_row(row, 0, [first_title, *(c[0] for c in columns)], self.header)
        for i, (name, tally) in enumerate(items, row + 1):
            d = tally.as_dict()
            ws.write_string(i, 0, xml_safe(name))
            for j, (_, key, fmt) in enumerate(columns, 1):
                v = _value(d, key)
                if v is not None:
                    ws.write_number(i, j, v, self.formats[fmt])
        ws.set_column(0, 0, 14)
        ws.set_column(1, len(columns), 9)
        ws.freeze_panes(row + 1, 1)
        return row + 1 + len(items)


def column_of(title: str, extra: tuple[tuple[str, str, str], ...] = ()) -> int:
    """Where a tally column sits in the sheets `table` writes (column 0 is the name)."""
    return 1 + [c[0] for c in _TALLY_COLUMNS + extra].index(title)


def write_xlsx(path: Path, stream_archive: zipfile.ZipFile, case_rows: int, summary: Summary, labels: Labels,
               followups: list[FollowUp], consultations: list[Consultation], head: dict[str, str],
               as_of: datetime, casework: Any = None, records: RecordBook | None = None,
               bookings: Any = None) -> None:
    """Adds every part but the case sheet (already in `stream_archive`) and closes the archive. `casework`: the
    办件 figures (reports/casework.py), a sheet of their own; `records`: notices, delegations and complaints,
    with or without a ticket (reports/records.py); `bookings`: 预约 and 上门服务 (reports/bookings.py)."""
    buf = io.BytesIO()
    book = _Book(buf, labels)
    wb = book.wb
    overview = wb.add_worksheet("概览")
    cases_ws = wb.add_worksheet(CASE_SHEET)  # a stand-in: its XML part is replaced by the streamed one
    sheets = {name: wb.add_worksheet(name) for name in ("按事项", "按分组", "按窗口", "按帮办员", "按期间",
                                                        "回访", "咨询", "图表")}
    casework_ws = wb.add_worksheet("办件") if casework is not None else None  # 办件: 按时办结率, overdue
    # a stand-in like the case sheet's: the concluded cases are streamed into its part (a year holds ~80,000)
    concluded_ws = wb.add_worksheet(CONCLUDED_SHEET) if casework is not None else None
    overview.activate()

    # the overview: the headline figures a supervisor quotes
    overview.merge_range(0, 0, 0, 5, xml_safe(head["title"]), book.header)
    overview.set_row(0, 24)
    row = 2
    for key, value in head.items():
        if key == "title":
            continue
        overview.write_string(row, 0, key, book.bold)
        overview.write_string(row, 1, xml_safe(value))
        row += 1
    row += 1
    t = summary.total.as_dict()
    figures: list[tuple[str, Any, Any]] = [
        ("件数 cases", t["cases"], None), ("办结 served", t["served"], None), ("过号 no-shows", t["no_show"], None),
        ("未办结 unfinished", t["unfinished"], None), ("材料不全 materials missing", t["materials_missing"], None),
        ("等候 p50 (分钟)", t["wait_p50_min"], book.num), ("等候 p90 (分钟)", t["wait_p90_min"], book.num),
        ("限时内办完率 served within the promised wait", t["on_time_rate"], book.pct),
        ("评价数 rated", t["rated"], None),
        ("满意率 satisfied", t["satisfaction_rate"], book.pct), ("差评 bad ratings", summary.total.bad_ratings, None),
        ("回访 follow-ups (未结 / 逾期)", f"{t['followups']} ({t['followups_open']} / {t['followups_overdue']})",
         None),
        ("咨询 consultations (逾期)", f"{t['consultations']} ({t['consultations_overdue']})", None),
        ("帮办认领 p50 / p90 (分钟)", f"{_m(t['claim_p50_min'])} / {_m(t['claim_p90_min'])}", None),
        ("帮办升级 escalated", t["escalated"], None),
    ]
    accepted = casework.extended_accepted if casework is not None else {}
    figures += [(f"延时/错时服务 {name} {kind} (办结 / 受理办件)", f"{served} / {cases}", None)
                for kind, name, served, cases in extended_figures(summary.extended_served, accepted,
                                                                  labels.extended_kinds)]
    overview.write_row(row, 0, ["指标 figure", "数值 value"], book.header)
    for label, value, fmt in figures:
        row += 1
        overview.write_string(row, 0, label)
        if value is None:
            overview.write_string(row, 1, "-")
        elif isinstance(value, str):
            overview.write_string(row, 1, value)
        else:
            overview.write_number(row, 1, value, fmt)
    if records is not None:  # notices, delegations, complaints: records_xlsx.py
        row = records_xlsx.overview_rows(book, overview, row, records, consultations, as_of)
    if bookings is not None:
        row = bookings_xlsx.overview_rows(book, overview, row, bookings.figures)
    overview.set_column(0, 0, 30)
    overview.set_column(1, 1, 36)

    # the case sheet stand-in: only what workbook.xml needs from it (the autofilter's defined name), over the same
    # cells as the streamed sheet's autoFilter: the header and the case rows (the header alone when there are none)
    cases_ws.autofilter(0, 0, case_rows, len(CASE_COLUMNS) - 1)
    cases_ws.write_string(0, 0, CASE_COLUMNS[0][0], book.header)

    order = {name: i for i, name in enumerate(labels.service_order)}
    services = sorted(summary.service.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
    n_services = book.table(sheets["按事项"], 0, "事项 service", services) - 1
    gorder = {code: i for i, code in enumerate(labels.group_order)}
    groups = sorted(summary.group.items(), key=lambda kv: gorder.get(kv[0], 99))
    n_groups = book.table(sheets["按分组"], 0, "帮办分组 group", [(labels.group(k), v) for k, v in groups],
                          _HELP_COLUMNS) - 1
    windows = sorted(summary.window.items())
    book.table(sheets["按窗口"], 0, "窗口 window", [(labels.window(k), v) for k, v in windows])
    helpers = sorted(summary.helper.items())
    book.table(sheets["按帮办员"], 0, "帮办员 helper", helpers, _HELP_COLUMNS)
    periods = summary.periods(*_range_of(summary, head))  # every period of the range, those without cases too
    by_title = {"day": "日期 day", "week": "周(周一) week", "month": "月份 month"}[summary.by]
    n_periods = book.table(sheets["按期间"], 0, by_title, periods) - 1

    _followup_sheet(book, sheets["回访"], followups, as_of)
    _consultation_sheet(book, sheets["咨询"], consultations, as_of)
    _charts(book, sheets["图表"], summary, n_services, n_groups, n_periods)
    if casework_ws is not None:
        from hall_bus.reports.casework import write_case_sheet

        write_case_sheet(book, casework_ws, casework, labels.tz, labels.name)
    streamed = {CASE_PART}
    if concluded_ws is not None:
        from hall_bus.reports.casework import concluded_rows

        part = f"xl/worksheets/sheet{concluded_ws.index + 1}.xml"  # XlsxWriter numbers worksheet parts in order
        streamed.add(part)
        concluded = SheetStream(stream_archive, part, CONCLUDED_COLUMNS)
        for line in concluded_rows(casework, labels.tz, labels.name):
            concluded.add(line)
        concluded.close()
    if records is not None:
        records_xlsx.followup_columns(book, sheets["回访"], followups, records)
        records_xlsx.write_sheets(book, records, as_of)
    if bookings is not None:  # the last two sheets: 预约台账 streamed (a stand-in here), 上门服务台账 a few a day
        booking_ws = wb.add_worksheet(bookings_xlsx.BOOKING_SHEET)
        visit_ws = wb.add_worksheet(bookings_xlsx.VISIT_SHEET)
        part = f"xl/worksheets/sheet{booking_ws.index + 1}.xml"
        streamed.add(part)
        columns = bookings_xlsx.BOOKING_COLUMNS
        booking_ws.autofilter(0, 0, len(bookings.rows), len(columns) - 1)  # the defined name, as for 台账
        sheet = SheetStream(stream_archive, part, columns)
        for b in bookings.rows:
            sheet.add(bookings_xlsx.booking_line(b, labels))
        sheet.close()
        visit_ws.write_row(0, 0, [c[0] for c in bookings_xlsx.VISIT_COLUMNS], book.header)
        for i, b in enumerate(bookings.visits, 1):
            visit_ws.write_row(i, 0, _safe_row(bookings_xlsx.visit_line(b, labels, bookings.who)))
        for col, (_, width) in enumerate(bookings_xlsx.VISIT_COLUMNS):
            visit_ws.set_column(col, col, width)
        visit_ws.freeze_panes(1, 1)
    wb.close()
    if book.header.xf_index != HEADER_XF:  # the streamed header row names this style by number
        raise RuntimeError(f"header style is {book.header.xf_index}, the case sheet assumed {HEADER_XF}")
    with zipfile.ZipFile(buf) as made:
        for info in made.infolist():
            if info.filename not in streamed:
                part = made.read(info)
                if info.filename.endswith((".xml", ".rels")):  # XlsxWriter escapes controls, not U+FFFE/U+FFFF
                    part = xml_safe(part.decode("utf-8")).encode("utf-8")
                stream_archive.writestr(info, part)
    stream_archive.close()


def _range_of(summary: Summary, head: dict[str, str]) -> tuple[date | None, date | None]:
    """The report's range: the summary's if it was told it, else the two dates of the header's period line."""
    if summary.first is not None and summary.last is not None:
        return summary.first, summary.last
    days = re.findall(r"\d{4}-\d{2}-\d{2}", head.get("期间 period", ""))
    try:
        return (date.fromisoformat(days[0]), date.fromisoformat(days[-1])) if days else (None, None)
    except ValueError:
        return None, None


def _m(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def _followup_sheet(book: _Book, ws: Any, followups: list[FollowUp], as_of: datetime) -> None:
    titles = ["编号", "日期", "号码", "事项", "窗口", "评价", "意见", "开立", "期限", "负责人", "状态", "关闭时间",
              "处理情况"]
    ws.write_row(0, 0, titles, book.header)
    for i, f in enumerate(followups, 1):
        status = "已结" if not followup_is_open(f) else "未结"
        if followup_is_overdue(f, as_of):
            status += "(逾期)"
        ws.write_row(i, 0, _safe_row([
            f.id, f.day, f.number, f.service, "" if f.counter is None else book.labels.window(f.counter), f.level,
            book.labels.text(f.comment, f.names), f.opened[:16].replace("T", " "), f.due[:16].replace("T", " "),
            f.owner, status, f.closed[:16].replace("T", " "), book.labels.text(f.note, f.names)]))
    for col, width in enumerate((11, 11, 7, 10, 10, 9, 24, 17, 17, 10, 10, 17, 30)):
        ws.set_column(col, col, width)
    ws.freeze_panes(1, 1)


def _consultation_sheet(book: _Book, ws: Any, consultations: list[Consultation], as_of: datetime) -> None:
    lab = book.labels
    titles = ["编号", "日期", "帮办员", "姓名", "联系方式", "问题", "事项", "票号", "登记", "期限", "状态",
              "答复时间", "答复人", "逾期", "转交部门"]
    ws.write_row(0, 0, titles, book.header)
    for i, q in enumerate(consultations, 1):
        status = "已答复" if q.answered else "已转办" if q.referred_to else "未答复"
        ws.write_row(i, 0, _safe_row([
            q.id, q.day, q.helper, lab.name(q.name), lab.phone(q.contact), lab.text(q.question, q.names), q.service,
            q.ticket, q.opened[:16].replace("T", " "), q.due[:16].replace("T", " "), status,
            q.answered[:16].replace("T", " "), q.answered_by, "是" if consultation_is_overdue(q, as_of) else "否",
            q.referred_to]))
    for col, width in enumerate((10, 11, 11, 8, 14, 30, 10, 15, 17, 17, 8, 17, 11, 6, 14)):
        ws.set_column(col, col, width)
    ws.freeze_panes(1, 1)


def _charts(book: _Book, ws: Any, summary: Summary, n_services: int, n_groups: int, n_periods: int) -> None:
    """Native charts over the summary sheets' cells, so they stay right if someone corrects a figure. A chart
    whose table has no rows (an empty range) is left out: its series would be a backwards range like A2:A1."""
    wb = book.wb
    hours = [h for h, n in enumerate(summary.arrivals_by_hour) if n]
    lo, hi = (min(hours), max(hours)) if hours else (8, 18)
    ws.write_row(0, 0, ["时段 hour", "取号 arrivals"], book.header)
    for i, h in enumerate(range(lo, hi + 1), 1):
        ws.write_string(i, 0, f"{h:02d}时")
        ws.write_number(i, 1, summary.arrivals_by_hour[h])
    n_hours = hi - lo + 1
    ws.write_row(0, 3, ["评价 rating", "件数"], book.header)
    for i, level in enumerate(RATING_LEVELS, 1):
        ws.write_string(i, 3, level)
        ws.write_number(i, 4, summary.total.ratings.get(level, 0))
    ws.set_column(0, 0, 10)
    ws.set_column(3, 3, 11)
    title_font = {"name": "Microsoft YaHei", "size": 12, "bold": True}

    def chart(kind: str, title: str, **kw: Any) -> Any:
        c = wb.add_chart({"type": kind, **kw})
        c.set_title({"name": title, "name_font": title_font})
        c.set_legend({"none": True})
        c.set_size({"width": 620, "height": 300})
        return c

    arrivals = chart("column", "分时段取号 arrivals by hour")
    arrivals.add_series({"name": "取号", "categories": ["图表", 1, 0, n_hours, 0], "values": ["图表", 1, 1, n_hours, 1],
                         "fill": {"color": "#4472C4"}, "gap": 40})
    ws.insert_chart("G2", arrivals)

    if n_groups > 0:
        waits = chart("column", "各帮办分组等候时间(分钟) wait by group")
        p50, p90 = column_of("等候p50(分)", _HELP_COLUMNS), column_of("等候p90(分)", _HELP_COLUMNS)
        for col, name, color in ((p50, "p50", "#70AD47"), (p90, "p90", "#ED7D31")):
            waits.add_series({"name": name, "categories": ["按分组", 1, 0, n_groups, 0],
                              "values": ["按分组", 1, col, n_groups, col], "fill": {"color": color}})
        waits.set_legend({"position": "top"})
        ws.insert_chart("G18", waits)

    if n_services > 0:
        on_time = chart("bar", "各事项限时内办完率 served within the promised wait")
        col = column_of("限时内率")
        on_time.add_series({"name": "限时内率", "categories": ["按事项", 1, 0, n_services, 0],
                            "values": ["按事项", 1, col, n_services, col], "fill": {"color": "#5B9BD5"},
                            "data_labels": {"value": True, "num_format": "0%"}})
        on_time.set_x_axis({"min": 0, "max": 1, "num_format": "0%"})
        on_time.set_y_axis({"reverse": True})
        on_time.set_size({"width": 620, "height": 360})
        ws.insert_chart("G34", on_time)

    ratings = chart("pie", "评价 ratings")
    ratings.add_series({"name": "评价", "categories": ["图表", 1, 3, 5, 3], "values": ["图表", 1, 4, 5, 4],
                        "data_labels": {"percentage": True, "category": True, "leader_lines": True},
                        "points": [{"fill": {"color": c}} for c in
                                   ("#2E7D32", "#66BB6A", "#FFCA28", "#EF6C00", "#C62828")]})
    ratings.set_legend({"position": "right"})
    ws.insert_chart("G53", ratings)

    if n_periods <= 0:
        return
    trend = chart("column", "各期间件数与限时内率 cases and served within the promised wait")
    trend.add_series({"name": "件数", "categories": ["按期间", 1, 0, n_periods, 0],
                      "values": ["按期间", 1, column_of("件数"), n_periods, column_of("件数")],
                      "fill": {"color": "#A5A5A5"}})
    line = wb.add_chart({"type": "line"})
    line.add_series({"name": "限时内率", "categories": ["按期间", 1, 0, n_periods, 0],
                     "values": ["按期间", 1, column_of("限时内率"), n_periods, column_of("限时内率")],
                     "y2_axis": True, "marker": {"type": "circle"}, "line": {"color": "#C00000"}})
    trend.combine(line)
    line.set_y2_axis({"min": 0, "max": 1, "num_format": "0%"})
    trend.set_legend({"position": "top"})
    ws.insert_chart("G69", trend)
