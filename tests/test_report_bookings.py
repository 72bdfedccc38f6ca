"""预约 and 上门服务 in the 台账: a Tuesday of bookings made on every channel — one checked in after a 改约, one
missed, one cancelled in the last hour, a hold left to run out, a home visit by two helpers done and rated — and a
case rated on the phone page. The supervisor quotes these figures upward, so each is asserted in the XLSX and in
the PDF; the visitors' names, phones and the address are masked unless --unmasked."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from hall_bus.clock import ManualClock
from hall_bus.config import HallConfig
from hall_bus.domain.staff import hash_pin
from hall_bus.nodes.appointment import parse
from hall_bus.reports import ReportRequest, build_report
from hall_bus.reports.bookings import BookingRow, booking_figures
from hall_bus.store.core import HallCore

from .conftest import TZ

MARRIAGE = "QR-379901-MZJ-011"  # 婚姻登记, at window 14
SOCIAL = "GG-379901-RSJ-001"  # 人社
HOME = "GF-379901-MZJ-001"  # 最低生活保障申请: 可上门
TAX = "GG-379901-SWJ-004"  # 完税证明开具: 即办
TUESDAY = date(2026, 11, 24)
VISITOR, PHONE = "张秀英", "13812345678"
OLD, OLD_PHONE = "欧阳秀兰", "13700001111"
ADDRESS = "平安县城关镇建设路12号院3单元"


def at(hour: int, minute: int = 0, day: date = TUESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


class Desk:
    """HallCore with a terse call that fails the test on a refusal (a refused command would be a wrong ledger)."""

    def __init__(self, core: HallCore, clock: ManualClock) -> None:
        self.core, self.clock = core, clock

    def __call__(self, op: str, **kw: Any) -> dict[str, Any]:
        answer = self.core.submit({"op": op, **kw})
        assert answer["ok"], answer
        return answer["result"]

    def go(self, moment: datetime) -> None:
        self.clock.advance((moment - self.clock.now()).total_seconds())

    def book(self, item: str, start: datetime, phone: str, channel: str, name: str = VISITOR,
             confirm: bool = True, **kw: Any) -> dict[str, Any]:
        held = self("hold_booking", item=item, start=start.isoformat(), phone=phone, name=name, channel=channel,
                    **kw)
        return self("confirm_booking", code=held["code"]) if confirm else held


@pytest.fixture(scope="module")
def ledger(cfg: HallConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("bookings")
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ), TZ)
    core = HallCore(cfg, data, clock)
    desk = Desk(core, clock)
    try:
        pin = hash_pin("1234")
        for staff, name, duties in (("h1", "王芳", ["helper"]), ("h2", "赵磊", ["helper"]),
                                    ("c1", "李明", ["clerk"])):
            desk("add_staff", staff=staff, name=name, duties=duties, pin_hash=pin)
        # Monday: the bookings for Tuesday, and a case accepted and delivered at a window
        first = desk.book(MARRIAGE, at(10), PHONE, "phone")["code"]  # 001: moved, then checked in
        missed = desk.book(MARRIAGE, at(10, 30), "13900000001", "hotline", name="李四")["code"]  # 002
        late = desk.book(SOCIAL, at(9), "13900000002", "tablet", name="王五")["code"]  # 003: cancelled at 08:30
        desk.book(SOCIAL, at(9, 30), "13900000003", "hall", name="赵六", confirm=False)  # 004: runs out
        visit = desk.book(HOME, at(9), OLD_PHONE, "hotline", name=OLD, group="home_visit", address=ADDRESS,
                          needs=["轮椅"])["code"]  # 005: two helpers for a wheelchair
        desk("assign_home_visit", code=visit, helpers=["h1", "h2"], travel_minutes=25, by="h1")
        desk("reschedule_booking", code=first, start=at(11).isoformat())
        case = desk("accept_case", item=TAX, applicant=VISITOR, phone=PHONE, counter=15, by="c1")["case"]
        desk("start_case", case=case, by="c1")
        desk("conclude_case", case=case, decision="approved", by="c1")
        desk("deliver_case", case=case, how="window", collector=VISITOR, collector_id="370322196611240018",
             id_checked=True, by="c1")
        desk.go(at(19, 0, date(2026, 11, 23)))  # the evening-before SMS: one sent, one number refused
        desk("record_reminder", code=first, ok=True, message_id="m-1")
        desk("record_reminder", code=missed, ok=False, error="号码停机")
        # Tuesday
        desk.go(at(8, 30))
        desk("cancel_booking", code=late, reason="临时有事")
        desk("rate_case", case=case, level=4, channel="phone", phone_tail=PHONE[-4:])  # 满意, on the phone page
        desk.go(at(10, 50))
        desk("tick")  # 002 is 30 minutes past 10:30 at 11:00: not yet
        qr = core.engine.state.bookings[first].qr
        appt = parse(qr, cfg, clock.now())
        desk("issue", service="婚姻登记", appointment_at=appt.at.isoformat(), appointment_ref=first,
             appointment_sig=appt.sig)
        desk("open_counter", counter=14)
        ticket = desk("call_next", counter=14)["ticket"]
        desk("finish", counter=14, ticket=ticket)
        desk("rate", ticket=ticket, level=2)  # 不满意, on the window's pad
        desk.go(at(11, 5))
        desk("tick")  # 002: missed
        desk("arrive_home_visit", code=visit, done_at=at(9, 2).isoformat(), by="h1")
        desk("finish_home_visit", code=visit, done_at=at(9, 50).isoformat(), by="h2", outcome="done", rating=5)
        desk.go(at(9, 0, date(2026, 11, 25)))
        desk("tick")
    finally:
        core.close()
    return data


@pytest.fixture(scope="module")
def outputs(cfg: HallConfig, ledger: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("out")
    paths = {"xlsx": out / "day.xlsx", "pdf": out / "day.pdf", "open": out / "open.xlsx"}
    build_report(ReportRequest(cfg, ledger, TUESDAY, TUESDAY, [paths["xlsx"], paths["pdf"]]))
    build_report(ReportRequest(cfg, ledger, TUESDAY, TUESDAY, [paths["open"]], masked=False))
    return paths


def _overview(path: Path) -> dict[str, tuple[Any, Any]]:
    openpyxl = pytest.importorskip("openpyxl")
    ws = openpyxl.load_workbook(path)["概览"]
    return {r[0].value: (r[1].value, r[2].value) for r in ws.iter_rows(min_row=3) if r[0].value}


def _sheet(path: Path, name: str) -> list[tuple[Any, ...]]:
    openpyxl = pytest.importorskip("openpyxl")
    return list(openpyxl.load_workbook(path)[name].iter_rows(min_row=2, values_only=True))


def test_the_overview_counts_each_booking_once_by_what_became_of_it(outputs: dict[str, Path]) -> None:
    o = {k: v[0] for k, v in _overview(outputs["xlsx"]).items()}
    assert o["预约 bookings made"] == 5
    assert (o["　手机页 phone"], o["　电话 hotline"], o["　平板 tablet"], o["　大厅 hall"]) == (1, 2, 1, 1)
    assert o["已确认 confirmed"] == 4  # the hall's hold was never confirmed
    assert o["到场 checked in"] == 2  # the ticket at the kiosk, and the visitor found at home
    assert o["爽约 no-shows"] == 1 and o["爽约率 no-show rate"] == pytest.approx(1 / 3)
    assert o["取消（开始前一小时内） cancelled (late)"] == "1（1）"
    assert o["未确认过期 expired holds"] == 1
    assert o["改约（次数） rescheduled (moves)"] == "1（1）"
    assert (o["上门服务 home visits booked"], o["上门办结 home visits done"]) == (1, 1)
    assert o["　上门结果·办结 done"] == 1 and o["　上门结果·不在家 not_home"] == 0
    assert o["上门平均路上（分钟） travel"] == 25 and o["两人上门 two helpers"] == 1
    assert o["提醒短信 已发送 / 放弃 reminders sent / given up"] == "1 / 1"


def test_ratings_by_channel_with_the_reports_own_satisfaction_rate(outputs: dict[str, Path]) -> None:
    o = _overview(outputs["xlsx"])
    assert o["评价渠道 评价器 pad"] == (1, 0.0)  # 不满意 on the window's pad
    assert o["评价渠道 手机 phone"] == (1, 1.0)  # 满意 on the phone page
    assert o["评价渠道 上门 home"] == (1, 1.0)  # 非常满意 on the helper's tablet
    assert o["评价渠道 窗口 hall"] == (0, "-")
    assert o["满意率 satisfied"][0] == 0.0  # the overview's own 满意率 is the pad's: the same visits


def test_the_booking_sheet_has_one_row_per_booking_masked(outputs: dict[str, Path]) -> None:
    rows = {r[0]: r for r in _sheet(outputs["xlsx"], "预约台账")}
    assert list(rows) == ["PA-20261124-003", "PA-20261124-005", "PA-20261124-004", "PA-20261124-002",
                          "PA-20261124-001"]  # by booked time: the moved one at its new 11:00
    first = rows["PA-20261124-001"]
    assert first[1:4] == ("内地居民结婚登记", "婚姻登记", "2026-11-24 11:00")
    assert (first[5], first[7], first[9], first[10]) == ("手机页", "已到场", 1, "已发送")
    assert first[8]  # the ticket it was checked in with
    assert first[11] == "张**" and first[12] == "138****5678"
    assert rows["PA-20261124-002"][7] == "爽约" and rows["PA-20261124-002"][10] == "未送达(放弃)"
    assert rows["PA-20261124-003"][7] == "已取消(开始前一小时内)"
    assert rows["PA-20261124-004"][7] == "未确认(过期)" and rows["PA-20261124-004"][5] == "大厅"
    assert rows["PA-20261124-005"][6] == "上门办"
    with zipfile.ZipFile(outputs["xlsx"]) as z:
        text = b"".join(z.read(n) for n in z.namelist() if n.endswith(".xml")).decode()
    assert PHONE not in text and OLD not in text and "建设路12号" not in text


def test_the_home_visit_sheet_names_the_helpers_and_the_times_done(outputs: dict[str, Path]) -> None:
    (row,) = _sheet(outputs["xlsx"], "上门服务台账")
    assert row[0] == "PA-20261124-005" and row[1] == "最低生活保障申请" and row[2] == "2026-11-24 09:00"
    assert row[3] == "平安县城关镇****"  # the street and house hidden, as the bus carries it
    assert (row[4], row[5], row[6]) == ("轮椅", "王芳（h1）、赵磊（h2）", 25)
    assert (row[7], row[8], row[9], row[10]) == ("11-24 09:02", "11-24 09:50", "办结", "非常满意")


def test_unmasked_shows_the_whole_name_phone_and_address(outputs: dict[str, Path]) -> None:
    rows = {r[0]: r for r in _sheet(outputs["open"], "预约台账")}
    assert rows["PA-20261124-001"][11:13] == (VISITOR, PHONE)
    (visit,) = _sheet(outputs["open"], "上门服务台账")
    assert visit[3] == ADDRESS


def test_the_pdf_says_the_same_figures(outputs: dict[str, Path]) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    doc = pdfium.PdfDocument(str(outputs["pdf"]))
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    flat = "".join(text.split())
    for words in ("预约与上门服务", "预约5", "手机页1", "电话2", "爽约1", "爽约率33.3%", "取消（开始前一小时内）1（1）",
                  "未确认过期1", "上门办结1", "上门平均路上（分钟）25.0", "两人上门1", "提醒短信已发送/放弃1/1"):
        assert words in flat, words
    for channel, rated, rate in (("评价器", 1, "0.0%"), ("手机", 1, "100.0%"), ("上门", 1, "100.0%"),
                                 ("窗口", 0, "-")):
        assert f"{channel}{rated}{rate}" in flat, channel
    assert PHONE not in flat and VISITOR not in flat


def test_figures_of_no_bookings_divide_by_nothing() -> None:
    f = booking_figures([], {}, {})
    assert f.total_made == 0 and f.no_show_rate is None and f.travel_avg is None
    assert [(r.channel, r.rated, r.satisfaction_rate) for r in f.ratings] == [
        ("pad", 0, None), ("phone", 0, None), ("home", 0, None), ("hall", 0, None)]


def test_a_home_visit_not_home_is_a_no_show_and_a_hold_is_no_visit() -> None:
    def row(code: str, **kw: Any) -> BookingRow:
        base: dict[str, Any] = {"item": "x", "item_name": "x", "service": "民政", "group": "home_visit",
                                "start": "2026-11-24T09:00:00+08:00", "end": "2026-11-24T10:00:00+08:00",
                                "day": "2026-11-24", "session": "上午", "session_kind": "regular",
                                "channel": "hotline", "name": "", "phone": ""}
        return BookingRow(code, **{**base, **kw})

    f = booking_figures([row("a", confirmed=True, status="no_show", outcome="not_home", helpers=["h1"],
                             travel_minutes=10),
                         row("b", confirmed=True, status="done", outcome="refused", helpers=["h1"], travel_minutes=30),
                         row("c", status="expired")], {}, {})
    assert (f.home_booked, f.home_done, f.home_outcomes["not_home"], f.home_outcomes["refused"]) == (2, 0, 1, 1)
    assert f.no_show == 1 and f.arrived == 1 and f.no_show_rate == 0.5 and f.travel_avg == 20
