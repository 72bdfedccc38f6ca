"""`make demo` on this machine, briefly: the whole hall runs on loopback and the hall devices leave something a
person can look at and listen to (the LED board as a picture, the latest announcements as WAV files)."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

from .conftest import EXAMPLE


def test_the_demo_drives_the_led_board_the_voice_and_a_keypad_window(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "hall_bus.cli", "demo", "--config", str(EXAMPLE), "--console",
                           "--duration", "12"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    board_line = next(line for line in out.splitlines() if line.startswith("LED board shows: "))
    assert "号窗口" in board_line and "(nothing)" not in board_line
    picture = tmp_path / "build" / "demo" / "board.png"
    assert picture.stat().st_size > 1000
    voices = sorted((tmp_path / "build" / "demo" / "voice").glob("*.wav"))
    assert 0 < len(voices) <= 20
    with wave.open(str(voices[-1])) as w:
        assert w.getnframes() > w.getframerate() * 2  # chime + 请 … 号到 … 号窗口办理
    assert "worked from its RS-485 keypad" in out and "demo over" in out
