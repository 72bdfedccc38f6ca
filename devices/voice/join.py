"""Segments joined sample-accurately into one buffer, so a call is one file played once.

Playing files one after another with sleeps between them (as QSystem does) leaves gaps that depend on the
player's start-up time and the machine's load; one buffer sounds the same on every board. Everything is brought
to one format first (int16, mono, `RATE`): a recording made at 44.1 kHz stereo on a phone joins a generated
22.05 kHz segment without a pitch jump.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import DeviceError

RATE = 22050  # espeak-ng's own rate: the generated segments need no resampling
Samples = np.ndarray  # 1-D int16


def resample(samples: Samples, from_rate: int, to_rate: int) -> Samples:
    """Linear interpolation: good enough for speech joined at 22 kHz (the aliasing it lets through lies above
    what a hall loudspeaker reproduces) and needs nothing beyond numpy."""
    if from_rate == to_rate or len(samples) == 0:
        return samples.astype(np.int16, copy=False)
    n_out = round(len(samples) * to_rate / from_rate)
    x_out = np.arange(n_out) * (from_rate / to_rate)
    out = np.interp(x_out, np.arange(len(samples)), samples.astype(np.float64))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def pcm_to_int16(frames: bytes, width: int, channels: int) -> Samples:
    if width == 1:  # unsigned 8-bit
        data = (np.frombuffer(frames, np.uint8).astype(np.int32) - 128) << 8
    elif width == 2:
        data = np.frombuffer(frames, "<i2").astype(np.int32)
    elif width == 3:
        raw = np.frombuffer(frames, np.uint8).reshape(-1, 3).astype(np.int32)
        data = (raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16))
        data = np.where(data & 0x800000, data - 0x1000000, data) >> 8
    elif width == 4:
        data = np.frombuffer(frames, "<i4").astype(np.int64) >> 16
    else:
        raise ValueError(f"unsupported sample width {width}")
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1)
    return np.clip(data, -32768, 32767).astype(np.int16)


def read_wav(path: str | Path, rate: int = RATE) -> Samples:
    """Any PCM WAV as int16 mono at `rate`. A WAV the stdlib cannot read (float, ADPCM) goes through sox when it is
    installed, so a technician's recording in an odd format still works."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as w:
            frames = w.readframes(w.getnframes())
            data = pcm_to_int16(frames, w.getsampwidth(), w.getnchannels())
            return resample(data, w.getframerate(), rate)
    except (wave.Error, EOFError, ValueError) as exc:
        if shutil.which("sox") is None:
            raise DeviceError(f"{path}: not a PCM WAV ({exc})",
                              f"convert it: sox {path.name} -b 16 -c 1 -r {rate} fixed.wav") from exc
        return _read_with_sox(path, rate, exc)
    except OSError as exc:
        raise DeviceError(f"cannot read {path}: {exc.strerror or exc}", "check the file exists and is readable") \
            from exc


def _read_with_sox(path: Path, rate: int, why: Exception) -> Samples:
    run = subprocess.run(["sox", str(path), "-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1",
                          "-r", str(rate), "-L", "-"], capture_output=True, timeout=30, check=False)
    if run.returncode != 0:
        detail = run.stderr.decode(errors="replace").strip().splitlines()[-1:] or [str(why)]
        raise DeviceError(f"{path}: cannot read ({detail[0]})", "record it again as a 16-bit PCM WAV")
    return np.frombuffer(run.stdout, "<i2").astype(np.int16)


def silence(samples: int) -> Samples:
    return np.zeros(max(0, samples), np.int16)


def ms_to_samples(ms: float, rate: int = RATE) -> int:
    return round(ms * rate / 1000)


def join(parts: Sequence[Samples], gap: int = 0) -> Samples:
    """One buffer: the parts back to back with `gap` samples of silence between neighbours (none before the first
    or after the last), so its length is exactly sum(len(part)) + gap × (len(parts) − 1)."""
    if gap < 0:
        raise ValueError("gap must be >= 0 samples")
    if not parts:
        return silence(0)
    pieces: list[Samples] = []
    pause = silence(gap)
    for i, part in enumerate(parts):
        if i and gap:
            pieces.append(pause)
        pieces.append(np.asarray(part, np.int16).reshape(-1))
    return np.concatenate(pieces)


def wav_bytes(samples: Samples, rate: int = RATE) -> bytes:
    import io

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, "<i2").tobytes())
    return buf.getvalue()


def write_wav(path: str | Path, samples: Samples, rate: int = RATE) -> Path:
    """Written to a temporary file and renamed, so a player or a test never opens a half-written WAV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".wav", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(wav_bytes(samples, rate))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
