"""The hall display in a real Kivy window (SDL offscreen), fed by push from a real hall server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("kivy")
ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "build" / "gui"


def test_display_shows_the_newest_call_large_the_last_calls_and_who_waits() -> None:
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1"}
    proc = subprocess.run([sys.executable, "-m", "tests.gui.display_driver", str(ARTEFACTS)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    out = ARTEFACTS / "display.json"
    assert proc.returncode == 0 and out.exists(), proc.stderr[-3000:]
    r = json.loads(out.read_text(encoding="utf-8"))
    assert "error" not in r, r["error"]
    assert r["latest"] == "A002" and r["counter"] == "5 号窗口" and r["highlight"]
    assert r["recent"] == [["", "A001", "5 号窗口"], ["◆", "B001", "5 号窗口"]]  # assisted: a symbol, not only colour
    assert r["waiting"] == [["医保", 1]]
    assert (ARTEFACTS / "display.png").stat().st_size > 10_000


def test_display_stays_correct_across_a_server_restart() -> None:
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1"}
    proc = subprocess.run([sys.executable, "-m", "tests.gui.display_driver", str(ARTEFACTS), "restart"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=180)
    out = ARTEFACTS / "display-restart.json"
    assert proc.returncode == 0 and out.exists(), proc.stderr[-3000:]
    r = json.loads(out.read_text(encoding="utf-8"))
    assert "error" not in r, r["error"]
    assert r["latest"] == "A002" and r["recent"] == [["", "A001", "5 号窗口"]]
    assert dict(map(tuple, r["waiting"])) == r["mirror_waiting"] == {"企业开办": 1}
