"""Call announcements joined from recorded segments (请 A023 号到 5 号窗口): the options, open and probe.

Pure pydantic at import time (the driver is imported inside `open_voice`/`probe_voice`), so `config check` stays
fast. A template word with no segment, or a reading that names one, is refused here rather than discovered when
the first visitor is called.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from ..options import Check, Kind, Options
from .inventory import INVENTORY
from .numerals import DEFAULT_RECALL_TEMPLATE, DEFAULT_TEMPLATE, template_problems

if TYPE_CHECKING:
    from .announcer import Announcer


class VoiceSegments(Options):
    """Voice calls from recorded segments (card: the sound card, segments: a directory of recordings; out_dir:
    write each call as a WAV file instead of playing it; chime, repeat, template, recall_template, gap_ms,
    readings)."""

    card: str = Field(default="default", min_length=1)
    segments: str | None = None  # recordings (qing.wav or 请.wav …); default assets/voice/recorded
    out_dir: str | None = Field(default=None, min_length=1)
    chime: bool = True
    repeat: int = Field(default=1, ge=1, le=3)
    template: str = DEFAULT_TEMPLATE
    recall_template: str = DEFAULT_RECALL_TEMPLATE
    gap_ms: int = Field(default=0, ge=0, le=500)
    readings: dict[str, str] = Field(default_factory=dict)  # ticket character → segment, e.g. {"1" = "幺"}

    @field_validator("template", "recall_template")
    @classmethod
    def _speakable(cls, value: str) -> str:
        problems = template_problems(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("readings")
    @classmethod
    def _known_readings(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for ch, segment in value.items():
            if len(ch) != 1:
                raise ValueError(f"readings key {ch!r} must be one character")
            if segment not in INVENTORY:
                raise ValueError(f"readings {ch!r} → {segment!r}: no such segment")
            out[ch.upper()] = segment
        return out


def open_voice(options: Options) -> Announcer:
    from .announcer import Announcer, SoundSink, WavDirSink
    from .join import RATE, ms_to_samples
    from .segments import SegmentBank

    assert isinstance(options, VoiceSegments)
    sink = WavDirSink(options.out_dir) if options.out_dir else SoundSink(options.card)
    return Announcer(sink, SegmentBank(options.segments), template=options.template,
                     recall_template=options.recall_template, chime=options.chime, repeat=options.repeat,
                     gap=ms_to_samples(options.gap_ms, RATE), readings=options.readings)


def open_prompts(options: Options) -> Any:
    """A kiosk's spoken prompts through the same voice table (its sound card, or its out_dir as WAV files)."""
    from .announcer import SoundSink, WavDirSink
    from .prompts import PromptSpeaker

    assert isinstance(options, VoiceSegments)
    return PromptSpeaker(WavDirSink(options.out_dir) if options.out_dir else SoundSink(options.card))


def _writable(path: Path) -> tuple[bool, str]:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return False, f"cannot create {path}: {exc.strerror or exc}"
    return (True, str(path)) if os.access(path, os.W_OK) else (False, f"{path} is not writable")


def probe_voice(options: Options) -> list[Check]:
    from .announcer import player_command, sound_device
    from .segments import SegmentBank, check_segment, espeak_version

    assert isinstance(options, VoiceSegments)
    bank = SegmentBank(options.segments)
    version = espeak_version()
    rows = bank.describe()
    missing = [r.name for r in rows if r.source == "missing"]
    recorded = sum(r.source == "recorded" for r in rows)
    generated = sum(r.source == "generated" for r in rows)
    checks = [Check("espeak-ng", version is not None or not missing,
                    f"espeak-ng {version}" if version else "not installed" + (" (every segment is there)"
                                                                              if not missing else ""),
                    "" if version or not missing else "apt-get install espeak-ng")]
    bad = []
    for row in rows:
        if row.path is not None:
            result = check_segment(row.path)
            if not result.ok:
                bad.append(f"{row.name} ({row.path.name}): {result.detail}")
    detail = f"{recorded} recorded, {generated} generated, {len(missing)} to generate at first use"
    if bad:
        detail += "; unusable: " + "; ".join(bad)
    can_generate = version is not None and _writable(bank.generated)[0]
    checks.append(Check("segments", not bad and (not missing or can_generate), detail,
                        "record the unusable ones again" if bad else
                        "" if not missing or can_generate else f"install espeak-ng or make {bank.generated} "
                                                               "writable; then hallctl device voice segments"))
    if options.out_dir:
        ok, where = _writable(Path(options.out_dir))
        checks.append(Check("out_dir", ok, where, "" if ok else "choose a directory this user can write"))
        return checks
    ok, what = sound_device()
    checks.append(Check("sound device", ok, what, "" if ok else "plug in a speaker or USB sound card, or set "
                                                               "out_dir to write WAV files"))
    command = player_command(options.card)
    checks.append(Check("player", command is not None,
                        " ".join(command[0][:-1]) if command else "neither aplay nor play found",
                        "" if command else "apt-get install alsa-utils (aplay) or sox (play)"))
    if shutil.which("sox") is None:
        checks.append(Check("sox", True, "not installed: segments are checked with numpy instead", ""))
    return checks


KIND = Kind("voice", "voice announcer", {"voice-segments": VoiceSegments}, open=open_voice, probe=probe_voice)
