"""`hallctl hub ...`: the county hub, which keeps every site's events in PostgreSQL.

`hub db start|stop|status --dir DIR` runs a PostgreSQL cluster of our own in DIR, for a trial or the demo; a
county with its own server gives that server's DSN instead. Each `hub` subcommand is one `_register_*` function
in HUB_COMMANDS, so a new one (`hub serve`) is a function and a line there.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from pathlib import Path

from hall_bus.county import pgcluster

COUNTY_DB = "county"
STOPPED_EXIT = 3  # as `pg_ctl status` and `systemctl status` say "not running", so a script can tell

SubParsers = argparse._SubParsersAction  # type: ignore[type-arg]


def _db_start(args: argparse.Namespace) -> int:
    was_running = pgcluster.running_cluster(args.dir) if (args.dir / pgcluster.INFO).is_file() else None
    cluster = pgcluster.start_cluster(args.dir, port=args.port)
    pgcluster.create_database(cluster, COUNTY_DB, exist_ok=True)
    if was_running is None:
        print(f"PostgreSQL is running on 127.0.0.1:{cluster.port}, data in {cluster.root}")
    else:
        ignored = f" (--port {args.port} ignored)" if args.port not in (None, cluster.port) else ""
        print(f"PostgreSQL was already running on 127.0.0.1:{cluster.port}{ignored}, data in {cluster.root}")
    print(f"DSN: {cluster.dsn(COUNTY_DB)}")
    print(f"stop it with: hallctl hub db stop --dir {shlex.quote(str(args.dir))}")
    return 0


def _db_stop(args: argparse.Namespace) -> int:
    if pgcluster.stop_cluster(args.dir):
        print(f"stopped PostgreSQL in {args.dir}")
    else:
        print(f"PostgreSQL in {args.dir} was not running")
    return 0


def _db_status(args: argparse.Namespace) -> int:
    cluster = pgcluster.running_cluster(args.dir)
    if cluster is None:
        print(f"stopped (data in {args.dir}); start it with: hallctl hub db start --dir {shlex.quote(str(args.dir))}")
        return STOPPED_EXIT
    print(f"running on 127.0.0.1:{cluster.port}, data in {cluster.root}")
    print(f"DSN: {cluster.dsn(COUNTY_DB)}")
    return 0


def _port(text: str) -> int:
    """A port argparse can refuse in one line, before any PostgreSQL program runs."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port (1 to 65535): {port}")
    return port


def _register_db(hub_sub: SubParsers) -> None:
    db = hub_sub.add_parser("db", help="a PostgreSQL cluster of our own in a directory (trial, demo, tests)")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    actions: tuple[tuple[str, str, Callable[[argparse.Namespace], int]], ...] = (
        ("start", f"make (if new) and start the cluster, create database {COUNTY_DB!r}, print its DSN", _db_start),
        ("stop", "stop the cluster (fast: clients are disconnected, committed data is kept)", _db_stop),
        ("status", f"say whether it runs, and its DSN; exit {STOPPED_EXIT} when stopped", _db_status),
    )
    for name, text, handler in actions:
        action = db_sub.add_parser(name, help=text, description=text)
        action.add_argument("--dir", type=Path, required=True,
                            help="the cluster's directory (new or empty to make one; when run as root, the "
                                 "postgres user must be able to reach it)")
        if name == "start":
            action.add_argument("--port", type=_port,
                                help="port on 127.0.0.1 (default: the one it had last time, else a free one)")
        action.set_defaults(handler=handler)


def _register_serve(hub_sub: SubParsers) -> None:
    from hall_bus.cli.hub_serve import register_hub

    register_hub(hub_sub)


HUB_COMMANDS: tuple[Callable[[SubParsers], None], ...] = (_register_serve, _register_db)


def register(sub: SubParsers) -> None:
    hub = sub.add_parser("hub", help="the county hub: every site's events in PostgreSQL")
    hub_sub = hub.add_subparsers(dest="hub_command", required=True, metavar="COMMAND")
    for register_command in HUB_COMMANDS:
        register_command(hub_sub)
