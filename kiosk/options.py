"""Command-line options of the windowed nodes; no Kivy here, so `hallctl --help` never loads it."""

from __future__ import annotations

import argparse


def add_window_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--windowed", action="store_true", help="a normal window instead of full screen (testing)")
    p.add_argument("--font", help="a Chinese font file (default: WenQuanYi Micro Hei, found with fontconfig)")
    p.add_argument("--px-per-mm", type=float, help="the screen's pixels per millimetre (default: the node's "
                   "px_per_mm in the hall config)")
    p.add_argument("--idle", type=float, help="seconds before an idle kiosk goes back to welcome (default: the "
                   "node's idle_seconds)")

