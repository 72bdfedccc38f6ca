"""`hallctl server`: the one writer (queue engine + ledger + bus)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from hall_bus.cli.common import add_common, setup_logging, stop_on_signals
from hall_bus.config import load_config


def _server(args: argparse.Namespace) -> int:
    from hall_bus.sms.settings import make_gateway
    from hall_bus.wire.server import HallServer

    cfg = load_config(args.config)
    setup_logging(args.verbose, cfg.hall.tz)
    sms = make_gateway(cfg.sms, base=Path(args.config).parent) if cfg.sms is not None else None
    server = HallServer(cfg, args.data, keys_dir=args.keys, command_endpoint=args.commands,
                        event_endpoint=args.events, curve=False if args.insecure else None, sms=sms)

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await server.run(stop)

    asyncio.run(main())
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    srv = sub.add_parser("server", help="run the hall server (queue engine + ledger + bus)")
    add_common(srv, keys=False)
    srv.add_argument("--data", required=True, help="data directory for the ledger")
    srv.add_argument("--keys", help="key directory (default DATA/keys)")
    srv.add_argument("--commands", help="command endpoint to bind, e.g. tcp://0.0.0.0:5555")
    srv.add_argument("--events", help="event endpoint to bind, e.g. tcp://0.0.0.0:5556")
    srv.add_argument("--insecure", action="store_true", help="no CURVE (bench tests on one machine only)")
    srv.set_defaults(handler=_server)
