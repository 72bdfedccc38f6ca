"""`hallctl complaints list|register|assign|rectify|reply`: the complaint register from the supervisor's console.

The same commands a supervisor's tablet sends, sent as admin over the bus, so each is an event with who did it.
Names and phones in the list are masked as the bus masks them: a terminal's scrollback is not the 台账.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from hall_bus.cli.common import add_admin, admin_call
from hall_bus.config import load_config
from hall_bus.domain import commands as c
from hall_bus.domain.complaints import open_complaints
from hall_bus.domain.rectification import STATUS_NAMES
from hall_bus.errors import UserError


def build_command(args: argparse.Namespace) -> BaseModel:
    """The command an action means; a bad field is one line naming it, before any connection."""
    act = args.action
    try:
        if act == "register":
            return c.build(c.RegisterComplaint, by=args.by, channel=args.channel, subject_kind=args.subject_kind,
                           subject=args.subject, complainant=args.complainant, phone=args.phone, text=args.text,
                           received_at=args.received_at, ticket=args.ticket, handler=args.handler)
        if act == "assign":
            return c.build(c.AssignComplaint, complaint_id=args.complaint_id, owner=args.owner, due=args.due)
        if act == "rectify":
            return c.build(c.RectifyComplaint, complaint_id=args.complaint_id, by=args.by, note=args.note)
        return c.build(c.ReplyComplaint, complaint_id=args.complaint_id, by=args.by, reply=args.reply)
    except c.CommandInvalid as exc:
        raise UserError(f"complaints: {exc}") from None


def _send(args: argparse.Namespace) -> int:
    command = build_command(args)

    async def job(client: Any) -> dict[str, Any]:
        return await client.send(command)  # type: ignore[no-any-return]

    answer = admin_call(args, "complaints", job)
    if not answer.get("ok"):
        raise UserError(f"complaints: {answer.get('message', answer.get('code'))}; nothing was changed")
    result = answer.get("result", {})
    print(" ".join(f"{k}={v}" for k, v in result.items()) or "done")
    return 0


def _list(args: argparse.Namespace) -> int:
    async def job(client: Any) -> Any:
        await client.wait_synced(args.timeout)
        return client.state

    state = admin_call(args, "complaints", job, subscribe=True, mirror=True)
    tz = load_config(args.config).hall.tz  # the hall's hours, not the console's
    for q in open_complaints(state):
        due = datetime.fromtimestamp(q.due_ts, tz).strftime("%m-%d %H:%M") if q.due_ts else "-"
        flag = " 逾期" if q.overdue else ""
        print(f"{q.id}  {c.CHANNEL_NAMES.get(q.channel, q.channel)}  {c.SUBJECT_NAMES.get(q.subject_kind, '')} "
              f"{q.subject}  {STATUS_NAMES.get(q.status, q.status)}  {q.owner or '-'}  due {due}{flag}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cp = sub.add_parser("complaints", help="the complaint register (投诉): list, register, assign, rectify, reply")
    acts = cp.add_subparsers(dest="action", required=True, metavar="ACTION")

    ls = acts.add_parser("list", help="complaints not yet closed, overdue first")
    add_admin(ls)
    ls.set_defaults(handler=_list)
    reg = acts.add_parser("register", help="a complaint from any channel")
    reg.add_argument("--by", required=True, help="staff id of who takes it down")
    reg.add_argument("--channel", required=True, choices=list(c.CHANNEL_NAMES))
    reg.add_argument("--subject-kind", required=True, choices=list(c.SUBJECT_NAMES))
    reg.add_argument("--subject", required=True, help="a window number, a staff id or a service")
    reg.add_argument("--text", required=True)
    reg.add_argument("--complainant")
    reg.add_argument("--phone")
    reg.add_argument("--received-at", type=datetime.fromisoformat, help="ISO time with offset (default now)")
    reg.add_argument("--ticket")
    reg.add_argument("--handler", help="staff id to assign it to at once")
    add_admin(reg)
    reg.set_defaults(handler=_send)
    asg = acts.add_parser("assign", help="give it a handler (and maybe a due date)")
    asg.add_argument("complaint_id")
    asg.add_argument("--owner", required=True)
    asg.add_argument("--due", type=date.fromisoformat)
    add_admin(asg)
    asg.set_defaults(handler=_send)
    rec = acts.add_parser("rectify", help="what was done (整改情况)")
    rec.add_argument("complaint_id")
    rec.add_argument("--by", required=True)
    rec.add_argument("--note", required=True)
    add_admin(rec)
    rec.set_defaults(handler=_send)
    rep = acts.add_parser("reply", help="close it with the reply to the citizen (a 服务督办员)")
    rep.add_argument("complaint_id")
    rep.add_argument("--by", required=True)
    rep.add_argument("--reply", required=True)
    add_admin(rep)
    rep.set_defaults(handler=_send)
