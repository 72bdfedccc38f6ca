"""Printing the simulated day for a hall manager: two tables and the utilisation of windows and helpers."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from hall_bus.config import HallConfig
from hall_bus.sim.daysim import DayReport, Row


def _table(title: str, rows: dict[str, Row], names: dict[str, str], *, helpers: bool = False) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("", no_wrap=True)
    columns = ["取号", "办结", "过号", "未办", "等候p50", "p90", "max", "按时"]
    if helpers:
        columns[4:4] = ["等帮办p50", "p90"]
    for col in columns:
        table.add_column(col, justify="right", no_wrap=True)
    for key, row in rows.items():
        d = row.as_dict()
        pct = f"{d['on_time']}/{d['concluded']} ({d['on_time_pct']:.0f}%)" if d["concluded"] else "-"

        def m(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f}"

        cells = [str(d["issued"]), str(d["served"]), str(d["no_shows"]), str(d["unserved"]),
                 m(d["wait_p50_min"]), m(d["wait_p90_min"]), m(d["wait_max_min"]), pct]
        if helpers:
            cells[4:4] = [m(d["helper_wait_p50_min"]), m(d["helper_wait_p90_min"])]
        table.add_row(names.get(key, key), *cells)
    return table


def print_day_report(cfg: HallConfig, report: DayReport, console: Console | None = None) -> None:
    console = console or Console(width=max(Console().width, 132))
    plan = report.plan
    console.print(f"[bold]{cfg.hall.name}[/bold] 模拟一天 simulated day {plan.day}: {plan.visitors} visitors, "
                  f"{len(report.counters_open)} windows open, {plan.helpers} helpers, seed {plan.seed}")
    order = {s.name: i for i, s in enumerate(cfg.services)}
    services = dict(sorted(report.tables["service"].items(), key=lambda kv: order.get(kv[0], 99)))
    console.print(_table("按事项 by service (minutes waited from ticket to call)", services, {}))
    labels = {code: f"{rule.label} {code}" for code, rule in cfg.groups.items()}
    gorder = list(cfg.groups)
    groups = dict(sorted(report.tables["group"].items(), key=lambda kv: gorder.index(kv[0])))
    console.print(_table("按帮办分组 by assistance group", groups, labels, helpers=True))
    console.print("取号 issued, 办结 served, 过号 no-show, 未办 still waiting at 19:00, 等帮办 minutes from the help "
                  "request to a helper's claim, 等候 minutes from ticket (or appointment) to call, 按时 concluded "
                  "(done or refused; not materials missing) within the promised time 承诺时限")
    busy = "  ".join(f"{k}:{v:.0f}%" for k, v in report.counter_busy.items())
    console.print(f"窗口忙碌 window busy: {busy}")
    hbusy = "  ".join(f"{k}:{v:.0f}%" for k, v in report.helper_busy.items()) or "-"
    console.print(f"帮办员忙碌 helper busy: {hbusy}")
    if report.bottlenecks:
        console.print("[bold]瓶颈 what to change[/bold]")
    for note in report.bottlenecks:
        console.print(f"  [yellow]•[/yellow] {note}")
    for problem in report.problems:
        console.print(f"[red]unexpected refusal:[/red] {problem}")
