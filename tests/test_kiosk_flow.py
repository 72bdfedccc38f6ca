"""The kiosk's rules as a visitor feels them, without a window: taps, idle reset, double tap, ID card, offline."""

from __future__ import annotations

from datetime import date

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


def test_idle_screen_counts_down_then_resets_to_chinese_welcome(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg, idle_seconds=30, countdown_seconds=10)
    flow.start(0)
    flow.toggle_language(1)
    flow.choose_service("医保", 2)
    assert flow.countdown(15) is None and flow.countdown(25) == 7
    assert flow.tick(31) is False
    flow.touch(31)
    assert flow.countdown(40) is None  # a tap gives the full time back
    assert flow.tick(62) is True and flow.step == Step.WELCOME and flow.service is None and flow.lang == "zh"


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


def test_a_printed_tickets_screen_goes_back_by_itself(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg, ticket_seconds=20)
    flow.start(0)
    flow.choose_service("医保", 0)
    flow.choose_group("normal", 0)
    flow.issued({"ok": True, "result": {"number": "E001"}}, printed=True, on_screen=[], note="", now=0)
    assert flow.tick(10) is False and flow.tick(21) is True


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

