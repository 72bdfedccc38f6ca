"""The layout's promises: only kiosk/ imports Kivy, so every headless node, the server and the CLI run on a
machine without a display or Kivy installed."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import ROOT


def test_only_the_kiosk_folder_imports_kivy() -> None:
    offenders = []
    for folder in ("hall_bus", "devices"):
        for path in (ROOT / folder).rglob("*.py"):
            if re.search(r"^\s*(import kivy|from kivy)", path.read_text(encoding="utf-8"), re.M):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_cli_and_nodes_load_without_kivy() -> None:
    code = ("import sys, hall_bus.cli.hallctl, hall_bus.nodes.kiosk_flow, hall_bus.nodes.board, hall_bus.wire.server;"
            "hall_bus.cli.hallctl.build_parser(); print('kivy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
