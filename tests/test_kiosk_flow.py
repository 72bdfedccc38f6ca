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


# ---------------------------------------------------------------- the guide (办事指南)

def at_guide(cfg, letters: str = "") -> KioskFlow:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.open_guide(0)
    for ch in letters:
        flow.type_letter(ch, 1)
    return flow


def test_the_guide_finds_yibao_by_initials_full_pinyin_and_characters(cfg) -> None:  # type: ignore[no-untyped-def]
    """No input method on the kiosk: letters only, full pinyin or initials; characters through the same search."""
    assert cfg.catalogue is not None
    for letters in ("yb", "yibao"):
        found = at_guide(cfg, letters).guide_entries()
        assert any(e.kind == "item" and cfg.catalogue.item(e.key).service == "医保" for e in found), letters
        assert "异地就医备案" in [e.words for e in found]
    flow = at_guide(cfg)
    flow.guide_query = "医保"  # what `hallctl guide search 医保` finds, the same index
    assert "退休人员医保待遇核定" in [e.words for e in flow.guide_entries()]
    assert len(at_guide(cfg, "y").guide_entries()) <= 12  # capped: the best hits, in a list that scrolls
    assert at_guide(cfg, "y").guide_count() == f"找到 {len([i for i in flow._index().search('y', 999)])} 项"


def test_the_guide_keys_delete_and_clear_and_refuse_what_is_not_a_letter(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = at_guide(cfg, "YB")
    assert flow.guide_query == "yb" and flow.guide_heading() == "查找：Y B"
    flow.type_letter("医", 2)
    flow.type_letter("1", 2)
    assert flow.guide_query == "yb"
    flow.delete_letter(3)
    assert flow.guide_query == "y"
    flow.clear_letters(4)
    assert flow.guide_query == "" and flow.guide_entries()[0].kind == "bundle"  # back to the life events
    flow.type_letter("q", 5)
    assert at_guide(cfg, "qqqqqqq").guide_count() == "没有找到，请少按一个字母，或按类别浏览"


def test_the_guide_browses_by_life_event_and_by_service(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = at_guide(cfg)
    events = flow.guide_entries()
    assert [e.words for e in events][:1] == ["新生儿出生一件事"] and events[0].sub.startswith("出生")
    flow.guide_browse("services", 1)
    services = flow.guide_entries()
    assert services[0] == services[0].__class__("service", "医保", "医保", services[0].sub)  # most used first
    flow.open_entry("service", "医保", 2)
    items = flow.guide_entries()
    assert items and all(cfg.catalogue.item(e.key).service == "医保" for e in items)
    flow.back(3)  # back from a service's items to the services
    assert flow.step == Step.GUIDE and flow.guide_service is None and flow.guide_entries() == services
    flow.back(4)
    assert flow.step == Step.WELCOME


def test_an_item_page_has_its_limits_fee_visits_place_flags_and_materials(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = at_guide(cfg, "yb")
    flow.open_entry("item", "GF-379901-YBJ-003", 2)  # 零星医疗费用报销
    item = flow.page_item()
    assert flow.step == Step.ITEM and item is not None
    facts = dict(flow.item_facts(item))
    promised, legal = flow.limit_words(item)
    assert facts["承诺时限"] == promised and (facts.get("法定时限") == legal if legal else "法定时限" not in facts)
    assert facts["收费"] == item.fee.amount and facts["到现场次数"] == f"{item.visits} 次"
    assert item.place in facts["办理地点"] and "服务方式" in facts
    rows = flow.material_rows(item.materials)
    assert len(rows) == len(item.materials) and all(r.startswith(("【必要】", "【容缺】")) for r in rows)
    assert flow.materials_heading(item.materials).startswith(f"申请材料（{len(item.materials)} 项")
    with_legal = next(i for i in cfg.catalogue.items if flow.limit_words(i)[1])
    assert "法定时限" in dict(flow.item_facts(with_legal))
    flow.toggle_language(3)
    english = cfg.catalogue.item("GG-379901-YBJ-001")
    assert flow.item_name(english) == "Residents' medical insurance" and flow.item_name(item) == item.name
    assert "Time limit" in dict(flow.item_facts(item))


def test_a_bundle_page_lists_its_items_and_the_merged_materials_and_opens_an_item(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = at_guide(cfg)
    bundle = flow.guide_entries()[0]
    flow.open_entry("bundle", bundle.key, 1)
    b = flow.page_bundle()
    assert flow.step == Step.BUNDLE and b is not None
    assert [e.key for e in flow.bundle_items(b)] == b.items
    merged = flow.bundle_materials(b)
    assert len({m.name for m in merged}) == len(merged)
    flow.open_entry("item", b.items[0], 2)
    assert flow.step == Step.ITEM
    flow.back(3)
    assert flow.step == Step.BUNDLE  # back to the bundle it was opened from
    flow.back(4)
    assert flow.step == Step.GUIDE


def test_take_a_ticket_for_an_item_chooses_its_service_and_back_returns_to_the_page(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = at_guide(cfg, "yb")
    flow.open_entry("item", "GF-379901-YBJ-002", 2)
    flow.ticket_for_item(3)
    assert flow.step == Step.HELP and flow.service == "医保"
    flow.back(4)
    assert flow.step == Step.ITEM and flow.service is None
    flow.ticket_for_item(5)
    assert flow.choose_group("normal", 6) and flow.step == Step.ISSUING and flow.service == "医保"


def test_the_short_guide_prints_once_per_press_and_a_failure_says_why(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = at_guide(cfg, "yb")
    flow.open_entry("item", "GF-379901-YBJ-002", 2)
    item = flow.guide_item_to_print(3)
    assert item is not None and item.code == "GF-379901-YBJ-002"
    assert flow.guide_item_to_print(3.1) is None  # a double tap prints once
    flow.guide_printed(False, "printing failed: printer not ready: paper out", 4)
    assert flow.slip == "failed" and "打印纸用完" in flow.slip_words() and "拍下本页" in flow.slip_words()
    assert flow.guide_item_to_print(5) is item and flow.slip == "printing"
    flow.guide_printed(True, "", 6)
    assert flow.slip_words() == "简版指南已打印，请取走"
    flow.back(7)
    assert flow.slip == ""


def test_the_guide_idles_back_to_welcome_like_any_screen_and_keeps_its_index(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg, idle_seconds=10)
    flow.open_guide(0)
    flow.type_letter("y", 0)
    index = flow.index
    assert flow.countdown(11) == 19 and flow.tick(30) is True
    assert flow.step == Step.WELCOME and flow.guide_query == "" and flow.index is index
