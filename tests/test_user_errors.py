"""Mistakes a new technician makes, found by trying the README from a fresh clone: each one clear line and the
documented exit code, nothing run first and lost afterwards, and never a file created where a port should be."""

from __future__ import annotations

from pathlib import Path

from .bus_helpers import hallctl
from .conftest import EXAMPLE


def test_a_server_address_with_a_scheme_or_port_is_refused_at_once() -> None:
    res = hallctl("status", "--config", str(EXAMPLE), "--server", "tcp://127.0.0.1:6000")
    assert res.returncode == 2 and "give the server's host or IP only" in res.stderr and "Traceback" not in res.stderr


def test_a_bind_address_that_is_not_an_ip_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "hall.toml"
    bad.write_text(EXAMPLE.read_text(encoding="utf-8").replace('bind = "127.0.0.1"', 'bind = "127.0.0.300"'),
                   encoding="utf-8")
    res = hallctl("config", "check", str(bad))
    assert res.returncode == 2 and "bus.bind: '127.0.0.300' is not an IP address" in res.stderr


def test_simulator_output_into_a_missing_directory_is_refused_before_it_runs(tmp_path: Path) -> None:
    missing = tmp_path / "no"
    for args in (["printer", "--out", str(missing / "p.bin")], ["board", "--png", str(missing / "b.png")]):
        res = hallctl("device", "sim", *args, "--duration", "30", timeout=20)
        assert res.returncode == 2 and "mkdir -p" in res.stderr and "Traceback" not in res.stderr


def test_a_board_frame_for_a_port_that_is_not_there_creates_no_file() -> None:
    port = Path("/dev/ttyUSB97")
    res = hallctl("device", "board", "frame", "--protocol", "pingan", "--address", "1", "A001", "--out", str(port))
    assert res.returncode == 4 and "does not exist" in res.stderr and not port.exists()


def test_the_example_script_runs_and_its_printed_events_mask_names(tmp_path: Path) -> None:
    res = hallctl("simulate", "--config", str(EXAMPLE), "--script", str(EXAMPLE.parent / "day.example.jsonl"),
                  "--data", str(tmp_path / "data"))
    assert res.returncode == 0, res.stderr
    assert '"name":"张**"' in res.stdout and "张秀英" not in res.stdout and '"notice_issued"' in res.stdout


def test_a_service_without_an_english_name_is_a_config_error_naming_it(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    bad = tmp_path / "hall.toml"
    bad.write_text(text.replace('name_en = "Real estate registration"\n', ""), encoding="utf-8")
    res = hallctl("config", "check", str(bad))
    line = text[: text.index('name = "不动产"')].count("\n") + 1
    assert res.returncode == 2 and f"{bad}:{line}: services[10].name: service '不动产' has no name_en" in res.stderr
