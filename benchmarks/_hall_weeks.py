"""A hall's year made quickly: one block of days simulated through the real engine, then copied on, block after
block, with every date and per-hall record serial moved on.

Shared by bench_report.py (one busy hall's ledger) and bench_county.py (every site of a county), so both measure
the same kind of events. Simulating a year day by day would take as long as the measurement; a block of a week
keeps what matters to a reader of the ledger — visits, 办件 accepted at them and carried on over the following
days (办结, 补正, 出件, 归档), complaints and tablet records — in the proportions the engine makes them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import orjson

from hall_bus.clock import ManualClock
from hall_bus.config import load_config
from hall_bus.domain.engine import QueueEngine
from hall_bus.sim.daysim import DayPlan, engine_submitter, run_day

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "hall.example.toml"
FIRST = date(2026, 1, 5)  # a Monday
BLOCK = 7  # a week: 承诺件 accepted on Monday are concluded later that week, as in the hall
DATE = re.compile(r"2026-\d\d-\d\d|2026\d{4}")  # ISO and compact dates (in ticket ids and case numbers)
RECORD_ID = re.compile(r'"(FU|N|D|CP|C)-')  # per-hall serials: numbered again in each copied block

Row = tuple[str, str, str]  # (type, at, data JSON text) of one event, as the ledger holds it


def template_days(visitors: int, days: int, *, seed: int = 11, helpers: int = 12) -> list[list[Row]]:
    """(type, at, data-json) of each of up to BLOCK simulated hall days from FIRST, without their day_opened:
    visits and the cases accepted at them, carried on over the days after (办结, 补正, 出件, 归档), complaints and
    tablet records — through the real engine, one state for the block."""
    cfg = load_config(CONFIG)
    clock = ManualClock(datetime.combine(FIRST, datetime.min.time(), cfg.hall.tz), cfg.hall.tz)
    engine = QueueEngine(cfg, clock)
    out = []
    for k in range(min(BLOCK, days)):
        sink: list[dict] = []
        run_day(cfg, DayPlan(day=FIRST + timedelta(days=k), seed=seed + k, visitors=visitors, helpers=helpers),
                submit=engine_submitter(engine, sink), clock=clock, state=lambda: engine.state)
        out.append([(e["type"], e["at"], orjson.dumps(e["data"]).decode()) for e in sink if e["type"] != "day_opened"])
    return out


def _shifter(days: int) -> Callable[[str], str]:
    """Moves every date in a text on by `days` (a cache: the template holds a few dozen distinct dates)."""
    seen: dict[str, str] = {}

    def moved(m: re.Match[str]) -> str:
        text = m.group(0)
        if text not in seen:
            dashed = "-" in text
            d = date.fromisoformat(text if dashed else f"{text[:4]}-{text[4:6]}-{text[6:]}") + timedelta(days=days)
            seen[text] = d.isoformat() if dashed else d.strftime("%Y%m%d")
        return seen[text]

    return lambda text: DATE.sub(moved, text)


def copier(days: int, tag: str) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """(for `at`, for data): the block's texts moved on by `days`, its record serials tagged with `tag` (so the
    copies' complaints, follow-ups and notices are new records, not the template's again)."""
    shift = _shifter(days)

    def renumber(m: re.Match[str]) -> str:
        return f'"{m.group(1)}{tag}'

    return shift, lambda text: RECORD_ID.sub(renumber, shift(text))


def day_opened(day: date, previous: date | None) -> Row:
    """The event that opens a hall day, as the server writes it (the hall's day before named, nothing expired)."""
    d = day.isoformat()
    return ("day_opened", f"{d}T08:30:00.000+08:00",
            orjson.dumps({"day": d, "previous": previous and previous.isoformat(), "expired": []}).decode())
