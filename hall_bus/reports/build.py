"""One report run: check the outputs can be written, read the ledger once, write each file atomically.

Every output is checked (and its temporary file created) before the ledger is read, so a wrong path fails in a
second, not after a year of events. Files appear under their name only when complete (os.replace), so a
supervisor's spreadsheet open in another program is never half-overwritten by a failed run.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sqlite3
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from hall_bus.config import HallConfig
from hall_bus.errors import UserError
from hall_bus.reports.bookings import BookingBook, BookingReport, booking_figures
from hall_bus.reports.cases import DAMAGE, CaseReader, LedgerSnapshot, _both, damaged
from hall_bus.reports.casework import CaseBook, case_figures
from hall_bus.reports.labels import Labels
from hall_bus.reports.summary import Summary, auto_by

FORMATS = (".xlsx", ".pdf")


@dataclass
class ReportRequest:
    cfg: HallConfig
    data_dir: Path
    first: date
    last: date
    outs: list[Path]
    by: str | None = None  # None: chosen from the length of the range
    masked: bool = True


@dataclass
class ReportResult:
    cases: int
    events_read: int
    seconds: float
    outs: list[Path]
    summary: Summary
    extra: dict[str, Any] = field(default_factory=dict)


def _temp_for(out: Path) -> Path:
    return out.with_name(f".{out.name}.{os.getpid()}.tmp")


def check_outputs(outs: list[Path]) -> None:
    seen: set[Path] = set()
    kinds: set[str] = set()
    for out in outs:
        if out.suffix.lower() not in FORMATS:
            raise UserError(f"{out}: the report is written as .xlsx or .pdf; name the file FILE.xlsx or FILE.pdf")
        if out.suffix.lower() in kinds:
            raise UserError(f"{out}: one {out.suffix.lower()} per run; give --out once per format")
        kinds.add(out.suffix.lower())
        if out.suffix.lower() == ".pdf":  # before the ledger is read, not after
            from hall_bus.reports.pdf import register_font

            register_font()
        if out.resolve() in seen:
            raise UserError(f"{out}: given twice as --out")
        seen.add(out.resolve())
        if out.is_dir():
            raise UserError(f"{out}: is a directory; give a file name such as {out / 'report'}{out.suffix}")
        if not out.parent.is_dir():
            raise UserError(f"{out}: cannot write it: the directory {out.parent} does not exist")
        tmp = _temp_for(out)
        try:
            tmp.open("wb").close()
        except OSError as exc:
            raise UserError(f"{out}: cannot write it: {exc.strerror}") from None
        tmp.unlink()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for one report, as replay does (store/core.py). The pass allocates a dict
    per event and objects per case and keeps none in a cycle, yet the collections those allocations set off
    walked the growing 办件 book again and again, and the writers' walked it whole: 1.7 s of a 60-day report's
    10, for nothing. Reference counting frees as before; the few cycles the writers leave (XlsxWriter's and
    ReportLab's objects, a bounded set) wait for the end of the run: peak RSS is the same."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            _age_survivors()
            gc.enable()


def _age_survivors() -> None:
    """Move what the report allocated into the collector's oldest generation, in O(1). Left young, it would all
    be walked by the collection the first allocation after `gc.enable()` sets off (0.5 s after a 60-day report,
    for the figures the caller holds and the writers' few cycles); old, it is looked at with the rest of the
    old objects, when those are. freeze() then unfreeze() is that move. Not when something else froze objects
    (a server preparing to fork): unfreeze would release its objects too."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


def _read(reader: CaseReader, summary: Summary, stream: Any, labels: Labels, path: Path) -> None:
    """The one pass over the ledger: each case row into the figures and, for an XLSX, onto the 台账 sheet."""
    row = labels.case_row
    for case in reader:
        try:
            summary.add(case)
            if stream is not None:
                stream.add(row(case))
        except DAMAGE as exc:  # a value of the wrong type inside a well-formed event
            raise UserError(damaged(path, f"the case issued by event {case.seq}", exc)) from None


def build_report(req: ReportRequest) -> ReportResult:
    with collector_paused():
        return _build(req)


def _build(req: ReportRequest) -> ReportResult:
    if req.last < req.first:
        raise UserError(f"--from {req.first} is after --to {req.last}: the dates are backwards")
    check_outputs(req.outs)
    started = time.perf_counter()
    snap = LedgerSnapshot(req.data_dir)
    temps: list[Path] = []
    try:
        if snap.hall and snap.hall != req.cfg.hall.name:
            raise UserError(f"{snap.path}: this ledger belongs to {snap.hall!r}, not {req.cfg.hall.name!r} "
                            "(wrong --config or --data?)")
        hall = req.cfg.hall
        by = req.by or auto_by(req.first, req.last)
        labels = Labels(req.cfg, masked=req.masked)
        summary = Summary(by, req.first, req.last)
        book = CaseBook()  # the 办件, fed by the visits' own pass: the ledger is read once
        everywhere = book.handlers()
        bookings = BookingBook(hall.tz, hall.day_rollover, req.first.isoformat(), req.last.isoformat())
        for kind, handler in bookings.handlers().items():  # 预约, and case_rated's channel beside the 办件's own
            everywhere[kind] = _both(everywhere[kind], handler) if kind in everywhere else handler
        reader = CaseReader(snap, hall.tz, hall.day_rollover, req.first, req.last, everywhere=everywhere)
        snap.check_whole(reader.first_seq - 1)  # every event the report reads is there and of a known type
        xlsx_out = next((o for o in req.outs if o.suffix.lower() == ".xlsx"), None)
        archive = stream = None
        if xlsx_out is not None:
            from hall_bus.reports.xlsx import CaseSheetStream

            temps.append(_temp_for(xlsx_out))
            archive = zipfile.ZipFile(temps[-1], "w", zipfile.ZIP_DEFLATED, compresslevel=1)
            stream = CaseSheetStream(archive)
        _read(reader, summary, stream, labels, snap.path)
        as_of = datetime.fromisoformat(snap.last_at).astimezone(hall.tz) if snap.last_at else \
            datetime.now(hall.tz)
        followups = sorted(reader.followups.values(), key=lambda f: f.id)
        consultations = sorted(reader.consultations.values(), key=lambda q: q.id)
        summary.finish(followups, consultations, as_of)
        casework = None  # 办件 figures, when the ledger has cases
        cases = book.cases()
        if cases:
            casework = case_figures(cases, hall.tz, req.first, req.last, by, as_of, req.cfg.calendar, reader.who)
        booking_rows = bookings.rows()
        booked = BookingReport(booking_rows, booking_figures(booking_rows, summary.total.ratings,
                                                             bookings.case_ratings), reader.who)
        days = (req.last - req.first).days + 1
        head = {
            "title": f"{hall.name} 帮办代办台账 {req.first} 至 {req.last}",
            "大厅 hall": hall.name,
            "期间 period": f"{req.first} 至 {req.last}（{days} 天）",
            "汇总 by": {"day": "按日 day", "week": "按周 week", "month": "按月 month"}[by],
            "案件 cases": f"{reader.cases} 件",
            "记录 records": f"告知 {len(reader.records.notices)}，代办协议 {len(reader.records.delegations)}，"
                            f"投诉 {len(reader.records.complaints)}",
            "回访与咨询状态截至 status as of": as_of.strftime("%Y-%m-%d %H:%M"),
            "生成 made": datetime.now(hall.tz).strftime("%Y-%m-%d %H:%M"),
            "个人信息 personal data": "已脱敏 masked" if req.masked else "未脱敏 unmasked (管理员 admin)",
        }
        if casework is not None:
            rate = casework.total.rate
            head["办件 cases"] = (f"受理 {casework.accepted}，办结 {casework.total.concluded}，按时办结率 "
                                 + ("-" if rate is None else f"{rate:.1%}"))  # words, not a bare a / b / c
        if stream is not None and archive is not None and xlsx_out is not None:
            from hall_bus.reports.xlsx import write_xlsx

            rows = stream.close()
            write_xlsx(xlsx_out, archive, rows, summary, labels, followups, consultations, head, as_of,
                       casework=casework, records=reader.records, bookings=booked)
        for out in req.outs:
            if out.suffix.lower() == ".pdf":
                from hall_bus.reports.pdf import write_pdf

                temps.append(_temp_for(out))
                write_pdf(temps[-1], summary, labels, followups, consultations, head, as_of, casework=casework,
                          records=reader.records, bookings=booked)
        for out in req.outs:
            os.replace(_temp_for(out), out)
        temps.clear()
        return ReportResult(reader.cases, reader.events_read, time.perf_counter() - started, req.outs, summary,
                            extra={"casework": casework, "bookings": booked})
    except OSError as exc:
        raise UserError(f"cannot write the report: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:  # a damaged ledger, a disk error while reading: one line, the ledger untouched
        raise UserError(f"{snap.path}: cannot read the ledger: {exc}") from None
    finally:
        snap.close()
        for tmp in temps:
            with contextlib.suppress(OSError):
                tmp.unlink()
