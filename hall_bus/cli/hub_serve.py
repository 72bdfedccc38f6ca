"""`hallctl hub serve` and `hallctl hub keys`: run the county hub; say which sites' keys it admits.

Kept apart from `hub db` (our own PostgreSQL for a trial) because a county that runs its own PostgreSQL uses
these and never that.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from zoneinfo import ZoneInfo

from hall_bus.cli.common import setup_logging, stop_on_signals
from hall_bus.errors import UserError

SubParsers = argparse._SubParsersAction  # type: ignore[type-arg]
DSN_ENV = "COUNTY_DSN"


def _dsn(args: argparse.Namespace) -> str:
    """From --dsn or $COUNTY_DSN: a password in a DSN on the command line shows in `ps`, so the variable exists."""
    dsn = args.dsn or os.environ.get(DSN_ENV)
    if not dsn:
        raise UserError(f"hub: give the county database as --dsn DSN or ${DSN_ENV} "
                        "(`hallctl hub db start --dir DIR` prints one for a local trial)")
    return dsn


def _serve(args: argparse.Namespace) -> int:
    from hall_bus.county.hub import CountyHub
    from hall_bus.county.sites import load_county

    county = load_county(args.county)
    setup_logging(args.verbose, ZoneInfo(county.county.timezone))
    hub = CountyHub(county, _dsn(args), args.keys, endpoint=args.bind, dashboard=not args.no_dashboard)

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        task = asyncio.create_task(hub.run(stop))
        ready = asyncio.create_task(hub.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if ready.done():
            where = f"; dashboard {hub.dashboard_url}" if hub.dashboard_url else ""
            print(f"county hub for {county.county.name}: sites call {hub.endpoint}{where}", flush=True)
        else:
            ready.cancel()
        await task

    asyncio.run(main())
    return 0


def _keys(args: argparse.Namespace) -> int:
    from hall_bus.county.hub import key_name
    from hall_bus.county.sites import load_county
    from hall_bus.wire.keys import KeyStore

    county = load_county(args.county)
    store = KeyStore(args.keys)
    if not store.server_public_path().exists():
        store.init()
        print(f"made the hub's key pair in {args.keys}")
    enrolled = {node for node, _key, _state in store.listing()}
    for site in county.sites:
        mark = "enrolled" if key_name(site.code) in enrolled else "no key yet (hallctl site init)"
        print(f"{site.code:<10} {site.name:<16} {mark}")
    return 0


def register_hub(hub_sub: SubParsers) -> None:
    serve = hub_sub.add_parser("serve", help="run the county hub: sites ship their ledgers here")
    serve.add_argument("--county", type=Path, required=True, help="the county file (sites, [hub] settings)")
    serve.add_argument("--dsn", help=f"the county database (libpq DSN); default ${DSN_ENV}")
    serve.add_argument("--keys", type=Path, default=Path("data/hub-keys"),
                       help="the hub's key directory: its pair and each site's (default data/hub-keys)")
    serve.add_argument("--bind", help="endpoint to listen on (default: [hub] bind)")
    serve.add_argument("--no-dashboard", action="store_true", help="do not serve the county dashboard page")
    serve.add_argument("--verbose", action="store_true")
    serve.set_defaults(handler=_serve)
    keys = hub_sub.add_parser("keys", help="the hub's key pair (made if missing) and which sites have a key")
    keys.add_argument("--county", type=Path, required=True)
    keys.add_argument("--keys", type=Path, default=Path("data/hub-keys"))
    keys.set_defaults(handler=_keys)
