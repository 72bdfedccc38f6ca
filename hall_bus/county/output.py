"""The county's report files and its database, with the failures a county clerk meets said in one line.

Outputs are checked before the database is asked anything (a mistyped folder fails in a second, not after a
year's figures), written to a temporary file beside each, and renamed into place only once every one of them is
complete — the hall report's rules, and its checks (hall_bus/reports/build.py), so both say the same words.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg

from hall_bus.errors import UserError
from hall_bus.reports.build import _temp_for, check_outputs

__all__ = ["check_outputs", "connect", "database_error", "write_atomically"]


def connect(dsn: str) -> psycopg.Connection[Any]:
    """A connection, or UserError naming why not (the message never repeats the DSN: it may hold a password)."""
    try:
        return psycopg.connect(dsn, connect_timeout=10)
    except psycopg.ProgrammingError as exc:  # a DSN psycopg cannot parse
        raise UserError(f"--dsn: not a PostgreSQL connection string ({_first(exc)}); e.g. "
                        "\"host=127.0.0.1 port=5432 dbname=county user=county_report\"") from None
    except psycopg.Error as exc:
        raise UserError(f"cannot reach the county database: {_first(exc)}") from None


def _first(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def database_error(exc: psycopg.Error) -> UserError:
    """One line for what went wrong while the figures were read."""
    if isinstance(exc, psycopg.errors.UndefinedTable | psycopg.errors.InvalidSchemaName):
        return UserError("the database has no county ledger (or an older one): start the county hub on it once, "
                         "which creates and updates its tables")
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return UserError(f"the database refused: {_first(exc)}; the report needs a role that is a member of "
                         "county_reader (or county_auditor)")
    if isinstance(exc, psycopg.OperationalError):
        return UserError(f"lost the county database while reading: {_first(exc)}")
    return UserError(f"the county database said: {_first(exc)}")


@contextlib.contextmanager
def database_errors() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise database_error(exc) from None


def write_atomically(outs: list[Path], write: Callable[[Path, Path], None]) -> None:
    """`write(out, temp)` each output to its temporary file, then rename them all into place; on any failure
    no output is touched and no temporary file is left behind."""
    temps: list[Path] = []
    try:
        for out in outs:
            temps.append(_temp_for(out))
            write(out, temps[-1])
        for out in outs:
            os.replace(_temp_for(out), out)
        temps.clear()
    except OSError as exc:
        raise UserError(f"cannot write the report: {exc.strerror or exc}") from None
    finally:
        for tmp in temps:
            with contextlib.suppress(OSError):
                tmp.unlink()
