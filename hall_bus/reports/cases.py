"""Case rows (台账) straight from the ledger: one pass over the events, read-only, while the server writes.

A case is one ticket, from `ticket_issued` to the point where nothing can change it any more. That point is the
engine's own: a finished case can still be rated the next hall day (late ratings), so the day's cases are kept
until the second rollover after it (`day_opened` whose `previous` is a later day) and then written out in issue
order and forgotten. A case still open then is followed as long as the engine keeps its ticket open: a home
visit booked for a later day until the rollover after that day (at most `BOOKING_HORIZON` days on), a home visit
under way or anything else still open until the usual point, then written as it stands. The cases after it wait
for it, so the rows stay in day order: memory is about two hall days of cases, more only while a case booked
for a later day is open. After the range, the same events are read up to the late-rating cut-off (the second
rollover after the range, or the end of the latest case still followed), so a case's row is the same whatever
range it is read in. Follow-ups and consultations are few; they are kept whole, because their status (closed,
answered, overdue) can change long after the range, and the report says where they stand at the newest event in
the ledger.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from hall_bus.clock import EventTimes, hall_day
from hall_bus.domain.registry import APPLIERS
from hall_bus.errors import LedgerError, UserError
from hall_bus.reports.records import RECORD_MAIN_TYPES, RECORD_STATUS_TYPES, RecordBook
from hall_bus.store.ledger import LEDGER_FILE, SCHEMA_VERSION

# Events the case rows need. The rest (counters opening, recalls, device status) are filtered out by SQLite, in C.
MAIN_TYPES = (
    "day_opened", "ticket_issued", "group_changed", "help_requested", "help_claimed", "help_handed_over",
    "help_escalated", "ticket_called", "ticket_no_show", "ticket_requeued", "ticket_transferred",
    "ticket_finished", "rating_recorded", "followup_opened", "followup_assigned", "followup_closed",
    "consultation_opened", "consultation_answered", "consultation_referred", "consultation_overdue",
    "notice_issued", "delegation_signed",
)
# After the range, up to the late-rating cut-off: late ratings of its last days, and everything that can still
# happen to a case still open (a home visit under way, an appointment for a later day). Later: what became of its
# follow-ups and consultations.
LATE_TYPES = (
    "day_opened", "group_changed", "help_requested", "help_claimed", "help_handed_over", "help_escalated",
    "ticket_called", "ticket_no_show", "ticket_requeued", "ticket_transferred", "ticket_finished",
    "rating_recorded", "followup_opened", "notice_issued", "delegation_signed",
)
BOOKING_HORIZON = 31  # days after its own a case booked for a later day is followed at most
STATUS_TYPES = ("followup_assigned", "followup_closed", "consultation_answered", "consultation_referred",
                "consultation_overdue")
# Notices, delegations and complaints as records of their own, with or without a ticket (records.py).
MAIN_TYPES += tuple(t for t in RECORD_MAIN_TYPES if t not in MAIN_TYPES)
STATUS_TYPES += RECORD_STATUS_TYPES


@dataclass(slots=True)
class Case:
    seq: int  # of its ticket_issued: cases are listed in issue order
    ticket: str
    number: str
    day: str  # hall day, ISO
    service: str  # the last one (after transfers), as ticket_finished states it
    group: str  # the last one (after group changes)
    issued: str  # local HH:MM:SS
    hour: int
    appointment: bool = False
    appointment_day: str = ""  # hall day of the appointment, ISO
    horizon: str = ""  # booked for a later day: open, it is followed until the rollover after this hall day
    home_visit: bool = False  # counter_queue false: served at the visitor's place
    status: str = "waiting"  # waiting, called, no_show, finished
    expired: bool = False  # closed by a rollover while not finished (a no-show stays a no-show)
    helpers: list[str] = field(default_factory=list)
    handovers: list[str] = field(default_factory=list)
    help_requested_ts: float | None = None
    claim_wait_s: float | None = None
    claimed: str = ""
    escalated: bool = False
    called: str = ""
    counter: int | None = None
    transfers: int = 0
    finished: str = ""
    outcome: str = ""
    materials: list[str] = field(default_factory=list)
    reason: str = ""
    wait_s: float | None = None
    total_s: float | None = None
    on_time: bool | None = None
    rating: str = ""
    followup: str = ""
    notices: int = 0
    principal: str = ""  # 委托人 of a delegation signed for this ticket: personal data, masked on output
    names: list[str] = field(default_factory=list)  # visitors' names the ledger ties to it: masked in its texts
    session_kind: str = ""  # 延时/错时服务: the kind of the extended session it was issued or called in


@dataclass(slots=True)
class FollowUp:
    id: str
    ticket: str
    number: str
    day: str
    level: str
    service: str
    counter: int | None
    group: str
    helpers: tuple[str, ...]
    comment: str
    opened: str  # ISO, as written
    due: str
    owner: str = ""
    closed: str = ""
    note: str = ""
    names: list[str] = field(default_factory=list)  # its case's visitors' names (the case's own list)


@dataclass(slots=True)
class Consultation:
    id: str
    day: str
    helper: str
    name: str
    contact: str
    question: str
    service: str
    ticket: str
    opened: str
    due: str
    answered: str = ""
    answered_by: str = ""
    answer: str = ""
    referred_to: str = ""
    overdue: bool = False  # a consultation_overdue event was written for it
    names: list[str] = field(default_factory=list)  # its visitor's, and those of the case it belongs to


def is_open(c: Case) -> bool:
    """Neither finished nor expired: the engine still holds its ticket (a home visit under way at a rollover, an
    appointment for a later day), so it can still be served, finished and rated."""
    return c.status != "finished" and not c.expired


# What a damaged event raises while it is read: data that is not JSON, a field missing or of the wrong type.
DAMAGE = (ValueError, KeyError, TypeError, AttributeError, IndexError)


def damaged(path: Path, where: str, exc: BaseException) -> str:
    """One line for a damaged event: where it is and what kind of damage, never its data. The event is a
    visitor's record, and an exception's own text often quotes the value it choked on (a name, an address),
    which would end up in a terminal log or a ticket to support."""
    if isinstance(exc, orjson.JSONDecodeError):
        what = "its data is not valid JSON"
    elif isinstance(exc, KeyError) and isinstance(exc.args[0], str) and exc.args[0].isidentifier() \
            and exc.args[0].isascii() and len(exc.args[0]) <= 40:  # a field name from this program, not data
        what = f"its data has no {exc.args[0]!r}"
    else:
        what = "a value in it has the wrong type or form"
    return (f"{path}: {where} is damaged: {what}; no report was written and the ledger is unchanged "
            "(restore it from a backup, or ask support with this line)")


def _at(path: Path, row: tuple[int, str]) -> datetime:
    try:
        return datetime.fromisoformat(row[1])
    except (ValueError, TypeError):
        raise UserError(f"{path}: event {row[0]} is damaged: its time is not an ISO time; no report was written "
                        "and the ledger is unchanged (restore it from a backup, or ask support with this line)") \
            from None


def _open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection, also for a user who may read the ledger but not write its directory (the
    supervisor's account, a backup copy on a read-only share).

    SQLite reads a WAL-mode database through its -shm file, which it creates when it is missing. A server that
    stopped cleanly leaves no -wal or -shm, so such a user would get "attempt to write a readonly database".
    Without a -wal file every event is in the main file and no server has the ledger open (a running server
    keeps its -wal), so it is read as immutable: no -shm, no locks. With a -wal file the events in it are
    needed, so there is no such fallback: the error stands and `_unreadable` says why."""
    uri = path.resolve().as_uri()
    db = sqlite3.connect(uri + "?mode=ro", uri=True, isolation_level=None)
    try:
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return db
    except sqlite3.OperationalError:
        db.close()
        if path.with_name(path.name + "-wal").exists() or os.access(path.parent, os.W_OK):
            raise
    return sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True, isolation_level=None)


def _owner(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "?"
    try:
        import pwd

        return pwd.getpwuid(st.st_uid).pw_name
    except (ImportError, KeyError):
        return str(st.st_uid)


def _me() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return str(os.geteuid())


def _no_access(path: Path, what: str) -> str:
    owner = _owner(path)
    return (f"{path}: user {_me()} may not {what} it (owner {owner}); run the report as {owner}, or give "
            f"{_me()} read access (e.g. the same group and chmod g+rX)")


def _unreadable(path: Path) -> str | None:
    """Why this user cannot read the ledger, in one line, when it is a matter of permissions (else None)."""
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if part.exists() and not os.access(part, os.R_OK):
            return _no_access(part, "read")
    shm = path.with_name(path.name + "-shm")
    if path.with_name(path.name + "-wal").exists() and not shm.exists() and not os.access(path.parent, os.W_OK):
        return (f"{path.parent}: the ledger has a -wal file but no {shm.name}, and user {_me()} may not create "
                f"it there; run the report as {_owner(path)}, or start and stop the server once (a clean stop "
                "folds the -wal into the ledger)")
    return None


Row = tuple[int, str, str, bytes]  # an event as the report reads it: seq, type, at, data (JSON, UTF-8)


class LedgerSnapshot:
    """A read-only connection inside one read transaction: every query sees the same ledger, however many the
    server appends meanwhile (WAL readers never block the writer, nor it them)."""

    def __init__(self, data_dir: Path | str) -> None:
        directory = Path(data_dir)
        path = directory / LEDGER_FILE
        try:
            is_dir, is_file = directory.is_dir(), path.is_file()
            directory.stat()  # is_dir() says False for a directory this user may not enter; stat() says why
        except PermissionError:
            raise UserError(_no_access(directory, "enter")) from None
        except OSError:
            is_dir = False
        if not is_dir:
            raise UserError(f"{directory}: no such directory (--data is the hall server's data directory)")
        if not os.access(directory, os.R_OK | os.X_OK):
            raise UserError(_no_access(directory, "enter"))
        if not is_file:
            raise UserError(f"{directory}: no hall ledger here ({LEDGER_FILE} is missing); --data is the hall "
                            "server's data directory")
        self.path = path
        try:
            self.db = _open_read_only(path)
            self.db.execute("BEGIN")
            meta = dict(self.db.execute("SELECT key, value FROM meta"))
            self.last_seq: int = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
            row = self.db.execute("SELECT at FROM events WHERE seq = ?", (self.last_seq,)).fetchone()
        except sqlite3.Error as exc:
            raise UserError(_unreadable(path) or f"{path}: cannot read it as a hall ledger ({exc})") from None
        if meta.get("schema") != str(SCHEMA_VERSION):
            self.db.close()
            raise UserError(f"{path}: ledger schema {meta.get('schema')} but this program reads schema "
                            f"{SCHEMA_VERSION}")
        self.hall: str | None = meta.get("hall")
        self.last_at: str | None = row[0] if row else None

    def close(self) -> None:
        self.db.close()

    def check_whole(self, after: int) -> None:
        """Refuse a ledger the report cannot read wholly from `after` on: a gap or an event type this program
        does not know would otherwise be filtered out silently, and a case would be missing from the report
        (599 of 600) with nothing to say so. One pass in SQLite, far cheaper than the reading it guards."""
        known = tuple(APPLIERS)
        count, unknown = self.db.execute(
            f"SELECT COUNT(*), COALESCE(SUM(type NOT IN ({','.join('?' * len(known))})), 0) FROM events "
            "WHERE seq > ?", (*known, after)).fetchone()
        if count != self.last_seq - after or unknown:
            raise unreadable(self.path.parent, f"{self.path}: events are missing or of an unknown type; the report "
                             "needs every event and stops here (the ledger is not changed)")

    def first_seq_at(self, moment: datetime) -> int:
        """The first event at or after `moment` (last_seq + 1 if none): a bisection, since event times never go
        backwards, so a quarter out of years of ledger costs a few dozen lookups, not a scan."""
        lo, hi = 1, self.last_seq + 1
        while lo < hi:
            mid = (lo + hi) // 2
            row = self.db.execute("SELECT seq, at FROM events WHERE seq >= ? ORDER BY seq LIMIT 1",
                                  (mid,)).fetchone()
            if row is None:
                hi = mid
            elif _at(self.path, row) < moment:
                lo = row[0] + 1
            else:
                hi = mid
        return lo

    def rows(self, after: int, until: int, types: tuple[str, ...],
             late: tuple[int, tuple[str, ...]] | None = None) -> Iterator[Row]:
        """(seq, type, at, data) of the given types; with `late`, also those types up to its seq."""
        for batch in self.batches(after, until, types, late):
            yield from batch

    def batches(self, after: int, until: int, types: tuple[str, ...],
                late: tuple[int, tuple[str, ...]] | None = None) -> Iterator[list[Row]]:
        """`rows` a few thousand at a time: a pass over millions of events loops over each list itself rather
        than resuming a generator per event. The data comes as the UTF-8 bytes it is stored as, which orjson
        reads directly: as text, each event's JSON was decoded into a str by sqlite3 and encoded back to UTF-8 by
        orjson (a tenth of the pass's instructions)."""
        marks = ",".join("?" * len(types))
        sql = ("SELECT seq, type, at, CAST(data AS BLOB) FROM events WHERE seq > ? AND seq <= ? "
               f"AND (type IN ({marks})")
        params: list[Any] = [after, until, *types]
        if late is not None:
            sql += f" OR (seq <= ? AND type IN ({','.join('?' * len(late[1]))}))"
            params += [late[0], *late[1]]
        cur = self.db.execute(sql + ") ORDER BY seq", params)
        while batch := cur.fetchmany(4096):
            yield batch


Handler = Callable[[int, str, dict[str, Any]], None]  # (seq, at, data) of one event


class CaseReader:
    """Iterate over it for the cases of hall days `first`..`last`, in issue order; afterwards `followups`,
    `consultations` and `events_read` describe the rest.

    `everywhere`: handlers for event types wanted from the whole ledger, before the range as well as in and after
    it (the 办件: a case accepted before the range can be concluded inside it). They are read in this same pass,
    in ledger order, so the ledger is read once, not once for the visits and again for them."""

    def __init__(self, snap: LedgerSnapshot, tz: ZoneInfo, rollover: time, first: date, last: date,
                 everywhere: dict[str, Handler] | None = None) -> None:
        self.snap = snap
        self.everywhere = dict(everywhere or {})
        if set(self.everywhere) & {*MAIN_TYPES, *STATUS_TYPES, *LATE_TYPES}:  # they would be read in one part only
            raise ValueError("`everywhere` is for event types the case rows do not read")
        self.tz = tz
        self.rollover = rollover
        self.first, self.last = first.isoformat(), last.isoformat()
        self.first_seq = snap.first_seq_at(datetime.combine(first, rollover, tz))
        self.end_seq = snap.first_seq_at(datetime.combine(last + timedelta(days=1), rollover, tz)) - 1
        self.late_seq = snap.first_seq_at(datetime.combine(last + timedelta(days=2), rollover, tz)) - 1
        self.pending: dict[str, Case] = {}  # cases events still apply to
        self.held: dict[str, Case] = {}  # cases not yet written, in issue order (a superset of pending)
        self.followups: dict[str, FollowUp] = {}
        self.consultations: dict[str, Consultation] = {}
        self.events_read = 0
        self.cases = 0
        self._suffix = ""  # the UTC offset the hall's local times are written with, once seen
        self.staff = self._roster()
        self.records = RecordBook(tz, rollover, self.first, self.last, self.who)  # records beyond the cases

    def _roster(self) -> dict[str, str]:
        """Staff id → name from the roster in the ledger (added any time before the range ends), so the per-person
        figures read 王芳（0231）, not a bare staff id. A ledger from before the roster has names in its events."""
        names: dict[str, str] = {}
        for _seq, _kind, _at, data in self.snap.rows(0, self.end_seq, ("staff_added",)):
            try:
                d = orjson.loads(data)
                names[str(d["staff"])] = str(d["name"])
            except DAMAGE as exc:
                raise unreadable(self.snap.path.parent, damaged(self.snap.path, "a roster event", exc)) from None
        return names

    def who(self, staff: str) -> str:
        name = self.staff.get(staff)
        return f"{name}（{staff}）" if name else staff

    # ------------------------------------------------------------------ times

    def _hms(self, at: str) -> str:
        """Local wall-clock time of an event; slicing the ISO text is exact when it was written in local time."""
        if self._suffix and at.endswith(self._suffix):
            return at[11:19]
        moment = datetime.fromisoformat(at)
        local = moment.astimezone(self.tz)
        if local.utcoffset() == moment.utcoffset():
            self._suffix = at[-6:]
        return local.strftime("%H:%M:%S")

    # ------------------------------------------------------------------ the pass

    def __iter__(self) -> Iterator[Case]:
        on = self._handlers()
        loads = orjson.loads
        for batch in self._batches():
            self.events_read += len(batch)
            for seq, kind, at, data in batch:
                try:
                    d = loads(data)
                    if kind != "day_opened":
                        on[kind](seq, at, d)
                        continue
                    ready = list(self._close_days(d))
                except DAMAGE as exc:  # named as `ledger verify` names it, else by the kind of damage; never its data
                    raise unreadable(self.snap.path.parent, damaged(self.snap.path, f"event {seq} ({kind})", exc)) \
                        from None
                yield from ready
        yield from self._flush(list(self.held))

    def _batches(self) -> Iterator[list[Any]]:
        """The `everywhere` types before the range, the range's events, then the late ones (ratings, follow-ups,
        the ends of cases still open); the late cut-off is known only once the range has been read. Three
        queries over consecutive stretches of seq: every event is read at most once, in ledger order."""
        extra = tuple(self.everywhere)
        if extra and self.first_seq > 1:
            yield from self.snap.batches(0, self.first_seq - 1, extra)
        yield from self.snap.batches(self.first_seq - 1, self.end_seq, MAIN_TYPES + extra)
        yield from self.snap.batches(self.end_seq, self.snap.last_seq, STATUS_TYPES + extra,
                                     (self._late_cutoff(), LATE_TYPES))

    def _late_cutoff(self) -> int:
        """The last seq the late pass reads case events to: the second rollover after the range, or the end of
        the latest case booked for a later day that is still open (it is rated the day it is finished)."""
        booked = max((c.horizon for c in self.pending.values() if c.horizon and is_open(c)), default="")
        if booked <= (date.fromisoformat(self.last) + timedelta(days=1)).isoformat():
            return self.late_seq
        end = datetime.combine(date.fromisoformat(booked) + timedelta(days=1), self.rollover, self.tz)
        return max(self.late_seq, self.snap.first_seq_at(end) - 1)

    def _close_days(self, d: dict[str, Any]) -> Iterator[Case]:
        pending = self.pending
        for tid in d["expired"]:
            case = pending.get(tid)
            if case is not None:
                case.expired = True
        previous = d["previous"]
        if previous is None:
            return
        # Nothing can change a case any more once the engine has forgotten its ticket: closed and older than
        # yesterday, or still open at the end of what it was booked for.
        done = [tid for tid, c in pending.items()
                if c.day < previous and (not is_open(c) or not c.horizon or c.horizon <= previous)]
        for tid in done:
            del pending[tid]
        ready = []
        for tid in self.held:
            if tid in pending:
                break  # a case still open: those after it wait, so the rows stay in day order
            ready.append(tid)
        yield from self._flush(ready)

    def _flush(self, tickets: list[str]) -> Iterator[Case]:
        cases = [self.held.pop(t) for t in tickets]  # in issue order, as held keeps them
        for t in tickets:
            self.pending.pop(t, None)
        self.cases += len(cases)
        yield from cases

    def _handlers(self) -> dict[str, Any]:
        pending = self.pending
        who = self.who
        ts = EventTimes().ts

        def issued(seq: int, at: str, d: dict[str, Any]) -> None:
            tid = d["ticket"]
            day = f"{tid[0:4]}-{tid[4:6]}-{tid[6:8]}"
            if not self.first <= day <= self.last:
                return
            hms = self._hms(at)
            appt = d.get("appointment_at")
            appt_day = horizon = ""
            if appt:
                booked = hall_day(datetime.fromisoformat(appt), self.tz, self.rollover)
                appt_day = booked.isoformat()
                if (booked - date.fromisoformat(day)).days > 1:  # for a later day than the usual point
                    horizon = min(booked, date.fromisoformat(day) + timedelta(days=BOOKING_HORIZON)).isoformat()
            pending[tid] = self.held[tid] = Case(
                seq, tid, d["number"], day, d["service"], d["group"], hms, int(hms[:2]), appointment=bool(appt),
                appointment_day=appt_day, horizon=horizon, home_visit=not d.get("counter_queue", True),
                session_kind=d.get("session_kind", ""))

        def group_changed(seq: int, at: str, d: dict[str, Any]) -> None:
            if (c := pending.get(d["ticket"])) is not None:
                c.group = d["group"]

        def help_requested(seq: int, at: str, d: dict[str, Any]) -> None:
            c = pending.get(d["ticket"])
            if c is not None and c.help_requested_ts is None and not c.home_visit:  # a home visit's helper
                c.help_requested_ts = ts(at)  # goes at the booked hour: its request is not waiting for a claim

        def help_claimed(seq: int, at: str, d: dict[str, Any]) -> None:
            if (c := pending.get(d["ticket"])) is None:
                return
            helper = who(d["helper"])
            if helper not in c.helpers:
                c.helpers.append(helper)
            if not c.claimed:
                c.claimed = self._hms(at)
                if c.help_requested_ts is not None:
                    c.claim_wait_s = max(0.0, ts(at) - c.help_requested_ts)

        def handed_over(seq: int, at: str, d: dict[str, Any]) -> None:
            if (c := pending.get(d["ticket"])) is None:
                return
            to = who(d["to_helper"])
            c.handovers.append(f"{who(d['from_helper'])}→{to}")
            if to not in c.helpers:
                c.helpers.append(to)

        def escalated(seq: int, at: str, d: dict[str, Any]) -> None:
            if (c := pending.get(d["ticket"])) is not None:
                c.escalated = True

        def called(seq: int, at: str, d: dict[str, Any]) -> None:
            if (c := pending.get(d["ticket"])) is None:
                return
            if not c.called:
                c.called = self._hms(at)
            c.counter = d["counter"]
            c.status = "called"
            if kind := d.get("session_kind"):  # called in an extended session: served in it (as the engine says)
                c.session_kind = kind

        def no_show(seq: int, at: str, d: dict[str, Any]) -> None:
            if (c := pending.get(d["ticket"])) is not None:
                c.status = "no_show"

        def requeued(seq: int, at: str, d: dict[str, Any]) -> None:
            if (c := pending.get(d["ticket"])) is not None:
                c.status = "waiting"

        def transferred(seq: int, at: str, d: dict[str, Any]) -> None:
            if (c := pending.get(d["ticket"])) is not None:
                c.transfers += 1
                c.service = d.get("to_service") or c.service

        def finished(seq: int, at: str, d: dict[str, Any]) -> None:
            if (c := pending.get(d["ticket"])) is None:
                return
            c.status = "finished"
            c.finished = self._hms(at)
            c.service = d["service"]
            c.counter = d["counter"]
            c.outcome = d["outcome"]
            c.materials = d.get("materials") or []
            c.reason = d.get("reason") or ""
            c.wait_s = d.get("wait_s")
            c.total_s = d.get("total_s")
            c.on_time = d.get("on_time")

        def rated(seq: int, at: str, d: dict[str, Any]) -> None:
            if (c := pending.get(d["ticket"])) is not None:
                c.rating = d["level"]

        def followup_opened(seq: int, at: str, d: dict[str, Any]) -> None:
            if (c := pending.get(d["ticket"])) is None:
                return
            c.followup = d["followup_id"]
            self.followups[c.followup] = FollowUp(
                c.followup, c.ticket, c.number, c.day, d["level"], c.service, c.counter, c.group,
                tuple(c.helpers), d.get("comment") or "", at, d.get("due") or "", names=c.names)

        def followup_assigned(seq: int, at: str, d: dict[str, Any]) -> None:
            if (f := self.followups.get(d["followup_id"])) is not None:
                f.owner = who(d["owner"])
                f.due = d.get("due") or f.due

        def followup_closed(seq: int, at: str, d: dict[str, Any]) -> None:
            if (f := self.followups.get(d["followup_id"])) is not None:
                f.closed, f.note = at, d.get("note") or ""

        def consultation_opened(seq: int, at: str, d: dict[str, Any]) -> None:
            day = hall_day(datetime.fromisoformat(at), self.tz, self.rollover).isoformat()
            name = d.get("name") or ""
            case = pending.get(d.get("ticket") or "")
            names = case.names if case is not None else []  # one list: a name learnt later reaches both
            if name:
                names.append(name)
            self.consultations[d["consultation_id"]] = Consultation(
                d["consultation_id"], day, who(d["helper"]), name, d.get("contact") or "", d.get("question") or "",
                d.get("service") or "", d.get("ticket") or "", at, d.get("due") or "", names=names)

        def consultation_answered(seq: int, at: str, d: dict[str, Any]) -> None:
            if (q := self.consultations.get(d["consultation_id"])) is not None:
                q.answered, q.answered_by, q.answer = at, who(d["by"]), d.get("answer") or ""

        def consultation_referred(seq: int, at: str, d: dict[str, Any]) -> None:
            if (q := self.consultations.get(d["consultation_id"])) is not None:
                q.referred_to = d.get("department") or ""

        def consultation_overdue(seq: int, at: str, d: dict[str, Any]) -> None:
            if (q := self.consultations.get(d["consultation_id"])) is not None:
                q.overdue = True

        def notice(seq: int, at: str, d: dict[str, Any]) -> None:
            if (c := pending.get(d.get("ticket") or "")) is not None:
                c.notices += 1

        def delegation(seq: int, at: str, d: dict[str, Any]) -> None:
            if (c := pending.get(d.get("ticket") or "")) is not None:
                c.principal = d.get("principal") or ""
                c.names.append(c.principal)

        on = {
            "ticket_issued": issued, "group_changed": group_changed, "help_requested": help_requested,
            "help_claimed": help_claimed, "help_handed_over": handed_over, "help_escalated": escalated,
            "ticket_called": called, "ticket_no_show": no_show, "ticket_requeued": requeued,
            "ticket_transferred": transferred, "ticket_finished": finished, "rating_recorded": rated,
            "followup_opened": followup_opened, "followup_assigned": followup_assigned,
            "followup_closed": followup_closed, "consultation_opened": consultation_opened,
            "consultation_answered": consultation_answered, "consultation_referred": consultation_referred,
            "consultation_overdue": consultation_overdue, "notice_issued": notice, "delegation_signed": delegation,
        }
        for kind, record in self.records.handlers().items():  # a notice is a case's and a record of its own
            on[kind] = _both(on[kind], record) if kind in on else record
        return on | self.everywhere


def _both(first: Any, then: Any) -> Any:
    def both(seq: int, at: str, d: dict[str, Any]) -> None:
        first(seq, at, d)
        then(seq, at, d)
    return both


def unreadable(data_dir: Path, fallback: str) -> UserError:
    """One line for a ledger the report cannot read wholly, naming the first bad row as `ledger verify` does
    (else `fallback`, a whole line); a report that quietly skipped it would be wrong without anyone knowing."""
    from hall_bus.store.integrity import describe, verify

    try:
        verdict = verify(data_dir)
        where = describe(verdict, data_dir) if verdict.problem is not None else None
    except LedgerError as exc:
        where = str(exc)
    if where is None:
        return UserError(fallback)
    return UserError(f"{where}; the report needs every event and stops here (the ledger is not changed)")
