"""Device faults the greeters must hear about: a kiosk whose printer is out of paper gives tickets on screen, and
someone should bring a roll. A node reports a device's state; the hall keeps the open faults until the same
device reports it is well again. Repeats of the same state change nothing, so a node may report every ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.domain import commands as c
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.state import HallState

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine


@handles("device_status")
def device_status(e: QueueEngine, cmd: c.DeviceStatus, now: datetime) -> dict[str, Any]:
    key = f"{cmd.node or '?'}/{cmd.device}"
    open_fault = e.state.faults.get(key)
    if cmd.ok and open_fault is None:
        return {"device": key, "ok": True}
    if not cmd.ok and open_fault is not None and open_fault["problem"] == cmd.problem:
        return {"device": key, "ok": False}
    e.emit("device_status", now, device=key, ok=cmd.ok, problem="" if cmd.ok else cmd.problem)
    return {"device": key, "ok": cmd.ok}


@applies("device_status")
def device_status_applied(st: HallState, ts: float, d: dict[str, Any]) -> None:
    if d["ok"]:
        st.faults.pop(d["device"], None)
    else:
        st.faults[d["device"]] = {"problem": d["problem"], "since_ts": st.faults.get(d["device"], {}).get(
            "since_ts", ts)}
