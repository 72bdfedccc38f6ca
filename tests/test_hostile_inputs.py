"""Hostile or clumsy input, as a person gives it to `hallctl`: each gets one line saying what and where, exit 2
(or the command's documented code), no traceback, and nothing already stored is lost."""

from __future__ import annotations

import json
from pathlib import Path

from .bus_helpers import hallctl
from .conftest import EXAMPLE

DAY = "2026-11-23T09:00:00+08:00"


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    return lines[0]


# ---------------------------------------------------------------- 1. scenario lines


def test_scenario_lines_nested_100000_deep_or_with_a_5000_digit_number(tmp_path: Path) -> None:
    script = tmp_path / "day.jsonl"
    good = json.dumps({"at": DAY, "op": "issue", "service": "医保"}, ensure_ascii=False)
    script.write_text("\n".join([good, "[" * 100_000, '{"op": "call_next", "counter": ' + "9" * 5000 + "}",
                                 '{"op": "issue", "service": "' + "x" * 100_000 + '"}',
                                 '{"op": "call_next", "counter": 10}']) + "\n", encoding="utf-8")
    data = tmp_path / "data"
    res = hallctl("simulate", "--config", str(EXAMPLE), "--script", str(script), "--data", str(data))
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.splitlines()
    assert lines[0] == f"{script}:2: arrays or objects nested too deeply; a command needs at most two levels"
    assert lines[1].startswith(f"{script}:3: a number with more than 4300 digits")
    assert lines[2].startswith(f"{script}:4: issue refused (unknown_service)") and len(lines[2]) < 600
    assert len(lines) == 4  # and the summary line
    events = [json.loads(x) for x in res.stdout.splitlines()]
    assert [e["type"] for e in events if e["type"] in ("ticket_issued", "ticket_called")] == \
        ["ticket_issued", "ticket_called"]  # the good lines around the bad ones ran and are in the ledger
