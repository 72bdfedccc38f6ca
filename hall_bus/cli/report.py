"""`hallctl report`: the supervisor's ledger report (台账) as XLSX with charts and as a printable PDF.

It reads the ledger over a read-only connection, so it runs beside a live server without stopping it.
Personal data is masked unless `--unmasked`, which needs the admin's key: whoever may run the hall as admin may
see what the hall recorded; anyone who can merely read the data directory may not.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from hall_bus.config import HallConfig, load_config
from hall_bus.errors import UserError
from hall_bus.reports.summary import BY_CHOICES


def parse_day(value: str, flag: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{flag} {value!r}: not a date; write it as YYYY-MM-DD, e.g. 2026-11-23") from None
    if not 2000 <= day.year <= 2999:
        raise UserError(f"{flag} {value}: a hall ledger holds days between 2000 and 2999")
    return day


def check_admin(cfg: HallConfig, keys_dir: str, node: str) -> None:
    """The operator holds an enrolled admin's secret key (the same test the bus makes of an admin node)."""
    from hall_bus.wire.keys import KeyStore, load_secret

    role = next((n.role for n in cfg.nodes if n.id == node), None)
    if role != "admin":
        what = "is not in the hall configuration" if role is None else f"is a {role}"
        raise UserError(f"--unmasked is for an admin: node {node!r} {what}; give an admin node with --node")
    store = KeyStore(keys_dir)
    store.refresh()
    enrolled = store.node(node)
    if enrolled is None:
        raise UserError(f"--unmasked is for an admin: {node} is not enrolled in {keys_dir} (or was revoked)")
    public, _ = load_secret(store.node_secret_path(node))
    if public != enrolled.public_key:
        raise UserError(f"--unmasked is for an admin: {store.node_secret_path(node)} is not {node}'s current key")


def run_report(args: argparse.Namespace) -> int:
    from hall_bus.reports import ReportRequest, build_report

    first, last = parse_day(args.from_day, "--from"), parse_day(args.to_day, "--to")
    if last < first:
        raise UserError(f"--from {first} is after --to {last}: the dates are backwards")
    cfg = load_config(args.config)
    if args.unmasked:
        check_admin(cfg, args.keys, args.node)
    outs = [Path(o) for o in args.out]
    result = build_report(ReportRequest(cfg, Path(args.data), first, last, outs, by=args.by,
                                        masked=not args.unmasked))
    t = result.summary.total
    for out in outs:
        print(f"{out}: {result.cases} cases, {first} to {last}")
    if result.cases == 0:
        print(f"no cases in the ledger from {first} to {last}; the report is empty", file=sys.stderr)
    booked = result.extra["bookings"].figures
    print(f"on time {t.on_time}/{t.concluded}, rated {t.rated}, follow-ups open {t.followups_open}, bookings "
          f"{booked.total_made} (no-shows {booked.no_show}); {result.events_read:,} events read in "
          f"{result.seconds:.1f} s", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rep = sub.add_parser("report", help="the supervisor's ledger report (台账) as XLSX with charts or PDF")
    rep.add_argument("--config", required=True, help="hall TOML file")
    rep.add_argument("--data", required=True, help="the hall server's data directory (its ledger is read only)")
    rep.add_argument("--from", dest="from_day", required=True, metavar="DATE", help="first hall day, YYYY-MM-DD")
    rep.add_argument("--to", dest="to_day", required=True, metavar="DATE", help="last hall day, YYYY-MM-DD")
    rep.add_argument("--out", required=True, action="append", metavar="FILE",
                     help="FILE.xlsx or FILE.pdf; give it twice for both from one reading")
    rep.add_argument("--by", choices=BY_CHOICES, help="period of the trend tables (default: day up to a month, "
                     "week up to half a year, else month)")
    rep.add_argument("--unmasked", action="store_true", help="show visitors' names and contacts (admin key needed)")
    rep.add_argument("--keys", default="data/keys", help="key directory, for --unmasked (default data/keys)")
    rep.add_argument("--node", default="admin", help="the admin node whose key --unmasked checks (default admin)")
    rep.set_defaults(handler=run_report)

