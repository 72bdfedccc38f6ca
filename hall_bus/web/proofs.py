"""What the page remembers between two requests of one visitor: that they proved a booking is theirs.

The visitor proves a booking with the phone's last four digits once (when holding it, or at 我的预约); the page
then answers under an address with a random key (`/b/{code}/{key}`) for `ttl` seconds, so the next steps —
confirm, cancel, move — need neither an account nor a cookie, and work without JavaScript. The key keeps the
digits the commands must carry (the server checks them again on every command). Kept in memory: a restarted
page asks for the four digits again, which is all it costs.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

TTL_SECONDS = 2 * 60 * 60
MAX_PROOFS = 50_000


@dataclass(frozen=True)
class Proof:
    code: str
    tail: str
    until: float


class Proofs:
    def __init__(self, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._by_key: dict[str, Proof] = {}

    def issue(self, code: str, tail: str) -> str:
        self._sweep()
        key = secrets.token_urlsafe(12)
        self._by_key[key] = Proof(code, tail, self.clock() + self.ttl)
        return key

    def get(self, code: str, key: str) -> Proof | None:
        """The proof under `key` if it is for `code` and still fresh (a key for another code proves nothing)."""
        found = self._by_key.get(key)
        if found is None or found.until < self.clock() or not secrets.compare_digest(found.code, code):
            return None
        return found

    def _sweep(self) -> None:
        now = self.clock()
        if len(self._by_key) >= MAX_PROOFS:
            self._by_key = {k: p for k, p in self._by_key.items() if p.until >= now}
        while len(self._by_key) >= MAX_PROOFS:  # still full of fresh ones: the oldest go
            self._by_key.pop(next(iter(self._by_key)))
