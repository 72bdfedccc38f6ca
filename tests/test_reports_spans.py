"""The ledger report across ranges: a case the engine keeps open past its day (a home visit booked for a later day,
a home visit under way at the rollover) has the same row, rating and follow-up whatever range it is read in; the
helper's response counts for booked counter visitors, not home visits; the XLSX of an empty range has no
backwards chart ranges, a matching autofilter and every day in 按期间; the 台账 entry is not zip64.

A small hand-written scenario through hall_bus/sim/scenario.py (the real core and ledger):

- 20261123-E001: a home visit booked on 11-23 for 11-26 10:00; claimed on 11-26 by helper-03, finished, rated
  非常不满意 (a follow-up opens).
- 20261124-E001: 陪同办 booked for 11-24 09:30, issued 09:00; helper-02 claims it four minutes later.
- 20261124-E002: a home visit for 11-24 15:00, claimed 14:00 by helper-01, under way at the rollover, finished
  11-25 10:00 and rated 满意.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hall_bus.config import load_config
from hall_bus.reports import ReportRequest, build_report
from hall_bus.sim.scenario import run_scenario

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "hall.example.toml"
CASE_PART = "xl/worksheets/sheet2.xml"

SCRIPT = [
    {"at": "2026-11-23T09:00:00+08:00", "op": "issue", "service": "医保", "group": "home_visit",
     "appointment_at": "2026-11-26T10:00:00+08:00"},
    {"at": "2026-11-24T09:00:00+08:00", "op": "issue", "service": "医保", "group": "accompany",
     "appointment_at": "2026-11-24T09:30:00+08:00"},
    {"at": "2026-11-24T09:04:00+08:00", "op": "claim_help", "help_id": "H-20261124-E001", "helper": "helper-02"},
    {"at": "2026-11-24T09:10:00+08:00", "op": "issue", "service": "医保", "group": "home_visit",
     "appointment_at": "2026-11-24T15:00:00+08:00"},
    {"at": "2026-11-24T14:00:00+08:00", "op": "claim_help", "help_id": "H-20261124-E002", "helper": "helper-01"},
    {"at": "2026-11-25T10:00:00+08:00", "op": "finish_help", "help_id": "H-20261124-E002", "helper": "helper-01"},
    {"at": "2026-11-25T10:05:00+08:00", "op": "rate", "ticket": "20261124-E002", "level": "满意"},
    {"at": "2026-11-26T09:00:00+08:00", "op": "claim_help", "help_id": "H-20261123-E001", "helper": "helper-03"},
    {"at": "2026-11-26T11:00:00+08:00", "op": "finish_help", "help_id": "H-20261123-E001", "helper": "helper-03"},
    {"at": "2026-11-26T11:05:00+08:00", "op": "rate", "ticket": "20261123-E001", "level": "非常不满意",
     "comment": "等了三天"},
    {"at": "2026-11-27T09:00:00+08:00", "op": "tick"},
    {"at": "2026-11-28T09:00:00+08:00", "op": "tick"},
    {"at": "2026-11-29T09:00:00+08:00", "op": "tick"},
]


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cfg = load_config(CONFIG)
    data = tmp_path_factory.mktemp("spans")
    out, err = io.StringIO(), io.StringIO()
    res = run_scenario(cfg, [json.dumps(line, ensure_ascii=False) for line in SCRIPT], source="spans",
                       data_dir=data, out=out, err=err, stop_on_error=True)
    assert res.errors == 0, err.getvalue()
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert any(e["type"] == "followup_opened" for e in events)
    return {"cfg": cfg, "data": data, "out": tmp_path_factory.mktemp("spans-out")}


def _report(hall: dict[str, Any], first: int, last: int) -> tuple[Any, dict[str, dict[str, Any]], Path]:
    openpyxl = pytest.importorskip("openpyxl")
    path = hall["out"] / f"r{first}-{last}.xlsx"
    result = build_report(ReportRequest(hall["cfg"], hall["data"], date(2026, 11, first), date(2026, 11, last),
                                        [path]))
    ws = openpyxl.load_workbook(path)["台账"]
    header = [c.value for c in ws[1]]
    rows = {f"{r['日期']} {r['号码']}": r for r in
            (dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=2))}
    return result, rows, path


RANGES_23 = [(23, 23), (23, 24), (23, 25), (23, 26), (23, 29)]
RANGES_24 = [(23, 24), (24, 24), (24, 25), (24, 26), (23, 29)]


@pytest.mark.parametrize(("first", "last"), RANGES_23)
def test_a_visit_booked_for_a_later_day_is_done_rated_and_followed_up_in_every_range(
        hall: dict[str, Any], first: int, last: int) -> None:
    result, rows, _ = _report(hall, first, last)
    row = rows["2026-11-23 E001"]
    assert (row["结果"], row["评价"], row["窗口"]) == ("办结", "非常不满意", "上门")
    assert row["回访"] and row["回访"].startswith("FU-")
    assert row["办结"] == "11:00:00" and "helper-03" in row["帮办员"]
    s = result.summary
    assert s.helper["helper-03"].cases == 1
    assert s.total.followups == 1 and s.total.bad_ratings == 1
    assert s.period["2026-11-23"].ratings["非常不满意"] == 1


@pytest.mark.parametrize(("first", "last"), RANGES_24)
def test_a_visit_under_way_at_the_rollover_is_done_with_its_rating_in_every_range(
        hall: dict[str, Any], first: int, last: int) -> None:
    result, rows, _ = _report(hall, first, last)
    row = rows["2026-11-24 E002"]
    assert (row["结果"], row["评价"], row["办结"], row["认领"]) == ("办结", "满意", "10:00:00", "14:00:00")
    assert result.summary.helper["helper-01"].served == 1
    assert result.summary.period["2026-11-24"].ratings["满意"] == 1


def test_case_rows_do_not_change_with_the_range(hall: dict[str, Any]) -> None:
    seen: dict[str, dict[str, Any]] = {}
    for first, last in sorted(set(RANGES_23 + RANGES_24)):
        _, rows, _ = _report(hall, first, last)
        for key, row in rows.items():
            assert seen.setdefault(key, row) == row, (key, first, last)
    assert len(seen) == 3


def test_helper_response_counts_booked_counter_visitors_not_home_visits(hall: dict[str, Any]) -> None:
    result, rows, _ = _report(hall, 24, 24)
    s = result.summary
    assert s.helper["helper-02"].claim_min(50) == 4.0  # 陪同办 booked: requested 09:00, claimed 09:04
    assert s.group["accompany"].claim_min(90) == 4.0
    assert s.helper["helper-01"].claim_min(50) is None  # the home visit's helper goes at the booked hour
    assert sum(s.total.claim_waits.values()) == 1
    assert rows["2026-11-24 E001"]["认领"] == "09:04:00"


def _zip64_extra(path: Path, info: zipfile.ZipInfo) -> bool:
    """Whether the entry's local header carries a zip64 extra field (header id 0x0001)."""
    with path.open("rb") as f:
        f.seek(info.header_offset)
        head = f.read(30)
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        extra = f.read(name_len + extra_len)[name_len:]
    while len(extra) >= 4:
        kind, size = struct.unpack("<HH", extra[:4])
        if kind == 1:
            return True
        extra = extra[4 + size:]
    return False


def test_the_case_sheet_entry_is_not_zip64(hall: dict[str, Any]) -> None:
    _, rows, path = _report(hall, 23, 29)
    assert len(rows) == 3  # and openpyxl read it
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(CASE_PART)
        assert z.testzip() is None
        assert info.extract_version < 45 and not _zip64_extra(path, info)
        assert all(not _zip64_extra(path, i) for i in z.infolist())


def _ranges_backwards(xml: str) -> list[str]:
    bad = []
    for m in re.finditer(r"\$([A-Z]+)\$(\d+):\$([A-Z]+)\$(\d+)", xml):
        if int(m.group(4)) < int(m.group(2)):
            bad.append(m.group(0))
    return bad


def _autofilters(path: Path) -> tuple[str, str]:
    with zipfile.ZipFile(path) as z:
        sheet = z.read(CASE_PART).decode()
        book = z.read("xl/workbook.xml").decode()
    ref = re.search(r'<autoFilter ref="([^"]+)"', sheet)
    name = re.search(r'<definedName name="_xlnm._FilterDatabase"[^>]*>([^<]+)</definedName>', book)
    assert ref and name
    return ref.group(1), name.group(1).split("!", 1)[1].replace("$", "")


@pytest.mark.parametrize(("first", "last", "days"), [(27, 29, 3), (23, 26, 4), (23, 29, 7)])
def test_every_day_is_in_by_period_and_charts_have_rows(hall: dict[str, Any], first: int, last: int,
                                                        days: int) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    result, rows, path = _report(hall, first, last)
    wb = openpyxl.load_workbook(path)
    periods = [r for r in wb["按期间"].iter_rows(min_row=2, values_only=True)]
    assert [p[0] for p in periods] == [f"2026-11-{d}" for d in range(first, last + 1)]
    assert sum(p[1] for p in periods) == len(rows) == result.cases
    ref, name = _autofilters(path)
    assert ref == name == f"A1:R{len(rows) + 1}"
    with zipfile.ZipFile(path) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert charts and all(not _ranges_backwards(c) for c in charts)
    assert sum(len(ws._charts) for ws in wb.worksheets) == len(charts)  # 图表 and the complaints' own chart


def test_an_empty_range_has_no_backwards_chart_ranges_and_a_matching_autofilter(hall: dict[str, Any]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    result, rows, path = _report(hall, 27, 28)
    assert result.cases == 0 and not rows
    ref, name = _autofilters(path)
    assert ref == name == "A1:R1"
    with zipfile.ZipFile(path) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert all(not _ranges_backwards(c) for c in charts)
    wb = openpyxl.load_workbook(path)
    # arrivals by hour, ratings and cases by period; no groups or services to chart (complaints have their own)
    assert len(wb["图表"]._charts) == 3 and len(charts) == sum(len(ws._charts) for ws in wb.worksheets)
    assert [r[0] for r in wb["按期间"].iter_rows(min_row=2, values_only=True)] == ["2026-11-27", "2026-11-28"]
