"""`hallctl homevisit routes`: the day's 上门服务路线单, one PDF per helper, from the ledger.

Read-only and without the server, like `hallctl report`: the whole address is only in the ledger (the bus
carries it masked), and the sheets are printed in the morning, whether or not the hall server is up yet. A visit
no one is assigned to is on no sheet, so it is said out loud (`PA-20261124-003 还没有派人`) before the helpers
leave, not found out at noon by the visitor.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from hall_bus.config import load_config
from hall_bus.errors import UserError


def _out_dir(value: str) -> Path:
    out = Path(value)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file; give a directory for the route sheets")
    if not out.exists():
        if not out.parent.is_dir():
            raise UserError(f"--out {out}: cannot make it: {out.parent} does not exist")
        try:
            out.mkdir()
        except OSError as exc:
            raise UserError(f"--out {out}: cannot make it: {exc.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UserError(f"--out {out}: cannot write there (permissions)")
    return out


def _routes(args: argparse.Namespace) -> int:
    from hall_bus.cli.report import parse_day
    from hall_bus.homevisit.route import hhmm, plan_day
    from hall_bus.homevisit.route_pdf import write_route_sheet
    from hall_bus.homevisit.stops import day_visits
    from hall_bus.reports.booking_ledger import read_bookings
    from hall_bus.reports.pdf import register_font

    day = parse_day(args.date, "--date")
    cfg = load_config(args.config)
    out = _out_dir(args.out)
    register_font()  # no Chinese font: one line now, not after the ledger is read
    found = read_bookings(cfg, args.data, day, day)
    cat = cfg.catalogue
    materials = {i.code: [m.name for m in i.materials] for i in cat.items} if cat is not None else {}
    visits = day_visits(found.rows, day, cfg.hall.tz, cfg.booking.home_visit_minutes, materials, found.name_of)
    for code in visits.unassigned:
        print(f"warning: {code} 还没有派人 (no helper assigned: it is on no route sheet)", file=sys.stderr)
    if not visits.stops:
        print(f"{day}: no home visit with a helper assigned; no route sheet written")
        return 0
    for staff, name in sorted(visits.helpers.items()):
        plan = plan_day(visits.stops, cfg.hall.name, name, day, tz=cfg.hall.tz)
        path = out / f"路线单-{day.isoformat()}-{staff}.pdf"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            write_route_sheet(plan, tmp)
            os.replace(tmp, path)
        except OSError as exc:
            raise UserError(f"{path}: cannot write it: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        clashes = f", {len(plan.warnings)} 处时间冲突 (clashes: see the sheet)" if plan.warnings else ""
        span = f", 出发 {hhmm(plan.leave_at)} 回到大厅约 {hhmm(plan.back_at)}" if plan.leave_at and plan.back_at else ""
        print(f"{path}: {name} ({staff}), {len(plan.rows)} 户{span}{clashes}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    hv = sub.add_parser("homevisit", help="上门办: the helpers' route sheets for a day, from the ledger")
    hv_sub = hv.add_subparsers(dest="homevisit_command", required=True, metavar="ACTION")
    routes = hv_sub.add_parser("routes", help="one route sheet (PDF) per helper for the day's home visits")
    routes.add_argument("--config", required=True, help="hall TOML file")
    routes.add_argument("--data", required=True, help="the hall server's data directory (its ledger is read only)")
    routes.add_argument("--date", required=True, metavar="DATE", help="the day of the visits, YYYY-MM-DD")
    routes.add_argument("--out", required=True, metavar="DIR",
                        help="directory for the sheets, 路线单-DATE-HELPER.pdf (made if missing)")
    routes.set_defaults(handler=_routes)
