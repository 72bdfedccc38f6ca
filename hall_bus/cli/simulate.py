"""`hallctl simulate`: a scenario script or a simulated day through the queue engine."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from hall_bus.config import HallConfig, load_config
from hall_bus.errors import UserError


def _simulate(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    if args.day == (args.script is not None):
        raise UserError("simulate: give exactly one of --script FILE or --day")
    if args.day:
        return _simulate_day(cfg, args)
    from hall_bus.sim.scenario import open_script, run_scenario

    try:
        lines, source = open_script(args.script)
    except OSError as exc:
        raise UserError(f"{args.script}: cannot read: {exc.strerror}") from None
    with tempfile.TemporaryDirectory(prefix="hall-sim-") as tmp:
        data = Path(args.data) if args.data else Path(tmp)
        res = run_scenario(cfg, lines, source=source, data_dir=data, out=sys.stdout, err=sys.stderr,
                           stop_on_error=args.stop_on_error)
    if res.errors:
        what = "stopped at the first error" if res.stopped_early else "those lines were skipped"
        print(f"{source}: {res.errors} line(s) with errors; {what}; {res.commands} command(s) ran",
              file=sys.stderr)
        return 1
    return 0


def _simulate_day(cfg: HallConfig, args: argparse.Namespace) -> int:
    from hall_bus.sim.daysim import DayPlan, run_day
    from hall_bus.sim.report import print_day_report
    from hall_bus.store.core import HallCore

    for name in ("visitors", "helpers"):
        if getattr(args, name) < 0:
            raise UserError(f"--{name} must not be negative")
    if args.counters_open is not None and args.counters_open < 1:
        raise UserError("--counters-open must be at least 1")
    plan = DayPlan(visitors=args.visitors, counters_open=args.counters_open, helpers=args.helpers,
                   seed=args.seed)
    if args.data:
        from datetime import datetime, timedelta

        from hall_bus.clock import ManualClock, hall_day

        core = HallCore(cfg, args.data, ManualClock(datetime.combine(plan.day, plan.open_at, cfg.hall.tz)))
        last = core.ledger.last_event_at()
        if last is not None:  # time never goes backwards: a second run on the same data simulates the next day
            last_day = hall_day(datetime.fromisoformat(last), cfg.hall.tz, cfg.hall.day_rollover)
            plan.day = max(plan.day, last_day + timedelta(days=1))
            print(f"{args.data} already holds days up to {last_day}; simulating {plan.day}", file=sys.stderr)
        clock = ManualClock(datetime.combine(plan.day, plan.open_at, cfg.hall.tz), cfg.hall.tz)
        core.clock.inner = clock
        sink: list[dict] = []

        def submit(cmd: dict) -> dict:
            answer = core.submit(cmd)
            sink.extend(answer.get("events", []))
            return answer

        try:
            report = run_day(cfg, plan, submit=submit, clock=clock, sink=sink, state=lambda: core.state)
        finally:
            core.close()
    else:
        report = run_day(cfg, plan)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_day_report(cfg, report)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sim = sub.add_parser("simulate", help="run a scenario script or a simulated day through the queue engine")
    sim.add_argument("--config", required=True, help="hall TOML file")
    sim.add_argument("--script", help="JSON-lines scenario ('-' for stdin); events go to stdout")
    sim.add_argument("--day", action="store_true", help="simulate a whole day and print the report")
    sim.add_argument("--data", help="data directory for the ledger (default: a temporary one)")
    sim.add_argument("--stop-on-error", action="store_true", help="stop at the first bad scenario line")
    sim.add_argument("--visitors", type=int, default=600)
    sim.add_argument("--counters-open", type=int, default=None, help="windows open (default: all)")
    sim.add_argument("--helpers", type=int, default=6, help="帮办员 on the floor")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--json", action="store_true", help="print the day report as JSON")
    sim.set_defaults(handler=_simulate)
