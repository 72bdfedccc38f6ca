"""The hall-wide check of RS-485 keypad lines: every device table on one port must describe the same line, with
its own address, and rating pads only on ff68 lines. Pure: the tables as the hall file gives them."""

from __future__ import annotations

from typing import Any

from devices.keypad.options import line_problems


def keypad(name: str, port: str = "/dev/ttyUSB0", address: int = 1, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": "keypad-serial", "port": port, "address": address, **kw}


def pad(name: str, port: str = "/dev/ttyUSB0", address: int = 11, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": "eval-pad", "port": port, "address": address, **kw}


def test_a_consistent_hall_has_no_problems() -> None:
    tables = [keypad("k1", protocol="ff68"), keypad("k2", address=2, protocol="ff68", baudrate=9600), pad("e1"),
              keypad("k3", port="/dev/ttyUSB1", address=1), keypad("k4", port="/dev/ttyUSB1", address=2),
              {"name": "printer", "type": "printer-escpos", "port": "/dev/ttyUSB0"}]
    assert line_problems(tables) == []
    assert line_problems([]) == []


def test_a_default_qsystem_keypad_and_a_pad_on_one_port() -> None:
    problems = line_problems([keypad("k1"), pad("e1")])
    assert [i for i, _ in problems] == [1]  # reported on the pad, once: not also as a protocol disagreement
    assert "qsystem line" in problems[0][1] and "'k1'" in problems[0][1] and 'protocol = "ff68"' in problems[0][1]
    # the pad first in the file: still the pad that cannot work there
    assert [i for i, _ in line_problems([pad("e1"), keypad("k1")])] == [0]


def test_line_keys_must_agree_on_a_port() -> None:
    tables = [keypad("k1", protocol="ff68"), keypad("k2", address=2, protocol="ff68", gap_ms=20),
              pad("e1", baudrate=19200, poll_seconds=0), keypad("k3", address=3, protocol="ff68", missed_polls=5)]
    problems = dict(line_problems(tables))
    assert sorted(problems) == [1, 2, 3]
    assert "gap_ms 20 here, 50 on keypad 'k1'" in problems[1]
    assert "baudrate 19200" in problems[2] and "poll_seconds 0" in problems[2]
    assert "missed_polls 5" in problems[3] and "same protocol, baudrate, gap_ms" in problems[3]
    two = dict(line_problems([keypad("k1"), keypad("k2", address=2, protocol="ff68")]))
    assert list(two) == [1] and "protocol 'ff68' here, 'qsystem' on keypad 'k1'" in two[1]


def test_one_address_twice_on_a_port_but_not_on_two_ports() -> None:
    tables = [keypad("k1"), keypad("k2", port="/dev/ttyUSB1"), keypad("k3", protocol="qsystem")]
    problems = line_problems(tables)
    assert [i for i, _ in problems] == [2]
    assert "'k3' and keypad 'k1' are both at address 1 on /dev/ttyUSB0" in problems[0][1]
    mixed = line_problems([keypad("k1", protocol="ff68", address=9), pad("e1", address=9)])
    assert [i for i, _ in mixed] == [1] and "address 9" in mixed[0][1]


def test_indices_are_the_callers_and_malformed_tables_are_left_to_the_options_check() -> None:
    tables = [{"name": "cam", "type": "camera-v4l2"}, keypad("k1"), {"name": "x", "type": "keypad-serial"},
              keypad("k2", address="one"), pad("e1", port="/dev/ttyUSB0")]  # type: ignore[arg-type]
    assert line_problems(tables) == [(4, line_problems([keypad("k1"), pad("e1")])[0][1])]
    assert line_problems([pad("e1", protocol="qsystem")])[0][0] == 0  # a pad that says qsystem, alone


def test_config_check_names_a_pad_and_keypad_that_cannot_share_their_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .bus_helpers import hallctl
    from .conftest import EXAMPLE

    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'devices = [{ name = "keypad", type = "keypad-serial", port = "/dev/ttyS1", address = 5 }]',
        'devices = [{ name = "keypad", type = "keypad-serial", port = "/dev/ttyS1", address = 5 },\n'
        '  { name = "pad", type = "eval-pad", port = "/dev/ttyS1", address = 5 }]')
    bad = tmp_path / "hall.toml"
    bad.write_text(text, encoding="utf-8")
    res = hallctl("config", "check", str(bad))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "rating pad 'pad' is on a qsystem line" in res.stderr and "both at address 5" in res.stderr
