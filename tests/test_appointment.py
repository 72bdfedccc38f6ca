"""The appointment code a visitor shows the kiosk: read, checked against the hall and the day, and issued as an
appointment ticket in two taps; a wrong code says why and keeps the visitor on the scan screen."""

from __future__ import annotations

from datetime import datetime

import pytest

from hall_bus.domain.rejected import CommandRejected
from hall_bus.nodes.appointment import AppointmentRefused, encode, parse
from hall_bus.nodes.kiosk_flow import KioskFlow, Step

from .conftest import TZ, Hall

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=TZ)


def test_a_code_round_trips_with_its_service_time_and_group(cfg) -> None:  # type: ignore[no-untyped-def]
    text = encode("医保", datetime(2026, 12, 2, 10, 0, tzinfo=TZ), ref="YY-12", group="accompany")
    assert text == "HALLAPPT/1;ref=YY-12;service=医保;at=2026-12-02T10:00+08:00;group=accompany"
    appt = parse(text, cfg, NOW)
    assert (appt.ref, appt.service, appt.group) == ("YY-12", "医保", "accompany")
    assert appt.at == datetime(2026, 12, 2, 10, 0, tzinfo=TZ)
    assert parse(encode("税务", datetime(2026, 12, 2, 2, 0, tzinfo=TZ), ref="R1"), cfg,
                 NOW.replace(hour=2, minute=20)).group == "normal"  # 02:00 and 02:20: the same hall day (03:00)
    ours = encode("医保", datetime(2026, 12, 2, 10, 0, tzinfo=TZ), ref="R2", hall=cfg.hall.name)
    assert parse(ours, cfg, NOW).ref == "R2"


@pytest.mark.parametrize(("text", "code"), [
    ("https://example.org/pay?id=1", "not_ours"),
    ("HALLAPPT/1;ref=1;service=医保;at=2026-12-02T10:00+08:00;colour=red", "unreadable"),
    ("HALLAPPT/1;ref=1;service=医保;at=tomorrow", "unreadable"),
    ("HALLAPPT/1;ref=1;service=医保;at=2026-12-02T10:00", "unreadable"),
    ("HALLAPPT/1;ref=1;service=医保;service=税务;at=2026-12-02T10:00+08:00", "unreadable"),
    ("HALLAPPT/1;ref=1;service=护照;at=2026-12-02T10:00+08:00", "unknown_service"),
    ("HALLAPPT/1;ref=1;service=医保;at=2026-12-02T10:00+08:00;group=home_visit", "unknown_group"),
    ("HALLAPPT/1;ref=1;service=医保;at=2026-12-02T10:00+08:00;group=vip", "unknown_group"),
    ("HALLAPPT/1;ref=1;service=医保;at=2026-12-03T10:00+08:00", "other_day"),
    ("HALLAPPT/1;ref=1;service=医保;at=2026-12-02T01:00+08:00", "other_day"),  # before the 03:00 rollover
    ("HALLAPPT/1;ref=1;service=医保;at=2026-12-02T08:50+08:00", "late"),  # 40 min late: 30 allowed
    ("HALLAPPT/1;ref=1;hall=邻县政务服务中心;service=医保;at=2026-12-02T10:00+08:00", "other_hall"),
    ("HALLAPPT/1;service=医保;at=2026-12-02T10:00+08:00", "unreadable"),  # no booking reference
])
def test_a_code_that_gives_no_ticket_says_why(cfg, text: str, code: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AppointmentRefused) as err:
        parse(text, cfg, NOW)
    assert err.value.code == code


def test_two_taps_from_welcome_to_an_appointment_ticket(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.start_scan(0)
    assert flow.step == Step.SCAN
    flow.appointment_refused("other_day", 1)
    assert flow.step == Step.SCAN and flow.notice == "appt_other_day"
    appt = parse(encode("医保", datetime(2026, 12, 2, 10, 0, tzinfo=TZ), ref="R9", group="accompany"), cfg, NOW)
    assert flow.appointment_read(appt, 2) is True and flow.step == Step.ISSUING and flow.notice == ""
    assert flow.appointment_read(appt, 2.1) is False  # the camera reads the same code again: one ticket
    assert (flow.service, flow.group) == ("医保", "accompany")
    assert flow.issue_facts() == {"appointment_at": "2026-12-02T10:00:00+08:00", "appointment_ref": "R9"}
    flow.reset()
    assert flow.appointment is None and flow.issue_facts() == {}


def test_back_from_the_scan_screen_and_offline_scan(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.start_scan(0)
    flow.back(1)
    assert flow.step == Step.WELCOME
    flow.start_scan(2)
    flow.connection(False)
    appt = parse(encode("医保", datetime(2026, 12, 2, 10, 0, tzinfo=TZ), ref="R3"), cfg, NOW)
    assert flow.appointment_read(appt, 3) is False and flow.notice == "offline" and flow.answer is None


def test_the_facts_make_an_appointment_ticket_the_engine_calls_when_due(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    flow = KioskFlow(cfg)
    flow.start_scan(0)
    appt = parse(encode("医保", datetime(2026, 11, 23, 9, 5, tzinfo=TZ), ref="YY-1"), cfg, clock.now())
    assert flow.appointment_read(appt, 1)
    walk_in = hall("issue", service="医保")
    booked = hall("issue", service=flow.service, group=flow.group, **flow.issue_facts())
    counter = next(c.number for c in cfg.counters if "医保" in c.services)
    called = hall("call_next", counter=counter)
    assert called["number"] == booked["number"] != walk_in["number"]  # due within its grace: before the walk-in
    # The same code at another kiosk: one booking, one ticket.
    with pytest.raises(CommandRejected) as again:
        hall("issue", service=flow.service, group=flow.group, **flow.issue_facts())
    assert again.value.code == "appointment_used" and booked["number"] in again.value.message
    flow.issued({"ok": False, "code": "appointment_used", "message": "booking YY-1 already has ticket E001"},
                printed=False, on_screen=[], note="", now=2)
    assert flow.notice == "appt_used" and flow.answer is None


@pytest.mark.parametrize(("code", "notice"), [("appointment_used", "appt_used"), ("bad_signature", "appt_forged"),
                                              ("booking_cancelled", "appt_cancelled"),
                                              ("booking_no_show", "appt_cancelled")])
def test_a_booking_the_hall_refuses_says_why_in_words(cfg, code: str, notice: str) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.start_scan(0)
    appt = parse(encode("医保", datetime(2026, 12, 2, 10, 0, tzinfo=TZ), ref="PA-20261202-001") + ";sig=" + "0" * 16,
                 cfg, NOW)
    assert flow.appointment_read(appt, 1) is True
    assert flow.issue_facts()["appointment_sig"] == "0" * 16  # the server checks it against the booking
    flow.issued({"ok": False, "code": code, "message": "refused"}, printed=False, on_screen=[], note="", now=2)
    assert flow.notice == notice and flow.answer is None
