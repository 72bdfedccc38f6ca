"""`hallctl county …`: the county network's commands. `county check FILE` validates a county file (its sites,
parents, items against its catalogue, rosters) like `hallctl config check`, then checks the staffing rules.

Exit codes of `county check`: 0 the file is valid and every staffing rule is met; 1 the file is valid but a
roster falls short (each shortfall one `staffing:` line on stdout: the file says truly who works where, so this
is a finding for the county, not a mistake to fix in the file); 2 the file has mistakes (one line each on
stderr, `FILE:LINE: key.path: what is wrong`, as every hand-written file of the project).

More actions join the group as modules: `hall_bus/cli/county_<action>.py` with `register_county(actions)`,
named in ACTION_MODULES; `add_county_file` gives them the same FILE argument.
"""

from __future__ import annotations

import argparse
import importlib

from hall_bus.county.sites import County, load_county
from hall_bus.county.staffing import staffing_problems
from hall_bus.county.words import LEVEL_NAMES, ROLE_NAMES

ACTION_MODULES: tuple[str, ...] = ("county_demo", "county_report", "county_scorecard")  # each: hall_bus/cli/<name>.py


def add_county_file(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="COUNTY.toml", help="the county file (e.g. config/county.example.toml)")


def summary(county: County) -> list[str]:
    """What the file describes, in three lines: sites per level, staff per role, items offered per level."""
    levels = {lv: [s for s in county.sites if s.level == lv] for lv in LEVEL_NAMES}
    staff = [m for s in county.sites for m in s.staff]
    roles = ", ".join(f"{word} {n}" for role, word in ROLE_NAMES.items() if (n := sum(m.role == role for m in staff)))
    offered = []
    for level, sites in levels.items():
        counts = sorted(len(county.items_at(s.code)) for s in sites)
        if counts:
            span = str(counts[0]) if counts[0] == counts[-1] else f"{counts[0]}–{counts[-1]}"
            offered.append(f"{LEVEL_NAMES[level]} {span}")
    catalogue = f"{len(county.catalogue.items)} in the catalogue; " if county.catalogue else ""
    return [
        f"ok: {county.county.name} ({county.county.code}): {len(county.sites)} sites — "
        + ", ".join(f"{LEVEL_NAMES[lv]} {len(sites)}" for lv, sites in levels.items()),
        f"staff: {len(staff)} ({sum(m.full_time for m in staff)} 专职) — {roles or 'none'}",
        f"items: {catalogue}offered per site: {', '.join(offered)}",
    ]


def _check(args: argparse.Namespace) -> int:
    county = load_county(args.file)
    print("\n".join(summary(county)))
    problems = staffing_problems(county)
    rules = county.staffing
    if not problems:
        print(f"staffing: every rule is met (专区 ≥ {rules.special_zone_min} 专职帮办员, 分区 ≥ {rules.sub_zone_min} "
              f"帮办员, 窗口 ≥ {rules.window_min}, 镇/村 ≥ {rules.station_min} 专职, 县级督办员 ≥ 1)")
        return 0
    print(f"staffing: {len(problems)} shortfall{'s' if len(problems) > 1 else ''}")
    for problem in problems:
        print(f"staffing: {problem.line()}")
    return 1


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    county = sub.add_parser("county", help="the county network (县-镇-村): its sites, rosters and checks")
    actions = county.add_subparsers(dest="county_command", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate a county file and check its staffing rules; exit 0 all "
                               "met, 1 staffing short, 2 mistakes in the file")
    add_county_file(check)
    check.set_defaults(handler=_check)
    for name in ACTION_MODULES:
        importlib.import_module(f"hall_bus.cli.{name}").register_county(actions)
