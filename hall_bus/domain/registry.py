"""Where commands and events find their code: each domain module registers its own handlers and appliers.

Adding a command is one place: its model in commands.py (with the roles that may send it) and one function
decorated `@handles("op")` in the module of its concern; an event is one `@applies("type")` function. The
registry test checks that models, handlers, appliers, roles and the docs' tables agree.

Appliers take the state, the event time and the event data, and nothing else: no configuration, no clock. That
is what lets a node mirror the hall from the event stream without an engine, and lets a ledger written under
yesterday's configuration replay the same under today's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hall_bus.domain.engine import QueueEngine
    from hall_bus.domain.state import HallState

Event = dict[str, Any]
Handler = Callable[["QueueEngine", Any, datetime], dict[str, Any]]
Applier = Callable[["HallState", float, dict[str, Any]], None]

HANDLERS: dict[str, Handler] = {}
APPLIERS: dict[str, Applier] = {}


def handles(*ops: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for op in ops:
            if op in HANDLERS:
                raise RuntimeError(f"two handlers for op {op!r}: {HANDLERS[op].__module__} and {fn.__module__}")
            HANDLERS[op] = fn
        return fn

    return register


def applies(*kinds: str) -> Callable[[Applier], Applier]:
    def register(fn: Applier) -> Applier:
        for kind in kinds:
            if kind in APPLIERS:
                raise RuntimeError(f"two appliers for event {kind!r}: {APPLIERS[kind].__module__} and {fn.__module__}")
            APPLIERS[kind] = fn
        return fn

    return register


def apply_event(state: HallState, event: Event) -> None:
    """Apply one logged or published event (with its `at` and optional `seq`) to a state."""
    APPLIERS[event["type"]](state, datetime.fromisoformat(event["at"]).timestamp(), event["data"])
    seq = event.get("seq")
    if seq is not None:
        state.seq = seq
