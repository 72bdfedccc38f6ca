"""Where each segment's sound comes from: a real recording if the hall has one, else one generated once by espeak-ng.

A hall gets a working voice on the first day without a recording session (espeak-ng is robotic but offline and
correct with pinyin input, see inventory.py), and replaces it word by word: a file `recorded/qing.wav` (or
`recorded/请.wav`) overrides the generated 请 the next time it is read, with no regenerate step.

Generated segments are written at first use into `assets/voice/generated/` (ignored by git: they are a cache of
espeak-ng's output, rebuilt in well under a second, and a different espeak-ng release may make them better), or
into `$XDG_CACHE_HOME/hallctl/voice` when the install is read-only. Each one is trimmed of leading and trailing
silence, so joins are tight, and checked (sox `stat` when sox is installed): not silent, a sensible length.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
import threading
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DeviceError
from .inventory import CHIME, INVENTORY, Segment
from .join import RATE, Samples, pcm_to_int16, read_wav, resample, write_wav

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "voice"
RECORDED = ASSETS / "recorded"
GENERATED = ASSETS / "generated"
ESPEAK_VOICE = "cmn-latn-pinyin"
ESPEAK_SPEED = 150  # words per minute; espeak's 175 runs syllables together for older visitors
PEAK = 0.7  # generated segments are normalised to this peak (−3 dBFS) so they match each other
MIN_RMS = 0.005  # below this a segment is silence (sox reports amplitudes as fractions of full scale)
MAX_SECONDS = 3.0
MIN_SECONDS = 0.05

__all__ = ["CHIME", "GENERATED", "INVENTORY", "RECORDED", "Segment", "SegmentBank", "SegmentCheck",
           "SegmentInfo", "check_segment", "chime_samples", "default_generated_dir", "espeak_version", "generate",
           "sox_stat", "synthesise", "trim_silence"]


def default_generated_dir() -> Path:
    """The assets folder when this checkout can write to it, else the user's cache (an installed package)."""
    try:
        GENERATED.mkdir(parents=True, exist_ok=True)
        if os.access(GENERATED, os.W_OK):
            return GENERATED
    except OSError:
        pass
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "hallctl" / "voice"


def espeak_version() -> str | None:
    """espeak-ng's version line, or None when it is not installed."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        return None
    try:
        run = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"espeak[- ]ng[^:]*?:?\s*([\d.]+)", run.stdout, re.IGNORECASE)
    return match.group(1) if match else run.stdout.strip() or "unknown"


def chime_samples(rate: int = RATE) -> Samples:
    """A two-tone "ding-dong" (E5 then C5, each decaying), so visitors look up before the number is read.
    Synthesised rather than shipped: no licence question and it matches any rate exactly."""
    total = int(1.1 * rate)
    t = np.arange(total) / rate
    out = np.zeros(total)
    for freq, start in ((659.25, 0.0), (523.25, 0.38)):
        tt = t - start
        on = tt >= 0
        env = np.where(on, np.exp(-np.clip(tt, 0, None) * 4.0), 0.0)
        env *= np.clip(tt / 0.005, 0, 1)  # 5 ms attack: no click at the onset
        tone = np.sin(2 * np.pi * freq * tt) + 0.25 * np.sin(2 * np.pi * 2 * freq * tt)  # a bell-ish overtone
        out += np.where(on, env * tone, 0.0)
    out *= np.clip((total - 1 - np.arange(total)) / (0.02 * rate), 0, 1)  # fade the tail to true zero
    out = out / np.max(np.abs(out)) * 0.6
    return np.round(out * 32767).astype(np.int16)


def trim_silence(samples: Samples, rate: int = RATE, *, threshold: float = 0.02, pad_ms: float = 8) -> Samples:
    """Leading and trailing silence cut (below `threshold` of the peak), leaving `pad_ms` so a consonant's onset
    and a tone's tail are not clipped."""
    if len(samples) == 0:
        return samples
    level = np.abs(samples.astype(np.int32))
    limit = max(int(level.max() * threshold), 64)
    loud = np.flatnonzero(level > limit)
    if len(loud) == 0:
        return samples[:0]
    pad = round(pad_ms * rate / 1000)
    return samples[max(0, loud[0] - pad): min(len(samples), loud[-1] + pad + 1)]


def _normalise(samples: Samples, peak: float = PEAK) -> Samples:
    top = int(np.abs(samples.astype(np.int32)).max()) if len(samples) else 0
    if top == 0:
        return samples
    return np.clip(np.round(samples.astype(np.float64) * (peak * 32767 / top)), -32768, 32767).astype(np.int16)


def synthesise(segment: Segment, rate: int = RATE, *, speed: int = ESPEAK_SPEED, voice: str = ESPEAK_VOICE) -> Samples:
    """One segment's samples, trimmed and normalised: espeak-ng for words, numpy for the chime."""
    if segment.pinyin is None:
        return chime_samples(rate)
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DeviceError(f"no recording for {segment.name} and espeak-ng is not installed",
                          f"apt-get install espeak-ng, or put a recording at {RECORDED / segment.stem}.wav")
    try:
        run = subprocess.run([exe, "-v", voice, "-s", str(speed), "--stdout", segment.pinyin],
                             capture_output=True, timeout=30, check=False)
    except subprocess.TimeoutExpired as exc:
        raise DeviceError(f"espeak-ng took too long for {segment.name}", "check the machine's load") from exc
    if run.returncode != 0 or not run.stdout:
        detail = run.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise DeviceError(f"espeak-ng failed for {segment.name}: {detail[0]}",
                          "reinstall espeak-ng-data (apt-get install --reinstall espeak-ng-data)")
    with wave.open(io.BytesIO(run.stdout), "rb") as w:
        src_rate = w.getframerate()
        frames = w.readframes(w.getnframes())
    data = resample(pcm_to_int16(frames, 2, 1), src_rate, rate)
    return _normalise(trim_silence(data, rate))


@dataclass(frozen=True, slots=True)
class SegmentCheck:
    path: Path
    seconds: float
    rms: float
    ok: bool
    detail: str
    via: str  # "sox" or "numpy"


def sox_stat(path: str | Path) -> dict[str, float]:
    """`sox FILE -n stat` as numbers (it prints on stderr): "Length (seconds)", "RMS amplitude", …"""
    run = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True, timeout=30, check=False)
    if run.returncode != 0:
        raise DeviceError(f"sox cannot read {path}: {run.stderr.strip()}", "record or generate the segment again")
    out: dict[str, float] = {}
    for line in run.stderr.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            try:
                out[" ".join(key.split())] = float(value.split()[0])
            except (ValueError, IndexError):
                continue
    return out


def check_segment(path: str | Path, *, max_seconds: float = MAX_SECONDS) -> SegmentCheck:
    """Not silent and of a sensible length: catches an empty espeak output, a recording of the room's hum, or a
    whole sentence saved under one word's name."""
    path = Path(path)
    if shutil.which("sox"):
        stat = sox_stat(path)
        seconds, rms, via = stat.get("Length (seconds)", 0.0), stat.get("RMS amplitude", 0.0), "sox"
    else:
        data = read_wav(path)
        seconds = len(data) / RATE
        rms = float(np.sqrt(np.mean((data / 32768.0) ** 2))) if len(data) else 0.0
        via = "numpy"
    problems = []
    if rms < MIN_RMS:
        problems.append(f"silent (RMS {rms:.4f})")
    if seconds < MIN_SECONDS:
        problems.append(f"too short ({seconds:.3f} s)")
    if seconds > max_seconds:
        problems.append(f"too long ({seconds:.2f} s > {max_seconds:g} s)")
    detail = ", ".join(problems) or f"{seconds:.2f} s, RMS {rms:.3f}"
    return SegmentCheck(path, seconds, rms, not problems, detail, via)


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """One row of `hallctl device voice segments`."""

    name: str
    stem: str
    source: str  # "recorded", "generated" or "missing"
    path: Path | None


class SegmentBank:
    """The samples of each segment, read once and kept in memory (a whole inventory is about 1 MB), re-read when a
    file changes so a recording dropped in while the board runs is used from the next call."""

    def __init__(self, recorded: str | Path | None = None, generated: str | Path | None = None,
                 rate: int = RATE) -> None:
        self.recorded = Path(recorded) if recorded is not None else RECORDED
        self.generated = Path(generated) if generated is not None else default_generated_dir()
        self.rate = rate
        self._cache: dict[str, tuple[Path, int, Samples]] = {}
        self._lock = threading.Lock()

    def recording(self, name: str) -> Path | None:
        seg = INVENTORY.get(name)
        stems = [seg.stem, name] if seg and seg.stem != name else [name]
        for stem in stems:
            path = self.recorded / f"{stem}.wav"
            if path.is_file():
                return path
        return None

    def generated_path(self, name: str) -> Path:
        seg = INVENTORY.get(name)
        return self.generated / f"{seg.stem if seg else name}.wav"

    def source(self, name: str) -> tuple[str, Path | None]:
        rec = self.recording(name)
        if rec is not None:
            return "recorded", rec
        gen = self.generated_path(name)
        if gen.is_file():
            return "generated", gen
        return "missing", None

    def describe(self, names: Iterable[str] | None = None) -> list[SegmentInfo]:
        out = []
        for name in names if names is not None else INVENTORY:
            source, path = self.source(name)
            out.append(SegmentInfo(name, INVENTORY[name].stem if name in INVENTORY else name, source, path))
        return out

    def path(self, name: str) -> Path:
        """The file that says `name`: the recording, else the generated one, generating it if it is missing."""
        _, path = self.source(name)
        if path is not None:
            return path
        seg = INVENTORY.get(name)
        if seg is None:
            raise DeviceError(f"no segment {name!r}: not in the inventory and no recording",
                              f"put a recording at {self.recorded / name}.wav")
        return self._generate(seg)

    def _generate(self, seg: Segment) -> Path:
        data = synthesise(seg, self.rate)
        path = write_wav(self.generated_path(seg.name), data, self.rate)
        result = check_segment(path)
        if not result.ok:
            path.unlink(missing_ok=True)
            raise DeviceError(f"generated segment {seg.name} is unusable: {result.detail}",
                              f"record it instead: {self.recorded / seg.stem}.wav")
        log.info("generated voice segment %s (%s): %s", seg.name, path.name, result.detail)
        return path

    def samples(self, name: str) -> Samples:
        with self._lock:
            path = self.path(name)
            mtime = path.stat().st_mtime_ns
            hit = self._cache.get(name)
            if hit and hit[0] == path and hit[1] == mtime:
                return hit[2]
            try:
                data = read_wav(path, self.rate)
            except DeviceError:
                if name not in INVENTORY or path != self.generated_path(name):
                    raise
                log.warning("voice segment %s: %s is damaged; generating it again", name, path)
                path = self._generate(INVENTORY[name])
                mtime = path.stat().st_mtime_ns
                data = read_wav(path, self.rate)
            self._cache[name] = (path, mtime, data)
            return data

    def generate(self, names: Iterable[str] | None = None, *, force: bool = False) -> list[tuple[str, Path, str]]:
        """(name, file, detail) for each segment generated; existing files are kept unless `force`. Recorded
        segments are generated too, so removing a recording falls back without a gap."""
        done = []
        with self._lock:
            for name in names if names is not None else INVENTORY:
                seg = INVENTORY[name]
                path = self.generated_path(name)
                if path.is_file() and not force:
                    continue
                path = self._generate(seg)
                done.append((name, path, check_segment(path).detail))
            self._cache.clear()
        return done


def generate(force: bool = False, *, out_dir: str | Path | None = None,
             names: Iterable[str] | None = None) -> list[tuple[str, Path, str]]:
    """The regenerate command: every inventory segment written with espeak-ng (or the chime synthesised)."""
    return SegmentBank(generated=out_dir).generate(names, force=force)
