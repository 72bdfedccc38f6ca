"""Device tables in the hall file are checked strictly by their kind's options model, with the line to fix."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest

from devices.registry import KINDS, TYPES, option_problems
from hall_bus.config import load_config, parse_config
from hall_bus.errors import ConfigError

from .conftest import EXAMPLE, ROOT

USB_PRINTER = ('{ name = "printer", type = "escpos-usb", vendor_id = 0x0416, product_id = 0x5011, '
               'profile = "generic-80" }')


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(("new", "needle", "message"), [
    ('{ name = "printer", type = "escpos-usbb", vendor_id = 0x0416, product_id = 0x5011 }', "escpos-usbb",
     "nodes[0].devices[0].type: unknown device type 'escpos-usbb' (did you mean 'escpos-usb'?)"),
    ('{ name = "printer", type = "escpos-usb", vendor_id = 0x0416, product_id = 0x5011, profil = "generic-58" }',
     "profil", "nodes[0].devices[0].profil: unknown key for escpos-usb (did you mean 'profile'?)"),
    ('{ name = "printer", type = "escpos-usb", vendor_id = 0x0416, product_id = 0x5011, profile = "nope" }',
     "profile", "nodes[0].devices[0].profile: unknown printer profile 'nope'; known: generic-80"),
    ('{ name = "printer", type = "escpos-usb", vendor_id = 0x10416, product_id = 0x5011 }', "vendor_id",
     "nodes[0].devices[0].vendor_id: Input should be less than or equal to 65535, got 66582"),
])
def test_a_wrong_device_table_names_file_line_and_key(tmp_path: Path, new: str, needle: str, message: str) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(USB_PRINTER, new)
    hall = tmp_path / "hall.toml"
    hall.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        parse_config(text, str(hall))
    line = line_of(text, needle)
    assert any(ln.startswith(f"{hall}:{line}: {message}") for ln in info.value.lines), info.value.lines
    res = subprocess.run([sys.executable, "-m", "hall_bus.cli", "config", "check", str(hall)], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 2 and res.stderr.startswith(f"{hall}:{line}: {message}") and "Traceback" not in res.stderr


def test_device_tables_written_as_arrays_of_tables_are_placed_too() -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        '[[nodes]]\nid = "display-1"\nrole = "display"\n',
        '[[nodes]]\nid = "display-1"\nrole = "display"\n\n[[nodes.devices]]\nname = "printer"\n'
        'type = "escpos-file"\npath = "/tmp/t.bin"\nprofile = "generic-80"\n\n[[nodes.devices]]\nname = "cam"\n'
        'type = "doc-camera"\nsorce = "0"\n')
    assert "sorce" in text
    with pytest.raises(ConfigError) as info:
        parse_config(text, "hall.toml")
    assert info.value.lines == [f"hall.toml:{line_of(text, 'sorce')}: nodes[7].devices[1].sorce: unknown key for "
                                "doc-camera (did you mean 'source'?); known: source, width, height"]


def test_every_type_belongs_to_exactly_one_kind_and_strings_read_as_hex_usb_ids() -> None:
    assert sum(len(k.types) for k in KINDS) == len(TYPES)
    assert option_problems("sam-usb", {"vendor_id": "0400", "product_id": "0xC35A"}) == []
    assert option_problems("sam-usb", {"vendor_id": "04zz"})[0][0] == ("vendor_id",)
    assert option_problems("escpos-serial", {"port": "/dev/ttyS0", "baudrate": 9601})[0][0] == ("baudrate",)


def test_the_example_hall_only_points_devices_at_loopback() -> None:
    """Tests, probes, benchmarks and the demo talk only to 127.0.0.1: the example hall must never send them
    to a LAN address (a real printer in someone's hall)."""
    cfg = load_config(EXAMPLE)
    seen = 0
    for node in cfg.nodes:
        for device in node.devices:
            options = device.model_extra or {}
            hosts = [options["host"]] if "host" in options else []
            hosts += [str(v).split("://", 1)[1].rsplit(":", 1)[0] for v in options.values() if "://" in str(v)]
            for host in hosts:
                seen += 1
                assert ipaddress.ip_address(host).is_loopback, f"{node.id}/{device.name}: {host}"
    assert seen >= 1  # the example does show a network printer, on the loopback simulator
