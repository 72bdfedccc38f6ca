"""Every benchmark script runs at `--tiny` size on every `make test`, so a benchmark cannot rot unnoticed.

bench_hall_devices.py once printed `nan` for every keypad press for weeks: a method it overrode had changed
signature and each press failed into a swallowed TypeError. The scripts now end non-zero when a measurement
fails; these tests hold them to it: exit 0, the figures printed, no nan or inf among them. Figures are not
judged (a tiny run on a shared machine says nothing about speed).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"

# script -> lines its figures are printed on (each must be there, with a number)
EXPECTED: dict[str, list[str]] = {
    "bench_county.py": ["events:", "floor, COPY in the hub's batches", "ours, store_batch per batch",
                        "floor, COPY in transactions of", "ratio ours / floor:", "wire, the county hall alone",
                        "wire, every site at once", "quiet county,", "catch-up, the county hall after",
                        "bare read of the report's tables", "county report, XLSX + PDF"],
    "bench_booking.py": ["floor, bare SQLite hold + confirm, one writer:", "floor, bare SQLite hold + confirm, a "
                         "connection each:", "ours, hold + confirm over the bus:", "ratio p99 ours / floor:"],
    "bench_core.py": ["engine, in memory:", "issue     with", "call_next with", "durable via ledger",
                      "full replay of", "bare read + decode, as replay reads", "bare read + decode, fetchmany",
                      "bare read + decode, cursor iterated, data as text",
                      "restart from snapshot:", "peak RSS of the replaying process"],
    "bench_bus.py": ["floor (DEALER/ROUTER", "call→board under load:", "ratio p99 / floor p99:",
                     "board events: received"],
    "bench_devices.py": ["ID card find+select+read", "ticket layout+encode, xprinter-80",
                         "document detection on 3264×2448", "baseline: grey conversion"],
    "bench_guide.py": ["index built in", "guide search per keystroke:", "bare substring scan of the names:",
                       "ratio search p99 / bare p99:"],
    "bench_hall_devices.py": ["叫号, visitor at window: finish + call_next → board", "叫号, idle window",
                              "call_next → answer, back to back", "warm calls, segments in memory",
                              "ratio press→board p99 / bare call_next p99"],
    "bench_kiosk.py": ["cold start, bare Kivy window:", "cold start, kiosk first screen:",
                       "last tap → ticket cut at printer:", "display soak"],
    "bench_phone_page.py": ["first paint, home (/)", "first paint, book times", "first paint, queue (/t/…)",
                            "ratio page / bare FCP"],
    "bench_report.py": ["bare read, fetched + JSON decoded:", "report, xlsx + pdf", "report, pdf only",
                        "report, xlsx only"],
}
NOT_A_NUMBER = re.compile(r"\b(nan|inf)\b", re.IGNORECASE)
NUMBER = re.compile(r"\d")


def run_tiny(script: str) -> subprocess.CompletedProcess[str]:
    """As `make bench` runs it, on this tree's code (not an installed copy), at toy sizes."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, str(BENCH / script), "--tiny"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_every_benchmark_script_is_run_here() -> None:
    assert {p.name for p in BENCH.glob("bench_*.py")} == set(EXPECTED)


USES_POSTGRES = {"bench_county.py"}  # starts its own PostgreSQL cluster: the `pg` marker, like the tests that do


@pytest.mark.parametrize("script", [pytest.param(s, marks=pytest.mark.pg) if s in USES_POSTGRES else s
                                    for s in sorted(EXPECTED)])
def test_benchmark_runs_at_tiny_size_and_prints_its_figures(script: str) -> None:
    if script == "bench_kiosk.py" and importlib.util.find_spec("kivy") is None:
        pytest.skip("Kivy (the gui extra) is not installed")
    out = run_tiny(script)
    assert out.returncode == 0, f"{script} failed (exit {out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    lines = out.stdout.splitlines()
    for label in EXPECTED[script]:
        found = [line for line in lines if label in line]
        assert found, f"{script} printed no {label!r}:\n{out.stdout}"
        assert all(NUMBER.search(line.replace(label, "")) for line in found), f"no figure on {found}"
    assert not NOT_A_NUMBER.search(out.stdout), f"{script} printed a figure that is not a number:\n{out.stdout}"


def test_a_failed_figure_ends_the_run_non_zero(tmp_path: Path) -> None:
    """What every script relies on: a nan figure is an exit with a reason, never a line in the table."""
    probe = tmp_path / "probe.py"
    probe.write_text("import sys\nsys.path.insert(0, sys.argv[1])\nfrom _common import figure\n"
                     "figure(float('nan'), 'press → board p99')\nprint('not reached')\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(probe), str(BENCH)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "press → board p99" in out.stderr and "not reached" not in out.stdout
