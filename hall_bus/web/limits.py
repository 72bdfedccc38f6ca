"""How often the phone page lets one person try: against guessing, not against use.

A booking code is a date and a serial, and the proof that it is yours is four digits: ten thousand guesses at
most. So wrong last-four tries are counted per code (and per case), and after `tail_tries` in `tail_window`
the code is locked for the rest of the window, whoever asks. Lookups and holds are counted per client address:
a script walking through codes, or holding every place of a day, is slowed to what a person does.

Pure: counts in memory with a clock passed in, so a test moves time instead of waiting. A restart forgets
the counts (one process serves the page; a lock that outlives a restart is not worth a store).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    limit: int
    window_s: float

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.window_s / 60))


@dataclass(frozen=True)
class Limits:
    """The rules the page applies; tests and a busy hall may change them (the hall config does not)."""

    tail: Rule = Rule(5, 15 * 60)  # wrong last-four digits per booking code, case or ticket
    lookup: Rule = Rule(60, 10 * 60)  # pages naming a code, case or ticket, per client address
    hold: Rule = Rule(10, 60 * 60)  # places held, per client address


@dataclass
class Counter:
    """Sliding-window counts per key: `hit` records one, `blocked` says whether the key is at its limit and
    for how many more seconds."""

    rule: Rule
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str) -> deque[float]:
        q = self._seen.get(key)
        if q is None:
            return deque()
        edge = self.clock() - self.rule.window_s
        while q and q[0] <= edge:
            q.popleft()
        if not q:
            del self._seen[key]
        return q

    def blocked(self, key: str) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        q = self._recent(key)
        if len(q) < self.rule.limit:
            return 0.0
        return max(0.0, q[-self.rule.limit] + self.rule.window_s - self.clock())

    def left(self, key: str) -> int:
        return max(0, self.rule.limit - len(self._recent(key)))

    def hit(self, key: str) -> None:
        self._recent(key)
        self._seen.setdefault(key, deque()).append(self.clock())
        if len(self._seen) > 100_000:  # a flood of distinct keys: drop the oldest rather than grow without end
            self._seen.pop(next(iter(self._seen)))

    def take(self, key: str) -> float:
        """Count one use if the key is under its limit; the seconds to wait if it is not (nothing counted)."""
        wait = self.blocked(key)
        if not wait:
            self.hit(key)
        return wait


class Guard:
    """The three counters of the page, on one clock."""

    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or Limits()
        self.tail = Counter(self.limits.tail, clock)
        self.lookup = Counter(self.limits.lookup, clock)
        self.hold = Counter(self.limits.hold, clock)
