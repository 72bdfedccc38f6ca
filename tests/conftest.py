from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hall_bus.clock import ManualClock
from hall_bus.config import HallConfig, load_config
from hall_bus.domain.commands import parse_command
from hall_bus.domain.engine import QueueEngine

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "hall.example.toml"
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="session")
def cfg() -> HallConfig:
    return load_config(EXAMPLE)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ), TZ)


AT_WINDOW = frozenset({"finish", "recall", "no_show", "start", "park", "transfer"})


class Hall:
    """The engine with a terse way to send commands, as a counter keypad or kiosk would."""

    def __init__(self, cfg: HallConfig, clock: ManualClock) -> None:
        self.cfg = cfg
        self.clock = clock
        self.engine = QueueEngine(cfg, clock)
        self.events: list[dict[str, Any]] = []

    def __call__(self, op: str, **kw: Any) -> dict[str, Any]:
        """`hall("finish", counter=10)` names the visitor at window 10, as a keypad's agent names the one its
        display shows; a test of the wrong-visitor refusal passes `ticket=` itself."""
        if op in AT_WINDOW and "ticket" not in kw and "counter" in kw:
            window = self.engine.state.counters.get(kw["counter"])
            kw["ticket"] = (window.current if window is not None else None) or "nobody"
        events, result = self.engine.execute(parse_command({"op": op, **kw}))
        self.events.extend(events)
        return result

    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @property
    def state(self):  # type: ignore[no-untyped-def]
        return self.engine.state


@pytest.fixture
def hall(cfg: HallConfig, clock: ManualClock) -> Hall:
    return Hall(cfg, clock)
