"""The phone page's pure parts: the guessing limits on a moved clock, the proofs that expire, the form fields
told in words, a sentence for every refusal the booking and rating handlers can give, and what the pages
compute from a hall state (days, times, a ticket's message, a masked phone's last four digits)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from hall_bus.domain.engine import QueueEngine
from hall_bus.web import forms, views
from hall_bus.web import words as w
from hall_bus.web.limits import Counter, Guard, Limits, Rule
from hall_bus.web.proofs import Proofs

from .conftest import ROOT, TZ, Hall

MARRIAGE = "QR-379901-MZJ-011"


class Tick:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_five_wrong_tries_lock_a_code_for_the_window_then_it_opens() -> None:
    clock = Tick()
    c = Counter(Rule(5, 15 * 60), clock)
    for n in range(5):
        assert not c.blocked("b:PA-1") and c.left("b:PA-1") == 5 - n
        c.hit("b:PA-1")
        clock.t += 10
    assert c.blocked("b:PA-1") == pytest.approx(15 * 60 - 50)
    assert not c.blocked("b:PA-2")  # another code is not locked
    clock.t += 15 * 60 - 50 - 1
    assert c.blocked("b:PA-1")
    clock.t += 2
    assert not c.blocked("b:PA-1") and c.left("b:PA-1") == 1  # the first try has left the window


def test_take_counts_only_what_it_lets_through() -> None:
    clock = Tick()
    guard = Guard(Limits(hold=Rule(2, 3600)), clock)
    assert guard.hold.take("10.0.0.1") == 0 and guard.hold.take("10.0.0.1") == 0
    assert guard.hold.take("10.0.0.1") == pytest.approx(3600)
    clock.t += 1800
    assert guard.hold.take("10.0.0.1") == pytest.approx(1800)  # refused tries do not extend the lock
    assert guard.lookup.take("10.0.0.1") == 0 and guard.limits.lookup.limit == 60


def test_a_proof_is_for_one_code_and_runs_out() -> None:
    clock = Tick()
    proofs = Proofs(ttl=60, clock=clock)
    key = proofs.issue("PA-20261124-001", "5678")
    assert proofs.get("PA-20261124-001", key).tail == "5678"  # type: ignore[union-attr]
    assert proofs.get("PA-20261124-002", key) is None and proofs.get("PA-20261124-001", "guess") is None
    clock.t += 61
    assert proofs.get("PA-20261124-001", key) is None


def test_form_fields_say_how_to_fix_them() -> None:
    assert forms.mobile("138 1234 5678") == "13812345678" and forms.mobile("１３８１２３４５６７８") == "13812345678"
    for bad in ("1381234", "23812345678", "", "电话"):
        with pytest.raises(forms.BadInput, match="11 位手机号"):
            forms.mobile(bad)
    assert forms.tail("５６７８") == "5678"
    with pytest.raises(forms.BadInput, match="最后 4 位"):
        forms.tail("567")
    assert forms.code(" pa-20261124-001 ") == "PA-20261124-001"
    with pytest.raises(forms.BadInput, match="预约号不对"):
        forms.code("PA-2026")
    with pytest.raises(forms.BadInput, match="时间不对"):
        forms.start_time("2026-11-24T10:00")  # no offset: never guessed
    with pytest.raises(forms.BadInput, match="姓名"):
        forms.name("   ")
    assert forms.request_id("x" * 32) != "x" * 32 and forms.request_id("a" * 32) == "a" * 32


@pytest.mark.parametrize("module", ["booking.py", "casework.py"])
def test_every_refusal_a_visitor_can_meet_has_words(module: str) -> None:
    source = (ROOT / "hall_bus" / "domain" / module).read_text(encoding="utf-8")
    codes = set(re.findall(r'CommandRejected\(\s*"([a-z_]+)"', source))
    reachable = {"slot_full", "too_soon", "too_far", "no_such_slot", "no_show_limited", "daily_limit",
                 "already_booked", "hold_expired", "unknown_booking", "bad_state", "same_slot", "not_bookable",
                 "unknown_item", "bad_group", "unknown_service"} if module == "booking.py" else \
        {"unknown_case", "phone_needed", "already_rated", "bad_state", "not_here"}
    assert reachable <= codes, reachable - codes  # the list above is still the handlers' own
    assert {code: w.refusal(code) for code in reachable if w.refusal(code) == w.REFUSED_OTHER} == {}
    assert w.refusal("something_new") == w.REFUSED_OTHER and "Traceback" not in w.REFUSED_OTHER


def test_offline_words_name_the_hotline() -> None:
    assert w.offline("0379-6512345") == "暂时连不上大厅的系统，请稍后再试，或拨打 0379-6512345。"
    assert "咨询台" in w.offline("")


def test_the_last_four_digits_are_checked_against_the_mask() -> None:
    assert views.tail_matches("138****5678", "5678")
    assert not views.tail_matches("138****5678", "5679") and not views.tail_matches("", "5678")
    assert not views.tail_matches("138****5678", "678")


def test_days_and_times_come_from_the_engines_own_slots(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    hall.engine = QueueEngine(cfg, clock, booking_key=b"k" * 32)
    tuesday = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
    for n in range(3):
        held = hall("hold_booking", item=MARRIAGE, start=tuesday.isoformat(), phone=f"1381234{n:04d}", name="张三",
                    channel="phone")
        hall("confirm_booking", code=held["code"])
    item = cfg.catalogue.by_code[MARRIAGE]
    now = clock.now()
    days = views.day_choices(cfg, hall.state, item, "normal", now)
    assert days[0].label.startswith("今天 11月23日") and days[1].label.startswith("明天 ")
    sunday = next(d for d in days if d.day.isoweekday() == 7)
    assert sunday.closed and sunday.left == 0
    times = {x.time: x for x in views.slot_choices(cfg, hall.state, item, "normal", tuesday.date(), now)}
    assert times["10:00–10:30"].left == 0 and times["10:30–11:00"].left == 3
    assert times["12:00–12:30"].session == "午间延时" and times["09:00–09:30"].session == ""
    assert views.slot_choices(cfg, hall.state, item, "normal", now.date(), now)[0].time == "10:00–10:30"  # lead
    assert all(i.bookable for _, items in views.items_by_department(cfg) for i in items)
    assert MARRIAGE in [i.code for _, items in views.items_by_department(cfg, "结婚") for i in items]
    assert views.items_by_department(cfg, "没有这种事") == []


def test_a_tickets_message_and_its_token(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    hall.engine = QueueEngine(cfg, clock, booking_key=b"k" * 32)
    first = hall("issue", service="企业开办")
    mine = hall("issue", service="企业开办")
    t = views.find_ticket(hall.state, f"{mine['ticket']}.{mine['token']}")
    assert t is not None and views.find_ticket(hall.state, f"{mine['ticket']}.{first['token']}") is None
    assert views.find_ticket(hall.state, mine["ticket"]) is None  # the id alone proves nothing
    view = views.ticket_view(cfg, hall.state, t, clock.now())
    assert view["big"].startswith("前面还有 1 人，预计等") and view["live"]
    hall("open_counter", counter=5)
    hall("call_ticket", counter=5, ticket=mine["ticket"])
    assert views.ticket_view(cfg, hall.state, t, clock.now())["big"] == "请到 5 号窗口"
    hall("finish", counter=5)
    done = views.ticket_view(cfg, hall.state, t, clock.now() + timedelta(minutes=1))
    assert done["big"] == w.TICKET_FINISHED and not done["live"]
