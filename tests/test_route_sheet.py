"""The 上门服务路线单: a helper's day planned (order, when to leave, when back, clashes) and printed.

Why: the helper trusts the sheet on the road. A wrong leave time makes a visitor wait at home; a clash not
flagged is found at a doorway; a block split over two pages loses its address or its signature line; a
full name or phone on paper left in a car is a leak. The address, though, must be whole: it is how the
helper finds the house.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hall_bus.errors import UserError
from hall_bus.homevisit.route import RouteDay, VisitStop, helpers_on, plan_day
from hall_bus.homevisit.route_pdf import day_words, write_route_sheet

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 4)  # a Friday
HALL = "平安县政务服务中心"
ME, MATE, OTHER = "王芳", "赵磊", "陈刚"
VISITOR, PHONE = "李秀英", "13812345678"
ADDRESS = "平安县城关镇东关村三组17号红色大门"


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def stop(code: str, start: datetime, minutes: int = 45, travel: int = 20, **kw: Any) -> VisitStop:
    base: dict[str, Any] = {
        "item_name": "高龄津贴申领", "service": "民政", "address": ADDRESS, "village": "东关村",
        "visitor_name": VISITOR, "phone": PHONE, "needs": ["轮椅", "听力不好"], "helpers": [ME],
        "materials": ["户口本复印件", "高拍仪"], "note": "",
    }
    return VisitStop(code=code, start=start, minutes=minutes, travel_minutes=travel, **{**base, **kw})


def codes(day: RouteDay) -> list[str]:
    return [r.stop.code for r in day.rows]


# ---------------------------------------------------------------------- planning


def test_the_route_is_the_helpers_own_stops_of_the_day_in_booked_order() -> None:
    stops = [
        stop("PA-3", at(14)),
        stop("PA-1", at(9), helpers=[MATE, ME]),
        stop("PA-x", at(10), helpers=[OTHER]),  # someone else's
        stop("PA-y", at(9, 30, DAY + timedelta(days=1))),  # tomorrow
        stop("PA-2", at(11).astimezone(UTC)),  # booked in UTC: still 11:00 in the hall
    ]
    day = plan_day(stops, HALL, ME, DAY, tz=TZ)
    assert codes(day) == ["PA-1", "PA-2", "PA-3"]
    assert [r.number for r in day.rows] == [1, 2, 3]
    assert day.rows[1].arrive_at.strftime("%H:%M") == "11:00"
    assert day.rows[0].companions == (MATE,)  # the other helper going along, not me
    assert helpers_on(stops, DAY, tz=TZ) == sorted([ME, MATE, OTHER])


def test_leave_at_is_the_travel_before_the_booking_and_back_at_only_for_the_last() -> None:
    day = plan_day([stop("PA-1", at(9), travel=20), stop("PA-2", at(11), minutes=30, travel=35)], HALL, ME, DAY)
    first, last = day.rows
    assert (first.leave_at, first.end_at, first.back_at) == (at(8, 40), at(9, 45), None)
    assert (last.leave_at, last.end_at) == (at(10, 25), at(11, 30))
    assert last.back_at == at(12, 5)  # no return time given: the way there, again
    assert (day.leave_at, day.back_at) == (at(8, 40), at(12, 5))

    given = plan_day([stop("PA-1", at(9), travel=20, back_minutes=50)], HALL, ME, DAY)
    assert given.back_at == at(10, 35)


def test_totals_count_every_leg_and_the_way_back() -> None:
    day = plan_day([stop("PA-1", at(9), minutes=45, travel=20), stop("PA-2", at(11), minutes=30, travel=35)],
                   HALL, ME, DAY)
    assert day.visit_minutes == 75
    assert day.road_minutes == 20 + 35 + 35
    assert day.warnings == ()


def test_two_visits_overlapping_are_named_with_the_minutes() -> None:
    day = plan_day([stop("PA-1", at(9), minutes=60), stop("PA-2", at(9, 45), travel=0)], HALL, ME, DAY)
    assert len(day.warnings) == 1
    words = day.warnings[0]
    assert "重叠" in words and "PA-1" in words and "PA-2" in words and "15 分钟" in words
    assert day.rows[1].warnings == day.warnings and day.rows[0].warnings == ()


def test_a_long_visit_still_running_two_homes_later_is_the_clash_named() -> None:
    day = plan_day([stop("PA-1", at(9), minutes=180), stop("PA-2", at(10)), stop("PA-3", at(11))], HALL, ME, DAY)
    assert [len(r.warnings) for r in day.rows] == [0, 1, 1]
    (words,) = day.rows[2].warnings  # PA-2 ends 10:45, but PA-1 runs to 12:00: that is the real clash
    assert "重叠" in words and "PA-1" in words and "重叠 45 分钟" in words  # PA-3 itself ends 11:45


def test_not_enough_road_between_two_homes_says_how_short() -> None:
    day = plan_day([stop("PA-1", at(9)), stop("PA-2", at(10), travel=20)], HALL, ME, DAY)  # 9:45 → 10:00
    assert len(day.warnings) == 1
    words = day.warnings[0]
    assert "路上时间不够" in words and "只有 15 分钟" in words and "差 5 分钟" in words
    assert "重叠" not in words

    fits = plan_day([stop("PA-1", at(9)), stop("PA-2", at(10, 5), travel=20)], HALL, ME, DAY)
    assert fits.warnings == ()


def test_a_booking_without_a_time_zone_is_refused() -> None:
    with pytest.raises(UserError, match="时区"):
        stop("PA-1", datetime(2026, 12, 4, 9, 0))


def test_the_stop_keeps_its_lists_immutable() -> None:
    s = stop("PA-1", at(9))
    assert s.needs == ("轮椅", "听力不好") and hash(s)


# ---------------------------------------------------------------------- the PDF


def pages_text(path: Path) -> list[str]:
    """Each page's text with whitespace removed: a wrapped line must not hide a whole address."""
    pdfium = pytest.importorskip("pypdfium2")
    doc = pdfium.PdfDocument(path)
    return [re.sub(r"\s", "", doc[i].get_textpage().get_text_range()) for i in range(len(doc))]


def test_the_sheet_has_the_times_the_whole_address_and_masked_person(tmp_path: Path) -> None:
    stops = [
        stop("PA-20261204-0007", at(9), helpers=[ME, MATE], needs=["轮椅", "需要代写"],
             note=f"{VISITOR}的女儿电话13987654321，到了先打"),
        stop("PA-20261204-0009", at(10), travel=20),  # leaves 09:40, the first ends 09:45
    ]
    day = plan_day(stops, HALL, ME, DAY, tz=TZ)
    path = tmp_path / "route.pdf"
    write_route_sheet(day, path)

    raw = path.read_bytes()
    assert raw.startswith(b"%PDF") and b"/FontFile2" in raw  # the CJK font is embedded
    text = "".join(pages_text(path))
    assert "上门服务路线单" in text and HALL in text and ME in text
    assert re.sub(r"\s", "", day_words(DAY)) in text and "星期五" in text
    assert ADDRESS in text  # whole: the helper has to find the house
    assert "李**" in text and "138****5678" in text
    assert VISITOR not in text and PHONE not in text and "13987654321" not in text
    assert "轮椅" in text and "需要代写" in text and "听力不好" in text
    for words in ("出发08:40", "到达09:00", "预计结束09:45", "出发09:40", "回到大厅约11:05"):
        assert words in text
    assert f"同行{MATE}" in text
    assert "□户口本复印件" in text and "群众签字" in text
    assert "路上时间不够" in text and "差5分钟" in text


def test_six_stops_span_pages_without_splitting_a_block(tmp_path: Path) -> None:
    long_note = "进村后沿水泥路走到小卖部，左转过小桥，第三家；院里有狗，先在门口喊一声。" * 2
    stops = [stop(f"PA-20261204-{i:04d}", at(8) + timedelta(minutes=90 * (i - 1)), travel=25, note=long_note,
                  address=f"平安县城关镇东关村{i}组{i + 10}号",
                  materials=["户口本复印件", "身份证复印件", "高拍仪", "印泥", "委托书空白"])
             for i in range(1, 7)]
    day = plan_day(stops, HALL, ME, DAY, tz=TZ)
    assert day.warnings == ()  # only the blocks carry the codes
    path = tmp_path / "six.pdf"
    write_route_sheet(day, path)
    pages = pages_text(path)
    assert len(pages) >= 2
    for s in stops:
        where = [i for i, page in enumerate(pages) if s.code in page]
        assert len(where) == 1 and pages[where[0]].count(s.code) == 1
        assert s.address in pages[where[0]]  # on the page of its own code
    for page in pages:  # every block on a page has its own signature line: none left on the next page
        assert page.count("群众签字") == page.count("PA-20261204-")


def test_a_day_with_no_visits_still_prints(tmp_path: Path) -> None:
    path = tmp_path / "none.pdf"
    write_route_sheet(plan_day([stop("PA-1", at(9), helpers=[OTHER])], HALL, ME, DAY), path)
    assert "这一天没有安排上门服务" in "".join(pages_text(path))


def test_a_visitor_without_a_phone_prints_the_name_only(tmp_path: Path) -> None:
    path = tmp_path / "nophone.pdf"
    write_route_sheet(plan_day([replace(stop("PA-1", at(9)), phone="")], HALL, ME, DAY), path)
    text = "".join(pages_text(path))
    assert "群众李**" in text and VISITOR not in text
