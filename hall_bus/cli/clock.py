"""`hallctl clock confirm`: an admin vouches for a wall clock that jumped ahead; and the clock line of the status.

The hall server does not believe a wall clock that jumps ahead (hall_bus/clock.py): the hall day would roll and
the waiting tickets expire. When the jump is real (the clock was slow and has been put right), this is the one
way to make the hall follow it before the server is restarted.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from hall_bus.cli.common import add_admin, admin_call
from hall_bus.domain.commands import ConfirmClock
from hall_bus.errors import UserError


def _hms(iso: str) -> str:
    """A time as the hall reads it (its own zone, as the server wrote it), with the date only when it matters."""
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")


def _span(seconds: float) -> str:
    s = round(abs(seconds))
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def clock_line(clock: dict[str, Any] | None) -> str:
    """One line for `hallctl status`: which time the hall keeps and, when the wall clock disagrees, what to do."""
    if clock is None:  # a server from before clock faults were reported
        return "clock: (not reported by this server)"
    fault = clock["fault"]
    if fault is None:
        return f"clock: ok  {_hms(clock['trusted'])}"
    how = _span(fault["offset_s"])
    if fault["kind"] == "ahead":
        return (f"CLOCK FAULT since {_hms(fault['since'])}: wall clock {_hms(clock['wall'])} is {how} ahead of the "
                f"hall's time {_hms(clock['trusted'])}; the hall keeps its own time (no day roll, no expiry). "
                "If the wall clock is right: hallctl clock confirm")
    return (f"CLOCK FAULT since {_hms(fault['since'])}: wall clock {_hms(clock['wall'])} is {how} behind the "
            f"hall's time {_hms(clock['trusted'])}; event times run on from the hall's time until the wall clock "
            "catches up")


def _confirm(args: argparse.Namespace) -> int:
    answer = admin_call(args, "clock confirm", lambda client: client.send(ConfirmClock()))
    if not answer["ok"]:
        raise UserError(f"clock confirm refused ({answer['code']}): {answer['message']}")
    r = answer["result"]
    print(f"confirmed: the hall now keeps the wall clock's time {_hms(r['wall'])} (it kept {_hms(r['trusted'])}, "
          f"{_span(r['offset_s'])} behind); a new hall day, if any, opens at the next heartbeat")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    clock = sub.add_parser("clock", help="the hall server's clock: confirm a wall clock that jumped ahead")
    actions = clock.add_subparsers(dest="clock_action", required=True, metavar="ACTION")
    confirm = actions.add_parser("confirm", help="the wall clock that jumped ahead is right: the hall follows it "
                                 "(the day may roll and yesterday's open tickets expire)")
    add_admin(confirm)
    confirm.set_defaults(handler=_confirm)
