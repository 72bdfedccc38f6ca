"""The report against what people type: a visitor's words with markup characters, outputs named twice, dates
out of any hall's range — each handled, and the ledger never touched."""

from __future__ import annotations

import json
from pathlib import Path

from .bus_helpers import hallctl
from .conftest import EXAMPLE

LINES = [
    {"at": "2026-11-23T09:00:05+08:00", "op": "issue", "service": "医保"},
    {"at": "2026-11-23T09:01:00+08:00", "op": "open_consultation", "helper": "王芳", "name": "张秀英",
     "question": "问<b>题 & <font color=white>隐藏</font>？"},
    {"at": "2026-11-23T09:02:00+08:00", "op": "call_next", "counter": 10},
    {"at": "2026-11-23T09:10:00+08:00", "op": "finish", "counter": 10, "ticket": "E001", "outcome": "refused",
     "reason": "a<b & c"},
]


def ledger(tmp: Path) -> Path:
    script = tmp / "day.jsonl"
    script.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in LINES) + "\n", encoding="utf-8")
    res = hallctl("simulate", "--config", str(EXAMPLE), "--script", str(script), "--data", str(tmp / "data"))
    assert res.returncode == 0, res.stderr
    return tmp / "data"


def report(data: Path, *args: str) -> object:
    return hallctl("report", "--config", str(EXAMPLE), "--data", str(data), "--from", "2026-11-23",
                   "--to", "2026-11-23", *args, timeout=120)


def test_a_visitors_words_with_markup_characters_print_as_words(tmp_path: Path) -> None:
    data = ledger(tmp_path)
    res = report(data, "--out", str(tmp_path / "r.pdf"), "--out", str(tmp_path / "r.xlsx"))
    assert res.returncode == 0, res.stderr  # type: ignore[attr-defined]
    assert (tmp_path / "r.pdf").stat().st_size > 10_000 and (tmp_path / "r.xlsx").exists()


def test_outputs_and_dates_a_report_cannot_honour_are_refused_before_reading(tmp_path: Path) -> None:
    data = ledger(tmp_path)
    twice = report(data, "--out", str(tmp_path / "a.xlsx"), "--out", str(tmp_path / "b.xlsx"))
    assert twice.returncode == 2 and "one .xlsx per run" in twice.stderr  # type: ignore[attr-defined]
    far = hallctl("report", "--config", str(EXAMPLE), "--data", str(data), "--from", "2026-11-23",
                  "--to", "9999-12-31", "--out", str(tmp_path / "x.pdf"))
    assert far.returncode == 2 and "between 2000 and 2999" in far.stderr and "Traceback" not in far.stderr
    assert not list(tmp_path.glob("*.xlsx")) and not list(tmp_path.glob("x.pdf"))
