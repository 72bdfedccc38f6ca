"""`hallctl homevisit routes` and `hallctl bookings`: the morning's paper and list, from the ledger alone.

Why: each helper drives to the addresses on their own sheet, so a home on the wrong helper's sheet, or an address
cut short, sends someone to the wrong door; a visit nobody was sent to must be said before anyone leaves. The
supervisor's list is read on a shared screen, so names and phones are masked there unless an admin asks."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hall_bus.cli.hallctl import main
from hall_bus.clock import ManualClock
from hall_bus.config import HallConfig
from hall_bus.domain.staff import hash_pin
from hall_bus.store.core import HallCore

from .conftest import EXAMPLE, TZ

LOW_INCOME, ELDERLY = "GF-379901-MZJ-001", "GF-379901-MZJ-002"  # both 可上门 (综合受理)
MARRIAGE = "QR-379901-MZJ-011"
NORTH = "平安县城关镇北关村五组8号"
EAST = "平安县东关镇东关村三组17号红色大门"
FAR = "平安县西岭乡上庄村2号"


def at(hour: int, minute: int = 0) -> str:
    return datetime(2026, 11, 24, hour, minute, tzinfo=TZ).isoformat()


@pytest.fixture(scope="module")
def data(cfg: HallConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tuesday 2026-11-24: 王芳 (h1) to the north, 赵磊 (h2) to the east, a third visit not yet given anyone, and
    a booking at the hall."""
    data = tmp_path_factory.mktemp("hv")
    core = HallCore(cfg, data, ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ), TZ))

    def do(op: str, **kw: Any) -> dict[str, Any]:
        answer = core.submit({"op": op, **kw})
        assert answer["ok"], answer
        return answer["result"]

    def visit(item: str, start: str, phone: str, name: str, address: str) -> str:
        held = do("hold_booking", item=item, start=start, phone=phone, name=name, channel="hotline",
                  group="home_visit", address=address)
        return str(do("confirm_booking", code=held["code"])["code"])

    try:
        for staff, name in (("h1", "王芳"), ("h2", "赵磊")):
            do("add_staff", staff=staff, name=name, duties=["helper"], pin_hash=hash_pin("1234"))
        do("assign_home_visit", code=visit(LOW_INCOME, at(9), "13800000001", "李秀英", NORTH), helpers=["h1"],
           travel_minutes=20)
        do("assign_home_visit", code=visit(ELDERLY, at(10), "13800000002", "孙大伟", EAST), helpers=["h2"],
           travel_minutes=35)
        visit(LOW_INCOME, at(14, 30), "13800000003", "周小红", FAR)  # 003: nobody yet
        held = do("hold_booking", item=MARRIAGE, start=at(10, 30), phone="13812345678", name="张秀英",
                  channel="phone")
        do("confirm_booking", code=held["code"])
    finally:
        core.close()
    return data


def _text(path: Path) -> str:
    pdfium = pytest.importorskip("pypdfium2")
    doc = pdfium.PdfDocument(str(path))
    return "".join(re.sub(r"\s", "", doc[i].get_textpage().get_text_range()) for i in range(len(doc)))


def test_one_sheet_per_helper_each_with_only_their_own_addresses(data: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sheets"
    code = main(["homevisit", "routes", "--config", str(EXAMPLE), "--data", str(data), "--date", "2026-11-24",
                 "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0
    mine, mate = out / "路线单-2026-11-24-h1.pdf", out / "路线单-2026-11-24-h2.pdf"
    assert sorted(out.iterdir()) == [mine, mate]
    assert printed.out.splitlines() == [
        f"{mine}: 王芳 (h1), 1 户, 出发 08:40 回到大厅约 10:20",
        f"{mate}: 赵磊 (h2), 1 户, 出发 09:25 回到大厅约 11:35",
    ]
    assert "PA-20261124-003 还没有派人" in printed.err
    north, east = _text(mine), _text(mate)
    assert NORTH in north and EAST not in north and "最低生活保障申请" in north and "王芳" in north
    assert EAST in east and NORTH not in east and "高龄津贴申领" in east
    assert FAR not in north + east  # on no sheet until someone is sent
    assert "居民户口簿" in north  # the catalogue's materials, to bring
    assert "李秀英" not in north and "李**" in north and "138****0001" in north  # the person masked


def test_a_day_without_visits_and_bad_input_say_one_line(data: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    args = ["homevisit", "routes", "--config", str(EXAMPLE), "--data", str(data), "--out", str(tmp_path / "o")]
    assert main([*args, "--date", "2026-11-25"]) == 0
    assert "no home visit" in capsys.readouterr().out
    assert main([*args, "--date", "2026-11-31"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--date '2026-11-31': not a date" in err
    assert main(["homevisit", "routes", "--config", str(EXAMPLE), "--data", str(tmp_path / "nowhere"), "--date",
                 "2026-11-24", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_bookings_list_is_the_days_bookings_masked(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bookings", "--config", str(EXAMPLE), "--data", str(data), "--date", "2026-11-24"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["时间", "预约号", "事项", "渠道", "状态", "姓名", "电话"]
    rows = [line.split() for line in lines[1:-1]]
    assert [r[:2] for r in rows] == [["09:00-10:00", "PA-20261124-001"], ["10:00-11:00", "PA-20261124-002"],
                                     ["10:30-11:00", "PA-20261124-004"], ["14:30-15:30", "PA-20261124-003"]]
    assert rows[0][2:] == ["最低生活保障申请（上门）", "电话", "已预约", "王芳", "李**", "138****0001"]
    assert rows[2][2:] == ["内地居民结婚登记", "手机页", "已预约", "张**", "138****5678"]
    assert rows[3][4:6] == ["已预约", "未派人"]
    assert lines[-1] == "4 bookings on 2026-11-24: 4 confirmed and not yet here, 0 only held"
    assert "13812345678" not in "\n".join(lines) and "张秀英" not in "\n".join(lines)


def test_unmasked_needs_the_admins_key(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bookings", "--config", str(EXAMPLE), "--data", str(data), "--date", "2026-11-24", "--unmasked",
                 "--keys", str(tmp_path / "keys")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--unmasked is for an admin" in err
