"""`hallctl run counter|board|kiosk|display`: the node agents. The kiosk and the display open a window (Kivy,
from kiosk/); `run kiosk --console` is the line-per-visitor kiosk for a terminal."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from hall_bus.cli.common import (
    add_common,
    first_done,
    node_client,
    node_role,
    setup_logging,
    start_client,
    stop_on_signals,
    until_refused,
)
from hall_bus.cli.node_devices import open_node_devices
from hall_bus.config import load_config
from hall_bus.errors import UserError


def _run(args: argparse.Namespace) -> int:
    from hall_bus.nodes.board import board_printer, run_board
    from hall_bus.nodes.counter import run_counter

    cfg = load_config(args.config)
    setup_logging(args.verbose)
    if args.agent == "counter":
        nodes = list(dict.fromkeys(args.node))  # --node may be given once per window on the line
        args.node = nodes[0]
        if len(nodes) > 1 or any(n.devices for n in cfg.nodes if n.id in nodes):
            from hall_bus.cli.run_counters import run_counters

            return asyncio.run(run_counters(cfg, args, nodes))
    role, counter = node_role(cfg, args.node)
    wanted = "counter" if args.agent == "counter-panel" else args.agent
    if role != wanted:
        raise UserError(f"node {args.node} is a {role}, not a {wanted}")
    if args.agent in WINDOWS or (args.agent == "kiosk" and not args.console):
        return _window(cfg, args)

    async def main() -> int:
        stop = asyncio.Event()
        stop_on_signals(stop)
        devices = open_node_devices(cfg, args.node, voice_out=getattr(args, "voice_out", None)) \
            if args.agent == "board" else None
        board_agent = None
        if args.agent == "board":
            printer = board_printer(sys.stdout)
            client = node_client(cfg, args, args.node, mirror=bool(devices))
            if devices:
                from hall_bus.nodes.board import DisplayModel
                from hall_bus.nodes.board_agent import BoardAgent

                board_agent = BoardAgent(client, DisplayModel({g: r.label for g, r in cfg.groups.items()}),
                                         devices.boards, devices.voice)

                def on_event(ev: dict[str, Any]) -> None:
                    printer(ev)
                    board_agent.on_event(ev)  # type: ignore[union-attr]

                client.on_event, client.on_resync = on_event, board_agent.on_resync
            else:
                client.on_event = printer
        elif args.agent == "kiosk":  # mirrored: the notice slips it owes are in the hall state until printed
            client = node_client(cfg, args, args.node, mirror=True)
        else:
            client = node_client(cfg, args, args.node, subscribe=False, mirror=False)
        await start_client(client, args.timeout)

        async def agent() -> int:
            if args.agent == "kiosk":
                from hall_bus.cli.run_kiosk import run_kiosk

                return await run_kiosk(cfg, client, args)
            if args.agent == "board":
                if board_agent is not None:
                    board_agent.start()
                    board_agent.on_resync()  # the boards show the hall's calls now, not the last ones they had
                drives = f" driving {', '.join([*devices.boards, *(['voice'] if devices.voice else [])])}" \
                    if devices else ""
                print(f"叫号屏 call board {args.node}{drives}: waiting for calls (Ctrl-C to stop)", flush=True)
                return await run_board(client, args.duration, stop)
            assert counter is not None
            return await run_counter(client, counter, sys.stdin, sys.stdout)

        async def stopped() -> int:  # Ctrl-C or SIGTERM ends a console agent too, not only a board
            await stop.wait()
            return 0

        try:
            return await first_done(agent(), until_refused([client]), stopped())
        finally:
            if board_agent is not None:
                await board_agent.close()
            await client.close()

    return asyncio.run(main())


# Agents that are only a window (Kivy, from kiosk/): module and launcher, imported only when asked for.
WINDOWS = {"display": ("kiosk.launch", "run_hall_display"), "greeter": ("kiosk.greeter", "run_greeter"),
           "counter-panel": ("kiosk.counter_panel", "run_counter_panel")}


def _window(cfg: Any, args: argparse.Namespace) -> int:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("SDL_VIDEODRIVER")):
        raise UserError(f"run {args.agent}: no display here (DISPLAY is not set); run it on the {args.agent}'s "
                        "screen, under xvfb-run, or with SDL_VIDEODRIVER=offscreen"
                        + ("; or use --console" if args.agent == "kiosk" else ""))
    try:
        import importlib

        from kiosk.boot import NoChineseFont, prepare

        try:  # before any module that imports Kivy: its home, our command line, the font (the runner refines it)
            prepare(font=args.font, fullscreen=not args.windowed)
        except NoChineseFont as exc:
            raise UserError(f"run {args.agent}: {exc}") from None
        module, name = {"kiosk": ("kiosk.launch", "run_citizen_kiosk"), **WINDOWS}[args.agent]
        runner = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise UserError(f"run {args.agent}: Kivy is not installed ({exc}); install with: pip install -e '.[gui]'") \
            from None
    try:
        return asyncio.run(runner(cfg, args))
    except NoChineseFont as exc:
        raise UserError(f"run {args.agent}: {exc}") from None
    except ImportError as exc:  # Kivy itself is first imported inside the runner
        raise UserError(f"run {args.agent}: Kivy is not installed ({exc}); install with: pip install -e '.[gui]'") \
            from None


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = sub.add_parser("run", help="run a console node agent")
    run_sub = run.add_subparsers(dest="agent", required=True, metavar="AGENT")
    for name, text in (("counter", "operate a counter from the keyboard"), ("board", "print calls as they come"),
                       ("kiosk", "the citizen kiosk's touch screen (--console: in a terminal)"),
                       ("display", "the hall display for a TV"),
                       ("greeter", "the greeter's tablet: help requests, walk-ins, consultations, notices, "
                        "delegations"),
                       ("counter-panel", "a window's software call buttons and its rating prompt")):
        rp = run_sub.add_parser(name, help=text)
        add_common(rp)
        if name == "counter":
            rp.add_argument("--node", required=True, action="append",
                            help="the counter node; repeat it for every window whose keypad is on one RS-485 line")
        else:
            rp.add_argument("--node", required=True)
        rp.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the server")
        rp.add_argument("--duration", type=float, help="stop after this many seconds (board, counter with devices)")
        if name == "counter":
            rp.add_argument("--no-console", action="store_true", help="keypad and rating pad only (a service with "
                            "no terminal): run until stopped")
        if name == "board":
            rp.add_argument("--voice-out", help="write each announcement as a WAV file in this directory instead "
                            "of playing it")
        if name == "kiosk":
            rp.add_argument("--printer", help="serial port of an ESC/POS printer (overrides the config)")
            rp.add_argument("--profile", default="generic-80", help="printer profile with --printer")
            rp.add_argument("--idcard", help="serial port of the ID card reader (overrides the config)")
            rp.add_argument("--camera", help="camera index or an image/video file for appointment codes (overrides "
                            "the config)")
            rp.add_argument("--no-devices", action="store_true", help="tickets on screen only")
            rp.add_argument("--console", action="store_true", help="a terminal kiosk: one line per visitor")
        if name in ("kiosk", "display", "greeter", "counter-panel"):
            from kiosk.options import add_window_options

            add_window_options(rp)
        if name == "greeter":
            rp.add_argument("--data", default="data", help="where delegation pages are kept (beside the ledger)")
            rp.add_argument("--camera", help="camera index or an image file for delegation pages")
        rp.set_defaults(handler=_run)
