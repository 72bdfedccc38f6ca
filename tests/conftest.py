from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hall_bus.clock import ManualClock
from hall_bus.config import HallConfig, load_config
from hall_bus.county.pgcluster import Cluster, create_database, drop_database, start_cluster, stop_cluster
from hall_bus.domain.commands import parse_command
from hall_bus.domain.engine import QueueEngine
from hall_bus.errors import UserError

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


# --- PostgreSQL (the county hub) ----------------------------------------------------------------------------------
# A real server, Debian's package: one throwaway cluster for the whole session, a fresh database per test. Without
# PostgreSQL installed these tests fail with the one line saying what to install; they are never skipped, because
# the hub has no other store to test against.

PG_FIXTURES = frozenset({"pg_cluster", "pg_dsn", "pg_dir"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses PostgreSQL carries the `pg` marker (`-m "not pg"` leaves them out)."""
    for item in items:
        if PG_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.pg)


def _start_or_fail(root: Path) -> Cluster:
    """The one line saying what to install (or what else is wrong), without a traceback or a chained one."""
    try:
        return start_cluster(root, durable=False)
    except UserError as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)


@contextmanager
def _pg_tmp_dir(prefix: str) -> Iterator[Path]:
    """A new directory outside pytest's tmp_path: when the tests run as root the server runs as `postgres`,
    who cannot pass root's 0700 /tmp/pytest-of-root. Any cluster left running in it is stopped on the way out."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield root
    finally:
        if (root / "cluster.json").exists():
            with suppress(UserError):
                stop_cluster(root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One cluster for the session (fsync off: it is thrown away), stopped at the end however the tests went."""
    with _pg_tmp_dir("hall-pg-session-") as root:
        yield _start_or_fail(root)


@pytest.fixture
def pg_dsn(pg_cluster: Cluster) -> Iterator[str]:
    """A DSN (superuser) to a new, empty database of this test's own, dropped after it."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    create_database(pg_cluster, name)
    try:
        yield pg_cluster.dsn(name)
    finally:
        drop_database(pg_cluster, name)


@pytest.fixture
def pg_dir() -> Iterator[Path]:
    """An empty directory for a test's own cluster (one that starts, stops or breaks it); any cluster still
    running in it is stopped afterwards."""
    with _pg_tmp_dir("hall-pg-") as root:
        yield root
