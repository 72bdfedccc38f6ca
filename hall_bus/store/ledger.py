"""The ledger (台账): an append-only SQLite event log in WAL mode, plus request answers and state snapshots.

Why SQLite: a single file a supervisor can copy, inspect with any SQLite tool and back up while the hall runs;
WAL lets readers (reports, the replay on a standby) work while the server appends. `synchronous=FULL` makes a
commit durable (fsynced) before it returns, so an acknowledged command survives a power cut. Many commands are
committed together (group commit) to pay for one fsync, not one each.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sqlite3
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from hall_bus.errors import LedgerError

SCHEMA_VERSION = 1  # of the database layout
EVENT_VERSION = 1  # of the event JSON; written into every event as "v"
LEDGER_FILE = "ledger.sqlite3"
LOCK_FILE = "ledger.lock"
KEEP_SNAPSHOTS = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    v INTEGER NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    request_id TEXT,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    answer TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    seq INTEGER PRIMARY KEY,
    taken_at TEXT NOT NULL,
    state TEXT NOT NULL
);
"""


@dataclass(slots=True)
class Entry:
    """One accepted (or refused) command ready to be written: its events and the answer a retry must get back."""

    request_id: str | None
    events: list[dict[str, Any]]
    answer: dict[str, Any]


class StorageUnavailable(LedgerError):
    """The ledger cannot be written just now (disk full, read-only, I/O error): nothing was written.

    A separate class because the server must go on answering (refusing commands with `storage_unavailable`
    and retrying), whereas a one-shot tool such as `hallctl simulate` stops with the one line.
    """

    def __init__(self, message: str, *, problem: str) -> None:
        super().__init__(message)
        self.problem = problem  # short words for `hallctl status`, e.g. "the disk is full"


def storage_problem(exc: BaseException) -> str | None:
    """Words for an error that is the disk's fault, not the ledger's content; None for anything else.

    Told apart because the fixes differ: free space or remount for these, verify/salvage for a damaged file.
    """
    if isinstance(exc, OSError):
        code = exc.errno
        if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return "the disk is full"
        if code in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "the ledger is read-only"
        if code == errno.EIO:
            return "disk I/O error"
        return None
    primary = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    words = {13: "the disk is full", 8: "the ledger is read-only", 10: "disk I/O error",
             5: "the ledger is locked by another program", 6: "the ledger is locked by another program",
             14: "the ledger file cannot be opened", 3: "the ledger is read-only"}
    return words.get(primary)


def _nearly_full(directory: Path) -> bool:
    try:
        st = os.statvfs(directory)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 1 << 20


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _check_writable(directory: Path, path: Path) -> None:
    """Refuse to start on a data directory or ledger that cannot be written, with the fix in the message.

    Tried for real (a probe file, an open for writing) rather than with permission bits: root ignores the bits,
    and a read-only mount or an immutable flag stops even root. Without this the server would start, show a
    healthy status and fail on its first command.
    """
    def fix(exc: OSError) -> str:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "free space on that disk, then start again"
        return "make it writable (chmod u+w, chattr -i, or remount the disk read-write) or give another --data " \
               "directory"

    try:
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise LedgerError(f"{directory}: the data directory cannot be written ({exc.strerror}); {fix(exc)}") \
            from None
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            fd = os.open(name, os.O_RDWR)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise LedgerError(f"{name}: the ledger file cannot be written ({exc.strerror}); {fix(exc)}") from None
        os.close(fd)


def _take_lock(directory: Path) -> IO[str]:
    """One writer per ledger: a second process appending (a scenario run against a live server's --data) would
    number events the server also numbers, and every later command would fail. The lock dies with its process,
    so a killed server leaves nothing to clean up."""
    path = directory / LOCK_FILE
    try:
        handle = path.open("a+", encoding="utf-8")
    except OSError as exc:  # another user's file (the server ran as root once), or not a file at all
        raise LedgerError(f"{path}: cannot open the ledger's lock file ({exc.strerror}); run as the user who owns "
                          f"{directory}, or give this user write access to {path.name} there") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise LedgerError(f"{directory}: the ledger is in use by another process ({holder}); stop it first, or "
                          "use another --data directory") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}, {' '.join(sys.argv[:3])}")
    handle.flush()
    return handle


class Ledger:
    def __init__(self, data_dir: Path | str, *, hall_name: str | None = None) -> None:
        self.dir = Path(data_dir)
        self.path = self.dir / LEDGER_FILE
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(f"{self.dir}: cannot create the data directory: {exc.strerror}") from None
        if self.dir.is_file():
            raise LedgerError(f"{self.dir}: is a file; --data needs a directory")
        _check_writable(self.dir, self.path)
        self._lock = _take_lock(self.dir)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)
            self._check_meta(hall_name)
            row = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        except sqlite3.DatabaseError as exc:
            self._lock.close()
            problem = storage_problem(exc)
            if problem is not None:
                raise LedgerError(f"{self.path}: cannot open the ledger: {problem} ({exc}); free space or make the "
                                  "disk writable, then start again") from None
            raise LedgerError(f"{self.path}: not a usable hall ledger ({exc}); run 'hallctl ledger verify --data "
                              f"{self.dir}', or move it aside or point --data at another directory") from None
        except LedgerError:
            self._lock.close()
            raise
        self.last_seq: int = row[0]

    def _check_meta(self, hall_name: str | None) -> None:
        meta = dict(self.db.execute("SELECT key, value FROM meta"))
        if not meta:
            self.db.execute("BEGIN")
            self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            if hall_name:
                self.db.execute("INSERT INTO meta VALUES ('hall', ?)", (hall_name,))
            self.db.execute("COMMIT")
            return
        if meta.get("schema") != str(SCHEMA_VERSION):
            raise LedgerError(f"{self.path}: ledger schema {meta.get('schema')} but this program reads "
                              f"schema {SCHEMA_VERSION}")
        if hall_name and meta.get("hall") and meta["hall"] != hall_name:
            raise LedgerError(f"{self.path}: this ledger belongs to {meta['hall']!r}, not {hall_name!r}; "
                              "use another --data directory")

    def close(self) -> None:
        self.db.close()
        self._lock.close()  # closing the file releases the lock

    # ------------------------------------------------------------------ writing

    def append(self, entries: Iterable[Entry]) -> list[dict[str, Any]]:
        """Write entries in one transaction (one fsync); numbers the events and returns them with `seq`, `v`.

        Nothing is numbered in memory until the commit succeeded, so a failed write leaves no phantom seqs.
        """
        rows: list[tuple[Any, ...]] = []
        answers: list[tuple[str, int, str]] = []
        numbered: list[dict[str, Any]] = []
        seq = self.last_seq
        for entry in entries:
            for ev in entry.events:
                seq += 1
                ev = {"v": EVENT_VERSION, "seq": seq, **ev}
                if entry.request_id is not None:
                    ev["request_id"] = entry.request_id
                numbered.append(ev)
                rows.append((seq, EVENT_VERSION, ev["type"], ev["at"], entry.request_id, _dumps(ev["data"])))
            if entry.request_id is not None:
                answers.append((entry.request_id, seq, _dumps(entry.answer)))
        with self._writing():
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
            self.db.executemany("INSERT OR IGNORE INTO requests VALUES (?, ?, ?)", answers)
            self.db.execute("COMMIT")
        self.last_seq = seq
        return numbered

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction; any failure rolls it back and becomes a LedgerError (StorageUnavailable when
        the disk is to blame), so nothing half-written stays and the caller can say what happened."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            if self.db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
            problem = storage_problem(exc)
            if problem == "disk I/O error" and _nearly_full(self.dir):
                problem = "the disk is full"  # SQLite reports some full-disk writes as I/O errors
            if problem is not None:
                raise StorageUnavailable(f"{self.path}: cannot write to the ledger: {problem} ({exc})",
                                         problem=problem) from None
            raise LedgerError(f"{self.path}: cannot write to the ledger: {exc}") from None

    def probe_write(self, at: str) -> None:
        """Write one small row (the time of the check) to learn whether the ledger takes writes again: the server
        tries this each heartbeat while storage is at fault, so service resumes without waiting for a command."""
        with self._writing():
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('write_checked', ?)", (at,))
            self.db.execute("COMMIT")

    def save_snapshot(self, seq: int, taken_at: str, state: dict[str, Any]) -> None:
        """Keep the last few snapshots; replay starts from the newest, older ones are a fallback."""
        with self._writing():
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?)", (seq, taken_at, _dumps(state)))
            self.db.execute(
                "DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)",
                (KEEP_SNAPSHOTS,),
            )
            self.db.execute("COMMIT")

    # ------------------------------------------------------------------ reading

    def last_event_at(self) -> str | None:
        """The time of the newest event, as written (ISO 8601 with offset)."""
        row = self.db.execute("SELECT at FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def answer_for(self, request_id: str) -> dict[str, Any] | None:
        """The stored answer of a request; a disk that fails the read is StorageUnavailable, so the server refuses
        the command rather than leave it unanswered (or run a retry twice)."""
        try:
            row = self.db.execute("SELECT answer FROM requests WHERE request_id = ?", (request_id,)).fetchone()
        except sqlite3.Error as exc:
            problem = storage_problem(exc) or "the ledger cannot be read"
            raise StorageUnavailable(f"{self.path}: cannot read the ledger: {problem} ({exc})",
                                     problem=problem) from None
        return orjson.loads(row[0]) if row else None

    def snapshots(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Newest first, parsed lazily so a damaged newest snapshot can be skipped for an older one."""
        for seq, text in self.db.execute("SELECT seq, state FROM snapshots ORDER BY seq DESC").fetchall():
            try:
                yield seq, orjson.loads(text)
            except orjson.JSONDecodeError:
                continue

    def raw_events(self, after: int = 0, until: int | None = None) -> Iterator[tuple[int, int, str, str, bytes]]:
        """(seq, v, type, at, data) rows, data the stored JSON as UTF-8 bytes: the fast path for replay, no dict
        built per row here. The cursor is the iterator (a generator around `fetchmany` cost replay as much as
        reading the rows), and the bytes go to orjson as stored (as text, SQLite's UTF-8 was decoded to a str
        only for orjson to encode it back)."""
        if until is None:
            until = self.last_seq
        return self.db.execute("SELECT seq, v, type, at, CAST(data AS BLOB) FROM events WHERE seq > ? AND seq <= ? "
                               "ORDER BY seq", (after, until))

    def events(self, after: int = 0, until: int | None = None) -> Iterator[dict[str, Any]]:
        for seq, v, kind, at, data in self.raw_events(after, until):
            yield {"v": v, "seq": seq, "type": kind, "at": at, "data": orjson.loads(data)}
