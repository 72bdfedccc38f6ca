"""`hallctl run counter|board|kiosk`: console node agents."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from hall_bus.cli.common import add_common, node_client, node_role, setup_logging, stop_on_signals
from hall_bus.config import HallConfig, load_config
from hall_bus.errors import UserError


def _run(args: argparse.Namespace) -> int:
    from hall_bus.nodes.board import board_printer, run_board
    from hall_bus.nodes.counter import run_counter
    from hall_bus.wire.client import BusTimeout

    cfg = load_config(args.config)
    setup_logging(args.verbose)
    role, counter = node_role(cfg, args.node)
    if role != args.agent:
        raise UserError(f"node {args.node} is a {role}, not a {args.agent}")

    async def main() -> int:
        stop = asyncio.Event()
        stop_on_signals(stop)
        if args.agent == "board":
            client = node_client(cfg, args, args.node, on_event=board_printer(sys.stdout), mirror=False)
        elif args.agent == "kiosk":
            client = node_client(cfg, args, args.node, subscribe=False, mirror=False)
        else:
            client = node_client(cfg, args, args.node, subscribe=False, mirror=False)
        try:
            await client.start(timeout=args.timeout)
        except (TimeoutError, BusTimeout):
            await client.close()
            where = client.command_endpoint
            raise UserError(f"no hall server answered at {where} within {args.timeout:.0f} s") from None
        try:
            if args.agent == "kiosk":
                return await _run_kiosk(cfg, client, args)
            if args.agent == "board":
                print(f"叫号屏 call board {args.node}: waiting for calls (Ctrl-C to stop)", flush=True)
                return await run_board(client, args.duration, stop)
            assert counter is not None
            return await run_counter(client, counter, sys.stdin, sys.stdout)
        finally:
            await client.close()

    return asyncio.run(main())


def _kiosk_devices(cfg: HallConfig, args: argparse.Namespace) -> tuple[Any, Any]:
    """The node's printer and ID reader from the hall config (or --printer/--idcard overrides); a device that
    fails to open is reported and left out: the kiosk still issues tickets, on screen."""
    from devices.errors import DeviceError
    from devices.registry import open_device

    tables = {d.type.split("-")[0]: d.model_dump() for n in cfg.nodes if n.id == args.node for d in n.devices}
    if args.printer:
        tables["escpos"] = {"name": "printer", "type": "escpos-serial", "port": args.printer,
                            "profile": args.profile}
    if args.idcard:
        tables["sam"] = {"name": "idcard", "type": "sam-serial", "port": args.idcard}
    found: dict[str, Any] = {}
    for key in ("escpos", "sam"):
        if key in tables and not args.no_devices:
            try:
                found[key] = open_device(tables[key])
            except DeviceError as exc:
                print(f"warning: {tables[key]['name']}: {exc}", file=sys.stderr)
    return found.get("escpos"), found.get("sam")


async def _run_kiosk(cfg: HallConfig, client: Any, args: argparse.Namespace) -> int:
    from hall_bus.nodes.kiosk import KioskAgent

    printer, reader = _kiosk_devices(cfg, args)
    agent = KioskAgent(client, cfg, args.node, printer=printer, reader=reader)
    services = ", ".join(s.name for s in cfg.services)
    print(f"自助取号 kiosk {args.node}: type a service ({services}), optionally a group "
          f"({', '.join(cfg.groups)}); start with 'card' to read the ID card first; 'q' quits.", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline))
        if not line or line.strip() == "q":
            return 0
        words = line.split()
        if not words:
            continue
        use_card = words[0] == "card"
        words = words[1:] if use_card else words
        if not words:
            print("✗ which service?", flush=True)
            continue
        out = await agent.serve(words[0], words[1] if len(words) > 1 else None, use_card=use_card)
        if not out.ok:
            print(f"✗ {out.answer.get('message', out.answer.get('code'))}", flush=True)
            continue
        r = out.answer["result"]
        print(f"✓ {r['number']} {r['service']} {r['label']}，前面 {r['ahead']} 人，约 {r['wait_min']} 分钟"
              + ("（已打印）" if out.printed else ""), flush=True)
        for note in (out.card_note, out.printer_note):
            if note:
                print(f"  note: {note}", flush=True)
        for text in out.on_screen:
            print(f"  | {text}", flush=True)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = sub.add_parser("run", help="run a console node agent")
    run_sub = run.add_subparsers(dest="agent", required=True, metavar="AGENT")
    for name, text in (("counter", "operate a counter from the keyboard"), ("board", "print calls as they come"),
                       ("kiosk", "issue tickets with the kiosk's printer and ID card reader")):
        rp = run_sub.add_parser(name, help=text)
        add_common(rp)
        rp.add_argument("--node", required=True)
        rp.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the server")
        rp.add_argument("--duration", type=float, help="stop after this many seconds (board)")
        if name == "kiosk":
            rp.add_argument("--printer", help="serial port of an ESC/POS printer (overrides the config)")
            rp.add_argument("--profile", default="generic-80", help="printer profile with --printer")
            rp.add_argument("--idcard", help="serial port of the ID card reader (overrides the config)")
            rp.add_argument("--no-devices", action="store_true", help="tickets on screen only")
        rp.set_defaults(handler=_run)
