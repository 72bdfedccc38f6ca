"""Keypad keys → the hall bus's counter operations, and evaluation-pad ratings → GB/T 39734 levels. Pure.

The bus knows nothing of key codes and the drivers know nothing of the bus: this table is the only place where
"0x0C" becomes "call_next".

QSystem keypads have four keys whose meaning depends on where the counter is in its cycle (QSystem's
ButtonDevice does the same): CALL calls the next visitor when idle and recalls while one has been called,
FINISH marks a called visitor as a no-show and finishes one being served, REDIRECT transfers only while
serving; CALL while serving does nothing (finish first), as in QSystem. The counter state is therefore an
input here; `next_state` says where an op leads, and the counter agent corrects it from the bus's answer (a
call_next with nobody waiting leaves the counter idle).

FF 68 keypads have one key per operation, so their map needs no state. "6 then confirm" is no-show, as on the
vendor host; other confirm combinations arrive as plain "confirm".
"""

from __future__ import annotations

from typing import Literal

from . import ff68, qsystem

Op = Literal["call_next", "recall", "start", "finish", "no_show", "pause", "transfer", "ask_rating", "confirm"]
OPS: tuple[Op, ...] = ("call_next", "recall", "start", "finish", "no_show", "pause", "transfer", "ask_rating",
                       "confirm")
CounterState = Literal["idle", "called", "serving"]

FF68_KEYS: dict[int, Op] = {
    ff68.KEY_CALL_NEXT: "call_next",
    ff68.KEY_RECALL: "recall",
    ff68.KEY_ASK_RATING: "ask_rating",
    ff68.KEY_PAUSE: "pause",
    ff68.KEY_TRANSFER: "transfer",
    ff68.KEY_CONFIRM: "confirm",
}
FF68_CONFIRM_PREFIX: dict[int, Op] = {6: "no_show"}

_QSYSTEM: dict[tuple[int, CounterState], Op] = {
    (qsystem.Key.CALL, "idle"): "call_next",
    (qsystem.Key.CALL, "called"): "recall",
    (qsystem.Key.START, "called"): "start",
    (qsystem.Key.FINISH, "called"): "no_show",
    (qsystem.Key.FINISH, "serving"): "finish",
    (qsystem.Key.REDIRECT, "serving"): "transfer",
}


def qsystem_op(key: int, state: CounterState) -> Op | None:
    """The op for a QSystem key in this counter state; None when the key means nothing now (START while idle)."""
    return _QSYSTEM.get((key, state))


def ff68_op(data: bytes) -> Op | None:
    """The op for an FF 68 key frame's DATA; None for keys with no counter operation (0x0E cancel, 0x11)."""
    if not data:
        return None
    key = data[-1]
    if key == ff68.KEY_CONFIRM and len(data) >= 2 and data[-2] in FF68_CONFIRM_PREFIX:
        return FF68_CONFIRM_PREFIX[data[-2]]
    return FF68_KEYS.get(key)


def ff68_key(op: Op) -> bytes:
    """The DATA an FF 68 keypad sends for an op (the simulator presses keys by op name)."""
    for prefix, name in FF68_CONFIRM_PREFIX.items():
        if name == op:
            return bytes([prefix, ff68.KEY_CONFIRM])
    for key, name in FF68_KEYS.items():
        if name == op:
            return bytes([key])
    raise ValueError(f"an FF 68 keypad has no key for {op!r}")


def qsystem_key(op: Op) -> int:
    for (key, _state), name in _QSYSTEM.items():
        if name == op:
            return int(key)
    raise ValueError(f"a QSystem keypad has no key for {op!r}")


def next_state(state: CounterState, op: Op) -> CounterState:
    """Where an op leads if the bus accepts it."""
    if op in ("call_next", "recall"):
        return "called"
    if op == "start":
        return "serving"
    if op in ("finish", "no_show", "transfer"):
        return "idle"
    return state


# GB/T 39734-2020 (政务服务评价工作指南) rates on five levels; 5 is the best, as five stars are everywhere.
LEVELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
LEVELS_EN: dict[int, str] = {5: "very satisfied", 4: "satisfied", 3: "fairly satisfied", 2: "dissatisfied",
                             1: "very dissatisfied"}
BestKey = Literal[1, 5]


def rating_level(raw: int, best_key: BestKey = 1) -> int | None:
    """GB/T 39734 level (5 非常满意 … 1 非常不满意) for an FF 68 pad's raw DATA[0]; None for a raw value
    outside 1..5 (a key the pad has but no level has, or line noise that passed the checksum).

    Pads number their keys from the left, and Chinese pads put 非常满意 leftmost, so by default raw 1 is
    非常满意 and raw 5 非常不满意 (level = 6 − raw). Pads that count the other way (raw 5 = 非常满意) are
    configured with `best_key = 5` and map straight through. A four-key pad simply never sends the fifth value.
    """
    if not 1 <= raw <= 5:
        return None
    return raw if best_key == 5 else 6 - raw


def rating_raw(level: int, best_key: BestKey = 1) -> int:
    """The raw value a pad sends for a level (the simulator's inverse of `rating_level`)."""
    if not 1 <= level <= 5:
        raise ValueError(f"rating level {level} is outside 1..5")
    return level if best_key == 5 else 6 - level
