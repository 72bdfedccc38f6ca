"""The XLSX sheets of the records that are not ticket cases (records.py): 一次性告知, 委托代办协议, 投诉, and the
complaint figures (投诉统计: received, handled on time, 及时处理率, by channel and subject) with their chart.

Personal data is masked as on every other sheet (labels.py): complainants' and principals' names and phones,
and ID numbers, phones, addresses and the record's own names inside free text.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.domain.commands import CHANNEL_NAMES, SUBJECT_NAMES
from hall_bus.reports.records import (
    ComplaintFigures,
    ComplaintTally,
    RecordBook,
    complaint_figures,
    complaint_is_overdue,
    timely_rate,
)

if TYPE_CHECKING:
    from hall_bus.reports.xlsx import _Book

SHEETS = ("一次性告知", "代办协议", "投诉", "投诉统计")
DELEGATION_STATUS = {"signed": "进行中", "completed": "已办结", "cancelled": "已取消"}


def _t(iso: str) -> str:
    return iso[:16].replace("T", " ")


def overview_rows(book: _Book, ws: Any, row: int, records: RecordBook, consultations: list[Any],
                  as_of: datetime) -> int:
    """The headline figures of the records under the overview's table; returns its last row."""
    figures = complaint_figures(records.complaints.values(), as_of)
    t = figures.total
    no_ticket_notices = sum(1 for n in records.notices.values() if not n.ticket)
    no_ticket_delegations = sum(1 for d in records.delegations.values() if not d.ticket)
    rows: list[tuple[str, Any, Any]] = [
        ("一次性告知 notices (无票号)", f"{len(records.notices)} ({no_ticket_notices})", None),
        ("委托代办协议 delegations (无票号)", f"{len(records.delegations)} ({no_ticket_delegations})", None),
        ("投诉 complaints (已办结 / 按时 / 逾期)", f"{t.received} ({t.closed} / {t.on_time} / {t.overdue})", None),
        ("投诉及时处理率 complaints on time", t.rate, book.pct),
        ("咨询、投诉及时处理率 handled on time", timely_rate(consultations, t, as_of), book.pct),
    ]
    for label, value, fmt in rows:
        row += 1
        ws.write_string(row, 0, label)
        if value is None:
            ws.write_string(row, 1, "-")
        elif isinstance(value, str):
            ws.write_string(row, 1, value)
        else:
            ws.write_number(row, 1, value, fmt)
    return row


def write_sheets(book: _Book, records: RecordBook, as_of: datetime) -> None:
    from hall_bus.reports.xlsx import _safe_row

    wb, lab = book.wb, book.labels
    ws = {name: wb.add_worksheet(name) for name in SHEETS}

    titles = ["编号", "日期", "时间", "事项", "缺少材料", "告知人", "票号"]
    ws["一次性告知"].write_row(0, 0, titles, book.header)
    for i, n in enumerate(sorted(records.notices.values(), key=lambda n: n.id), 1):
        ws["一次性告知"].write_row(i, 0, _safe_row([
            n.id, n.day, _t(n.issued), n.service, "、".join(lab.text(m) for m in n.items), n.by,
            n.number or "无（平板登记）"]))
    _widths(ws["一次性告知"], (10, 11, 17, 10, 40, 14, 14))

    titles = ["编号", "日期", "签订", "代办员", "委托人", "事项", "页数", "票号", "状态", "结束时间", "经办", "说明"]
    ws["代办协议"].write_row(0, 0, titles, book.header)
    for i, d in enumerate(sorted(records.delegations.values(), key=lambda d: d.id), 1):
        ws["代办协议"].write_row(i, 0, _safe_row([
            d.id, d.day, _t(d.signed), d.helper, lab.name(d.principal), "、".join(d.services), d.pages,
            d.ticket or "无（平板登记）", DELEGATION_STATUS.get(d.status, d.status), _t(d.ended), d.ended_by,
            lab.text(d.note, [d.principal])]))
    _widths(ws["代办协议"], (10, 11, 17, 14, 8, 20, 6, 15, 8, 17, 14, 30))

    titles = ["编号", "登记日", "收到", "渠道", "对象", "投诉人", "电话", "内容", "期限", "登记人", "承办人",
              "整改情况", "整改人", "办结", "督办员", "答复", "状态", "按时"]
    sheet = ws["投诉"]
    sheet.write_row(0, 0, titles, book.header)
    for i, q in enumerate(sorted(records.complaints.values(), key=lambda q: q.id), 1):
        status = "已办结" if q.closed else "已整改" if q.done else "整改中" if q.owner else "待分派"
        late = complaint_is_overdue(q, as_of)
        on_time = ("是" if not late else "否") if q.closed else ("否(逾期)" if late else "")
        sheet.write_row(i, 0, _safe_row([
            q.id, q.day, _t(q.received), CHANNEL_NAMES.get(q.channel, q.channel), _subject(q.subject_kind, q.subject),
            lab.name(q.complainant), lab.phone(q.phone), lab.text(q.text, q.names), _t(q.due), q.registered_by,
            q.owner, lab.text(q.done, q.names), q.done_by, _t(q.closed), q.closed_by, lab.text(q.reply, q.names),
            status, on_time]))
    _widths(sheet, (10, 11, 17, 10, 14, 8, 14, 30, 17, 14, 14, 26, 14, 17, 14, 26, 8, 8))

    _figures_sheet(book, ws["投诉统计"], complaint_figures(records.complaints.values(), as_of))


def followup_columns(book: _Book, ws: Any, followups: list[Any], records: RecordBook) -> None:
    """整改情况 beside each follow-up on the 回访 sheet (its first 13 columns are xlsx.py's)."""
    ws.write_row(0, 13, ["整改情况", "整改人"], book.header)
    for i, f in enumerate(followups, 1):
        by, done = records.followup_done.get(f.id, ("", ""))
        if done:
            ws.write_row(i, 13, [book.labels.text(done, f.names), by])
    ws.set_column(13, 13, 30)
    ws.set_column(14, 14, 14)


def _subject(kind: str, subject: str) -> str:
    return f"{subject} 号窗口" if kind == "window" else f"{SUBJECT_NAMES.get(kind, kind)} {subject}"


_COLUMNS = (("收到", "received"), ("已办结", "closed"), ("按时办结", "on_time"), ("未结", "open"), ("逾期", "overdue"))


def _table(book: _Book, ws: Any, row: int, title: str, items: list[tuple[str, ComplaintTally]]) -> int:
    ws.write_row(row, 0, [title, *(c[0] for c in _COLUMNS), "及时处理率"], book.header)
    for i, (name, t) in enumerate(items, row + 1):
        ws.write_string(i, 0, name)
        for j, (_, key) in enumerate(_COLUMNS, 1):
            ws.write_number(i, j, getattr(t, key))
        if t.rate is not None:
            ws.write_number(i, len(_COLUMNS) + 1, t.rate, book.pct)
    return row + 1 + len(items)


def _figures_sheet(book: _Book, ws: Any, f: ComplaintFigures) -> None:
    """Totals, by channel (every channel, those without complaints as zeros) and by subject; a chart by channel
    over the cells, like the other charts."""
    end = _table(book, ws, 0, "合计 total", [("全部投诉", f.total)])
    by_channel = [(CHANNEL_NAMES[c], f.channel.get(c, ComplaintTally())) for c in CHANNEL_NAMES]
    first_channel = end + 2
    end = _table(book, ws, end + 1, "渠道 channel", by_channel)
    subjects = sorted(f.subject.items(), key=lambda kv: (-kv[1].received, kv[0]))
    _table(book, ws, end + 1, "对象 subject", [(_subject(k, s), t) for (k, s), t in subjects])
    ws.set_column(0, 0, 16)
    ws.set_column(1, len(_COLUMNS) + 1, 10)
    chart = book.wb.add_chart({"type": "column"})
    last = first_channel + len(by_channel) - 1
    for col, name, color in ((1, "收到", "#A5A5A5"), (3, "按时办结", "#70AD47")):
        chart.add_series({"name": name, "categories": ["投诉统计", first_channel, 0, last, 0],
                          "values": ["投诉统计", first_channel, col, last, col], "fill": {"color": color}})
    chart.set_title({"name": "各渠道投诉 complaints by channel",
                     "name_font": {"name": "Microsoft YaHei", "size": 12, "bold": True}})
    chart.set_legend({"position": "top"})
    chart.set_size({"width": 620, "height": 300})
    ws.insert_chart("J2", chart)


def _widths(ws: Any, widths: tuple[int, ...]) -> None:
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    ws.freeze_panes(1, 1)
