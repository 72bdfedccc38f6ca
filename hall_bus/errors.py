"""Errors a user can cause and fix. The CLI prints these as one line each, never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Something the operator gave us (a file, an argument, a line) is wrong; the message says what and where."""

    exit_code = 2

    def __init__(self, message: str, *, lines: list[str] | None = None) -> None:
        super().__init__(message)
        self.lines = lines or [message]


class ConfigError(UserError):
    """The hall configuration file is invalid; `lines` holds one line per problem."""


class LedgerError(UserError):
    """The ledger in the data directory cannot be used as it is (never silently repaired)."""
