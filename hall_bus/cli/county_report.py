"""`hallctl county report`: the county's figures by level, site, service, window and person, as XLSX and PDF.

    hallctl county report --dsn DSN --county config/county.example.toml --from 2026-10-01 --to 2026-12-31 \
        --out county.xlsx --out county.pdf

Any mistake (a wrong date, a folder that is not there, a database that does not answer) is one line on stderr
and exit 2, and no output file is touched.
"""

from __future__ import annotations

import argparse
import sys

from hall_bus.cli.report import parse_day
from hall_bus.errors import UserError


def add_database(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dsn", required=True, help="the county database, e.g. \"host=127.0.0.1 dbname=county "
                   "user=county_report\" (a member of county_reader is enough)")
    p.add_argument("--county", required=True, metavar="COUNTY.toml", help="the county file (site names, rosters)")


def _report(args: argparse.Namespace) -> int:
    from hall_bus.county.report import build_county_report

    first, last = parse_day(args.from_day, "--from"), parse_day(args.to_day, "--to")
    if last < first:
        raise UserError(f"--from {first} is after --to {last}: the dates are backwards")
    done = build_county_report(args.dsn, args.county, first, last, args.out)
    fig = done["figures"]
    for out in done["outs"]:
        print(f"{out}: {first} to {last}, {done['sites']} sites, {done['persons']} people")
    t = fig.total
    print(f"accepted {t.accepted}, concluded {t.concluded} (on time {t.on_time}), rated {t.rated}; "
          f"read in {done['figures_seconds']:.1f} s, {done['seconds']:.1f} s in all", file=sys.stderr)
    return 0


def register_county(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = actions.add_parser("report", help="the county report (by level, site, service, window, person) as XLSX "
                           "and/or PDF")
    add_database(p)
    p.add_argument("--from", dest="from_day", required=True, metavar="DATE", help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="to_day", required=True, metavar="DATE", help="last day, YYYY-MM-DD")
    p.add_argument("--out", required=True, action="append", metavar="FILE",
                   help="FILE.xlsx or FILE.pdf; give it twice for both from one reading")
    p.set_defaults(handler=_report)
