"""Which package may import which, and that importing runs nothing.

Why: `hallctl` (hall_bus) finds the windows through entry points, so it must start and answer `--help` on a
machine without Kivy; the kiosk package starts its nodes through hall_bus.nodes, not through the CLI; the queue
domain is pure hall rules (the server, the simulator and the reports replay it), so it must not pull drivers in;
and drivers never import hall_bus. Importing a module must not open a window, set Kivy's config, open a device
or write a file: the tests, `hallctl --help` and the entry-point lookup all import modules they do not run.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# (package whose files are checked, the imports they must not have, why)
FORBIDDEN = (
    ("hall_bus", ("kiosk",), "hall_bus finds the windows through the hall_bus.windows entry points"),
    ("kiosk", ("hall_bus.cli",), "a window starts its node with hall_bus.nodes.builders"),
    ("hall_bus/domain", ("devices", "hall_bus.cli", "hall_bus.nodes", "hall_bus.wire"), "the domain is pure"),
    ("devices", ("hall_bus", "kiosk"), "drivers never import the hall"),
)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, anywhere in it (a function's lazy import counts), and every
    importlib.import_module("...") of a literal name."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize(("where", "banned", "why"), FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_no_forbidden_imports(where: str, banned: tuple[str, ...], why: str) -> None:
    bad = [f"{path.relative_to(ROOT)}:{line} imports {name}"
           for path in sorted((ROOT / where).rglob("*.py"))
           for line, name in _imports(path) if any(_within(name, b) for b in banned)]
    assert not bad, f"{why}:\n" + "\n".join(bad)


IMPORT_ALL = """
import importlib, os, pkgutil, sys
packages = sys.argv[1].split(",")
names = []
for package in packages:
    module = importlib.import_module(package)
    names += [package] + [m.name for m in pkgutil.walk_packages(module.__path__, package + ".")]
for name in names:
    importlib.import_module(name)
loaded = sorted({m.split(".")[0] for m in sys.modules})
windows = [m for m in sys.modules if m.startswith("kivy.core.window")]
print(len(names), " ".join(loaded), "|", " ".join(windows))
"""


def _import_all(packages: str, tmp_path: Path) -> tuple[int, set[str], list[str]]:
    """Import every module of `packages` in a fresh interpreter, in an empty directory with an empty home,
    and check no file appeared in either (Kivy's own files go to a KIVY_HOME outside them)."""
    work, home = tmp_path / "cwd", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(home), "KIVY_HOME": str(tmp_path / "kivy"),
           "KIVY_NO_ARGS": "1", "HALL_STATE_DIR": str(work / "state")}
    res = subprocess.run([sys.executable, "-c", IMPORT_ALL, packages], cwd=work, env=env, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    assert not list(work.iterdir()) and not list(home.iterdir()), "importing wrote files"
    count, rest = res.stdout.strip().splitlines()[-1].split(" ", 1)
    loaded, windows = rest.split("|")
    return int(count), set(loaded.split()), windows.split()


def test_importing_hall_bus_loads_neither_kiosk_nor_kivy(tmp_path: Path) -> None:
    count, loaded, _ = _import_all("hall_bus", tmp_path)
    assert count > 50  # every module, not only the package
    assert "kiosk" not in loaded and "kivy" not in loaded


def test_importing_the_domain_loads_no_driver(tmp_path: Path) -> None:
    _, loaded, _ = _import_all("hall_bus.domain", tmp_path)
    assert not loaded & {"devices", "kiosk", "kivy", "zmq"}


def test_importing_every_window_module_opens_no_window(tmp_path: Path) -> None:
    pytest.importorskip("kivy")
    count, loaded, windows = _import_all("hall_bus,kiosk", tmp_path)
    assert "kivy" in loaded and count > 60
    assert windows == [], f"a Kivy window was created at import: {windows}"
