"""The kiosk's spoken prompts: Chinese read with the right tones through pinyin, ticket numbers spelled as the
call board spells them, each sentence synthesised once, and a prompt the visitor has tapped past never read."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from devices.voice.prompts import PromptSpeaker, pinyin_of


def test_chinese_becomes_tone_numbered_pinyin_and_tickets_are_spelled() -> None:
    assert pinyin_of("请选择您要办理的事项") == "qing3 xuan3 ze2 nin2 yao4 ban4 li3 de5 shi4 xiang4"
    assert pinyin_of("E001 请取走您的号票") == "E ling2 ling2 yi1 qing3 qu3 zou3 nin2 de5 hao4 piao4"
    assert pinyin_of("您好，请稍候。") == "nin2 hao3, qing3 shao1 hou4,"


class SlowSink:
    """Holds the first prompt until released, as a loudspeaker takes seconds to say it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.played: list[str] = []

    def play(self, samples: Any, rate: int, item: Any) -> None:
        self.played.append(item.text)
        if len(self.played) == 1:
            self.release.wait(10)

    def describe(self) -> str:
        return "slow"


def test_a_prompt_not_yet_started_is_replaced_by_the_next_screens(tmp_path: Path) -> None:
    sink = SlowSink()
    speaker = PromptSpeaker(sink, cache_dir=tmp_path)
    speaker.say("点这里取号")
    while not sink.played:
        threading.Event().wait(0.02)
    speaker.say("请选择您要办理的事项")  # the visitor tapped on while the first was still being said
    speaker.say("您需要工作人员帮您办理吗？")
    sink.release.set()
    speaker.close(30)
    assert sink.played == ["点这里取号", "您需要工作人员帮您办理吗？"]
    assert len(list(tmp_path.glob("*.wav"))) == 2  # each sentence synthesised once, kept for next time
    again = PromptSpeaker(sink, cache_dir=tmp_path)
    assert len(again.render("点这里取号")) > 8000 and len(list(tmp_path.glob("*.wav"))) == 2
