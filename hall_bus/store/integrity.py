"""Is the ledger whole? `verify` names the first bad row; `salvage` copies every good event to a new ledger.

"Damaged" is anything that would make a replay or a report differ from what the hall did: a row whose data is
not JSON (or not an object), an event type this program does not know, a version it does not read, a time that
is not a time or goes backwards, a gap in the sequence numbers, an event the state before it cannot take (a call
of a ticket never issued), a stored answer that is not JSON, and the SQLite file itself damaged on disk (a
flipped byte in a page). Both read over a read-only connection, so the original is never changed; and they never
print a row's content, only its seq and what is wrong with it, since a row may hold a visitor's name or ID.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from hall_bus.domain.registry import APPLIERS
from hall_bus.domain.state import HallState
from hall_bus.errors import LedgerError
from hall_bus.store.ledger import EVENT_VERSION, LEDGER_FILE, LOCK_FILE, SCHEMA_VERSION, Ledger

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")  # an event type or field name: safe to print, it is no one's data
Row = tuple[int, Any, Any, Any, Any, Any]  # seq, v, type, at, request_id, data, as SQLite holds them


@dataclass(slots=True)
class Problem:
    seq: int | None  # None: not tied to one event (the file, the meta table)
    what: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.what}" if self.seq is not None else self.what


@dataclass
class Verdict:
    path: Path
    events: int = 0  # good events read before the first problem (all of them when there is none)
    last_seq: int = 0
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)  # harmless findings, e.g. a damaged snapshot (replay skips it)


@dataclass
class Salvage:
    source: Path
    out: Path
    kept: int = 0
    left_out: list[Problem] = field(default_factory=list)
    answers_kept: int = 0
    answers_left_out: int = 0


def _open_ro(data_dir: Path) -> tuple[Path, sqlite3.Connection]:
    """A read-only connection inside one read transaction: a consistent view even beside a live server."""
    directory = Path(data_dir)
    path = directory / LEDGER_FILE
    if not directory.is_dir():
        raise LedgerError(f"{directory}: no such directory (--data is the hall server's data directory)")
    if not path.is_file():
        raise LedgerError(f"{directory}: no hall ledger here ({LEDGER_FILE} is missing)")
    # With nobody writing and no WAL to read, open it as immutable: SQLite then creates no -wal/-shm beside it,
    # so the directory is left exactly as it was. Otherwise read-only, which sees what a live server committed.
    quiet = _in_use(directory) is None and not path.with_name(path.name + "-wal").exists()
    try:
        db = sqlite3.connect(path.resolve().as_uri() + ("?immutable=1" if quiet else "?mode=ro"), uri=True,
                             isolation_level=None)
        db.execute("BEGIN")
        meta = dict(db.execute("SELECT key, value FROM meta"))
    except sqlite3.Error as exc:
        raise LedgerError(f"{path}: cannot read it as a hall ledger ({exc}); it is not a hall ledger or its "
                          "first pages are damaged, so nothing can be salvaged from it") from None
    if meta.get("schema") != str(SCHEMA_VERSION):
        db.close()
        raise LedgerError(f"{path}: ledger schema {meta.get('schema')} but this program reads schema "
                          f"{SCHEMA_VERSION}")
    return path, db


def _scan(db: sqlite3.Connection) -> Iterator[Row | tuple[int, None, None, None, None, None]]:
    """Every event row in seq order. Where SQLite cannot read a page, the rows on it come back as (seq, None…)
    one by one, found by point reads, and the scan goes on after them: one bad page costs its rows only."""
    try:
        top = db.execute("SELECT MAX(seq) FROM events").fetchone()[0] or 0
    except sqlite3.DatabaseError:
        top = None
    after = 0
    while True:
        try:
            for row in db.execute("SELECT seq, v, type, at, request_id, data FROM events WHERE seq > ? "
                                  "ORDER BY seq", (after,)):
                after = row[0]
                yield row
            return
        except sqlite3.DatabaseError:
            pass
        misses = 0  # point reads past the damage until a row reads again
        while top is None or after < top:
            after += 1
            try:
                row = db.execute("SELECT seq, v, type, at, request_id, data FROM events WHERE seq = ?",
                                 (after,)).fetchone()
            except sqlite3.DatabaseError:
                yield (after, None, None, None, None, None)
                misses = 0
                continue
            if row is not None:
                yield row
                break
            misses += 1
            if top is None and misses > 10_000:
                return
        else:
            return


class _Judge:
    """Decides, row by row in seq order, whether an event is good, applying the good ones to a state."""

    def __init__(self) -> None:
        self.state = HallState()
        self.state.index_deferred = True  # as replay does: the index is built once, at the end
        self.prev_seq = 0
        self.prev_ts = float("-inf")

    def judge(self, row: Row) -> str | None:
        """What is wrong with this row, or None (and then it is applied)."""
        seq, v, kind, at, _rid, data = row
        if v is None and kind is None and data is None:
            return "the SQLite file is damaged on disk here: the row cannot be read"
        if v != EVENT_VERSION:
            return f"event version {v!r}, but this program reads version {EVENT_VERSION}" if isinstance(v, int) \
                else "its version is not a number"
        if not isinstance(kind, str) or kind not in APPLIERS:
            shown = repr(kind) if isinstance(kind, str) and _NAME.match(kind) else "(unreadable)"
            return f"unknown event type {shown}"
        try:
            moment = datetime.fromisoformat(at)
            if moment.tzinfo is None:
                raise ValueError
        except (TypeError, ValueError):
            return f"{kind}: its time is not a date and time with a UTC offset"
        ts = moment.timestamp()
        if ts < self.prev_ts:
            return f"{kind}: its time is before the previous event's (event times never go backwards)"
        try:
            body = orjson.loads(data)
        except (orjson.JSONDecodeError, TypeError):
            return f"{kind}: its data is not JSON"
        if not isinstance(body, dict):
            return f"{kind}: its data is not a JSON object"
        try:
            APPLIERS[kind](self.state, ts, body)
        except Exception as exc:  # an applier's KeyError, TypeError…: whatever it is, the event does not fit
            return f"{kind}: the event cannot be applied to the hall as the events before it left it " \
                   f"({_why(exc)})"
        self.state.seq = seq
        self.prev_ts = ts
        return None


def _why(exc: Exception) -> str:
    """The kind of failure without the values in it: an exception's text may quote the visitor's data."""
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str) and _NAME.match(exc.args[0]):
        return f"no {exc.args[0]!r} in its data or in the hall"
    return type(exc).__name__


def verify(data_dir: Path | str) -> Verdict:
    """Read the whole ledger and stop at the first bad row (later ones are not judged: after a bad row the
    state they would apply to is unknown)."""
    path, db = _open_ro(Path(data_dir))
    verdict = Verdict(path)
    judge = _Judge()
    try:
        for row in _scan(db):
            seq = row[0]
            if seq != judge.prev_seq + 1:
                missing = f"seq {judge.prev_seq + 1}" if seq == judge.prev_seq + 2 else \
                    f"seqs {judge.prev_seq + 1} to {seq - 1}"
                verdict.problem = Problem(judge.prev_seq + 1, f"{missing} not in the ledger (a gap in the "
                                          "sequence: rows were deleted or lost)")
                return verdict
            what = judge.judge(row)
            if what is not None:
                verdict.problem = Problem(seq, what)
                return verdict
            judge.prev_seq = seq
            verdict.events += 1
            verdict.last_seq = seq
        judge.state.rebuild_index()
        verdict.problem = _check_answers(db, verdict.last_seq) or _check_file(db)
        verdict.notes = _check_snapshots(db, verdict.last_seq)
        return verdict
    finally:
        db.close()


def _check_answers(db: sqlite3.Connection, last_seq: int) -> Problem | None:
    """A stored answer is what a retried request gets back; one that is not JSON would fail that retry."""
    try:
        for last, answer in db.execute("SELECT last_seq, answer FROM requests ORDER BY last_seq"):
            if not isinstance(last, int) or last > last_seq:
                return Problem(None, "a stored answer to a request points past the last event")
            try:
                orjson.loads(answer)
            except (orjson.JSONDecodeError, TypeError):
                return Problem(last, "the stored answer to the request that wrote this event is not JSON")
    except sqlite3.DatabaseError as exc:
        return Problem(None, f"the SQLite file is damaged on disk in the stored answers ({exc})")
    return None


def _check_file(db: sqlite3.Connection) -> Problem | None:
    """What the row checks cannot see: a damaged index or free-list page (SQLite's own quick_check)."""
    try:
        found = [r[0] for r in db.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as exc:
        return Problem(None, f"the SQLite file is damaged on disk ({exc})")
    if found != ["ok"]:
        return Problem(None, f"the SQLite file is damaged on disk (SQLite: {found[0]})")
    return None


def _check_snapshots(db: sqlite3.Connection, last_seq: int) -> list[str]:
    notes = []
    try:
        for seq, text in db.execute("SELECT seq, state FROM snapshots ORDER BY seq"):
            if seq > last_seq:
                notes.append(f"the snapshot at seq {seq} is past the last event; the server would refuse to start")
                continue
            try:
                orjson.loads(text)
            except (orjson.JSONDecodeError, TypeError):
                notes.append(f"the snapshot at seq {seq} is not JSON (harmless: the server replays instead)")
    except sqlite3.DatabaseError:
        notes.append("the snapshots cannot be read (harmless: the server replays from the events)")
    return notes


def describe(verdict: Verdict, data_dir: Path | str) -> str:
    """The one line for a damaged ledger: where, what, and the two commands that deal with it."""
    assert verdict.problem is not None
    return (f"{verdict.path}: damaged at {verdict.problem}; {verdict.events:,} events before it are good; "
            f"'hallctl ledger salvage --data {data_dir} --out NEWDIR' copies every good event to a new ledger")


# ---------------------------------------------------------------------- salvage


def _in_use(directory: Path) -> str | None:
    """Who holds the ledger's writer lock, if anyone; looked at without creating or changing the lock file."""
    try:
        fd = os.open(directory / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        with os.fdopen(fd, encoding="utf-8", errors="replace") as f:
            return f.read().strip() or "?"
    os.close(fd)
    return None


def salvage(data_dir: Path | str, out_dir: Path | str) -> Salvage:
    """Copy every good event, in order and renumbered without gaps, into a new ledger in `out_dir`.

    An event is good when it reads and applies to the state the good events before it left; the rest are left
    out and listed. Renumbered because the new ledger must verify (no gap) like any other; the nodes see the
    new numbers as a gap and resync from a snapshot, as after any restart. Snapshots are not copied: the server
    replays the new ledger once and writes its own.
    """
    source_dir, out = Path(data_dir), Path(out_dir)
    holder = _in_use(source_dir)
    if holder is not None:
        raise LedgerError(f"{source_dir}: the ledger is in use by a running program ({holder}); stop it first, so "
                          "that no event is left out of the copy")
    if out.exists() and out.resolve() == source_dir.resolve():
        raise LedgerError(f"{out}: is the damaged ledger's own directory; give a new directory with --out")
    if (out / LEDGER_FILE).exists():
        raise LedgerError(f"{out}: already holds a ledger; give a new, empty directory with --out")
    path, db = _open_ro(source_dir)
    result = Salvage(path, out)
    try:
        hall = dict(db.execute("SELECT key, value FROM meta")).get("hall")
        target = Ledger(out, hall_name=hall)
        try:
            _copy(db, target, result)
        finally:
            target.close()
    finally:
        db.close()
    return result


def _copy(db: sqlite3.Connection, target: Ledger, result: Salvage) -> None:
    judge = _Judge()
    new_seq: dict[int, int] = {}
    w = target.db
    w.execute("BEGIN IMMEDIATE")
    try:
        for row in _scan(db):
            seq = row[0]
            if seq > judge.prev_seq + 1:
                gap = f"seq {judge.prev_seq + 1}" if seq == judge.prev_seq + 2 else \
                    f"seqs {judge.prev_seq + 1} to {seq - 1}"
                result.left_out.append(Problem(judge.prev_seq + 1, f"{gap} not in the ledger"))
            judge.prev_seq = seq
            what = judge.judge(row)
            if what is not None:
                result.left_out.append(Problem(seq, what))
                if "cannot be applied" in what:
                    judge.state = _replayed(w)  # the applier may have changed the state before it failed
                continue
            result.kept += 1
            new_seq[seq] = result.kept
            w.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", (result.kept, *row[1:]))
        try:
            answers = db.execute("SELECT request_id, last_seq, answer FROM requests").fetchall()
        except sqlite3.DatabaseError:
            answers = []
            result.answers_left_out = -1  # unreadable: how many is unknown
        for rid, last, answer in answers:
            try:
                orjson.loads(answer)
            except (orjson.JSONDecodeError, TypeError):
                result.answers_left_out += 1
                continue
            if last not in new_seq:  # its events were left out: a retry must not get an answer for them
                result.answers_left_out += 1
                continue
            w.execute("INSERT OR IGNORE INTO requests VALUES (?, ?, ?)", (rid, new_seq[last], answer))
            result.answers_kept += 1
        w.execute("COMMIT")
    except BaseException:
        if w.in_transaction:
            w.execute("ROLLBACK")
        raise
    target.last_seq = result.kept


def _replayed(w: sqlite3.Connection) -> HallState:
    """The state the events copied so far give (read back from the new ledger, inside its transaction)."""
    state = HallState()
    state.index_deferred = True
    for _seq, _v, kind, at, _rid, data in w.execute("SELECT * FROM events ORDER BY seq"):
        APPLIERS[kind](state, datetime.fromisoformat(at).timestamp(), orjson.loads(data))
    return state
