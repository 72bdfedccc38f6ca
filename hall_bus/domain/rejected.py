"""The one way a handler says no: a stable code for programs and a sentence for people."""

from __future__ import annotations

from typing import Any


class CommandRejected(Exception):
    """The command is well-formed but not allowed now; `code` is stable for programs, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.events: list[dict[str, Any]] = []  # events emitted before the refusal (a day rollover); still valid
