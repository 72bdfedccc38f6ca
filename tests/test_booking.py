"""预约 in the engine: slots from the windows, groups' shares, holds, cancel and reschedule, no-shows and the daily
limit, the signed code the kiosk reads, and 上门办 done at home — each decided once and replayed the same."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from hall_bus.domain import state as s
from hall_bus.domain.booking import open_slots
from hall_bus.domain.engine import QueueEngine
from hall_bus.domain.registry import apply_event
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.staff import hash_pin
from hall_bus.domain.state import HallState
from hall_bus.nodes.appointment import parse

from .conftest import TZ, Hall

MARRIAGE = "QR-379901-MZJ-011"  # 婚姻登记: 3 windows' worth → 3 places a slot, none kept for groups
SOCIAL = "GG-379901-RSJ-001"  # 人社: 15 places a slot, 3 kept for 陪同, 1 for 推轮椅
HOME = "GF-379901-MZJ-001"  # 最低生活保障: 可上门
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)  # the clock starts Monday 2026-11-23 09:00
KEY = b"k" * 32


@pytest.fixture
def booked_hall(cfg, clock) -> Hall:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    hall.engine = QueueEngine(cfg, clock, booking_key=KEY)
    return hall


def book(hall: Hall, item: str = MARRIAGE, at: datetime = TUESDAY_10, phone: str = "13812345678",
         **kw: Any) -> dict[str, Any]:
    held = hall("hold_booking", item=item, start=at.isoformat(), phone=phone, name="张秀英", channel="phone", **kw)
    return hall("confirm_booking", code=held["code"], phone_tail=phone[-4:])


def refused(hall: Hall, op: str, **kw: Any) -> str:
    with pytest.raises(CommandRejected) as err:
        hall(op, **kw)
    return err.value.code


def test_a_booking_gives_a_signed_code_the_kiosk_turns_into_one_ticket(booked_hall: Hall) -> None:
    hall = booked_hall
    done = book(hall)
    code = done["code"]
    assert code == "PA-20261124-001" and done["qr"].endswith(";sig=" + done["qr"][-16:])
    b = hall.state.bookings[code]
    assert (b.status, b.item_name, b.session_kind) == (s.BOOKED, "内地居民结婚登记", "regular")
    hall.clock.set(TUESDAY_10 - timedelta(minutes=5))
    appt = parse(done["qr"], hall.cfg, hall.clock.now())
    assert appt.ref == code and appt.sig
    forged = {"service": "婚姻登记", "appointment_at": appt.at.isoformat(), "appointment_ref": code}
    assert refused(hall, "issue", **forged, appointment_sig="0" * 16) == "bad_signature"
    ticket = hall("issue", **forged, appointment_sig=appt.sig)
    assert hall.state.bookings[code].status == s.CHECKED_IN and hall.state.bookings[code].ticket == ticket["ticket"]
    assert refused(hall, "issue", **forged, appointment_sig=appt.sig) == "appointment_used"
    replayed = HallState()
    for ev in hall.events:
        apply_event(replayed, ev)
    assert replayed.bookings == hall.state.bookings


def test_the_last_place_goes_once_and_the_refusal_names_free_times(booked_hall: Hall) -> None:
    hall = booked_hall
    for n in range(3):
        book(hall, phone=f"1381234{n:04d}")
    why = refused(hall, "hold_booking", item=MARRIAGE, start=TUESDAY_10.isoformat(), phone="13900000000",
                  name="李四", channel="phone")
    assert why == "slot_full"
    slots = dict((x.start, n) for x, n in open_slots(hall.cfg, hall.state, hall.cfg.catalogue.by_code[MARRIAGE],
                                                      "normal", TUESDAY_10.date(), hall.clock.now()))
    assert slots[TUESDAY_10] == 0 and slots[TUESDAY_10 + timedelta(minutes=30)] == 3


def test_places_kept_for_the_old_and_disabled_until_the_day_before(booked_hall: Hall) -> None:
    hall = booked_hall
    at = datetime(2026, 11, 26, 9, 0, tzinfo=TZ)  # Thursday: more than release_hours away
    for n in range(11):  # 15 places, 3 kept for accompany and 1 for wheelchair_push
        book(hall, item=SOCIAL, at=at, phone=f"1381234{n:04d}")
    assert refused(hall, "hold_booking", item=SOCIAL, start=at.isoformat(), phone="13900000001", name="李四",
                   channel="phone") == "slot_full"
    book(hall, item=SOCIAL, at=at, phone="13900000002", group="accompany")
    hall.clock.set(at - timedelta(hours=20))  # within release_hours: one pool
    book(hall, item=SOCIAL, at=at, phone="13900000003")


def test_a_hold_runs_out_and_frees_its_place(booked_hall: Hall) -> None:
    hall = booked_hall
    for n in range(2):
        book(hall, phone=f"1381234{n:04d}")
    held = hall("hold_booking", item=MARRIAGE, start=TUESDAY_10.isoformat(), phone="13900000000", name="李四",
                channel="phone")
    assert refused(hall, "hold_booking", item=MARRIAGE, start=TUESDAY_10.isoformat(), phone="13900000001",
                   name="王五", channel="phone") == "slot_full"
    hall.wait(11 * 60)
    book(hall, phone="13900000001")
    assert hall.state.bookings[held["code"]].status == s.BOOKING_EXPIRED
    assert refused(hall, "confirm_booking", code=held["code"]) == "hold_expired"


def test_cancel_and_reschedule_keep_the_old_place_until_the_new_one_is_had(booked_hall: Hall) -> None:
    hall = booked_hall
    mine = book(hall)["code"]
    later = TUESDAY_10 + timedelta(minutes=30)
    for n in range(3):
        book(hall, at=later, phone=f"1391234{n:04d}")
    assert refused(hall, "reschedule_booking", code=mine, start=later.isoformat(), phone_tail="5678") == "slot_full"
    assert hall.state.bookings[mine].start_ts == TUESDAY_10.timestamp()
    assert refused(hall, "reschedule_booking", code=mine, start=later.isoformat(),
                   phone_tail="0000") == "unknown_booking"  # the wrong phone says no more than a wrong code
    moved = hall("reschedule_booking", code=mine, start=(later + timedelta(minutes=30)).isoformat(),
                 phone_tail="5678")
    assert parse(moved["qr"], hall.cfg, later + timedelta(minutes=30)).at == later + timedelta(minutes=30)
    assert hall.state.slot_taken[f"婚姻登记@{int(TUESDAY_10.timestamp())}"] == {"normal": 0}
    hall("cancel_booking", code=mine, phone_tail="5678")
    assert refused(hall, "cancel_booking", code=mine, phone_tail="5678") == "bad_state"


def test_missed_bookings_limit_booking_and_a_day_has_a_limit_per_phone(booked_hall: Hall) -> None:
    hall = booked_hall
    phone = "13700000000"
    for day in range(3):
        at = datetime(2026, 11, 24 + day, 9, 0, tzinfo=TZ)
        book(hall, at=at, phone=phone)
    hall.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=TZ))
    hall("tick")
    assert sum(b.status == s.BOOKING_NO_SHOW for b in hall.state.bookings.values()) == 3
    why = refused(hall, "hold_booking", item=MARRIAGE, start=datetime(2026, 11, 30, 9, 0, tzinfo=TZ).isoformat(),
                  phone=phone, name="张三", channel="phone")
    assert why == "no_show_limited"
    other = "13600000000"
    at = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)
    book(hall, at=at, phone=other)
    assert refused(hall, "hold_booking", item=MARRIAGE, start=(at + timedelta(hours=1)).isoformat(), phone=other,
                   name="张三", channel="phone") == "already_booked"
    book(hall, item=SOCIAL, at=at, phone=other)
    assert refused(hall, "hold_booking", item="GG-379901-YBJ-001", start=at.isoformat(), phone=other,
                   name="张三", channel="phone") == "daily_limit"


def test_times_that_are_not_slots_too_soon_or_too_far(booked_hall: Hall) -> None:
    hall = booked_hall
    kw = {"item": MARRIAGE, "phone": "13800000000", "name": "张三", "channel": "phone"}
    assert refused(hall, "hold_booking", start=TUESDAY_10.replace(minute=10).isoformat(), **kw) == "no_such_slot"
    assert refused(hall, "hold_booking", start=datetime(2026, 11, 23, 9, 30, tzinfo=TZ).isoformat(),
                   **kw) == "too_soon"
    assert refused(hall, "hold_booking", start=datetime(2026, 12, 21, 9, 0, tzinfo=TZ).isoformat(),
                   **kw) == "too_far"
    assert refused(hall, "hold_booking", start=datetime(2026, 11, 29, 9, 0, tzinfo=TZ).isoformat(),
                   **kw) == "no_such_slot"  # a Sunday: the hall is shut


def test_a_home_visit_with_two_helpers_done_offline_and_rated(booked_hall: Hall) -> None:
    hall = booked_hall
    pin = hash_pin("1234")
    for who in ("h1", "h2", "h3"):
        hall("add_staff", staff=who, name=f"帮办员{who}", duties=["helper"], pin_hash=pin)
    at = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    assert refused(hall, "hold_booking", item=HOME, start=at.isoformat(), phone="13812345678", name="张秀英",
                   group="home_visit", channel="hotline") == "address_needed"
    done = book(hall, item=HOME, at=at, group="home_visit", address="平安县城关镇建设路12号", needs=["轮椅"])
    code = done["code"]
    assert done["helpers_needed"] == 2
    assert refused(hall, "assign_home_visit", code=code, helpers=["h1"], travel_minutes=20) == "two_helpers_needed"
    hall("assign_home_visit", code=code, helpers=["h1", "h2"], travel_minutes=20)
    second = book(hall, item=HOME, at=at + timedelta(hours=1), phone="13912345678", group="home_visit",
                  address="平安县东关村3组")["code"]
    assert refused(hall, "assign_home_visit", code=second, helpers=["h2"], travel_minutes=30) == "helper_busy"
    hall("assign_home_visit", code=second, helpers=["h3"], travel_minutes=30)
    hall.clock.set(at + timedelta(hours=3))  # back at the hall: the tablet's outbox sends what it did
    arrived = at + timedelta(minutes=2)
    hall("arrive_home_visit", code=code, done_at=arrived.isoformat(), by="h1")
    assert hall("arrive_home_visit", code=code, done_at=arrived.isoformat(), by="h1")["already"] is True
    assert refused(hall, "finish_home_visit", code=code, done_at=(at + timedelta(hours=5)).isoformat(), by="h1",
                   outcome="done") == "clock_ahead"
    result = hall("finish_home_visit", code=code, done_at=(at + timedelta(minutes=50)).isoformat(), by="h2",
                  outcome="done", rating=2, comment="等太久")
    assert result["level"] == "不满意" and result["followup_id"] in hall.state.followups
    b = hall.state.bookings[code]
    assert (b.status, b.arrived_ts, b.rating) == (s.BOOKING_DONE, arrived.timestamp(), "不满意")
    assert hall("finish_home_visit", code=code, done_at=(at + timedelta(minutes=50)).isoformat(), by="h2",
                outcome="done")["already"] is True
