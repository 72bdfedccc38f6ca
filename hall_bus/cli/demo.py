"""`hallctl demo`: a whole hall on this machine."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from hall_bus.cli.common import add_common, setup_logging
from hall_bus.config import load_config


def _demo(args: argparse.Namespace) -> int:
    from hall_bus.sim.demo import run_demo

    cfg = load_config(args.config)
    setup_logging(args.verbose, cfg.hall.tz)
    logging.getLogger().setLevel(logging.WARNING if not args.verbose else logging.DEBUG)
    from hall_bus.sim.demo_windows import can_open_windows

    windows = can_open_windows() and not args.console
    if not windows and not args.console:
        print("no display here (DISPLAY is not set): the console hall only; the kiosk and hall display open as "
              "windows where there is a screen", flush=True)
    return asyncio.run(run_demo(cfg, duration=args.duration, speed=args.speed, counters=args.counters,
                                visitors=args.visitors, seed=args.seed, config_path=Path(args.config),
                                windows=windows))


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = sub.add_parser("demo", help="a hall server, console counters fed by a simulated day, and the board")
    add_common(demo, keys=False)
    demo.add_argument("--duration", type=float, help="stop after this many seconds (default: end of the day)")
    demo.add_argument("--speed", type=float, default=600.0, help="simulated seconds per real second")
    demo.add_argument("--counters", type=int, default=6, help="windows that call")
    demo.add_argument("--visitors", type=int, default=150)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--console", action="store_true", help="no windows even where there is a display")
    demo.set_defaults(handler=_demo)
