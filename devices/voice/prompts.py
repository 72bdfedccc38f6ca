"""Spoken prompts for the kiosk's screens (请选择您要办理的事项), for visitors who cannot read the screen.

Calls are announced from a fixed set of segments; a kiosk's prompts are whole sentences, so each distinct prompt
is synthesised once, offline, and kept as a WAV beside the generated segments (`prompts/<hash>.wav`): the same
sentence is never synthesised twice, and a hall can drop in a real recording under that name. Chinese goes
through pypinyin to tone-numbered pinyin for espeak-ng's `cmn-latn-pinyin` voice (Debian's `cmn` voice gets 请
and 号 wrong); ticket numbers are read character by character as the call board reads them (E001 → E 零 零 一);
English prompts use espeak-ng's `en` voice.

Unlike calls, a prompt that has not started when the next one is asked for is dropped: the visitor has moved on
to another screen, and reading the old screen's words would mislead. One worker thread, so two prompts never
overlap; a sink error (no sound card) is logged and the kiosk goes on, and so does the worker after any other
exception (a missing pypinyin, a bug): a dead worker would silence every later prompt without a word.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DeviceError
from .inventory import INVENTORY, Segment
from .join import RATE, Samples, read_wav, write_wav
from .numerals import DIGITS
from .segments import default_generated_dir, synthesise

log = logging.getLogger(__name__)
_TICKET = re.compile(r"[A-Za-z]*\d+[A-Za-z\d]*")
_CJK = re.compile(r"[\u3400-\u9fff]")


def pinyin_of(text: str) -> str:
    """Tone-numbered pinyin for espeak-ng's pinyin voice; ticket-like runs spelled out, punctuation as pauses."""
    from pypinyin import Style, lazy_pinyin

    out: list[str] = []
    for part in re.split(r"(\s+|[，。？！、；：,.?!;:]+)", text):
        if not part or part.isspace():
            continue
        if re.fullmatch(r"[，。？！、；：,.?!;:]+", part):
            out.append(",")
            continue
        for piece in re.split(f"({_TICKET.pattern})", part):
            if not piece:
                continue
            if _TICKET.fullmatch(piece):
                for ch in piece.upper():
                    seg = INVENTORY.get(DIGITS[int(ch)]) if ch.isdigit() else INVENTORY.get(ch)
                    if seg is not None and seg.pinyin:
                        out.append(seg.pinyin)
            else:
                out += [p for p in lazy_pinyin(piece, style=Style.TONE3, neutral_tone_with_five=True)
                        if re.fullmatch(r"[a-z]+[1-5]", p) or p.isalpha()]
    return " ".join(out).replace(" ,", ",")


@dataclass(eq=False)
class Prompt:
    """What the sink sees (the WAV sink names files by seq, number and window)."""

    seq: int
    text: str
    number: str = "prompt"
    window: str = ""
    recall: bool = False
    file: Path | None = None
    error: str | None = None


class PromptSpeaker:
    def __init__(self, sink: Any, *, cache_dir: str | Path | None = None, rate: int = RATE) -> None:
        self.sink = sink
        self.cache = Path(cache_dir) if cache_dir else default_generated_dir() / "prompts"
        self.rate = rate
        self.spoken: list[Prompt] = []
        self._next: Prompt | None = None
        self._seq = 0
        self._cv = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._failures: set[str] = set()  # reasons already logged with their traceback

    def say(self, text: str) -> None:
        """Speak `text` soon; a prompt still waiting is replaced (never two at once, never a stale one)."""
        text = text.strip()
        if not text:
            return
        with self._cv:
            if self._closed:
                return
            self._seq += 1
            self._next = Prompt(self._seq, text)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kiosk-prompts", daemon=True)
                self._thread.start()
            self._cv.notify()

    def render(self, text: str) -> Samples:
        """The prompt's samples: a recording or an earlier synthesis from the cache, else espeak-ng now."""
        lang = "zh" if _CJK.search(text) else "en"
        key = hashlib.sha1(f"{lang}:{text}".encode()).hexdigest()[:16]
        path = self.cache / f"{key}.wav"
        if path.exists():
            return read_wav(path, self.rate)
        if lang == "zh":
            samples = synthesise(Segment(text, key, pinyin_of(text)), self.rate)
        else:
            samples = synthesise(Segment(text, key, text), self.rate, voice="en")
        write_wav(path, samples, self.rate)
        return samples

    def close(self, timeout: float = 10.0) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cv:
                while self._next is None and not self._closed:
                    self._cv.wait()
                if self._next is None:
                    return
                prompt, self._next = self._next, None
            try:
                prompt.file = self.sink.play(self.render(prompt.text), self.rate, prompt)
            except (DeviceError, OSError, ValueError) as exc:
                prompt.error = str(exc)
                log.info("prompt not spoken (%s): %s", prompt.text, exc)
            except Exception as exc:  # pypinyin missing, a sink's bug: the next screen's prompt must still be said
                prompt.error = f"{type(exc).__name__}: {exc}"
                reason = prompt.error
                if reason not in self._failures:  # once per reason, with the traceback, not at every screen
                    self._failures.add(reason)
                    log.exception("prompt not spoken (%s): %s; the next prompts are still tried", prompt.text,
                                  reason)
                else:
                    log.debug("prompt not spoken (%s): %s", prompt.text, reason)
            self.spoken.append(prompt)
