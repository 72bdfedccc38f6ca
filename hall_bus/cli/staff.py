"""`hallctl staff add|list|disable|reset-pin`: the hall's roster, kept in the ledger through the running server.

Staff are added as admin over the bus like any command, so every change is an event with who made it and when.
A PIN is typed at a prompt (or piped in) and hashed here: the hall server and its ledger never see it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import unicodedata
from typing import Any

from pydantic import BaseModel

from hall_bus.cli.common import add_admin, admin_call
from hall_bus.domain import commands as c
from hall_bus.domain.staff import hash_pin
from hall_bus.errors import UserError


def _read_pin(args: argparse.Namespace) -> str:
    """From --pin, a terminal prompt (twice), or one line of stdin (scripts, tests)."""
    pin = args.pin
    if pin is None and sys.stdin.isatty():
        pin = getpass.getpass("PIN (4–8 digits): ")
        if getpass.getpass("PIN again: ") != pin:
            raise UserError("staff: the two PINs differ; nothing was changed")
    elif pin is None:
        pin = sys.stdin.readline().strip()
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise UserError("staff: a PIN is 4 to 8 digits; nothing was changed")
    return pin


def _build(model: type[c.Cmd], **fields: Any) -> BaseModel:
    try:
        return c.build(model, **fields)
    except c.CommandInvalid as exc:
        raise UserError(f"staff: {exc}") from None


def _send(args: argparse.Namespace, command: BaseModel | None) -> dict[str, Any]:
    """One admin command (or, with None, a snapshot of the roster) over the bus."""

    async def job(client: Any) -> dict[str, Any]:
        if command is None:
            await client.wait_synced(args.timeout)
            return {"staff": client.state.staff, "on_duty": client.state.on_duty}
        return await client.send(command)  # type: ignore[no-any-return]

    return admin_call(args, "staff", job, subscribe=command is None, mirror=command is None)


def _done(answer: dict[str, Any], words: str) -> int:
    if not answer.get("ok"):
        raise UserError(f"staff: {answer.get('message', answer.get('code'))}; nothing was changed")
    print(words)
    return 0


def _add(args: argparse.Namespace) -> int:
    command = _build(c.AddStaff, staff=args.staff, name=args.name, employment=args.employment, zone=args.zone,
                     duties=args.duty, card=args.card, pin_hash=hash_pin(_read_pin(args)))
    duties = "、".join(c.DUTY_NAMES[d] for d in args.duty)
    return _done(_send(args, command), f"{args.staff} {args.name} added ({args.employment}, {duties})")


def _disable(args: argparse.Namespace) -> int:
    return _done(_send(args, _build(c.DisableStaff, staff=args.staff)),
                 f"{args.staff} disabled: can no longer sign in, signed out everywhere")


def _reset_pin(args: argparse.Namespace) -> int:
    command = _build(c.ResetPin, staff=args.staff, pin_hash=hash_pin(_read_pin(args)))
    return _done(_send(args, command), f"{args.staff}: new PIN set")


def _pad(text: str, width: int) -> str:
    """Left-aligned in a terminal column: a Chinese character takes two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
    return text + " " * max(1, width - used)


def _list(args: argparse.Namespace) -> int:
    roster = _send(args, None)
    where = {staff: node for node, staff in roster["on_duty"].items()}
    widths = (12, 10, 6, 12, 30)
    heads = ("staff", "name", "kind", "zone", "duties")
    print("".join(_pad(h, w) for h, w in zip(heads, widths, strict=True)) + "state")
    for m in sorted(roster["staff"].values(), key=lambda m: m.id):
        duties = "、".join(c.DUTY_NAMES.get(d, d) for d in m.duties)
        state = ("on " + where[m.id]) if m.id in where else ("disabled" if not m.active else "")
        cells = (m.id, m.name, m.employment, m.zone or "-", duties)
        print("".join(_pad(v, w) for v, w in zip(cells, widths, strict=True)) + state)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    st = sub.add_parser("staff", help="the roster: add, list, disable, reset a PIN (as admin, server running)")
    acts = st.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = acts.add_parser("add", help="a person on the roster; the PIN is asked for (or one line on stdin)")
    add.add_argument("staff", help="staff id (工号), e.g. 0231")
    add.add_argument("--name", required=True)
    add.add_argument("--duty", action="append", required=True, choices=list(c.DUTY_NAMES),
                     help="helper 帮办员/代办员, clerk 窗口人员, tracker 环节跟踪员, supervisor 服务督办员, "
                          "grid 网格代办员; repeat for several")
    add.add_argument("--employment", default="专职", choices=["专职", "兼职"])
    add.add_argument("--zone", help="the zone id they work in")
    add.add_argument("--card", help="staff card number, to sign in with the card")
    add.add_argument("--pin", help="the PIN (better: leave it out and type it at the prompt)")
    add_admin(add)
    add.set_defaults(handler=_add)
    ls = acts.add_parser("list", help="everyone on the roster, and where they are signed in")
    add_admin(ls)
    ls.set_defaults(handler=_list)
    dis = acts.add_parser("disable", help="no more sign-ins; signed out everywhere")
    dis.add_argument("staff")
    add_admin(dis)
    dis.set_defaults(handler=_disable)
    rp = acts.add_parser("reset-pin", help="a new PIN (asked for, or one line on stdin)")
    rp.add_argument("staff")
    rp.add_argument("--pin")
    add_admin(rp)
    rp.set_defaults(handler=_reset_pin)
