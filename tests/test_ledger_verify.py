"""A damaged ledger: `ledger verify` names the first bad row, the server will not start on it, `ledger salvage`
copies every good event to a new ledger without touching the original, and the report refuses it rather than
leaving a case out. No message ever shows what a damaged row held (it may be a visitor's name)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import orjson
import pytest

from hall_bus.errors import LedgerError
from hall_bus.store.core import HallCore
from hall_bus.store.integrity import salvage, verify
from hall_bus.store.ledger import LEDGER_FILE

from .bus_helpers import hallctl
from .conftest import EXAMPLE

NAME = "张秀英"  # personal data in the ledger: no message about a damaged row may show it


def day_ledger(cfg, clock, data: Path, visitors: int = 40) -> int:  # type: ignore[no-untyped-def]
    """A closed ledger of a short hall day whose cases are all finished; returns its last seq."""
    core = HallCore(cfg, data, clock)
    core.submit({"op": "open_consultation", "helper": "王芳", "name": NAME, "question": "医保转移"})
    for _ in range(visitors):
        core.submit({"op": "issue", "service": "医保"})
        clock.advance(20)
    for _ in range(visitors):
        called = core.submit({"op": "call_next", "counter": 10})["result"]["ticket"]
        clock.advance(60)
        core.submit({"op": "finish", "counter": 10, "ticket": called})
    last = core.ledger.last_seq
    core.close()
    return last


def sql(data: Path, statement: str, *params: object) -> None:
    db = sqlite3.connect(data / LEDGER_FILE)
    db.execute(statement, params)
    db.commit()
    db.close()


def seq_of(data: Path, kind: str, nth: int = 0) -> int:
    db = sqlite3.connect(data / LEDGER_FILE)
    rows = db.execute("SELECT seq FROM events WHERE type = ? ORDER BY seq", (kind,)).fetchall()
    db.close()
    return rows[nth][0]


def digest(data: Path) -> str:
    return hashlib.sha256((data / LEDGER_FILE).read_bytes()).hexdigest()


@pytest.fixture
def data(cfg, clock, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    d = tmp_path / "data"
    day_ledger(cfg, clock, d)
    return d


def test_a_whole_ledger_verifies(data: Path) -> None:
    verdict = verify(data)
    assert verdict.problem is None and verdict.events == verdict.last_seq > 100
    res = hallctl("ledger", "verify", "--data", str(data))
    assert res.returncode == 0 and "whole" in res.stdout and f"seq 1 to {verdict.last_seq}" in res.stdout


@pytest.mark.parametrize(("damage", "words"), [
    ("UPDATE events SET data = substr(data, 1, 25) WHERE seq = ?", "its data is not JSON"),
    ("UPDATE events SET data = '[1, 2]' WHERE seq = ?", "not a JSON object"),
    ("UPDATE events SET type = 'ticket_teleported' WHERE seq = ?", "unknown event type 'ticket_teleported'"),
    ("UPDATE events SET type = 'x<' || char(0) WHERE seq = ?", "unknown event type (unreadable)"),
    ("UPDATE events SET v = 7 WHERE seq = ?", "event version 7"),
    ("UPDATE events SET at = 'yesterday' WHERE seq = ?", "its time is not a date and time"),
    ("UPDATE events SET at = '2020-01-01T09:00:00+08:00' WHERE seq = ?", "before the previous event"),
])
def test_verify_names_the_first_bad_row_and_what_is_wrong(data: Path, damage: str, words: str) -> None:
    bad = seq_of(data, "consultation_opened")  # the row with the visitor's name in it
    sql(data, damage, bad)
    before = digest(data)
    res = hallctl("ledger", "verify", "--data", str(data))
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and f"damaged at seq {bad}:" in lines[0] and words in lines[0], lines
    assert NAME not in res.stderr and NAME[0] not in res.stderr
    assert digest(data) == before  # verify reads only


def test_a_gap_and_an_event_that_cannot_be_applied(data: Path) -> None:
    called = seq_of(data, "ticket_called", 3)
    sql(data, "UPDATE events SET data = '{\"counter\": 10}' WHERE seq = ?", called)
    assert str(verify(data).problem) == (f"seq {called}: ticket_called: the event cannot be applied to the hall as "
                                         "the events before it left it (no 'ticket' in its data or in the hall)")
    issued = seq_of(data, "ticket_issued", 5)
    sql(data, "DELETE FROM events WHERE seq IN (?, ?)", issued, issued + 1)
    problem = verify(data).problem
    assert problem is not None and problem.seq == issued
    assert f"seqs {issued} to {issued + 1} not in the ledger (a gap" in problem.what


def flip_a_page(data: Path, seq: int) -> None:
    """Overwrite the header of the b-tree page holding event `seq`, as a failing disk or a bad copy would."""
    db = sqlite3.connect(data / LEDGER_FILE)
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    marker = db.execute("SELECT data FROM events WHERE seq = ?", (seq,)).fetchone()[0].encode()
    db.close()
    raw = bytearray((data / LEDGER_FILE).read_bytes())
    at = raw.index(marker)
    page = at - at % page_size
    raw[page:page + 8] = b"\xa5" * 8
    (data / LEDGER_FILE).write_bytes(bytes(raw))


def test_a_page_flipped_on_disk_is_named_and_salvage_keeps_the_rest(cfg, clock, data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    last = verify(data).last_seq
    middle = seq_of(data, "ticket_finished", 20)
    flip_a_page(data, middle)
    verdict = verify(data)
    assert verdict.problem is not None and "damaged on disk" in verdict.problem.what
    assert verdict.problem.seq is not None and verdict.problem.seq <= middle
    before = digest(data)
    res = hallctl("ledger", "salvage", "--data", str(data), "--out", str(tmp_path / "new"))
    assert res.returncode == 0, res.stderr
    assert "left out" in res.stdout and "damaged on disk" in res.stdout and NAME not in res.stdout
    assert digest(data) == before and not (data / "ledger.sqlite3-wal").exists()
    good = verify(tmp_path / "new")
    lost = last - good.events
    assert good.problem is None and 0 < lost < last // 2  # one page's rows, not everything after it
    with pytest.raises(LedgerError, match=f"damaged at seq {verdict.problem.seq}: the SQLite file is damaged"):
        HallCore(cfg, data, clock)  # and the server will not start on it


def test_salvage_copies_every_good_event_and_never_touches_the_original(cfg, clock, data: Path,  # type: ignore[no-untyped-def]
                                                                        tmp_path: Path) -> None:
    last = verify(data).last_seq
    bad = seq_of(data, "ticket_issued", 7)
    sql(data, "UPDATE events SET data = '{\"ticket\": ' WHERE seq = ?", bad)
    before = digest(data)
    result = salvage(data, tmp_path / "new")
    assert digest(data) == before
    # The damaged issue is left out, and so is what cannot follow it (its call and its finish).
    assert result.left_out[0].seq == bad
    assert all("cannot be applied" in p.what for p in result.left_out[1:])
    assert result.kept == last - len(result.left_out)
    assert verify(tmp_path / "new").problem is None
    core = HallCore(cfg, tmp_path / "new", clock)  # the server starts on the salvaged ledger
    assert core.state.seq == result.kept
    assert core.submit({"op": "issue", "service": "医保"})["ok"]
    core.close()


def test_salvage_refuses_an_out_directory_that_holds_a_ledger(data: Path, tmp_path: Path) -> None:
    res = hallctl("ledger", "salvage", "--data", str(data), "--out", str(data))
    assert res.returncode == 2 and "the damaged ledger's own directory" in res.stderr
    assert hallctl("ledger", "salvage", "--data", str(data), "--out", str(tmp_path / "new")).returncode == 0
    res = hallctl("ledger", "salvage", "--data", str(data), "--out", str(tmp_path / "new"))
    assert res.returncode == 2 and "already holds a ledger" in res.stderr
    res = hallctl("ledger", "verify", "--data", str(tmp_path / "nowhere"))
    assert res.returncode == 2 and "no such directory" in res.stderr and "Traceback" not in res.stderr


def test_salvage_refuses_a_ledger_in_use(cfg, clock, data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    core = HallCore(cfg, data, clock)
    try:
        res = hallctl("ledger", "salvage", "--data", str(data), "--out", str(tmp_path / "new"))
        assert res.returncode == 2 and "in use by a running program (pid" in res.stderr
        assert hallctl("ledger", "verify", "--data", str(data)).returncode == 0  # verify reads beside it
    finally:
        core.close()


@pytest.mark.parametrize("damage", [
    "UPDATE events SET data = 'not json' WHERE seq = ?",
    "UPDATE events SET type = 'ticket_teleported' WHERE seq = ?",
    "DELETE FROM events WHERE seq = ?",
])
def test_the_server_does_not_start_on_a_damaged_ledger(cfg, clock, data: Path, damage: str) -> None:  # type: ignore[no-untyped-def]
    bad = seq_of(data, "ticket_called", 2)
    sql(data, damage, bad)
    with pytest.raises(LedgerError, match=f"damaged at seq {bad}: .*the server does not start"):
        HallCore(cfg, data, clock)
    res = hallctl("server", "--config", str(EXAMPLE), "--data", str(data), "--insecure",
                  "--commands", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*")
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and f"damaged at seq {bad}" in lines[0], res.stderr
    assert "hallctl ledger salvage" in lines[0]


def test_the_server_does_not_start_when_events_after_the_snapshot_are_gone(cfg, clock, data: Path) -> None:  # type: ignore[no-untyped-def]
    core = HallCore(cfg, data, clock)
    core.snapshot()
    core.close()
    last = verify(data).last_seq
    sql(data, "DELETE FROM events WHERE seq > ?", last - 5)  # a snapshot newer than the events
    with pytest.raises(LedgerError, match="damaged"):
        HallCore(cfg, data, clock)


def report_ledger(tmp: Path, visitors: int) -> Path:
    lines = []
    for i in range(visitors):
        lines.append({"at": f"2026-11-23T09:{i // 60:02d}:{i % 60:02d}+08:00", "op": "issue", "service": "医保"})
    script = tmp / "day.jsonl"
    script.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
    res = hallctl("simulate", "--config", str(EXAMPLE), "--script", str(script), "--data", str(tmp / "data"))
    assert res.returncode == 0, res.stderr
    return tmp / "data"


@pytest.mark.parametrize("damage", [
    "DELETE FROM events WHERE seq = ?",
    "UPDATE events SET type = 'ticket_teleported' WHERE seq = ?",
    "UPDATE events SET data = '{' WHERE seq = ?",
    "UPDATE events SET data = '{}' WHERE seq = ?",
])
def test_the_report_refuses_a_ledger_it_cannot_read_wholly(tmp_path: Path, damage: str) -> None:
    data = report_ledger(tmp_path, 60)
    args = ("report", "--config", str(EXAMPLE), "--data", str(data), "--from", "2026-11-23", "--to", "2026-11-23",
            "--out", str(tmp_path / "r.xlsx"))
    ok = hallctl(*args, timeout=120)
    assert ok.returncode == 0 and "60 cases" in ok.stdout, ok.stderr
    (tmp_path / "r.xlsx").unlink()
    bad = seq_of(data, "ticket_issued", 30)
    sql(data, damage, bad)
    res = hallctl(*args, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert f"damaged at seq {bad}" in res.stderr and "the report needs every event" in res.stderr
    assert not (tmp_path / "r.xlsx").exists()  # no report of 59 cases
