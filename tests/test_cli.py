"""hallctl as a technician runs it: real processes, real files, exit codes, and no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import EXAMPLE, ROOT


def hallctl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hall_bus.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = [
    '{"at": "2026-11-23T09:00:05+08:00", "op": "issue", "service": "医保", "group": "accompany"}',
    '{"at": "2026-11-23T09:01:00+08:00", "op": "claim_help", "help_id": "H-20261123-E001", "helper": "王芳"}',
    '{"at": "2026-11-23T09:02:00+08:00", "op": "call_next", "counter": 1}',
    '{"at": "2026-11-23T09:10:00+08:00", "op": "finish", "counter": 1, "ticket": "E001"}',
]


def test_config_check_ok() -> None:
    res = hallctl("config", "check", str(EXAMPLE))
    assert res.returncode == 0 and res.stdout.startswith("ok")


def test_config_check_bad_file_one_line_per_error(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    bad = tmp_path / "hall.toml"
    bad.write_text(text.replace('prefix = "E"', 'prefix = "e1"', 1).replace("avg_minutes = 18", "avg_minutes = -1"),
                   encoding="utf-8")
    res = hallctl("config", "check", str(bad))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    prefix_line, avg_line = line_of(text, 'prefix = "E"'), line_of(text, "avg_minutes = 18")
    assert f"{bad}:{prefix_line}: services[4].prefix" in lines[1], lines
    assert f"{bad}:{avg_line}: services[0].avg_minutes" in lines[0], lines
    # Cross-references are checked once each section is well-formed: a typo in a zone names the close match.
    bad.write_text(text.replace('zone = "business"', 'zone = "busines"', 1), encoding="utf-8")
    lines = hallctl("config", "check", str(bad)).stderr.strip().splitlines()
    zone_line = line_of(text, 'zone = "business"')
    assert len(lines) == 1 and f"{bad}:{zone_line}: counters[2].zone" in lines[0] and "business" in lines[0], lines


def test_config_missing_file(tmp_path: Path) -> None:
    res = hallctl("config", "check", str(tmp_path / "nope.toml"))
    assert res.returncode == 2 and "no such file" in res.stderr and "Traceback" not in res.stderr


def test_scenario_writes_one_event_per_line(tmp_path: Path) -> None:
    script = write(tmp_path / "s.jsonl", GOOD)
    res = hallctl("simulate", "--config", str(EXAMPLE), "--script", str(script))
    assert res.returncode == 0, res.stderr
    events = [json.loads(line) for line in res.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types == ["day_opened", "ticket_issued", "help_requested", "help_claimed", "counter_opened",
                     "ticket_called", "ticket_finished"]
    assert events[-1]["data"]["wait_s"] == 115.0


def test_scenario_with_data_dir_keeps_the_ledger(tmp_path: Path) -> None:
    script = write(tmp_path / "s.jsonl", GOOD[:1])
    data = tmp_path / "data"
    assert hallctl("simulate", "--config", str(EXAMPLE), "--script", str(script), "--data", str(data)).returncode == 0
    assert (data / "ledger.sqlite3").exists()
    more = write(tmp_path / "more.jsonl", ['{"at": "2026-11-23T09:05:00+08:00", "op": "issue", "service": "医保"}'])
    res = hallctl("simulate", "--config", str(EXAMPLE), "--script", str(more), "--data", str(data))
    issued = [e for e in map(json.loads, res.stdout.splitlines()) if e["type"] == "ticket_issued"]
    assert [e["data"]["number"] for e in issued] == ["E002"]


MALFORMED = [
    GOOD[0],
    '{"at": "2026-11-23T09:00:06+08:00", "op": "issue", "service": "医保"',  # 2: bad JSON
    '{"at": "2026-11-23T09:00:07+08:00", "op": "isue", "service": "医保"}',  # 3: unknown op
    '{"at": "2026-11-23T09:00:08+08:00", "op": "call_ticket", "counter": 10, "ticket": "E999"}',  # 4: unknown ticket
    '{"at": "2026-11-23T09:00:09+08:00", "op": "call_next", "counter": "ten"}',  # 5: wrong type
    '{"at": "2026-11-23T08:00:00+08:00", "op": "issue", "service": "医保"}',  # 6: time goes backwards
    '{"at": "2026-11-23T09:00:10+08:00", "op": "issue", "service": "人社"}',  # 7: fine
]


def test_malformed_lines_each_one_clear_error_and_skipped(tmp_path: Path) -> None:
    script = write(tmp_path / "bad.jsonl", MALFORMED)
    res = hallctl("simulate", "--config", str(EXAMPLE), "--script", str(script))
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith(f"{script}:")]
    by_line = {int(ln.split(":")[1]): ln for ln in errors if ln.split(":")[1].isdigit()}
    assert sorted(by_line) == [2, 3, 4, 5, 6]
    assert "not valid JSON" in by_line[2]
    assert "unknown op 'isue'" in by_line[3] and "issue" in by_line[3]
    assert "no ticket E999" in by_line[4]
    assert "counter" in by_line[5] and "integer" in by_line[5]
    assert "earlier than the previous line" in by_line[6]
    issued = [json.loads(x)["data"]["number"] for x in res.stdout.splitlines()
              if json.loads(x)["type"] == "ticket_issued"]
    assert issued == ["E001", "D001"]  # good lines before and after the bad ones still ran


def test_stop_on_error_stops_at_the_first_bad_line(tmp_path: Path) -> None:
    script = write(tmp_path / "bad.jsonl", MALFORMED)
    res = hallctl("simulate", "--config", str(EXAMPLE), "--script", str(script), "--stop-on-error")
    assert res.returncode == 1
    assert next(ln for ln in res.stderr.splitlines() if ln.startswith(f"{script}:")).startswith(f"{script}:2:")
    assert "D001" not in res.stdout


def test_scenario_from_stdin() -> None:
    res = hallctl("simulate", "--config", str(EXAMPLE), "--script", "-", stdin="\n".join(GOOD))
    assert res.returncode == 0 and res.stdout.count("\n") == 7


def test_day_report_json_accounts_for_every_visitor() -> None:
    res = hallctl("simulate", "--config", str(EXAMPLE), "--day", "--visitors", "300", "--seed", "3", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    for table in ("by_service", "by_group"):
        rows = report[table].values()
        assert sum(r["issued"] for r in rows) == 300
        assert all(r["issued"] == r["served"] + r["no_shows"] + r["unserved"] for r in rows)


def test_day_report_text_names_services_and_groups() -> None:
    res = hallctl("simulate", "--config", str(EXAMPLE), "--day", "--visitors", "100")
    assert res.returncode == 0
    for word in ("企业开办", "不动产", "陪同办", "推着办", "p90"):
        assert word in res.stdout


def test_simulate_needs_script_or_day() -> None:
    res = hallctl("simulate", "--config", str(EXAMPLE))
    assert res.returncode == 2 and "--script" in res.stderr and "Traceback" not in res.stderr


def test_a_second_simulated_day_on_the_same_data_is_the_next_day(tmp_path: Path) -> None:
    data = tmp_path / "data"
    args = ("simulate", "--config", str(EXAMPLE), "--day", "--visitors", "60", "--data", str(data), "--json")
    first = hallctl(*args)
    second = hallctl(*args)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert json.loads(first.stdout)["day"] == "2026-11-23" and json.loads(second.stdout)["day"] == "2026-11-24"
    assert json.loads(second.stdout)["problems"] == [] and "simulating 2026-11-24" in second.stderr
