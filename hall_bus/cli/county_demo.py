"""`hallctl county demo`: a county on one machine (PostgreSQL, the hub and its dashboard, three sites) and one
case's whole road from a village to the county and back (hall_bus/sim/county_demo.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from hall_bus.cli.common import setup_logging
from hall_bus.cli.county import add_county_file


def _demo(args: argparse.Namespace) -> int:
    from hall_bus.county.sites import load_county
    from hall_bus.sim.county_demo import run_county_demo

    county = load_county(args.file)
    setup_logging(args.verbose, ZoneInfo(county.county.timezone))
    logging.getLogger().setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    hall = args.hall or Path(args.file).parent / "hall.example.toml"

    def say(line: str) -> None:
        print(line, flush=True)

    return asyncio.run(run_county_demo(Path(args.file), hall, args.data, duration=args.duration, pace=args.pace,
                                       say=say))


def register_county(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = actions.add_parser("demo", help="a county on this machine: PostgreSQL, the hub, the county hall, a town "
                              "and a village, and a case handed from the village to the county and back")
    add_county_file(demo)
    demo.add_argument("--hall", type=Path, help="the county hall's file (default: hall.example.toml beside it)")
    demo.add_argument("--data", type=Path, default=Path("build/demo/county"),
                      help="where the demo keeps its database and sites (default build/demo/county)")
    demo.add_argument("--duration", type=float, default=0.0,
                      help="keep the hub and its dashboard up this many seconds after the story (default 0)")
    demo.add_argument("--pace", type=float, default=0.0,
                      help="seconds between the case's steps, to watch them on the dashboard (default 0)")
    demo.add_argument("--verbose", action="store_true")
    demo.set_defaults(handler=_demo)
