"""The staff roster and who is signed in where: the person behind every act a tablet or panel sends.

The roster lives in the ledger (every addition, disabling and PIN reset is an event), so the 台账 can always say
who was allowed to do what on a given day. A person signs in on one tablet or panel at a time; signing in on a
second one signs them out of the first, so two devices never act in one name. PINs are kept as salted scrypt
hashes made by `hallctl staff` before they reach the hall; checking one is the only costly thing here.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.domain import commands as c
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.state import HallState, Staff

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """A PIN as the roster keeps it; four to eight digits are few, so the hash is made slow on purpose."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def member(e: QueueEngine, staff_id: str) -> Staff:
    m = e.state.staff.get(staff_id)
    if m is None:
        raise CommandRejected("unknown_staff", f"no staff member {staff_id} on the roster")
    return m


def check_person(e: QueueEngine, who: str | None, what: str = "the person acting") -> str:
    """A person a command names (the helper taking over, a follow-up's owner): with a roster, only someone on
    it and not disabled; a hall without a roster (a scenario, an old ledger) takes the name as written."""
    if not who:
        raise CommandRejected("no_person", f"name {what}")
    if e.state.staff:
        m = member(e, who)
        if not m.active:
            raise CommandRejected("staff_disabled", f"{m.id} ({m.name}) is disabled on the roster")
    return who


# ---------------------------------------------------------------------- the roster (admin)


@handles("add_staff")
def add_staff(e: QueueEngine, cmd: c.AddStaff, now: datetime) -> dict[str, Any]:
    if cmd.staff in e.state.staff:
        raise CommandRejected("staff_exists", f"{cmd.staff} is already on the roster")
    if cmd.card is not None and any(m.card == cmd.card for m in e.state.staff.values()):
        raise CommandRejected("card_in_use", f"card {cmd.card[-4:]} belongs to someone else on the roster")
    if cmd.zone is not None and cmd.zone not in {z.id for z in e.cfg.zones}:
        raise CommandRejected("unknown_zone", f"no zone {cmd.zone!r} in the hall configuration")
    e.emit("staff_added", now, staff=cmd.staff, name=cmd.name, employment=cmd.employment, zone=cmd.zone,
           duties=list(dict.fromkeys(cmd.duties)), pin_hash=cmd.pin_hash, card=cmd.card)
    return {"staff": cmd.staff}


@handles("disable_staff")
def disable_staff(e: QueueEngine, cmd: c.DisableStaff, now: datetime) -> dict[str, Any]:
    m = member(e, cmd.staff)
    if not m.active:
        raise CommandRejected("staff_disabled", f"{m.id} is already disabled")
    for node in [n for n, sid in e.state.on_duty.items() if sid == m.id]:
        e.emit("staff_signed_out", now, staff=m.id, node=node, reason="disabled")
    e.emit("staff_disabled", now, staff=m.id)
    return {"staff": m.id}


@handles("reset_pin")
def reset_pin(e: QueueEngine, cmd: c.ResetPin, now: datetime) -> dict[str, Any]:
    m = member(e, cmd.staff)
    e.emit("staff_pin_set", now, staff=m.id, pin_hash=cmd.pin_hash)
    return {"staff": m.id}


# ---------------------------------------------------------------------- signing in and out


@handles("sign_in")
def sign_in(e: QueueEngine, cmd: c.SignIn, now: datetime) -> dict[str, Any]:
    if not cmd.node:
        raise CommandRejected("no_node", "sign in from a tablet or a counter panel")
    if cmd.card is not None:
        found = [m for m in e.state.staff.values() if m.card == cmd.card]
        if not found or (cmd.staff is not None and found[0].id != cmd.staff):
            raise CommandRejected("bad_card", "this card is not on the roster")
        m = found[0]
        how = "card"
    else:
        m = e.state.staff.get(cmd.staff or "")
        if m is None or not pin_matches(cmd.pin or "", m.pin_hash):
            raise CommandRejected("bad_pin", "staff id or PIN not recognised")  # which one is not said
        how = "pin"
    if not m.active:
        raise CommandRejected("staff_disabled", f"{m.id} ({m.name}) is disabled on the roster")
    if e.state.on_duty.get(cmd.node) == m.id:
        return {"staff": m.id, "name": m.name, "duties": m.duties, "already": True}
    for node in [n for n, sid in e.state.on_duty.items() if sid == m.id or n == cmd.node]:
        e.emit("staff_signed_out", now, staff=e.state.on_duty[node], node=node,
               reason="signed in elsewhere" if node != cmd.node else "another person signed in")
    e.emit("staff_signed_in", now, staff=m.id, name=m.name, node=cmd.node, how=how)
    return {"staff": m.id, "name": m.name, "duties": m.duties}


@handles("sign_out")
def sign_out(e: QueueEngine, cmd: c.SignOut, now: datetime) -> dict[str, Any]:
    staff = e.state.on_duty.get(cmd.node or "")
    if staff is None:
        return {"staff": None}
    e.emit("staff_signed_out", now, staff=staff, node=cmd.node, reason=cmd.reason or "signed out")
    return {"staff": staff}


# ---------------------------------------------------------------------- appliers


@applies("staff_added")
def staff_added(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.staff[d["staff"]] = Staff(id=d["staff"], name=d["name"], employment=d["employment"], zone=d["zone"],
                                 duties=list(d["duties"]), pin_hash=d.get("pin_hash", ""), card=d.get("card"),
                                 added_ts=ts)


@applies("staff_disabled")
def staff_disabled(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.staff[d["staff"]].active = False


@applies("staff_pin_set")
def staff_pin_set(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.staff[d["staff"]].pin_hash = d.get("pin_hash", "")


@applies("staff_signed_in")
def staff_signed_in(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.on_duty[d["node"]] = d["staff"]


@applies("staff_signed_out")
def staff_signed_out(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.on_duty.pop(d["node"], None)
