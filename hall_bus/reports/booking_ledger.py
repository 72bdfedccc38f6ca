"""The bookings of some hall days straight from the ledger, for the commands that need only them (`hallctl
homevisit routes`, `hallctl bookings`): the report's own read-only path (LedgerSnapshot) and its own handlers
(bookings.BookingBook), so the morning list, the route sheets and the 台账 cannot tell a booking's story apart.

The ledger is the only place the whole address is kept (the bus carries it masked), and reading it needs no
server: a supervisor's account with read access to the data directory will do, while the server writes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import orjson

from hall_bus.config import HallConfig
from hall_bus.errors import UserError
from hall_bus.reports.bookings import BOOKING_EVENTS, BookingBook, BookingRow
from hall_bus.reports.cases import DAMAGE, LedgerSnapshot, damaged, unreadable


@dataclass
class LedgerBookings:
    rows: list[BookingRow]  # the days' bookings by booked time, as they stand at the newest event
    staff: dict[str, str]  # staff id → name, from the roster in the ledger
    as_of: str  # the newest event's time, ISO ("" for an empty ledger)

    def name_of(self, staff: str) -> str:
        return self.staff.get(staff, staff)


def read_bookings(cfg: HallConfig, data_dir: Path | str, first: date, last: date) -> LedgerBookings:
    """Every booking for hall days `first`..`last`; a wrong --data, a ledger of another hall or a damaged one is
    one line (UserError), never a traceback."""
    snap = LedgerSnapshot(data_dir)
    try:
        if snap.hall and snap.hall != cfg.hall.name:
            raise UserError(f"{snap.path}: this ledger belongs to {snap.hall!r}, not {cfg.hall.name!r} "
                            "(wrong --config or --data?)")
        snap.check_whole(0)  # a booking's event missing would drop a visit from a helper's sheet, silently
        book = BookingBook(cfg.hall.tz, cfg.hall.day_rollover, first.isoformat(), last.isoformat())
        on = book.handlers()
        staff: dict[str, str] = {}
        for seq, kind, _at, data in snap.rows(0, snap.last_seq, (*BOOKING_EVENTS, "staff_added")):
            try:
                d = orjson.loads(data)
                if kind == "staff_added":
                    staff[str(d["staff"])] = str(d["name"])
                else:
                    on[kind](seq, _at, d)
            except DAMAGE as exc:
                raise unreadable(snap.path.parent, damaged(snap.path, f"event {seq} ({kind})", exc)) from None
        return LedgerBookings(book.rows(), staff, snap.last_at or "")
    except sqlite3.Error as exc:
        raise UserError(f"{snap.path}: cannot read the ledger: {exc}") from None
    finally:
        snap.close()
