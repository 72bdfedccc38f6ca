"""What a call says: window numerals, ticket characters, templates, and the options that configure them."""

from __future__ import annotations

import pytest

from devices.registry import option_problems
from devices.voice.inventory import INVENTORY
from devices.voice.numerals import (
    DEFAULT_RECALL_TEMPLATE,
    SHORT_TEMPLATE,
    announcement,
    spoken_text,
    ticket_segments,
    window_numeral,
)
from devices.voice.options import VoiceSegments

NUMERALS = {
    0: "零", 1: "一", 2: "二", 5: "五", 10: "十", 11: "十一", 15: "十五", 20: "二十", 22: "二十二", 99: "九十九",
    100: "一百", 101: "一百零一", 105: "一百零五", 110: "一百一十", 111: "一百一十一", 200: "二百", 999: "九百九十九",
    1000: "一千", 1001: "一千零一", 1010: "一千零一十", 1100: "一千一百", 1011: "一千零一十一", 2020: "二千零二十",
    9999: "九千九百九十九",
}


@pytest.mark.parametrize(("window", "words"), NUMERALS.items())
def test_window_numbers_follow_chinese_numeral_rules(window: int, words: str) -> None:
    segments = window_numeral(window)
    assert "".join(segments) == words
    assert all(s in INVENTORY for s in segments)


def test_two_is_er_never_liang() -> None:
    assert "两" not in "".join("".join(window_numeral(n)) for n in range(0, 3000, 7))


def test_window_given_as_text_or_out_of_range() -> None:
    assert window_numeral("15") == ["十", "五"]
    assert window_numeral("１５") == ["十", "五"]  # full-width from an IME
    for bad in (-1, 10000, "5a", "", True):
        with pytest.raises(ValueError):
            window_numeral(bad)  # type: ignore[arg-type]


def test_ticket_is_read_one_character_at_a_time() -> None:
    assert ticket_segments("A023") == ["A", "零", "二", "三"]
    assert ticket_segments("b100") == ["B", "一", "零", "零"]
    assert ticket_segments("Ａ０２３") == ["A", "零", "二", "三"]
    assert ticket_segments("C-07") == ["C", "零", "七"]
    assert ticket_segments("A011", {"1": "幺"}) == ["A", "零", "幺", "幺"]
    assert ticket_segments("A1", {"A": "再次"}) == ["再次", "一"]
    for bad in ("", "-", "A0#3", "甲001"):
        with pytest.raises(ValueError):
            ticket_segments(bad)


def test_full_announcement_lists_segments_in_spoken_order() -> None:
    assert announcement("A023", 5) == ["请", "A", "零", "二", "三", "号", "到", "五", "号窗口", "办理"]
    assert announcement("A023", 5, template=SHORT_TEMPLATE) == ["请", "A", "零", "二", "三", "号", "到", "五", "号窗口"]
    assert announcement("B101", 101, chime=True) == ["chime", "请", "B", "一", "零", "一", "号", "到",
                                                     "一", "百", "零", "一", "号窗口", "办理"]
    assert announcement("A1", 10, template="chime " + SHORT_TEMPLATE, chime=True)[:2] == ["chime", "请"]
    assert announcement("A1", 2, template=DEFAULT_RECALL_TEMPLATE)[:3] == ["再次", "呼叫", "请"]
    assert spoken_text("A023", 5) == "请A023号到5号窗口办理"
    with pytest.raises(ValueError, match="separate words"):
        announcement("A1", 1, template="请 {number}号 到 {window} 号窗口")


def test_options_keep_old_keys_and_refuse_unspeakable_templates() -> None:
    assert option_problems("voice-segments", {"card": "default", "segments": "/srv/voice"}) == []
    opts = VoiceSegments.model_validate({"readings": {"a": "A"}})
    assert opts.chime and opts.repeat == 1 and opts.readings == {"A": "A"}
    assert option_problems("voice-segments", {"template": SHORT_TEMPLATE, "repeat": 2, "out_dir": "/tmp/x",
                                              "chime": False, "gap_ms": 20}) == []
    (path, msg), = option_problems("voice-segments", {"template": "请 {number} 号 到 {window} 号窗囗"})
    assert path == ("template",) and "号窗囗" in msg
    assert option_problems("voice-segments", {"template": "请 {number} 号"})[0][1].startswith("template needs")
    assert option_problems("voice-segments", {"repeat": 0})
    assert option_problems("voice-segments", {"readings": {"1": "yao"}})
    assert "did you mean 'repeat'" in option_problems("voice-segments", {"repaet": 2})[0][1]
