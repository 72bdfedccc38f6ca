"""`hallctl`: the one command-line tool for the hall. Subcommands register themselves from their own modules.

User mistakes (a wrong file, a bad argument) print one line per problem and exit 2; they never show a
traceback, because the person at the console is a technician or a supervisor, not a Python programmer.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from hall_bus.errors import UserError

Handler = Callable[[argparse.Namespace], int]
COMMAND_GROUPS = ("config", "simulate", "server", "keys", "staff", "complaints", "run", "status", "clock", "ledger",
                  "demo", "device", "report", "bookings", "homevisit", "guide", "county", "hub", "site")


def build_parser() -> argparse.ArgumentParser:
    """Each command group is one module in hall_bus.cli with a `register(sub)`; the order here is the help's."""
    parser = argparse.ArgumentParser(prog="hallctl", description="County service hall (帮办代办) control tool")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_GROUPS:
        importlib.import_module(f"hall_bus.cli.{name}").register(sub)
    return parser

def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UserError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
