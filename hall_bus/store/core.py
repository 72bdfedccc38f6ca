"""The hall core: the queue engine bound to its ledger. Every accepted command is durable before it is answered.

This is the one place commands enter the hall, whether from the scenario runner or (later) the bus server.
It owns three promises: an answer is sent only after its events are fsynced; a retried request id gets the
first answer back and changes nothing; after a restart the state is exactly what the ledger says.
"""

from __future__ import annotations

import gc
import logging
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from hall_bus.clock import Clock, NeverBackwards
from hall_bus.config import HallConfig
from hall_bus.domain.commands import CommandInvalid, parse_command
from hall_bus.domain.engine import CommandRejected, QueueEngine
from hall_bus.domain.registry import APPLIERS
from hall_bus.domain.state import HallState
from hall_bus.errors import LedgerError
from hall_bus.store.ledger import Entry, Ledger, StorageUnavailable

log = logging.getLogger(__name__)
Answer = dict[str, Any]
_SECOND = timedelta(seconds=1)
_NAIVE_EPOCH = datetime(1970, 1, 1)


@dataclass(slots=True)
class StorageFault:
    """Why the ledger takes no writes just now, and since when (epoch seconds), for `hallctl status`."""

    problem: str
    message: str
    since: float


def booking_key(data_dir: Path) -> bytes:
    """The hall's key for booking codes and ticket links, beside the ledger it vouches for: made once (0600),
    so a code signed before a restart still reads after it."""
    path = data_dir / "booking.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return path.read_bytes()


class HallCore:
    def __init__(self, config: HallConfig, data_dir: Path | str, clock: Clock) -> None:
        self.cfg = config
        self.ledger = Ledger(data_dir, hall_name=config.hall.name)
        self.booking_key = booking_key(Path(data_dir))
        self._answers: dict[str, Answer] = {}  # recent answers; the ledger holds all of them
        self.storage_fault: StorageFault | None = None
        self._stale = False  # a failed write could not be undone in memory: rebuild before the next command
        self._replayed_from = 0
        try:
            last = self.ledger.last_event_at()
            # A server passes its guarded clock (hall_clock); a scenario's or a test's clock is wrapped here.
            self.clock = clock if isinstance(clock, NeverBackwards) else NeverBackwards(clock)
            self.clock.raise_floor(datetime.fromisoformat(last) if last else None)
            self.engine = self._rebuild()
            self._check_tail()
        except LedgerError:
            self.ledger.close()
            raise
        except Exception as exc:  # whatever a damaged row makes replay raise, it is one line
            self.ledger.close()
            raise _damaged(self.ledger, exc) from None
        self._snapshot_seq = self.engine.state.seq

    # ------------------------------------------------------------------ start-up

    def _rebuild(self) -> QueueEngine:
        """State from the newest readable snapshot plus the events after it."""
        state: HallState | None = None
        for seq, data in self.ledger.snapshots():
            try:
                state = HallState.from_dict(data)
            except (KeyError, TypeError, ValueError):
                log.warning("snapshot at seq %d unreadable; trying an older one", seq)
                continue
            if state.seq != seq:
                state = None
                continue
            break
        engine = QueueEngine(self.cfg, self.clock, state, booking_key=self.booking_key)
        self._replayed_from = engine.state.seq
        replay(engine, self.ledger, after=engine.state.seq)
        return engine

    def _check_tail(self) -> None:
        """Replay reads only the events after the newest snapshot; check those are all there. A gap would
        otherwise go unnoticed and the hall would run on a state the ledger does not give."""
        start = self._replayed_from
        if start > self.ledger.last_seq:
            raise ValueError("snapshot past the last event")
        count = self.ledger.db.execute("SELECT COUNT(*) FROM events WHERE seq > ?", (start,)).fetchone()[0]
        if count != self.ledger.last_seq - start:
            raise ValueError("gap in the replayed events")

    @property
    def state(self) -> HallState:
        return self.engine.state

    def close(self) -> None:
        self.ledger.close()

    # ------------------------------------------------------------------ commands

    def submit(self, command: dict[str, Any] | BaseModel) -> Answer:
        return self.submit_batch([command])[0]

    def submit_batch(self, commands: Sequence[dict[str, Any] | BaseModel]) -> list[Answer]:
        """Run commands in order and commit all their events with one fsync (group commit).

        A bug inside the engine must not leave half-applied state behind: the prefix that succeeded is committed,
        the state is rebuilt from the ledger, and that command is answered with an internal error.
        """
        if self._stale:
            self._recover()
        answers: list[Answer | None] = [None] * len(commands)
        entries: list[tuple[int, Entry]] = []
        batch_ids: dict[str, int] = {}
        for i, raw in enumerate(commands):
            try:
                cmd = raw if isinstance(raw, BaseModel) else parse_command(raw)
            except CommandInvalid as exc:
                answers[i] = {"ok": False, "code": "invalid", "message": str(exc)}
                continue
            rid = getattr(cmd, "request_id", None)
            if rid is not None:
                try:
                    known = self._known_answer(rid)
                except StorageUnavailable as exc:  # the commands before it ran in memory only: undo them
                    self._fault(exc)
                    self._recover()
                    raise
                if known is not None:
                    answers[i] = known
                    continue
                if rid in batch_ids:  # the same request twice in one batch: the second is a retry
                    answers[i] = {"copy_of": batch_ids[rid]}  # type: ignore[dict-item]
                    continue
                batch_ids[rid] = i
            try:
                events, result = self.engine.execute(cmd)
                answer: Answer = {"ok": True, "op": cmd.op, "result": result}
            except CommandRejected as exc:
                events = exc.events
                answer = {"ok": False, "op": cmd.op, "code": exc.code, "message": exc.message}
            except Exception:
                log.exception("engine failed on %s; rebuilding state from the ledger", cmd.op)
                self._commit(entries, answers)
                entries = []
                self.engine = self._rebuild()
                answers[i] = {"ok": False, "op": cmd.op, "code": "internal_error",
                              "message": "the hall server could not process this command; it was not applied"}
                continue
            if events:
                entries.append((i, Entry(rid, events, answer)))
            else:
                # A refusal changed nothing, so it needs no fsync: it is remembered in memory only. A retry of
                # the same request id gets the same refusal back while this server runs (one answer per
                # request); after a restart a retried refusal is run again, harmlessly, since it changed nothing.
                answers[i] = {**answer, "events": []}
                if rid is not None:
                    self._answers[rid] = answers[i]  # type: ignore[assignment]
        self._commit(entries, answers)
        for i, a in enumerate(answers):
            if a is not None and "copy_of" in a:
                first = answers[a["copy_of"]]
                assert first is not None
                answers[i] = {**first, "retry": True, "events": []}
        return [a for a in answers if a is not None]

    def _known_answer(self, rid: str) -> Answer | None:
        known = self._answers.get(rid)
        if known is None:
            known = self.ledger.answer_for(rid)
        if known is None:
            return None
        return {**known, "retry": True, "events": []}  # the events were published (and printed) once

    def _commit(self, entries: list[tuple[int, Entry]], answers: list[Answer | None]) -> None:
        if not entries:
            return
        try:
            numbered = self.ledger.append(e for _, e in entries)
        except LedgerError as exc:
            # Nothing was written: drop what the engine did in memory and refuse every command in the batch.
            fault = exc if isinstance(exc, StorageUnavailable) else StorageUnavailable(
                str(exc), problem="the ledger cannot be written")
            self._fault(fault)
            self._recover()
            raise fault from None
        if self.storage_fault is not None:
            log.warning("the ledger takes writes again (it was at fault since %s: %s)",
                        time.strftime("%H:%M:%S", time.localtime(self.storage_fault.since)),
                        self.storage_fault.problem)
            self.storage_fault = None
        pos = 0
        for i, entry in entries:
            n = len(entry.events)
            entry.answer["events"] = numbered[pos:pos + n]
            pos += n
            answers[i] = entry.answer
            if entry.request_id is not None:
                self._answers[entry.request_id] = entry.answer
        if len(self._answers) > 10000:
            self._answers.clear()
        self.engine.state.seq = self.ledger.last_seq
        if self.ledger.last_seq - self._snapshot_seq >= self.cfg.hall.snapshot_every:
            try:
                self.snapshot()
            except StorageUnavailable as exc:  # the events are durable; only the shortcut for restarts waits
                self._fault(exc)

    def snapshot(self) -> None:
        state = self.engine.state
        self.ledger.save_snapshot(state.seq, self.clock.now().isoformat(timespec="seconds"), state.to_dict())
        self._snapshot_seq = state.seq

    # ------------------------------------------------------------------ storage faults

    def _fault(self, exc: StorageUnavailable) -> None:
        if self.storage_fault is None or self.storage_fault.problem != exc.problem:
            log.error("%s; commands are refused (storage_unavailable) until it takes writes again", exc)
            since = self.storage_fault.since if self.storage_fault is not None else time.time()
            self.storage_fault = StorageFault(exc.problem, str(exc), since)

    def _recover(self) -> None:
        """Rebuild the state from the ledger after a failed write; if even reading fails, say storage is
        unavailable and try again before the next command (the in-memory state is not trusted meanwhile)."""
        try:
            self.engine = self._rebuild()
            self._stale = False
        except Exception as exc:  # a read failing on a failing disk: refuse, retry later
            self._stale = True
            fault = StorageUnavailable(f"{self.ledger.path}: cannot read the ledger back: {exc}",
                                       problem="the ledger cannot be read")
            self._fault(fault)
            raise fault from None

    def retry_storage(self) -> bool:
        """While storage is at fault, try one small write; True (and the fault cleared) when it worked. Run from
        the server's heartbeat, so `hallctl status` turns healthy when space returns, without a command."""
        if self.storage_fault is None:
            return True
        try:
            if self._stale:
                self._recover()
            self.ledger.probe_write(self.clock.now().isoformat(timespec="seconds"))
        except LedgerError as exc:
            self._fault(exc if isinstance(exc, StorageUnavailable) else
                        StorageUnavailable(str(exc), problem="the ledger cannot be written"))
            return False
        log.warning("the ledger takes writes again (it was at fault since %s: %s)",
                    time.strftime("%H:%M:%S", time.localtime(self.storage_fault.since)), self.storage_fault.problem)
        self.storage_fault = None
        if self.ledger.last_seq - self._snapshot_seq >= self.cfg.hall.snapshot_every:
            try:
                self.snapshot()
            except StorageUnavailable as exc:
                self._fault(exc)
        return self.storage_fault is None


def _damaged(ledger: Ledger, exc: Exception) -> LedgerError:
    """The one line a damaged ledger gets at start-up: the first bad row, from a full verify."""
    from hall_bus.store.integrity import describe, verify

    try:
        verdict = verify(ledger.dir)
    except Exception:  # the verify failing too: fall back to what replay said
        verdict = None
    if verdict is not None and verdict.problem is not None:
        where = describe(verdict, ledger.dir)
    else:
        where = f"{ledger.path}: damaged: it cannot be replayed ({type(exc).__name__})"
    return LedgerError(f"{where}; the server does not start on a damaged ledger (see 'hallctl ledger verify "
                       f"--data {ledger.dir}')")


def replay(engine: QueueEngine, ledger: Ledger, after: int = 0, until: int | None = None) -> int:
    """Apply logged events to the engine; the hot loop of every restart, so it avoids per-event objects.

    Two costs that were not the events' own work are kept out. An event's time was `fromisoformat(at)
    .timestamp()`, 0.7 µs almost all in the aware `timestamp()`; the wall time less the epoch shifted by the same
    offset is the same timedelta, microsecond for microsecond, and dividing it by a second divides the same two
    integers `timestamp()` divides, so the float is identical (tests/test_replay_times.py), for 0.3 µs. And the
    cyclic collector is paused: replay allocates a dict per event and keeps none in a cycle, yet the collections
    those allocations set off walked the whole hall state again and again (`ticket_issued` 5.2 µs with it, 3.1
    without). See docs/benchmarks.md.
    """
    loads = orjson.loads
    appliers = APPLIERS
    state = engine.state
    fromiso = datetime.fromisoformat
    second = _SECOND
    last_at, last_ts = "", 0.0
    offset, epoch = "", _NAIVE_EPOCH  # the last "+08:00" seen, and the naive epoch shifted by it
    n = 0
    last_seq = after
    state.index_deferred = True  # a million re-placements would cost more than one build at the end
    collecting = gc.isenabled()
    gc.disable()
    try:
        for seq, _v, kind, at, data in ledger.raw_events(after, until):
            if at != last_at:
                last_at = at
                if at[-6:] == offset:
                    last_ts = (fromiso(at[:-6]) - epoch) / second
                else:
                    moment = fromiso(at)
                    last_ts = moment.timestamp()
                    shift = moment.utcoffset()
                    if shift is not None and at[-6] in "+-" and at[-3] == ":":
                        offset, epoch = at[-6:], _NAIVE_EPOCH + shift
            appliers[kind](state, last_ts, loads(data))
            last_seq = seq
            n += 1
    finally:
        if collecting:
            gc.enable()
        state.rebuild_index()
    state.seq = max(state.seq, last_seq)
    return n

