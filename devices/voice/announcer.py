"""The hall's voice: calls spoken one after another, in the order they were made, none lost.

One worker thread takes calls from a FIFO queue, joins each into one buffer and hands it to a sink (the sound
card, or WAV files). One thread is the whole guarantee: two calls can never be spoken over each other, and a
burst (a dozen windows pressing "next" as the hall opens) is spoken in the order of `announce()`, never dropped.

The delay bound that buys: a call waits for the calls ahead of it, so the k-th call of a burst starts within
    k × (longest announcement) + its own render time (a few ms: segments are cached in memory),
where one announcement is chime + call × repeat, about 4–5 s with the generated segments and repeat = 1, so the
20th of a burst of 20 starts within about 100 s on a loudspeaker. A sink that writes files takes milliseconds, so
the same burst is written in well under a second. Each `Announcement` records queued, start and end (monotonic
seconds) so this is measured rather than assumed, and a warning is logged when calls pile up.

A sink that fails (no sound card, a player that crashes, a full disk) fails that one announcement: the error is
logged and recorded, and the worker goes on with the next call.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import DeviceError
from .inventory import CHIME, INVENTORY
from .join import RATE, Samples, join, ms_to_samples, silence, wav_bytes, write_wav
from .numerals import DEFAULT_RECALL_TEMPLATE, DEFAULT_TEMPLATE, announcement, spoken_text
from .segments import SegmentBank

log = logging.getLogger(__name__)

PILE_UP_WARNING = 10  # calls waiting before the log says the speaker lags behind the hall
_SEQ = itertools.count(1)  # process-wide, so two announcers writing into one directory never clash


@dataclass(eq=False)
class Announcement:
    """One call as the worker handled it. `start` is when its first sample went to the sink, `end` when the sink
    returned (for a sound card: when playback finished); `start` stays None if it failed before reaching the
    sink. `end` is set last, after which `done` is set."""

    seq: int
    number: str
    window: str
    recall: bool
    text: str
    segments: tuple[str, ...]  # one call, chime included; spoken `repeat` times
    queued: float
    start: float | None = None
    end: float | None = None
    file: Path | None = None
    samples: int = 0
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def ok(self) -> bool:
        return self.done.is_set() and self.error is None

    @property
    def latency(self) -> float | None:
        """Seconds from `announce()` to the first sample reaching the sink."""
        return None if self.start is None else self.start - self.queued

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)


class Sink(Protocol):
    def play(self, samples: Samples, rate: int, item: Announcement) -> Path | None:
        """Output one joined announcement; return the file written, if any. Raise to fail this one only."""
        ...

    def describe(self) -> str: ...


class NotHeard(DeviceError):
    """No sound device: the reason is logged once as a warning, each call then only at info level."""


def _safe(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_") or "x"


class WavDirSink:
    """Each announcement as a WAV file in a directory: for tests, for a machine without sound, and for a hall
    that wants a record of what was said. Names sort in the order spoken (the run's start time, then seq)."""

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)
        self.prefix = time.strftime("%Y%m%d-%H%M%S")

    def play(self, samples: Samples, rate: int, item: Announcement) -> Path:
        name = f"{self.prefix}-{item.seq:06d}-{_safe(item.number)}-{_safe(item.window)}.wav"
        return write_wav(self.out_dir / name, samples, rate)

    def describe(self) -> str:
        return f"WAV files in {self.out_dir}"


class FileSink:
    """Every announcement into one named file (the last one wins): `say --out FILE.wav`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def play(self, samples: Samples, rate: int, item: Announcement) -> Path:
        return write_wav(self.path, samples, rate)

    def describe(self) -> str:
        return f"the file {self.path}"


def sound_device() -> tuple[bool, str]:
    """Whether this machine can make a sound at all: an ALSA card, or a PulseAudio/PipeWire server."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.environ.get("PULSE_SERVER") or (runtime and (Path(runtime, "pulse", "native").exists()
                                                       or Path(runtime, "pipewire-0").exists())):
        return True, "PulseAudio/PipeWire server"
    cards = Path("/proc/asound/cards")
    try:
        text = cards.read_text()
    except OSError:
        return False, "no sound card (/proc/asound is missing: no ALSA driver loaded)"
    if "no soundcards" in text or not text.strip():
        return False, "no sound card (/proc/asound/cards lists none)"
    return True, " ".join(text.splitlines()[0].split())


def player_command(card: str = "default") -> tuple[list[str], dict[str, str]] | None:
    """The command that plays a WAV from stdin on `card`: aplay (alsa-utils) if present, else sox's `play`."""
    if shutil.which("aplay"):
        return ["aplay", "-q", "-D", card, "-"], {}
    if shutil.which("play"):
        env = {"AUDIODEV": card} if card != "default" else {}
        return ["play", "-q", "-t", "wav", "-"], env
    return None


class SoundSink:
    """The sound card, through aplay or sox's play on the joined WAV (one process per call, so a wedged audio
    stack cannot hang the worker: the player is killed after the call's length plus 10 s).

    With no sound device the call cannot be heard: that is logged clearly once (and again when it changes), each
    call is logged with its text, and a `fallback` sink (WAV files) is used when given."""

    def __init__(self, card: str = "default", fallback: Sink | None = None) -> None:
        self.card = card
        self.fallback = fallback
        self._last_state: bool | None = None

    def describe(self) -> str:
        return f"sound card {self.card!r}"

    def play(self, samples: Samples, rate: int, item: Announcement) -> Path | None:
        ok, detail = sound_device()
        command = player_command(self.card) if ok else None
        if ok and command is None:
            ok, detail = False, "neither aplay (alsa-utils) nor play (sox) is installed"
        if ok != self._last_state:
            if ok:
                log.info("voice: playing on %s (%s)", self.card, detail)
            else:
                log.warning("voice: cannot play announcements: %s; %s", detail,
                            f"writing them to {self.fallback.describe()}" if self.fallback else
                            "they are logged, not heard (set out_dir to keep them as WAV files)")
            self._last_state = ok
        if not ok or command is None:
            if self.fallback is not None:
                return self.fallback.play(samples, rate, item)
            raise NotHeard(f"not heard: {item.text}: {detail}",
                              "plug in a speaker or USB sound card, or install alsa-utils")
        argv, env = command
        seconds = len(samples) / rate
        try:
            run = subprocess.run(argv, input=wav_bytes(samples, rate), capture_output=True, timeout=seconds + 10,
                                 env={**os.environ, **env}, check=False)
        except subprocess.TimeoutExpired as exc:
            raise DeviceError(f"{argv[0]} did not finish playing in {seconds + 10:.0f} s",
                              "check the sound card (aplay -l) and that no other program holds it") from exc
        if run.returncode != 0:
            lines = run.stderr.decode(errors="replace").strip().splitlines()
            raise DeviceError(f"{argv[0]} failed on {self.card!r}: {lines[-1] if lines else run.returncode}",
                              "list the cards with aplay -l and set card (e.g. \"plughw:1,0\")")
        return None


class Announcer:
    """Speaks calls in order through one worker thread. Nothing starts until the first call (drivers open on
    first use); `prepare()` reads (and if need be generates) every segment up front, so the first call of the day
    is as quick as the rest."""

    def __init__(self, sink: Sink, bank: SegmentBank | None = None, *, template: str = DEFAULT_TEMPLATE,
                 recall_template: str = DEFAULT_RECALL_TEMPLATE, chime: bool = True, repeat: int = 1,
                 gap: int = 0, chime_pause: int | None = None, repeat_pause: int | None = None,
                 readings: Mapping[str, str] | None = None, rate: int = RATE, keep: int = 1000) -> None:
        if repeat < 1:
            raise ValueError("repeat must be >= 1")
        self.sink = sink
        self.bank = bank if bank is not None else SegmentBank(rate=rate)
        self.template = template
        self.recall_template = recall_template
        self.chime = chime
        self.repeat = repeat
        self.gap = gap
        self.chime_pause = ms_to_samples(250, rate) if chime_pause is None else chime_pause
        self.repeat_pause = ms_to_samples(700, rate) if repeat_pause is None else repeat_pause
        self.readings = dict(readings or {})
        self.rate = rate
        self._queue: queue.Queue[Announcement | None] = queue.Queue()
        self._history: deque[Announcement] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._last_seconds = 0.0

    # What the lead's board agent and the CLI call

    def announce(self, number: str, window: int | str, *, recall: bool = False) -> Announcement:
        """Queue one call and return at once. Raises ValueError for a number or window that cannot be read, here
        in the caller rather than later in the worker, so a bad event is seen where it came from."""
        segments, text = self._words(number, window, recall)
        with self._lock:
            if self._closed:
                raise DeviceError("the voice announcer is closed", "open the device again")
            item = Announcement(next(_SEQ), str(number), str(window), recall, text, tuple(segments),
                                time.monotonic())
            self._history.append(item)
            self._queue.put(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="voice-announcer", daemon=True)
                self._thread.start()
        waiting = self._queue.qsize()
        if waiting and waiting % PILE_UP_WARNING == 0:
            log.warning("voice: %d calls waiting; the newest will start in about %.0f s", waiting,
                        waiting * (self._last_seconds or self.estimate_seconds(segments)))
        return item

    def announce_event(self, event: Mapping[str, Any]) -> Announcement | None:
        """A hall-bus call event (ticket_called, ticket_recalled) spoken; other events are ignored."""
        kind = event.get("type")
        if kind not in ("ticket_called", "ticket_recalled"):
            return None
        data = event["data"]
        return self.announce(str(data["number"]), data["counter"], recall=kind == "ticket_recalled")

    def render(self, number: str, window: int | str, *, recall: bool = False) -> Samples:
        """The whole announcement as one buffer: chime, pause, call, then (pause, call) for each repeat."""
        segments, _ = self._words(number, window, recall)
        return self._render(segments)

    def save(self, number: str, window: int | str, path: str | Path, *, recall: bool = False) -> Path:
        """The announcement written to one WAV file now, outside the queue (for `say --out`)."""
        return write_wav(path, self.render(number, window, recall=recall), self.rate)

    def prepare(self) -> list[str]:
        """Every segment the templates can use read into memory now (generated if missing); their names."""
        names = [n for n in INVENTORY if n != CHIME or self.chime]
        for name in names:
            self.bank.samples(name)
        return names

    def wait(self, timeout: float | None = None) -> bool:
        """True once every call queued so far has been handled (spoken or failed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            items = list(self._history)
        for item in items:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not item.wait(left):
                return False
        return True

    def close(self, timeout: float | None = 30.0) -> None:
        """No more calls; those queued are still spoken (up to `timeout`)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout)

    def __enter__(self) -> Announcer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def history(self) -> list[Announcement]:
        with self._lock:
            return list(self._history)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def estimate_seconds(self, segments: list[str] | tuple[str, ...]) -> float:
        """A rough length of one announcement (0.35 s a word) until one has been rendered, for the pile-up
        warning only."""
        return (0.35 * len(segments) + 0.7) * self.repeat

    def describe(self) -> str:
        return self.sink.describe()

    # The worker

    def _words(self, number: str, window: int | str, recall: bool) -> tuple[list[str], str]:
        template = self.recall_template if recall else self.template
        segments = announcement(number, window, template=template, readings=self.readings, chime=self.chime)
        return segments, spoken_text(number, window, template=template)

    def _render(self, segments: list[str] | tuple[str, ...]) -> Samples:
        chime = bool(segments) and segments[0] == CHIME
        words = list(segments[1:] if chime else segments)
        call = join([self.bank.samples(name) for name in words], self.gap)
        parts: list[Samples] = []
        if chime:
            parts += [self.bank.samples(CHIME), silence(self.chime_pause)]
        for i in range(self.repeat):
            if i:
                parts.append(silence(self.repeat_pause))
            parts.append(call)
        return join(parts)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                data = self._render(item.segments)
                item.samples = len(data)
                self._last_seconds = len(data) / self.rate
                item.start = time.monotonic()
                item.file = self.sink.play(data, self.rate, item)
                log.info("voice: %s (%.0f ms after the call)", item.text, (item.start - item.queued) * 1000)
            except NotHeard as exc:
                item.error = str(exc)
                log.info("voice: %s not heard (no sound device)", item.text)
            except Exception as exc:  # a sink or a segment failing must never stop the next call
                item.error = str(exc) or type(exc).__name__
                log.error("voice: %s not announced: %s", item.text, item.error)
            finally:
                item.end = time.monotonic()
                item.done.set()

