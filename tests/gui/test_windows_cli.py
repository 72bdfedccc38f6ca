"""`hallctl run kiosk` and `hallctl run display` as a technician starts them: processes with a window (SDL
offscreen here) that join a running hall server; and a clear refusal where there is no display."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bus_helpers import config_on_ports, free_port, hallctl, make_keys, start_server_process
from tests.conftest import EXAMPLE, ROOT

pytest.importorskip("kivy")


def test_kiosk_and_display_windows_join_the_hall(tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys", ["kiosk-1", "display-1", "admin"])
    cmd_port, ev_port = free_port(), free_port()
    config = tmp_path / "hall.toml"
    config_on_ports(config, cmd_port, ev_port)
    server = start_server_process(config, tmp_path / "data", keys.dir, cmd_port, ev_port)
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "HALL_STATE_DIR": str(tmp_path)}
    common = ["--config", str(config), "--keys", str(keys.dir), "--windowed"]
    windows = [subprocess.Popen([sys.executable, "-m", "hall_bus.cli", "run", agent, "--node", node, *common,
                                 *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for agent, node, extra in (("kiosk", "kiosk-1", ["--no-devices"]), ("display", "display-1", []))]
    try:
        deadline = time.monotonic() + 60
        alive: set[str] = set()
        while time.monotonic() < deadline and alive != {"kiosk-1", "display-1"}:
            time.sleep(0.3)  # between status calls, each of which takes a moment itself
            res = hallctl("status", "--config", str(config), "--keys", str(keys.dir), "--timeout", "5")
            alive = {line.split()[0] for line in res.stdout.splitlines()[2:] if " alive " in line}
        assert alive >= {"kiosk-1", "display-1"}, res.stdout + res.stderr
        assert all(w.poll() is None for w in windows)  # both windows still open
    finally:
        for proc in [*windows, server]:
            proc.terminate()
        for proc in [*windows, server]:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_no_display_is_one_clear_line() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    res = subprocess.run([sys.executable, "-m", "hall_bus.cli", "run", "display", "--config", str(EXAMPLE), "--node",
                          "display-1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "no display here" in res.stderr and "Traceback" not in res.stderr


def test_demo_opens_the_kiosk_and_display_windows_where_there_is_a_screen(tmp_path: Path) -> None:
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "HALL_STATE_DIR": str(tmp_path)}
    res = subprocess.run([sys.executable, "-m", "hall_bus.cli", "demo", "--config", str(EXAMPLE), "--duration", "15"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "windows: the hall display and a touch kiosk" in res.stdout and "demo over" in res.stdout
    assert "Traceback" not in res.stderr
