"""`hallctl status`: the server's own faults (ledger, keys), which nodes are alive and since when, and which
devices are at fault (as admin)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import IO, Any

from hall_bus.cli.clock import clock_line
from hall_bus.cli.common import add_admin, admin_call
from hall_bus.config import load_config


def county_line(c: dict[str, Any]) -> str:
    """One line on the site's link to the county: whether the county has everything, and if not, how much not."""
    if c["connected"]:
        state = f"connected, {c['backlog']} events not yet at the county" if c["backlog"] else "connected, level"
    elif c["high_water"] is None:
        state = "not reached yet (the hall works on; it sends when the hub answers)"
    else:
        state = f"no answer for {c['down_s'] or 0:.0f} s, {c['backlog']} events waiting to be sent"
    extra = f"; {c['problem']}" if c["problem"] else ""
    refused = f"; {c['deliveries_refused']} hand-overs refused" if c["deliveries_refused"] else ""
    return f"county hub {c['hub']} as {c['site']}: {state}{refused}{extra}"


def print_status(status: dict[str, Any], out: IO[str] = sys.stdout, tz: Any = None) -> None:
    """`tz`: the hall's time zone, so every time on the screen is hall time, as the clock line is."""

    def hhmmss(ts: float) -> str:
        return datetime.fromtimestamp(ts, tz).strftime("%H:%M:%S")

    day = status["day"] or "(not opened yet)"
    print(f"{status['hall']}  day {day}  ledger seq {status['seq']}  waiting {status['waiting']}  "
          f"uptime {status['uptime_s']:.0f} s", file=out)
    # The server's own faults come first and in words: a hall whose ledger takes no writes must not look healthy
    # under a list of live nodes.
    server_faults = status.get("server_faults", [])
    print(f"server faults: {len(server_faults) or 'none'}", file=out)
    for f in server_faults:
        since = hhmmss(f["since"])
        print(f"  {f['part']:<8} since {since}  {f['problem']}; {f['effect']}", file=out)
    print(clock_line(status.get("clock")), file=out)  # a wall clock the hall does not believe (hallctl clock)
    county = status.get("county")
    if county is not None:
        print(county_line(county), file=out)
    print(f"{'node':<14}{'role':<10}{'counter':>8}  {'state':<6}{'since':>10}{'last seen':>11}  messages", file=out)
    for n in status["nodes"]:
        state = "alive" if n["alive"] else "gone"
        counter = "" if n["counter"] is None else str(n["counter"])
        since = hhmmss(n["since"])
        print(f"{n['node']:<14}{n['role']:<10}{counter:>8}  {state:<6}{since:>10}{n['last_seen_s']:>10.1f}s  "
              f"{n['messages']}", file=out)
    faults = status.get("faults", [])
    print(f"device faults: {len(faults) or 'none'}", file=out)
    for f in faults:  # a keypad that stopped answering, a printer out of paper, a board that is gone
        since = hhmmss(f["since"])
        print(f"  {f['device']:<22} since {since}  {f['problem']}", file=out)


def _status(args: argparse.Namespace) -> int:
    print_status(admin_call(args, "status", lambda client: client.status()), tz=load_config(args.config).hall.tz)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    st = sub.add_parser("status", help="the server's own faults, which nodes are alive and since when")
    add_admin(st)
    st.set_defaults(handler=_status)
