"""`hallctl run ROLE --node ID`: start one node. `ROLES` is the whole dispatch: a role's config role, its
runner and its options; a new role is one builder in hall_bus/nodes/builders.py and one line here. The command
line becomes a frozen NodeOptions once, here; nothing below the CLI sees argparse."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, fields

from hall_bus.cli.common import add_common, setup_logging
from hall_bus.cli.run_board import run_board_node
from hall_bus.cli.run_counters import run_counter_node
from hall_bus.cli.run_kiosk import run_kiosk_node
from hall_bus.cli.run_web import run_web_node
from hall_bus.cli.run_window import add_window_options, window
from hall_bus.config import HallConfig, load_config
from hall_bus.nodes.builders import node_of
from hall_bus.nodes.options import NodeOptions

Runner = Callable[[HallConfig, NodeOptions], int]
Options = Callable[[argparse.ArgumentParser], None]


def _duration(p: argparse.ArgumentParser) -> None:
    p.add_argument("--duration", type=float, help="stop after this many seconds")


def _counter_options(p: argparse.ArgumentParser) -> None:
    _duration(p)
    p.add_argument("--no-console", action="store_true", help="keypad and rating pad only (a service with no "
                   "terminal): run until stopped")


def _board_options(p: argparse.ArgumentParser) -> None:
    _duration(p)
    p.add_argument("--voice-out", help="write each announcement as a WAV file in this directory instead of playing "
                   "it")


def _kiosk_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--printer", help="serial port of an ESC/POS printer (overrides the config)")
    p.add_argument("--profile", default="generic-80", help="printer profile with --printer")
    p.add_argument("--idcard", help="serial port of the ID card reader (overrides the config)")
    p.add_argument("--camera", help="camera index or an image/video file for appointment codes (overrides the config)")
    p.add_argument("--no-devices", action="store_true", help="tickets on screen only")
    p.add_argument("--voice-out", help="write each spoken prompt as a WAV file in this directory instead of playing "
                   "it")
    p.add_argument("--console", action="store_true", help="a terminal kiosk: one line per visitor")
    add_window_options(p)


def _web_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8088, help="the phone page's port (default 8088)")
    p.add_argument("--bind", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: the hall's "
                   "reverse proxy, on this machine, terminates HTTPS and forwards here)")


def _greeter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="data", help="where delegation pages are kept (beside the ledger)")
    p.add_argument("--camera", help="camera index or an image file for delegation pages")
    add_window_options(p)


@dataclass(frozen=True)
class Role:
    config_role: str  # what the node must be in the hall config
    runner: Runner
    help: str
    options: Options = lambda p: None


ROLES: dict[str, Role] = {
    "counter": Role("counter", run_counter_node, "operate a counter from the keyboard (and its keypad)",
                    _counter_options),
    "board": Role("board", run_board_node, "print calls as they come (and drive the LED boards and voice)",
                  _board_options),
    "kiosk": Role("kiosk", run_kiosk_node, "the citizen kiosk's touch screen (--console: in a terminal)",
                  _kiosk_options),
    "display": Role("display", window("display"), "the hall display for a TV", add_window_options),
    "greeter": Role("greeter", window("greeter"), "the greeter's tablet: help requests, walk-ins, consultations, "
                    "notices, delegations", _greeter_options),
    "counter-panel": Role("counter", window("counter-panel"), "a window's software call buttons and its rating "
                          "prompt", add_window_options),
    "web": Role("web", run_web_node, "the citizen's phone page (预约, queue, case progress, rating)", _web_options),
}


def node_options(args: argparse.Namespace) -> NodeOptions:
    """The command line as NodeOptions: each field from the option of that name where the role has it."""
    given = {f.name: getattr(args, f.name) for f in fields(NodeOptions) if hasattr(args, f.name)}
    # a counter's --node is given once per window on its keypad line; other roles have one node
    nodes = list(dict.fromkeys(args.node if isinstance(args.node, list) else [args.node]))
    return NodeOptions(**{**given, "node": nodes[0], "more_nodes": tuple(nodes[1:]),
                          "keyboard": not getattr(args, "no_console", False)})


def _run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    setup_logging(args.verbose, cfg.hall.tz)
    role = ROLES[args.agent]
    opts = node_options(args)
    for node in (opts.node, *opts.more_nodes):
        node_of(cfg, node, role.config_role)
    return role.runner(cfg, opts)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = sub.add_parser("run", help="start a node: a console agent or a window")
    run_sub = run.add_subparsers(dest="agent", required=True, metavar="ROLE")
    for name, role in ROLES.items():
        rp = run_sub.add_parser(name, help=role.help)
        add_common(rp)
        rp.add_argument("--node", required=True, action="append" if name == "counter" else "store",
                        help="the node's id" + ("; repeat it for every window whose keypad is on one RS-485 line"
                                                if name == "counter" else ""))
        rp.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the server")
        role.options(rp)
        rp.set_defaults(handler=_run)
