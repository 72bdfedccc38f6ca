"""What the kiosk says aloud and what it shows in English, on the flow alone (no window, no voice): each screen's
prompt with its choices, a card read, a notice, the offline banner and the idle warning, each said once, in the
words on the screen and in the screen's language."""

from __future__ import annotations

from datetime import date

from hall_bus.nodes.kiosk_flow import KioskFlow, Step
from hall_bus.nodes.kiosk_words import GROUP_HINTS, TEXT

ZH, EN = TEXT["zh"], TEXT["en"]
TODAY = date(2026, 11, 23)


def at_help(cfg, **kw) -> KioskFlow:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg, **kw)
    flow.start(0)
    flow.news(0)
    flow.choose_service("医保", 1)
    return flow


def test_the_service_screen_says_its_prompt_then_the_services_in_order(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.start(0)
    said = flow.news(0)
    assert said == ZH["service"] + "：" + "、".join(flow.services())
    assert flow.news(1) == ""  # said once while it stays


def test_the_help_screen_says_the_question_then_each_choice_with_its_hint(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = at_help(cfg)
    said = flow.news(1)
    assert said.startswith(ZH["help"] + "不用，谢谢，我自己办理；推着办，工作人员推轮椅陪您办理；陪同办，")
    for group in flow.choices():  # every choice, in the order shown, with the hint under it
        assert f"{flow.group_words(group)}，{GROUP_HINTS['zh'][group]}" in said
    positions = [said.index(flow.group_words(g) + "，") for g in flow.choices()]
    assert positions == sorted(positions)


def test_the_welcome_and_scan_screens_say_their_choices(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    assert flow.news(0, can_scan=True) == f"{ZH['start']}。{ZH['appt']}。{ZH['card']}。{ZH['guide_welcome']}"
    flow.start_scan(1)
    assert flow.news(1) == f"{ZH['scan']}。{ZH['scan_hint']}"
    flow.appointment_refused("other_day", 2)
    assert flow.news(2) == ZH["appt_other_day"]  # a refusal is said when it appears, once
    assert flow.news(3) == ""


def test_the_idle_warning_is_said_once_when_it_appears_and_again_when_it_comes_back(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = at_help(cfg, idle_seconds=10)
    flow.news(1)
    assert flow.news(10) == ""
    assert flow.news(11) == ZH["reset"].format(n="二十")  # a number as the Chinese voice says it
    assert flow.news(12) == "" and flow.news(13) == ""
    flow.more_time(14)
    assert flow.news(15) == ""
    assert flow.news(24) == ZH["reset"].format(n="二十")


def test_going_offline_and_a_refusal_are_said(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = at_help(cfg)
    flow.news(1)
    flow.connection(False)
    assert flow.news(2) == ZH["offline"]
    assert flow.news(3) == ""
    flow.connection(True)
    assert flow.news(4) == ""
    flow.choose_group("normal", 5)
    flow.issued({"ok": False, "message": "该事项今日号已取完"}, printed=False, on_screen=[], note="", now=6)
    assert flow.news(6) == "该事项今日号已取完"


def test_the_ticket_says_its_number_and_why_it_is_on_screen_when_not_printed(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = at_help(cfg)
    flow.choose_group("accompany", 2)
    assert flow.news(2) == ZH["issuing"]
    answer = {"ok": True, "result": {"number": "E001", "service": "医保", "group": "accompany", "label": "陪同办",
                                     "help_id": "H1"}}
    flow.issued(answer, printed=False, on_screen=["E001"], note="paper out", now=3)
    said = flow.news(3)
    assert said.startswith("E001。" + ZH["no_paper"]) and "帮办员马上过来" in said
    assert "一直留着" in ZH["no_paper"] and "我已记下号码" in ZH["no_paper"]  # why it stays, and until what


def test_a_card_read_says_what_it_chose_and_why_once_on_both_screens(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.news(0)
    flow.card(date(1952, 3, 8), "张秀英", today=TODAY, now=1)
    assert flow.card_words() == "已读取身份证：张**，74岁，为您选好「陪同办」，可以改选"
    said = flow.news(1)
    assert said.startswith("已读取身份证：张**，七十四岁，为您选好「陪同办」，可以改选。" + ZH["service"])
    assert "张秀英" not in said and "秀" not in flow.card_words()
    flow.choose_service("医保", 2)
    assert flow.card_words() and not flow.news(2).startswith("已读取")  # shown on the help screen, said once
    flow.back(3)
    flow.back(4)
    assert flow.card_words() == ""  # back at welcome: the card is forgotten


def test_a_young_visitors_card_chooses_nothing_and_says_so_plainly(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.card(date(1990, 1, 1), "李四", today=TODAY, now=0)
    assert flow.card_words() == "已读取身份证：李*，36岁"


def test_english_shows_and_says_everything_in_english(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.card(date(1952, 3, 8), "张秀英", today=TODAY, now=0)
    flow.toggle_language(1)
    english = [cfg.services_by_name[s].name_en for s in flow.services()]
    assert flow.services_shown() == english and english[0] == "Medical insurance"
    said = flow.news(1)
    assert said == ("ID card read: 74 years old. We chose “Someone goes with me” for you; you may change it. "
                    + EN["service"] + " " + ", ".join(english))
    assert not any("\u3400" <= ch <= "\u9fff" for ch in said)  # the English voice is never handed Chinese
    assert flow.card_words() == ("ID card read (张**): 74 years old. We chose “Someone goes with me” for you; "
                                 "you may change it")
    flow.choose_service(flow.service_named("Medical insurance"), 2)
    assert flow.service == "医保"  # the ticket is asked for by the Chinese name: the queue is keyed by it
    assert flow.news(2).startswith(EN["help"] + " No, thank you: I will do it myself; Wheelchair push: ")
    flow.choose_group("accompany", 3)
    flow.issued({"ok": True, "result": {"number": "E001", "service": "医保", "group": "accompany",
                                        "label": "陪同办"}}, printed=True, on_screen=[], note="", now=4)
    shown = flow.result_words()
    assert (shown["service"], shown["label"]) == ("Medical insurance", "Someone goes with me")
    assert flow.answer is not None and flow.answer["result"]["service"] == "医保"
    flow.toggle_language(5)
    assert flow.result_words()["label"] == "陪同办"


def test_switching_language_says_the_screen_again_in_the_new_language(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = at_help(cfg)
    flow.news(1)
    flow.toggle_language(2)
    assert flow.news(2).startswith(EN["help"])
    assert flow.step == Step.HELP


def test_unknown_button_words_choose_nothing(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.start(0)
    flow.choose_service(flow.service_named("Space travel"), 1)
    assert flow.step == Step.SERVICE and flow.service is None


def test_the_guide_says_how_to_search_once_then_each_list_as_it_changes(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.news(0)
    flow.open_guide(1)
    said = flow.news(1)
    assert said.startswith(ZH["guide_prompt"] + "。一件事：新生儿出生一件事、")
    flow.type_letter("y", 2)
    flow.type_letter("b", 2)
    said = flow.news(2)
    assert said.startswith("找到 7 项：异地就医备案、") and ZH["guide_prompt"] not in said
    assert said.count("、") == 4  # the first five read out; the rest are on screen
    flow.clear_letters(3)
    for ch in "qqq":
        flow.type_letter(ch, 3)
    assert flow.news(3) == ZH["guide_none"]


def test_an_item_page_says_its_name_limit_fee_visits_and_how_many_materials(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.open_guide(0)
    flow.news(0)
    flow.open_entry("item", "GF-379901-YBJ-002", 1)
    assert flow.news(1) == ("异地就医备案。承诺时限即办。收费：不收费。到现场次数：0 次，全程网办。需要材料两项。"
                            + ZH["item_actions"])
    flow.guide_item_to_print(2)
    assert flow.news(2) == ""  # 正在打印 is shown, not said: the result follows at once
    flow.guide_printed(False, "no printer on this kiosk", 3)
    assert flow.news(3) == "简版指南没能打印：这台取号机不能打印。请用手机拍下本页"


def test_an_item_with_a_legal_limit_says_both_limits(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    item = next(i for i in cfg.catalogue.items if flow.limit_words(i)[1])
    flow.open_guide(0)
    flow.open_entry("item", item.code, 0)
    promised, legal = flow.limit_words(item)
    assert f"承诺时限{promised}，法定时限{legal}" in flow.news(1)


def test_a_bundle_page_says_its_items_and_the_merged_materials_count(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.open_guide(0)
    flow.news(0)
    flow.open_entry("bundle", flow.guide_entries()[0].key, 1)
    said = flow.news(1)
    assert said.startswith("新生儿出生一件事，包含四项事项：出生医学证明签发、出生登记、") and "合并材料" in said


def test_the_guide_in_english_uses_english_names_where_the_catalogue_has_them(cfg) -> None:  # type: ignore[no-untyped-def]
    flow = KioskFlow(cfg)
    flow.toggle_language(0)
    flow.open_guide(0)
    flow.guide_browse("services", 0)
    flow.open_entry("service", "医保", 0)
    said = flow.news(0)
    assert said.startswith(EN["guide_prompt"] + ". Medical insurance: Residents' medical insurance, ")
    flow.open_entry("item", "GG-379901-YBJ-001", 1)
    assert flow.news(1).startswith("Residents' medical insurance. Time limit: ")
