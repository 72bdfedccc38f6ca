"""The windows of `make demo` when the machine has a display: the citizen kiosk (with a simulated printer whose
tickets appear in this console) and the hall display, as the same `hallctl run` processes a real hall runs,
joined to the demo's server. Without a display (or without Kivy) the demo stays the console hall.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import IO

from devices.printer.decode import decode
from devices.printer.simulator import PrinterSimulator
from hall_bus.sim.roster import DEMO_STAFF
from hall_bus.wire.keys import KeyStore

KIOSK_NODE = "kiosk-2"  # kiosk-1 is the demo's simulated visitors
DISPLAY_NODE = "display-1"
GREETER_NODE = "greeter-2"  # greeter-1 is the demo's simulated helper
PANEL_NODE = "counter-panel-demo"  # a window the demo's simulated clerks leave to you


def can_open_windows() -> bool:
    has_screen = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                      or os.environ.get("SDL_VIDEODRIVER"))
    return has_screen and importlib.util.find_spec("kivy") is not None


def demo_config(source: Path, command_endpoint: str, event_endpoint: str, out: Path,
                panel_window: int | None = None) -> Path:
    """The hall config with the demo server's loopback ports, for the window processes, and a counter node for the
    panel's window."""
    port = {name: ep.rsplit(":", 1)[1] for name, ep in (("command", command_endpoint), ("event", event_endpoint))}
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^command_port\s*=\s*\d+", f"command_port = {port['command']}", text)
    text = re.sub(r"(?m)^event_port\s*=\s*\d+", f"event_port = {port['event']}", text)
    text = re.sub(r'(?m)^server\s*=\s*"[^"]*"', 'server = "127.0.0.1"', text)
    if panel_window is not None:
        text += (f'\n[[nodes]]\nid = "{PANEL_NODE}"\nrole = "counter"\ncounter = {panel_window}\n'
                 f'print_at = "{KIOSK_NODE}"\n')
    out.write_text(text, encoding="utf-8")
    return out


class DemoWindows:
    def __init__(self, config_path: Path, keys: KeyStore, tmp: Path, command_endpoint: str, event_endpoint: str,
                 out: IO[str], panel_window: int | None = None) -> None:
        self.panel_window = panel_window
        self.config = demo_config(config_path, command_endpoint, event_endpoint, tmp / "demo-hall.toml",
                                  panel_window)
        self.keys = keys
        self.tmp = tmp
        self.out = out
        self.printer = PrinterSimulator()
        self.procs: list[subprocess.Popen[bytes]] = []
        self._printed = 0

    def start(self) -> None:
        nodes = [KIOSK_NODE, DISPLAY_NODE, GREETER_NODE, *([PANEL_NODE] if self.panel_window else [])]
        for node in nodes:
            self.keys.add(node)
        port = self.printer.start_pty()
        common = ["--config", str(self.config), "--keys", str(self.keys.dir), "--windowed"]
        env = {**os.environ, "HALL_STATE_DIR": str(self.tmp)}
        runs = [["run", "display", "--node", DISPLAY_NODE, *common],
                ["run", "kiosk", "--node", KIOSK_NODE, *common, "--printer", port, "--profile", "xprinter-80"],
                ["run", "greeter", "--node", GREETER_NODE, *common, "--data", str(self.tmp)]]
        if self.panel_window:
            runs.append(["run", "counter-panel", "--node", PANEL_NODE, *common])
        for args in runs:
            log = (self.tmp / f"{args[1]}.log").open("wb")
            self.procs.append(subprocess.Popen([sys.executable, "-m", "hall_bus.cli", *args], env=env,
                                               stdout=log, stderr=subprocess.STDOUT))
        print(f"  windows: the hall display and a touch kiosk ({KIOSK_NODE}); tap the kiosk to take a ticket — it "
              "prints here:", file=self.out, flush=True)
        panel = f" and the counter panel of window {self.panel_window}" if self.panel_window else ""
        print(f"  the greeter tablet ({GREETER_NODE}){panel}; notices they issue print at {KIOSK_NODE} too",
              file=self.out, flush=True)
        people = ", ".join(f"{p.staff} {p.name} ({'、'.join(p.duties)}) PIN {p.pin}" for p in DEMO_STAFF[1:])
        print(f"  sign in on them with a demo staff id and PIN: {people}", file=self.out, flush=True)

    async def show_tickets(self) -> None:
        """Each ticket the kiosk window prints, decoded from the simulated printer's bytes, as its text."""
        while True:
            await asyncio.sleep(0.5)
            if self.printer.cuts > self._printed:
                self._printed = self.printer.cuts
                lines = [line for line in decode(self.printer.job()).text if line.strip() and "---" not in line]
                self.printer.clear()
                print("  🖨 " + " │ ".join(lines), file=self.out, flush=True)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.printer.stop()
