"""Every record reaches the 台账: a delegation and a notice recorded on the greeter tablet for a visitor with no
ticket, a consultation, a complaint and a follow-up's 整改 — found in the XLSX, personal data masked, and the
complaint figures (received, on time, 及时处理率 by channel and subject) right."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from hall_bus.reports import ReportRequest, build_report
from hall_bus.reports.records import Complaint, complaint_figures
from hall_bus.store.core import HallCore

from .conftest import TZ

PRINCIPAL = "欧阳秀英"
COMPLAINANT = "司马光明"
PHONE = "13912345678"
ID_NO = "110101196611240036"
DAY = date(2026, 11, 23)


@pytest.fixture
def ledger(cfg, clock, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    core = HallCore(cfg, tmp_path, clock)
    try:
        for cmd in (
            {"op": "record_delegation", "helper": "xm-1", "principal": PRINCIPAL, "services": ["不动产"],
             "pages": [{"sha256": "a" * 64, "file": "D-000001-1.jpg"}]},
            {"op": "issue_notice", "service": "医保", "by": "xm-1", "missing": ["户口簿", "村委会证明"]},
            {"op": "open_consultation", "helper": "xm-1", "name": "张三", "question": "几点下班？", "answer": "17:30"},
            {"op": "register_complaint", "by": "xm-1", "channel": "hotline", "subject_kind": "window",
             "subject": "10", "complainant": COMPLAINANT, "phone": PHONE, "text": f"身份证 {ID_NO} 被要求复印三次"},
            {"op": "register_complaint", "by": "xm-1", "channel": "box", "subject_kind": "service",
             "subject": "医保", "text": "排队太久", "handler": "xm-2"},
            {"op": "issue", "service": "医保"}, {"op": "open_counter", "counter": 10},
            {"op": "call_next", "counter": 10},
        ):
            clock.advance(60)
            core.submit(cmd)
        ticket = core.state.counters[10].current
        for cmd in (
            {"op": "finish", "counter": 10, "ticket": ticket},
            {"op": "rate", "ticket": ticket, "level": 1},
            {"op": "assign_followup", "followup_id": "FU-000001", "owner": "xm-2"},
            {"op": "rectify_followup", "followup_id": "FU-000001", "by": "xm-2", "note": "已电话回访并致歉"},
            {"op": "close_followup", "followup_id": "FU-000001", "by": "xm-3", "note": "已核实"},
            {"op": "reply_complaint", "complaint_id": "CP-000001", "by": "xm-3", "reply": f"已回复 {PHONE}"},
        ):
            clock.advance(60)
            core.submit(cmd)
    finally:
        core.close()
    return tmp_path


def _rows(ws: Any) -> list[tuple[Any, ...]]:
    return list(ws.iter_rows(min_row=2, values_only=True))


def test_a_tablet_only_delegation_and_notice_are_in_the_xlsx(cfg, ledger: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report.xlsx"
    build_report(ReportRequest(cfg, ledger, DAY, DAY, [out]))
    with zipfile.ZipFile(out) as z:
        text = b"".join(z.read(n) for n in z.namelist() if n.endswith(".xml")).decode()
    assert PRINCIPAL not in text and COMPLAINANT not in text and PHONE not in text and ID_NO not in text
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(out)
    delegations = _rows(wb["代办协议"])
    assert [(r[0], r[5], r[7]) for r in delegations] == [("D-000001", "不动产", "无（平板登记）")]
    assert delegations[0][4].startswith("欧") and PRINCIPAL not in delegations[0][4]
    notices = _rows(wb["一次性告知"])
    assert [(r[0], r[3], r[4], r[6]) for r in notices] == [("N-000001", "医保", "户口簿、村委会证明", "无（平板登记）")]
    assert [r[0] for r in _rows(wb["咨询"])] == ["C-000001"]
    complaints = {r[0]: r for r in _rows(wb["投诉"])}
    assert set(complaints) == {"CP-000001", "CP-000002"}
    first = complaints["CP-000001"]
    assert (first[3], first[4], first[16], first[17]) == ("12345热线", "10 号窗口", "已办结", "是")
    assert complaints["CP-000002"][16] == "整改中" and complaints["CP-000002"][10] == "xm-2"
    followup = _rows(wb["回访"])[0]
    assert followup[10] == "已结" and followup[13:15] == ("已电话回访并致歉", "xm-2")
    overview = {r[0].value: r[1].value for r in wb["概览"].iter_rows(min_row=3) if r[0].value}
    assert overview["一次性告知 notices (无票号)"] == "1 (1)"
    assert overview["委托代办协议 delegations (无票号)"] == "1 (1)"
    assert overview["投诉 complaints (已办结 / 按时 / 逾期)"] == "2 (1 / 1 / 0)"
    assert overview["投诉及时处理率 complaints on time"] == 1.0  # the open one is not yet due: not counted
    assert overview["咨询、投诉及时处理率 handled on time"] == 1.0
    stats = {r[0]: r for r in _rows(wb["投诉统计"]) if r[0]}
    assert stats["12345热线"][1:6] == (1, 1, 1, 0, 0) and stats["意见箱"][1] == 1 and stats["局长信箱"][1] == 0
    assert stats["事项 医保"][1] == 1 and stats["10 号窗口"][3] == 1


def _complaint(cid: str, channel: str, due: str, closed: str = "", overdue: bool = False) -> Complaint:
    return Complaint(cid, "2026-11-23", "2026-11-23T09:00:00+08:00", channel, "service", "医保", "", "", "x", due,
                     "xm-1", "", closed=closed, overdue=overdue)


def test_the_complaint_rate_counts_only_those_whose_outcome_is_known() -> None:
    as_of = datetime(2026, 12, 1, 9, tzinfo=TZ)
    f = complaint_figures([
        _complaint("CP-1", "hotline", "2026-11-30T09:00:00+08:00", closed="2026-11-27T10:00:00+08:00"),  # on time
        _complaint("CP-2", "hotline", "2026-11-30T09:00:00+08:00", closed="2026-11-30T10:00:00+08:00"),  # late
        _complaint("CP-3", "online", "2026-11-30T09:00:00+08:00"),  # open past due
        _complaint("CP-4", "online", "2026-12-07T09:00:00+08:00"),  # open, not yet due: not decided
    ], as_of)
    t = f.total
    assert (t.received, t.closed, t.on_time, t.open, t.overdue, t.decided) == (4, 2, 1, 2, 2, 3)
    assert t.rate == pytest.approx(1 / 3)
    assert f.channel["hotline"].rate == 0.5 and f.channel["online"].rate == 0.0
