"""`hallctl ledger verify|salvage`: is the ledger whole, and if not, a new ledger of every good event.

Both read the ledger read-only, so the original stays as it was: it is the evidence of what the hall did, and a
salvage that went wrong must leave something to try again from. Neither prints a row's content (a row may hold
a visitor's name or ID number), only its seq and what is wrong with it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hall_bus.errors import LedgerError

SHOW_LEFT_OUT = 20  # rows listed one by one; beyond that only how many more


def _verify(args: argparse.Namespace) -> int:
    from hall_bus.store.integrity import describe, verify

    verdict = verify(args.data)
    for note in verdict.notes:
        print(f"note: {note}")
    if verdict.problem is not None:
        raise LedgerError(describe(verdict, args.data))
    print(f"{verdict.path}: whole: {verdict.events:,} events, seq 1 to {verdict.last_seq}, every one readable and "
          "applicable in order")
    return 0


def _salvage(args: argparse.Namespace) -> int:
    from hall_bus.store.integrity import salvage

    result = salvage(args.data, args.out)
    print(f"{result.out}: {result.kept:,} good events written, numbered 1 to {result.kept}; "
          f"{result.source} is unchanged")
    if result.left_out:
        print(f"left out ({len(result.left_out)}):")
        for problem in result.left_out[:SHOW_LEFT_OUT]:
            print(f"  {problem}")
        if len(result.left_out) > SHOW_LEFT_OUT:
            print(f"  … and {len(result.left_out) - SHOW_LEFT_OUT} more")
    if result.answers_left_out:
        n = "some" if result.answers_left_out < 0 else str(result.answers_left_out)
        print(f"stored answers to requests left out: {n} (a kiosk retrying one of those requests runs it again)")
    print(f"to use it: check it with 'hallctl ledger verify --data {result.out}', stop the server, keep {args.data} "
          f"as it is, and start the server with --data {result.out} (copy {Path(args.data) / 'keys'} there too if the "
          "server uses the default key directory)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    led = sub.add_parser("ledger", help="check the ledger is whole; copy the good events of a damaged one")
    led_sub = led.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")
    ver = led_sub.add_parser("verify", help="read the whole ledger; name the first bad row (seq and what is wrong)")
    ver.add_argument("--data", required=True, help="the hall server's data directory (read only)")
    ver.set_defaults(handler=_verify)
    sal = led_sub.add_parser("salvage", help="write every good event to a new ledger; the original is not touched")
    sal.add_argument("--data", required=True, help="the damaged ledger's data directory (read only)")
    sal.add_argument("--out", required=True, help="a new, empty directory for the salvaged ledger")
    sal.set_defaults(handler=_salvage)
