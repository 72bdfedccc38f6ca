"""A console node the server stops accepting stops too, with one line, instead of retrying forever."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .bus_helpers import config_on_ports, free_port, hallctl, make_keys, start_server_process
from .conftest import ROOT


def test_a_revoked_counter_agent_stops_with_one_line(tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys", ["counter-5"])
    cmd_port, ev_port = free_port(), free_port()
    config = tmp_path / "hall.toml"
    config_on_ports(config, cmd_port, ev_port)
    server = start_server_process(config, tmp_path / "data", keys.dir, cmd_port, ev_port)
    agent = subprocess.Popen([sys.executable, "-m", "hall_bus.cli", "run", "counter", "--node", "counter-5",
                              "--config", str(config), "--keys", str(keys.dir)], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert agent.stdout is not None
        while "connected as counter-5" not in (line := agent.stdout.readline()):  # then it waits for a key
            assert line, "the agent ended before it connected"
        assert agent.poll() is None
        assert hallctl("keys", "revoke", "counter-5", "--keys", str(keys.dir)).returncode == 0
        code = agent.wait(timeout=30)
        err = agent.stderr.read() if agent.stderr else ""
        assert code == 2 and "stopping" in err and "Traceback" not in err, err
    finally:
        for proc in (agent, server):
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


def test_revoking_one_window_on_a_shared_line_leaves_the_other_working(tmp_path: Path) -> None:
    """Two windows whose keypads share one RS-485 line run in one process; revoking counter-5 closes window 5
    only. The process ends when the last window is revoked."""
    keys = make_keys(tmp_path / "keys", ["counter-1", "counter-5"])
    cmd_port, ev_port = free_port(), free_port()
    config = tmp_path / "hall.toml"
    config_on_ports(config, cmd_port, ev_port)
    server = start_server_process(config, tmp_path / "data", keys.dir, cmd_port, ev_port)
    agent = subprocess.Popen([sys.executable, "-m", "hall_bus.cli", "run", "counter", "--node", "counter-1",
                              "--node", "counter-5", "--no-console", "--config", str(config), "--keys",
                              str(keys.dir)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert agent.stdout is not None and agent.stderr is not None
        while "Ctrl-C to stop" not in (line := agent.stdout.readline()):  # both windows connected
            assert line, "the agent ended before its windows connected"
        assert hallctl("keys", "revoke", "counter-5", "--keys", str(keys.dir)).returncode == 0
        while "closing this window" not in (line := agent.stderr.readline()):
            assert line, "the agent ended instead of closing window 5 only"
        assert "counter-5" in line and agent.poll() is None  # counter-1 carries on
        assert hallctl("keys", "revoke", "counter-1", "--keys", str(keys.dir)).returncode == 0
        code = agent.wait(timeout=30)
        err = agent.stderr.read()
        assert code == 2 and "counter-1" in err and "stopping" in err and "Traceback" not in err, err
    finally:
        for proc in (agent, server):
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
