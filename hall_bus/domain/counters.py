"""Windows signing in and out, pausing and resuming: whether a window may be called to at all."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall_bus.domain import commands as c
from hall_bus.domain.registry import applies, handles
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.state import CounterState, HallState

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine


@handles("open_counter")
def open_counter(e: QueueEngine, cmd: c.CounterOp, now: datetime) -> dict[str, Any]:
    counter = e.counter(cmd.counter)
    if counter.status == "closed":
        e.emit("counter_opened", now, counter=cmd.counter)
    return {"counter": cmd.counter, "status": e.state.counters[cmd.counter].status}


@handles("close_counter")
def close_counter(e: QueueEngine, cmd: c.CounterOp, now: datetime) -> dict[str, Any]:
    counter = e.counter(cmd.counter)
    if counter.current or counter.parked:
        held = ", ".join(e.state.tickets[t].number for t in [counter.current, *counter.parked] if t)
        raise CommandRejected("counter_busy", f"counter {cmd.counter} still holds {held}: finish or transfer")
    sent_here = e.state.index.targeted.get(cmd.counter)
    if sent_here is not None and sent_here.by_key:
        numbers = ", ".join(e.state.tickets[k[4]].number for k in sent_here.by_key)
        raise CommandRejected("counter_busy", f"{numbers} were sent to counter {cmd.counter} and still wait: "
                              "call them first, or they would wait for a closed window")
    if counter.status != "closed":
        e.emit("counter_closed", now, counter=cmd.counter)
    return {"counter": cmd.counter, "status": "closed"}


@handles("pause_counter")
def pause_counter(e: QueueEngine, cmd: c.CounterOp, now: datetime) -> dict[str, Any]:
    counter = e.counter(cmd.counter)
    if counter.status == "closed":
        raise CommandRejected("counter_closed", f"counter {cmd.counter} is closed")
    if counter.status == "open":
        e.emit("counter_paused", now, counter=cmd.counter)
    return {"counter": cmd.counter, "status": "paused"}


@handles("resume_counter")
def resume_counter(e: QueueEngine, cmd: c.CounterOp, now: datetime) -> dict[str, Any]:
    counter = e.counter(cmd.counter)
    if counter.status != "paused":
        raise CommandRejected("bad_state", f"counter {cmd.counter} is {counter.status}, not paused")
    e.emit("counter_resumed", now, counter=cmd.counter)
    return {"counter": cmd.counter, "status": "open"}


def ready_to_call(e: QueueEngine, number: int) -> CounterState:
    counter = e.counter(number)
    if counter.status == "closed" and counter.signed_in:
        raise CommandRejected("counter_closed", f"counter {number} was closed today; open it (open_counter) "
                              "before calling: only the first call of the day signs a window in")
    if counter.status == "paused":
        raise CommandRejected("counter_paused", f"counter {number} is paused; resume it first")
    if counter.current is not None:
        t = e.state.tickets[counter.current]
        raise CommandRejected("counter_busy",
                              f"{t.number} is still at counter {number}: finish, park or transfer it first")
    return counter


def sign_in(e: QueueEngine, counter: CounterState, now: datetime) -> None:
    """The first call of the day signs a closed counter in, as pressing the keypad does on real halls."""
    if counter.status == "closed":
        e.emit("counter_opened", now, counter=counter.number)


# ---------------------------------------------------------------------- appliers


@applies("counter_opened", "counter_resumed")
def counter_open(st: HallState, ts: float, d: dict[str, Any]) -> None:
    counter = st.counter(d["counter"])
    counter.status, counter.signed_in = "open", True


@applies("counter_closed")
def counter_closed(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.counter(d["counter"]).status = "closed"


@applies("counter_paused")
def counter_paused(st: HallState, ts: float, d: dict[str, Any]) -> None:
    st.counter(d["counter"]).status = "paused"
