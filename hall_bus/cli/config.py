"""`hallctl config check`: validate a hall TOML file."""

from __future__ import annotations

import argparse

from hall_bus.config import load_config


def _config_check(args: argparse.Namespace) -> int:
    cfg = load_config(args.file)
    print(f"ok: {cfg.hall.name}: {len(cfg.services)} services, {len(cfg.zones)} zones, "
          f"{len(cfg.counters)} counters, {len(cfg.nodes)} nodes")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    config = sub.add_parser("config", help="hall configuration files")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_sub.add_parser("check", help="validate a hall TOML file; prints ok or one line per error")
    check.add_argument("file")
    check.set_defaults(handler=_config_check)
