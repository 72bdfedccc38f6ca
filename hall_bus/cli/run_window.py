"""The windowed nodes (kiosk, display, greeter, counter-panel): their command-line options and how they are
found. A window's runner registers itself under the entry-point group `hall_bus.windows` (pyproject.toml), so
hall_bus never imports the Kivy package: it asks the installed distributions for the runner by role name."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable
from importlib.metadata import entry_points

from hall_bus.config import HallConfig
from hall_bus.errors import UserError
from hall_bus.nodes.options import NodeOptions

GROUP = "hall_bus.windows"
WindowRunner = Callable[[HallConfig, NodeOptions], Awaitable[int]]


def add_window_options(p: argparse.ArgumentParser) -> None:
    """Plain options, declared here so `hallctl --help` never loads Kivy; the runner applies them."""
    p.add_argument("--windowed", action="store_true", help="a normal window instead of full screen (testing)")
    p.add_argument("--font", help="a Chinese font file (default: WenQuanYi Micro Hei, found with fontconfig)")
    p.add_argument("--px-per-mm", type=float, help="the screen's pixels per millimetre (default: the node's "
                   "px_per_mm in the hall config)")
    p.add_argument("--idle", type=float, help="seconds before an idle kiosk goes back to welcome (default: the "
                   "node's idle_seconds)")


def find_window(role: str) -> WindowRunner:
    """The runner registered for `role`; a missing one (the package not installed, or installed without its
    entry points) is one line saying what to run."""
    found = [ep for ep in entry_points(group=GROUP) if ep.name == role]
    if not found:
        raise UserError(f"run {role}: no window is registered for {role!r} (entry point group {GROUP}); install the "
                        "package with its windows: pip install -e '.[gui]'")
    try:
        return found[0].load()  # type: ignore[no-any-return]
    except ImportError as exc:
        raise UserError(f"run {role}: cannot load its window ({exc}); install with: pip install -e '.[gui]'") \
            from None


def run_window(role: str, cfg: HallConfig, opts: NodeOptions) -> int:
    """Open the node's window on this screen; no screen is one line, not a Kivy traceback."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("SDL_VIDEODRIVER")):
        raise UserError(f"run {role}: no display here (DISPLAY is not set); run it on the {role}'s screen, under "
                        "xvfb-run, or with SDL_VIDEODRIVER=offscreen" + ("; or use --console" if role == "kiosk"
                                                                         else ""))
    runner = find_window(role)
    try:
        return asyncio.run(runner(cfg, opts))
    except ImportError as exc:  # Kivy itself is first imported inside the runner
        raise UserError(f"run {role}: Kivy is not installed ({exc}); install with: pip install -e '.[gui]'") \
            from None


def window(role: str) -> Callable[[HallConfig, NodeOptions], int]:
    """The table's runner for a role that is only a window."""
    return lambda cfg, opts: run_window(role, cfg, opts)
