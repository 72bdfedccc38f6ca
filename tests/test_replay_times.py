"""Replay and the report read an event's time without `timestamp()` (a third of its own cost): the float must be
the very one `datetime.fromisoformat(at).timestamp()` gives, for every offset and form a ledger may hold."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hall_bus.domain.registry import APPLIERS
from hall_bus.store.core import replay
from hall_bus.store.ledger import Entry, Ledger

TIMES = [
    "2026-11-23T09:00:00.000+08:00",
    "2026-11-23T09:00:00.000+08:00",  # the same time twice: read once
    "2026-11-23T09:00:00.001+08:00",
    "2026-11-23T23:59:59.999+08:00",
    "2026-11-24T00:00:00.000+08:00",
    "2026-11-24T00:00:00.123456+08:00",  # microseconds
    "2026-11-24T00:00:01+08:00",  # no fraction
    "2026-11-23T20:00:00.000-05:00",  # another offset, then back
    "2026-11-23T20:00:00.000+05:45",
    "2026-11-24T09:00:00.000+08:00",
    "2026-11-24T01:00:00.000Z",
    "2026-11-24T01:00:00.000+00:00",
    "1969-12-31T23:59:59.999+08:00",  # before the epoch
    "2026-11-24T09:30:00.000+08:00",
]


def test_replayed_event_times_are_exactly_fromisoformat_timestamp(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []

    def probe(_state: Any, ts: float, _data: dict[str, Any]) -> None:
        seen.append(ts)

    monkeypatch.setitem(APPLIERS, "probe", probe)
    ledger = Ledger(tmp_path)
    ledger.append([Entry(None, [{"type": "probe", "at": at, "data": {}} for at in TIMES], {})])

    class Engine:
        state = type("S", (), {"index_deferred": False, "seq": 0, "rebuild_index": lambda self: None})()

    assert replay(Engine(), ledger) == len(TIMES)  # type: ignore[arg-type]
    ledger.close()
    assert seen == [datetime.fromisoformat(at).timestamp() for at in TIMES]


def test_the_reports_event_times_are_exactly_fromisoformat_timestamp() -> None:
    from hall_bus.clock import EventTimes

    times = EventTimes()
    assert [times.ts(at) for at in TIMES] == [datetime.fromisoformat(at).timestamp() for at in TIMES]
    with pytest.raises(ValueError):
        times.ts("")
    with pytest.raises(ValueError):
        times.ts("张三 人民路+08:00")  # a damaged time is refused as fromisoformat refuses it
