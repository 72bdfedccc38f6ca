"""`hallctl county scorecard`: a quarter's 考核通报 — windows, helpers, towns and partner points ranked with the
county file's weights, last quarter beside each.

    hallctl county scorecard --dsn DSN --county config/county.example.toml --quarter 2026Q4 --out 通报.pdf
"""

from __future__ import annotations

import argparse
import sys

from hall_bus.cli.county_report import add_database


def _scorecard(args: argparse.Namespace) -> int:
    from hall_bus.county.scorecard import Quarter, build_scorecard

    quarter = Quarter.parse(args.quarter)
    done = build_scorecard(args.dsn, args.county, quarter, args.out)
    for out in done["outs"]:
        print(f"{out}: {quarter.words} ({quarter.start} to {quarter.end})")
    for r in done["result"].rankings:
        ranked = sum(s.rank is not None for s in r.scores)
        print(f"{r.title}: {ranked} ranked of {len(r.scores)}", file=sys.stderr)
    return 0


def register_county(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = actions.add_parser("scorecard", help="a quarter's 考核通报 (rankings with weights, last quarter beside) as "
                           "PDF and/or XLSX")
    add_database(p)
    p.add_argument("--quarter", required=True, metavar="YYYYQn", help="the quarter, e.g. 2026Q4")
    p.add_argument("--out", required=True, action="append", metavar="FILE", help="FILE.pdf or FILE.xlsx")
    p.set_defaults(handler=_scorecard)
