"""The kiosk's rules as a visitor feels them, without a window: taps, idle reset, double tap, ID card, offline."""

from __future__ import annotations

from datetime import date

import pytest

from hall_bus.nodes.kiosk_flow import KioskFlow, Step


def test_three_taps_from_welcome_to_issuing(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.start(0)
    flow.choose_service(flow.services()[0], 1)
    assert flow.step == Step.HELP
    assert flow.choose_group("normal", 2) is True and flow.step == Step.ISSUING


def test_services_most_used_first_and_groups_as_words(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    shares = [cfg.services_by_name[s].share for s in flow.services()]
    assert shares == sorted(shares, reverse=True)
    assert [flow.group_words(g) for g in flow.groups()] == ["推着办", "陪同办", "引导办", "代理办"]
    flow.toggle_language(0)
    assert flow.group_words("normal") == "No, thank you"


def test_a_double_tap_issues_once(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.start(0)
    flow.choose_service("医保", 1)
    assert [flow.choose_group("accompany", 2), flow.choose_group("accompany", 2.1)] == [True, False]


def test_an_id_card_preselects_the_suggested_group_and_masks_the_name(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.card(date(1940, 5, 1), "张三丰", today=date(2026, 11, 23), now=0)
    assert flow.step == Step.SERVICE and flow.suggested == "delegate" and flow.group == "delegate"
    assert flow.name_masked == "张**"
    flow.choose_service("医保", 1)
    assert flow.choose_group("normal", 2) and flow.group == "normal"  # the visitor may change it


def test_idle_screen_warns_for_20_seconds_after_the_quiet_time_then_resets_to_chinese_welcome(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg, idle_seconds=30)
    assert flow.countdown_seconds >= 20  # WCAG 2.2.1: at least 20 s to ask for more time
    flow.start(0)
    flow.toggle_language(1)
    flow.choose_service("医保", 2)
    assert flow.countdown(31) is None and flow.countdown(33) == 19  # the warning comes after 30 s of quiet
    assert flow.tick(51) is False and flow.step == Step.HELP  # still 1 s of warning left
    flow.touch(51)
    assert flow.countdown(60) is None  # a tap gives the full time back
    assert flow.tick(101) is True and flow.step == Step.WELCOME and flow.service is None and flow.lang == "zh"


def test_i_need_more_time_keeps_the_screen_as_it_is(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg, idle_seconds=10)
    flow.start(0)
    flow.choose_service("医保", 0)
    assert flow.countdown(12) == 18
    flow.more_time(12)
    assert flow.countdown(13) is None and flow.step == Step.HELP and flow.service == "医保"
    assert flow.tick(29) is False and flow.step == Step.HELP  # past the time the warning had left
    assert flow.countdown(23) == 19 and flow.tick(42) is True


def test_every_idle_seconds_the_config_allows_leaves_the_whole_warning(cfg) -> None:  # type: ignore[no-untyped-def]
    """idle_seconds is the quiet time before the warning, so no node setting (10 to 600) shortens the warning."""
    for idle in (10, 30, 600):
        flow = KioskFlow(cfg, idle_seconds=idle)
        flow.start(0)
        first = next(t for t in range(0, idle + 60) if flow.countdown(t) is not None)
        reset = next(t for t in range(0, idle + 60) if flow.seconds_left(t) <= 0)
        assert first == idle and reset - first >= 20 and flow.countdown(first) == 20

def test_offline_kiosk_never_shows_a_number_and_says_see_a_greeter(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.start(0)
    flow.choose_service("医保", 1)
    flow.connection(False)
    assert flow.choose_group("normal", 2) is False and flow.notice == "offline"
    flow.connection(True)
    assert flow.choose_group("normal", 3)
    flow.issued({"ok": False, "code": "timeout"}, printed=False, on_screen=[], note="", now=4)
    assert flow.step == Step.TICKET and flow.answer is None and flow.on_screen == [] and flow.notice == "offline"


def test_a_ticket_shown_only_on_screen_stays_until_the_visitor_taps_done(cfg) -> None:  # type: ignore[no-untyped-def]
    """When the paper did not come out, the screen is the visitor's only copy: no countdown takes it away."""
    flow = KioskFlow(cfg, ticket_seconds=20)
    flow.start(0)
    flow.choose_service("医保", 0)
    flow.choose_group("normal", 0)
    flow.issued({"ok": True, "result": {"number": "E001"}}, printed=False, on_screen=["E001"], note="缺纸", now=0)
    assert flow.tick(30) is False and flow.tick(3600) is False and flow.countdown(3600) is None
    flow.reset()  # 完成 (the screen's done button resets the flow)
    assert flow.step == Step.WELCOME


def test_a_printed_tickets_screen_goes_back_by_itself_after_the_warning(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg, ticket_seconds=10)
    flow.start(0)
    flow.choose_service("医保", 0)
    flow.choose_group("normal", 0)
    flow.issued({"ok": True, "result": {"number": "E001"}}, printed=True, on_screen=[], note="", now=0)
    assert flow.countdown(11) == 19 and flow.tick(29) is False and flow.tick(30) is True


def test_a_card_left_behind_is_not_the_next_visitors(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg, idle_seconds=30)
    flow.card(date(1940, 5, 1), "张三丰", today=date(2026, 11, 23), now=0)
    flow.back(1)  # visitor A goes back to the start and walks away
    assert flow.step == Step.WELCOME and flow.birth_date is None and flow.suggested is None
    flow.card(date(1940, 5, 1), "张三丰", today=date(2026, 11, 23), now=2)
    assert flow.step == Step.SERVICE
    flow.back(3)
    flow.start_scan(4)  # visitor B has an appointment: A's card is not carried into it
    assert flow.birth_date is None and flow.name_masked == ""
    flow.back(5)
    flow.card(date(1990, 1, 1), "李四", today=date(2026, 11, 23), now=6)
    flow.card(date(1950, 1, 1), "王五", today=date(2026, 11, 23), now=7)  # a new card replaces the first
    assert flow.birth_date == date(1950, 1, 1) and flow.name_masked == "王*"



def test_a_negative_time_is_refused_at_once(cfg) -> None:  # type: ignore[no-untyped-def]
    """A kiosk started with --idle -5 would otherwise cut the warning short; it stops with the setting's name."""
    with pytest.raises(ValueError, match="idle_seconds"):
        KioskFlow(cfg, idle_seconds=-5)
