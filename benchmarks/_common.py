"""What every benchmark script shares: the `--tiny` size and the rule that a failed measurement is an error.

A benchmark that swallows its own failure prints `nan` and rots unnoticed (bench_hall_devices.py did, for every
keypad press, after a method it overrode changed signature). So the scripts check each figure they print with
`figure()` and let every exception end the run with a non-zero exit; `--tiny` makes each one small enough for
tests/test_benchmarks.py to run it on every `make test`.
"""

from __future__ import annotations

import argparse
import math
import resource
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class BenchmarkFailed(SystemExit):
    """A measurement that did not happen: the run ends non-zero, with the reason on stderr."""

    def __init__(self, message: str) -> None:
        super().__init__(f"benchmark failed: {message}")


def parse_args(ap: argparse.ArgumentParser, **tiny: Any) -> argparse.Namespace:
    """Adds `--tiny`, which swaps the defaults for `tiny`'s (a few seconds, not minutes); options given on the
    command line still win, so a tiny run can be tuned like a full one."""
    ap.add_argument("--tiny", action="store_true",
                    help="a few seconds at toy sizes: checks the benchmark works, its figures mean little")
    known, _ = ap.parse_known_args()
    if known.tiny:
        ap.set_defaults(**tiny)
    return ap.parse_args()


def figure(value: float, what: str) -> float:
    """`value`, or the run ends: a figure that is nan or infinite means its measurement failed somewhere."""
    if value is None or not math.isfinite(value):
        raise BenchmarkFailed(f"{what}: no figure ({value})")
    return value


def figures(values: Iterable[float], what: str) -> list[float]:
    """The samples of one figure, which must exist and all be finite."""
    out = list(values)
    if not out:
        raise BenchmarkFailed(f"{what}: no samples")
    for v in out:
        figure(v, what)
    return out


def peak_rss_mb() -> float:
    """VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child would report its parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stop(*procs: Any) -> None:
    """End child processes (a server, a load) politely, then firmly: a failed run leaves none behind holding
    ports and files."""
    import signal
    import subprocess

    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
