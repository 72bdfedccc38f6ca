"""The kiosk's spoken prompts: Chinese read with the right tones through pinyin, ticket numbers spelled as the
call board spells them, each sentence synthesised once, and a prompt the visitor has tapped past never read."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from devices.voice.prompts import PromptSpeaker, pinyin_of


def wait_for(what: str, cond: Callable[[], Any], seconds: float = 30.0) -> None:
    """A deadline, not a spin: a dead worker or a missing synthesiser fails the test with what never happened."""
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened within {seconds:g} s: {what}")
        time.sleep(0.02)


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
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng): prompts cannot be synthesised")
    sink = SlowSink()
    speaker = PromptSpeaker(sink, cache_dir=tmp_path)
    speaker.say("点这里取号")
    wait_for("the first prompt reaching the sink (see the log for the synthesis error)", lambda: sink.played
             or speaker.spoken)
    assert sink.played, speaker.spoken[0].error
    speaker.say("请选择您要办理的事项")  # the visitor tapped on while the first was still being said
    speaker.say("您需要工作人员帮您办理吗？")
    sink.release.set()
    speaker.close(30)
    assert sink.played == ["点这里取号", "您需要工作人员帮您办理吗？"]
    assert len(list(tmp_path.glob("*.wav"))) == 2  # each sentence synthesised once, kept for next time
    again = PromptSpeaker(sink, cache_dir=tmp_path)
    assert len(again.render("点这里取号")) > 8000 and len(list(tmp_path.glob("*.wav"))) == 2


class FlakySink:
    """Fails once with an exception no sink is expected to raise, then plays."""

    def __init__(self) -> None:
        self.played: list[str] = []

    def play(self, samples: Any, rate: int, item: Any) -> None:
        if not self.played and not getattr(self, "failed", False):
            self.failed = True
            raise RuntimeError("driver bug")
        self.played.append(item.text)

    def describe(self) -> str:
        return "flaky"


class Silent(PromptSpeaker):
    """No synthesiser needed: the worker, not espeak-ng, is under test."""

    broken: frozenset[str] = frozenset()

    def render(self, text: str) -> Any:
        if text in self.broken:
            raise ImportError("No module named 'pypinyin'")
        return np.zeros(800, dtype=np.int16)


def test_the_worker_survives_any_exception_and_logs_each_reason_once(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    sink = FlakySink()
    speaker = Silent(sink, cache_dir=tmp_path)
    speaker.broken = frozenset({"请稍候", "请再等一下"})
    caplog.set_level(logging.DEBUG, logger="devices.voice.prompts")
    for text in ("点这里取号", "请稍候", "请再等一下", "请取走您的号票"):
        speaker.say(text)
        wait_for(f"{text} handled", lambda text=text: any(p.text == text for p in speaker.spoken))
    speaker.close(10)
    assert sink.played == ["请取走您的号票"]  # after a RuntimeError and two ImportErrors, the worker still speaks
    errors = {p.text: p.error for p in speaker.spoken}
    assert errors["点这里取号"] == "RuntimeError: driver bug" and "pypinyin" in (errors["请稍候"] or "")
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 2 and all(r.exc_info for r in logged)  # the ImportError's reason logged once, not twice
