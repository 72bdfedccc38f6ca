"""预约 and 上门办 on the greeter tablet: the rows a helper reads (items, times with 余 N, the read-back, 我的上门),
the outbox that keeps acts done at a visitor's home until the hall has them, and the whole of it over a real bus —
the hall server away while two acts are done, the tablet restarted, the server back: both land once, in order."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hall_bus.catalogue.search import GuideIndex
from hall_bus.domain import commands as c
from hall_bus.domain import state as s
from hall_bus.domain.engine import QueueEngine
from hall_bus.domain.staff import hash_pin
from hall_bus.nodes import greeter_booking as gb
from hall_bus.nodes.greeter import GreeterNode
from hall_bus.nodes.outbox import OUTBOX_FILE, Outbox

from .bus_helpers import free_port, switchable_hall, until
from .conftest import TZ, Hall

MARRIAGE = "QR-379901-MZJ-011"  # 婚姻登记: 3 places a slot
HOME = "GF-379901-MZJ-001"  # 最低生活保障: 可上门
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)


@pytest.fixture
def booked_hall(cfg, clock) -> Hall:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    hall.engine = QueueEngine(cfg, clock, booking_key=b"k" * 32)
    return hall


def book(hall: Hall, item: str, at: datetime, phone: str, **kw: Any) -> str:
    held = hall("hold_booking", item=item, start=at.isoformat(), phone=phone, name="张秀英", channel="hotline", **kw)
    hall("confirm_booking", code=held["code"])
    return str(held["code"])


# ---------------------------------------------------------------------- the rows


def test_items_to_book_are_found_by_name_or_pinyin_and_only_bookable_or_home_ones(cfg) -> None:  # type: ignore[no-untyped-def]
    index = GuideIndex(cfg.catalogue)
    every = gb.bookable_items(cfg, index)
    assert every and all(cfg.catalogue.by_code[i.code].bookable for i in every)
    assert gb.bookable_items(cfg, index, "结婚")[0].code == MARRIAGE
    assert MARRIAGE in [i.code for i in gb.bookable_items(cfg, index, "jiehun")]
    home = gb.bookable_items(cfg, index, home_visit=True)
    assert HOME in [i.code for i in home] and all(cfg.catalogue.by_code[i.code].home_visit for i in home)
    assert gb.bookable_items(cfg, index, "低保", home_visit=True)[0].code == HOME


def test_times_show_places_left_and_a_full_one_says_so(booked_hall: Hall) -> None:
    hall = booked_hall
    now = hall.clock.now()
    days = gb.booking_days(hall.cfg, now)
    assert date(2026, 11, 24) in days and date(2026, 11, 29) not in days  # a Sunday: shut, not offered
    rows = gb.slot_rows(hall.cfg, hall.state, MARRIAGE, TUESDAY_10.date(), now)
    ten = next(r for r in rows if r.start == TUESDAY_10)
    assert ten.left == 3 and ten.words == "10:00–10:30\n余 3"
    for n in range(3):
        book(hall, MARRIAGE, TUESDAY_10, f"1381234{n:04d}")
    ten = next(r for r in gb.slot_rows(hall.cfg, hall.state, MARRIAGE, TUESDAY_10.date(), now)
               if r.start == TUESDAY_10)
    assert ten.left == 0 and ten.words == "10:00–10:30\n约满"
    home = gb.slot_rows(hall.cfg, hall.state, HOME, TUESDAY_10.date(), now, group="home_visit")
    assert home and home[0].words.endswith(f"余 {hall.cfg.booking.home_visits_per_day}")


def test_the_read_back_says_the_phone_in_groups_and_the_form_is_checked_in_words(cfg) -> None:  # type: ignore[no-untyped-def]
    said = gb.read_back("内地居民结婚登记", TUESDAY_10, TUESDAY_10 + timedelta(minutes=30), "张秀英", "13812345678",
                        TZ)
    assert said.startswith("请向来电人复述：11月24日 周二 10:00–10:30，到大厅办理「内地居民结婚登记」")
    assert "手机 138 1234 5678" in said
    home = gb.read_back("最低生活保障申请", TUESDAY_10, TUESDAY_10, "张秀英", "13812345678", TZ,
                        address="城关镇建设路12号", needs=["轮椅"], home_visit=True)
    assert "上门办理" in home and "上门地址：城关镇建设路12号" in home and "情况：轮椅" in home
    assert gb.form_problem("", "13812345678") == "请写上来电人的姓名"
    assert "11 位手机号" in gb.form_problem("张三", "0371-1234567")
    assert gb.form_problem("张三", "13812345678", home_visit=True) == "上门办要写上门地址"
    assert gb.form_problem("张三", "13812345678") == ""
    full = {"ok": False, "code": "slot_full", "message": "11-24 10:00 is fully booked; still free that day: 10:30"}
    assert gb.booking_words(full) == "这个时间已经约满了，请换一个时间（当天还有 10:30）"
    assert gb.booking_words({"ok": False, "code": "weird", "message": "why"}) == "未办成：why"


def test_my_home_visits_in_time_order_masked_with_what_the_tablet_holds(booked_hall: Hall) -> None:
    hall = booked_hall
    for who in ("h1", "h2"):
        hall("add_staff", staff=who, name=f"帮办员{who}", duties=["helper"], pin_hash=hash_pin("1234"))
    late = book(hall, HOME, TUESDAY_10 + timedelta(hours=1), "13912345678", group="home_visit",
                address="平安县东关村3组")
    early = book(hall, HOME, TUESDAY_10 - timedelta(hours=1), "13812345678", group="home_visit",
                 address="平安县城关镇建设路12号", needs=["轮椅"])
    assert [x[0] for x in gb.unassigned_visits(hall.cfg, hall.state)] == [early, late]
    assert gb.unassigned_visits(hall.cfg, hall.state)[0][3] == 2  # 轮椅: two helpers
    hall("assign_home_visit", code=early, helpers=["h1", "h2"], travel_minutes=20)
    hall("assign_home_visit", code=late, helpers=["h1"], travel_minutes=20)
    assert gb.helper_choices(hall.state) == [("h1", "帮办员h1"), ("h2", "帮办员h2")]
    visits = gb.home_visits(hall.state, "h1", TUESDAY_10.date(), TZ)
    assert [v.code for v in visits] == [early, late]
    first = visits[0]
    assert (first.when, first.who, first.phone, first.address) == ("09:00–10:00", "张**", "138****5678",
                                                                   "平安县城关镇****")
    assert first.can_arrive and first.can_finish and first.status_words == "待上门" and not first.waiting
    arrived = TUESDAY_10 - timedelta(minutes=58)
    held = gb.home_visits(hall.state, "h1", TUESDAY_10.date(), TZ, {early: [("arrive_home_visit", arrived)]})
    assert held[0].status_words == "已到达" and held[0].arrived == "到达 09:02" and held[0].waiting == "已记录，待上传"
    assert not held[0].can_arrive and held[0].can_finish
    assert gb.home_visits(hall.state, "h2", TUESDAY_10.date(), TZ)[0].code == early
    assert gb.home_visits(hall.state, "h1", TUESDAY_10.date() + timedelta(days=1), TZ) == []


# ---------------------------------------------------------------------- the outbox on its own


def arrive(code: str, minute: int, by: str = "王芳") -> c.Cmd:
    return c.build(c.ArriveHomeVisit, code=code, done_at=datetime(2026, 11, 24, 9, minute, tzinfo=TZ), by=by,
                   request_id=f"rid-{code}-{minute}")


def test_the_outbox_survives_a_restart_and_a_half_written_last_line(tmp_path: Path) -> None:
    path = tmp_path / "data" / OUTBOX_FILE
    box = Outbox(path)
    box.record(arrive("PA-20261124-001", 2), datetime.now(TZ))
    box.record(c.build(c.FinishHomeVisit, code="PA-20261124-001", done_at=datetime(2026, 11, 24, 9, 48, tzinfo=TZ),
                       outcome="done", rating=5, by="王芳"), datetime.now(TZ))
    with open(path, "ab") as f:  # the power went while a third act was being written
        f.write(b'{"kind":"act","id":"x","recorded_at":"2026-11-24T09:50:00+08:00","comm')
    again = Outbox(path)
    assert again.skipped_lines == 1
    assert [a.op for a in again.pending] == ["arrive_home_visit", "finish_home_visit"]
    assert again.pending[0].request_id == "rid-PA-20261124-001-2"  # the id it was recorded with, for every resend
    assert again.pending[1].model().rating == 5 and again.pending[1].command["by"] == "王芳"
    again.record(arrive("PA-20261124-002", 5), datetime.now(TZ))  # after the torn line: a line of its own
    assert [json.loads(line)["kind"] for line in path.read_text().splitlines()] == ["act"] * 3
    assert len(Outbox(path).pending) == 3


def test_the_outbox_sends_in_order_waits_on_not_now_and_keeps_refusals_for_the_helper(tmp_path: Path) -> None:
    box = Outbox(tmp_path / OUTBOX_FILE)
    for n, code in enumerate(("PA-20261124-001", "PA-20261124-002", "PA-20261124-003")):
        box.record(arrive(code, n), datetime.now(TZ))
    answers = {"PA-20261124-001": [{"ok": False, "code": "not_signed_in", "message": "sign in"},
                                   {"ok": True, "result": {}}],
               "PA-20261124-002": [{"ok": False, "code": "bad_state", "message": "is cancelled"}],
               "PA-20261124-003": [{"ok": True, "result": {"already": True}}]}
    sent: list[tuple[str, str | None]] = []

    async def send(cmd: c.Cmd) -> dict[str, Any]:
        sent.append((cmd.code, cmd.request_id))  # type: ignore[attr-defined]
        return answers[cmd.code].pop(0)  # type: ignore[attr-defined]

    first = asyncio.run(box.flush(send))
    assert first.waiting == "sign in" and not first.sent and len(box.pending) == 3  # nothing jumps the queue
    second = asyncio.run(box.flush(send))
    assert [a.booking for a in second.sent] == ["PA-20261124-001", "PA-20261124-003"]
    assert [a.code for a in second.refused] == ["bad_state"] and box.pending == []
    assert sent[0] == sent[1]  # the resend carries the same request id
    [kept] = Outbox(box.path).refused  # the refusal survives a restart, until the helper has read it
    assert kept.booking == "PA-20261124-002" and kept.message == "is cancelled"
    assert Outbox(box.path).dismiss(kept.request_id) and Outbox(box.path).acts == []

    async def broken(cmd: c.Cmd) -> dict[str, Any]:
        raise TimeoutError

    box.record(arrive("PA-20261124-004", 9), datetime.now(TZ))
    assert asyncio.run(box.flush(broken)).waiting.startswith("连不上大厅系统") and len(box.pending) == 1


def test_a_disk_that_fails_is_said_and_never_crashes_the_tablet(tmp_path: Path, cfg) -> None:  # type: ignore[no-untyped-def]
    class Mirror:
        state = None
        connected = asyncio.Event()

    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    node = GreeterNode(Mirror(), "greeter-1", data_dir=blocker, cfg=cfg)  # type: ignore[arg-type]
    node.client.state = signed_in_state()  # type: ignore[attr-defined]
    answer = asyncio.run(node.arrive_home_visit("PA-20261124-001"))
    assert not answer["ok"] and answer["code"] == "outbox_failed" and "请记在纸上" in answer["message"]


def signed_in_state() -> s.HallState:
    """A state with 王芳 signed in on greeter-1."""
    st = s.HallState()
    st.on_duty["greeter-1"] = "王芳"
    return st


# ---------------------------------------------------------------------- over a real bus


def test_booking_for_a_caller_and_a_home_visit_done_offline_land_once_in_order(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    nodes = ["greeter-1", "greeter-2", "admin", "kiosk-1"]
    tablet_data = tmp_path / "tablet"

    async def scenario() -> None:
        async with switchable_hall(cfg, tmp_path, nodes, (free_port(), free_port())) as (hall, halt, start):
            c1 = await hall.signed_in("greeter-1", "王芳", config=cfg)
            await hall.signed_in("greeter-2", "李强", config=cfg)
            g1 = GreeterNode.for_config(c1, cfg, "greeter-1", data_dir=tablet_data)
            await until(lambda: g1.state is not None and g1.helper == "王芳")

            # 电话预约: item, day, a time with places, the caller's name and mobile, the read-back, the code
            day = next(d for d in g1.booking_days(HOME, group="home_visit")[1:] if d in g1.booking_days(MARRIAGE))
            [slot, *_] = [r for r in g1.open_slots(MARRIAGE, day) if r.left > 0]
            bad = await g1.hold_booking(MARRIAGE, slot.start, "张秀英", "12345")
            assert not bad["ok"] and "11 位手机号" in bad["message"]
            held = await g1.hold_booking(MARRIAGE, slot.start, "张秀英", "13812345678")
            assert held["ok"], held
            code = held["result"]["code"]
            done = await g1.confirm_booking(code)
            assert done["ok"] and hall.server.core.state.bookings[code].status == s.BOOKED
            b = hall.server.core.state.bookings[code]
            assert (b.channel, b.by, b.name) == ("hotline", "王芳", "张秀英")  # the ledger keeps who booked it
            await until(lambda: code in g1.state.bookings)
            assert g1.state.bookings[code].name == "张**"  # the mirror on the tablet is masked
            assert (await g1.confirm_booking(code))["result"]["already"] is True  # a second tap: the same booking
            later = next(r for r in g1.open_slots(MARRIAGE, day) if r.left > 0 and r.start > slot.start)
            assert (await g1.reschedule_booking(code, later.start))["ok"]
            assert (await g1.cancel_booking(code, "来电人改主意"))["ok"]

            # 上门办: a visitor in a wheelchair needs two helpers; one is warned about before anything is sent
            home_slot = next(r for r in g1.open_slots(HOME, day, group="home_visit") if r.left > 0)
            held = await g1.hold_home_visit(HOME, home_slot.start, "孙玉兰", "13912345678", "平安县城关镇建设路12号",
                                            ["轮椅"])
            assert held["ok"], held
            visit = held["result"]["code"]
            assert (await g1.confirm_booking(visit))["result"]["helpers_needed"] == 2
            await until(lambda: visit in g1.state.bookings)
            assert g1.helpers_needed(visit) == 2 and ("李强", "李强") in g1.helper_choices()
            one = await g1.assign_home_visit(visit, ["王芳"], 20)
            assert one["code"] == "two_helpers_needed" and "轮椅" in one["message"]
            assert (await g1.assign_home_visit(visit, ["王芳", "李强"], 20))["ok"]
            await until(lambda: [v.code for v in g1.my_home_visits(day)] == [visit])

            # at the visitor's home, out of the network: the hall server is away while both acts are done
            await halt()
            await until(lambda: not c1.connected.is_set())
            arrived_at = (datetime.now(TZ) + timedelta(seconds=1)).replace(microsecond=0)  # after it was booked
            finished_at = arrived_at + timedelta(minutes=2)
            a1 = await g1.arrive_home_visit(visit, done_at=arrived_at)
            a2 = await g1.finish_home_visit(visit, "done", note="材料已收齐", rating=2, comment="等太久",
                                            done_at=finished_at)
            assert a1["ok"] and a1["recorded"] and a2["ok"]
            assert [w for _, w, _ in g1.outbox_lines()] == [
                f"到达 {visit} {arrived_at:%m-%d %H:%M} 已记录，待上传",
                f"办结 {visit} {finished_at:%m-%d %H:%M} 已记录，待上传"]
            [row] = g1.my_home_visits(day)
            assert row.status_words == "已办结" and row.waiting == "已记录，待上传" and not row.can_finish
            assert (await g1.flush_outbox()).waiting == "离线"

            # the tablet restarted (a new process: a new client, the same data directory), then the server back
            await c1.close()
            server = await start()
            c1b = hall.client("greeter-1", config=cfg)
            await c1b.start()
            g1b = GreeterNode.for_config(c1b, cfg, "greeter-1", data_dir=tablet_data)
            assert len(g1b.outbox.pending) == 2
            sender = asyncio.create_task(g1b.keep_sending(every=0.1))
            try:
                await until(lambda: not g1b.outbox.acts, timeout=10)
            finally:
                sender.cancel()
            b = server.core.state.bookings[visit]
            assert (b.status, b.arrived_ts, b.finished_ts) == (s.BOOKING_DONE, arrived_at.timestamp(),
                                                                finished_at.timestamp())
            assert b.rating == "不满意" and b.note == "材料已收齐"
            kinds = [ev["type"] for ev in server.core.ledger.events() if ev["data"].get("code") == visit]
            assert kinds.count("home_visit_arrived") == 1 and kinds.count("home_visit_finished") == 1
            assert kinds.index("home_visit_arrived") < kinds.index("home_visit_finished")
            arrived_ev = next(ev for ev in server.core.ledger.events() if ev["type"] == "home_visit_arrived")
            assert arrived_ev["data"]["by"] == "王芳"  # in the name of the person who did it
            assert any(f.ticket == visit for f in server.core.state.followups.values())  # a bad rating: 回访

            # a duplicated send (the answer lost on the way back) changes nothing
            seq = server.core.state.seq
            finish = dict(code=visit, done_at=finished_at, by="王芳", outcome="done", rating=2)
            resent = c.build(c.FinishHomeVisit, **finish, request_id=a2["result"]["request_id"])  # type: ignore[arg-type]
            assert (await c1b.send(resent))["retry"] is True  # the server knows the request: its first answer
            again = c.build(c.FinishHomeVisit, **finish, request_id="another-1")  # type: ignore[arg-type]
            assert (await c1b.send(again))["result"]["already"] is True  # a new id: the visit is done already
            assert server.core.state.seq == seq and not (tablet_data / OUTBOX_FILE).read_text().strip()

    asyncio.run(asyncio.wait_for(scenario(), 90))
