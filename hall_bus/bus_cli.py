"""`hallctl server`, `hallctl keys …`, `hallctl run counter|board|kiosk`, `hallctl status`, `hallctl demo`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any

from devices.privacy import MaskingFilter

from .client import HallClient
from .config import HallConfig, load_config
from .errors import UserError
from .keys import ROLES, KeyStore


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(MaskingFilter())  # no handler ever sees an unmasked ID or phone number
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


def _node_role(cfg: HallConfig, node: str) -> tuple[str, int | None]:
    for n in cfg.nodes:
        if n.id == node:
            return n.role, n.counter
    known = ", ".join(n.id for n in cfg.nodes)
    raise UserError(f"node {node!r} is not in the hall configuration (known: {known})")


# ---------------------------------------------------------------------- server


def _server(args: argparse.Namespace) -> int:
    from .server import HallServer

    cfg = load_config(args.config)
    setup_logging(args.verbose)
    server = HallServer(cfg, args.data, keys_dir=args.keys, command_endpoint=args.commands,
                        event_endpoint=args.events, curve=False if args.insecure else None)

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await server.run(stop)

    asyncio.run(main())
    return 0


# ---------------------------------------------------------------------- keys


def _keys(args: argparse.Namespace) -> int:
    store = KeyStore(args.keys)
    if args.keys_command == "init":
        path = store.init()
        print(f"server key pair made in {store.dir}; give {path} to every node")
    elif args.keys_command == "add":
        if args.config:
            role, _ = _node_role(load_config(args.config), args.node)
            if role != args.role:
                raise UserError(f"node {args.node} is a {role} in the hall configuration, not a {args.role}")
        secret = store.add(args.node, args.role)
        print(f"enrolled {args.node} as {args.role}; copy {secret} and {store.server_public_path()} to that node")
    elif args.keys_command == "revoke":
        store.revoke(args.node)
        print(f"revoked {args.node}; the server refuses it within a second, no restart needed")
    else:
        for node, role, state in store.listing():
            print(f"{node:<16}{role:<10}{state}")
    return 0


# ---------------------------------------------------------------------- node agents


def _client(cfg: HallConfig, args: argparse.Namespace, node: str, **kw: Any) -> HallClient:
    return HallClient.for_node(cfg, node, keys_dir=args.keys, server=args.server, **kw)


def _run(args: argparse.Namespace) -> int:
    from .agents import board_printer, run_board, run_counter
    from .client import BusTimeout

    cfg = load_config(args.config)
    setup_logging(args.verbose)
    role, counter = _node_role(cfg, args.node)
    if role != args.agent:
        raise UserError(f"node {args.node} is a {role}, not a {args.agent}")

    async def main() -> int:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        if args.agent == "board":
            client = _client(cfg, args, args.node, on_event=board_printer(sys.stdout), mirror=False)
        elif args.agent == "kiosk":
            client = _client(cfg, args, args.node, subscribe=False, mirror=False)
        else:
            client = _client(cfg, args, args.node, subscribe=False, mirror=False)
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
    from .kiosk_agent import KioskAgent

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


def _status(args: argparse.Namespace) -> int:
    from .agents import print_status
    from .client import BusError, BusTimeout

    cfg = load_config(args.config)

    async def main() -> int:
        client = _client(cfg, args, args.node, subscribe=False, mirror=False)
        try:
            await client.start(timeout=args.timeout)
            print_status(await client.status())
        except (TimeoutError, BusTimeout):
            raise UserError(f"no hall server answered at {client.command_endpoint}") from None
        except BusError as exc:
            raise UserError(f"status refused: {exc.message}") from None
        finally:
            await client.close()
        return 0

    return asyncio.run(main())


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    cfg = load_config(args.config)
    setup_logging(args.verbose)
    logging.getLogger().setLevel(logging.WARNING if not args.verbose else logging.DEBUG)
    return asyncio.run(run_demo(cfg, duration=args.duration, speed=args.speed, counters=args.counters,
                                visitors=args.visitors, seed=args.seed))


# ---------------------------------------------------------------------- parser


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    def common(p: argparse.ArgumentParser, *, keys: bool = True) -> None:
        p.add_argument("--config", required=True, help="hall TOML file")
        if keys:
            p.add_argument("--keys", default="data/keys", help="key directory (default data/keys)")
            p.add_argument("--server", help="server address (default: [bus].server)")
        p.add_argument("--verbose", action="store_true")

    srv = sub.add_parser("server", help="run the hall server (queue engine + ledger + bus)")
    common(srv, keys=False)
    srv.add_argument("--data", required=True, help="data directory for the ledger")
    srv.add_argument("--keys", help="key directory (default DATA/keys)")
    srv.add_argument("--commands", help="command endpoint to bind, e.g. tcp://0.0.0.0:5555")
    srv.add_argument("--events", help="event endpoint to bind, e.g. tcp://0.0.0.0:5556")
    srv.add_argument("--insecure", action="store_true", help="no CURVE (bench tests on one machine only)")
    srv.set_defaults(handler=_server)

    keys = sub.add_parser("keys", help="CURVE keys: server pair, node enrolment and revocation")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    for name, text in (("init", "make the server key pair"), ("add", "make and enrol a node's key pair"),
                       ("revoke", "revoke a node (takes effect without restart)"), ("list", "list enrolled nodes")):
        kp = keys_sub.add_parser(name, help=text)
        kp.add_argument("--keys", default="data/keys", help="key directory (default data/keys)")
        if name in ("add", "revoke"):
            kp.add_argument("node")
        if name == "add":
            kp.add_argument("--role", required=True, choices=ROLES)
            kp.add_argument("--config", help="check the node's role against this hall configuration")
        kp.set_defaults(handler=_keys)

    run = sub.add_parser("run", help="run a console node agent")
    run_sub = run.add_subparsers(dest="agent", required=True, metavar="AGENT")
    for name, text in (("counter", "operate a counter from the keyboard"), ("board", "print calls as they come"),
                       ("kiosk", "issue tickets with the kiosk's printer and ID card reader")):
        rp = run_sub.add_parser(name, help=text)
        common(rp)
        rp.add_argument("--node", required=True)
        rp.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the server")
        rp.add_argument("--duration", type=float, help="stop after this many seconds (board)")
        if name == "kiosk":
            rp.add_argument("--printer", help="serial port of an ESC/POS printer (overrides the config)")
            rp.add_argument("--profile", default="generic-80", help="printer profile with --printer")
            rp.add_argument("--idcard", help="serial port of the ID card reader (overrides the config)")
            rp.add_argument("--no-devices", action="store_true", help="tickets on screen only")
        rp.set_defaults(handler=_run)

    st = sub.add_parser("status", help="which nodes are alive, and since when")
    common(st)
    st.add_argument("--node", default="admin", help="the admin node to connect as")
    st.add_argument("--timeout", type=float, default=5.0)
    st.set_defaults(handler=_status)

    demo = sub.add_parser("demo", help="a hall server, console counters fed by a simulated day, and the board")
    common(demo, keys=False)
    demo.add_argument("--duration", type=float, help="stop after this many seconds (default: end of the day)")
    demo.add_argument("--speed", type=float, default=600.0, help="simulated seconds per real second")
    demo.add_argument("--counters", type=int, default=6, help="windows that call")
    demo.add_argument("--visitors", type=int, default=150)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(handler=_demo)
