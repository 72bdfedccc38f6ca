"""`hallctl device …` as the technician runs it, against simulators on real ptys and files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from pyzbar.pyzbar import decode as zbar_decode

from devices.camera.simulator import DEFAULT_QR, write_video
from devices.idcard.simulator import IdCardSimulator, load_cards

from .conftest import EXAMPLE, ROOT

CARDS = load_cards(ROOT / "assets" / "idcard" / "cards.example.json")


def hallctl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hall_bus.cli", "device", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


@pytest.fixture
def sim():  # type: ignore[no-untyped-def]
    with IdCardSimulator(CARDS) as s:
        yield s


def test_idcard_read_masked_by_default(sim) -> None:  # type: ignore[no-untyped-def]
    sim.insert(0)
    res = hallctl("idcard", "read", "--port", sim.path, "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["name"] == "张**" and info["id_number"] == "4101**********0025" and info["sex"] == "女"
    assert info["birth"] == "1952" and info["card_type"] == "resident" and info["age"] >= 74
    assert "410127195203140025" not in res.stdout + res.stderr
    shown = hallctl("idcard", "read", "--port", sim.path, "--show-id")
    assert shown.returncode == 0 and "410127195203140025" in shown.stdout and "张秀英" in shown.stdout


def test_idcard_read_exit_codes(sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = hallctl("idcard", "read", "--port", sim.path)
    assert empty.returncode == 3 and "no card" in empty.stderr
    missing = hallctl("idcard", "read", "--port", "/dev/ttyNOPE9")
    assert missing.returncode == 4 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    sim.insert(6)  # a card whose ID number fails the MOD 11-2 check
    forged = hallctl("idcard", "read", "--port", sim.path)
    assert forged.returncode == 5 and "check digit" in forged.stderr
    sim.insert(0)
    sim.inject("checksum", times=5)
    bad = hallctl("idcard", "read", "--port", sim.path, "--timeout", "1")
    assert bad.returncode == 5 and "checksum" in bad.stderr and "Traceback" not in bad.stderr


def test_silent_reader(sim) -> None:  # type: ignore[no-untyped-def]
    sim.inject("timeout", times=5)
    res = hallctl("idcard", "read", "--port", sim.path, "--timeout", "0.5")
    assert res.returncode == 4 and "no answer" in res.stderr


def test_printer_preview(tmp_path: Path) -> None:
    out = tmp_path / "ticket.png"
    res = hallctl("printer", "preview", "--out", str(out), "--config", str(EXAMPLE))
    assert res.returncode == 0, res.stderr
    img = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)
    assert [r.data for r in zbar_decode(img)] == [b"20261123-E007"]
    bad = hallctl("printer", "preview", "--out", str(tmp_path / "t.png"), "--profile", "nope")
    assert bad.returncode == 2 and "unknown printer profile" in bad.stderr


def test_camera_snap_and_scan(tmp_path: Path) -> None:
    video = write_video(tmp_path / "desk.avi", frames=2, width=1632, height=1224)
    pdf = tmp_path / "page.pdf"
    res = hallctl("camera", "snap", "--source", str(video), "--document", "--out", str(pdf))
    assert res.returncode == 0, res.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    scan = hallctl("camera", "scan", "--source", str(video))
    assert scan.returncode == 0 and scan.stdout.strip() == f"QRCODE\t{DEFAULT_QR}"
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((480, 640, 3), 90, np.uint8))
    none = hallctl("camera", "snap", "--source", str(blank), "--document", "--out", str(tmp_path / "x.jpg"))
    assert none.returncode == 3 and "no document" in none.stderr
    nocam = hallctl("camera", "scan", "--source", str(tmp_path / "missing.avi"))
    assert nocam.returncode == 4


def test_probe_configured_devices(sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('{ name = "idcard", type = "sam-serial", port = "/dev/ttyUSB0", baudrate = 115200 }',
                        f'{{ name = "idcard", type = "sam-serial", port = "{sim.path}", baudrate = 115200 }}')
    text = text.replace('{ name = "printer", type = "escpos-usb", vendor_id = 0x0416, product_id = 0x5011, '
                        'profile = "generic-80" }',
                        f'{{ name = "printer", type = "escpos-file", path = "{tmp_path / "out.bin"}" }}')
    config = tmp_path / "hall.toml"
    config.write_text(text.replace('catalogue = "catalogue.example.toml"', ""), encoding="utf-8")
    res = hallctl("probe", "kiosk-1/idcard", "--config", str(config))
    assert res.returncode == 0, res.stdout
    assert "SAM status" in res.stdout and "FAIL" not in res.stdout
    sim.inject("sam_failure")
    failing = hallctl("probe", "kiosk-1/idcard", "--config", str(config))
    assert failing.returncode == 1 and "FAIL" in failing.stdout and "power-cycle" in failing.stdout
    printer = hallctl("probe", "kiosk-1/printer", "--config", str(config))
    assert printer.returncode == 0 and "status unknown" in printer.stdout
    test = hallctl("printer", "test", "kiosk-1/printer", "--config", str(config))
    assert test.returncode == 0 and (tmp_path / "out.bin").stat().st_size > 100
    ambiguous = hallctl("probe", "idcard", "--config", str(config))
    assert ambiguous.returncode == 2 and "kiosk-1/idcard" in ambiguous.stderr


def test_sim_commands_print_where_they_serve(tmp_path: Path) -> None:
    idc = hallctl("sim", "idcard", "--duration", "1")
    assert idc.returncode == 0 and "/dev/pts/" in idc.stdout
    pr = hallctl("sim", "printer", "--tcp", "0", "--duration", "1")
    assert pr.returncode == 0 and "tcp 127.0.0.1:" in pr.stdout
    cam = hallctl("sim", "camera", "--out", str(tmp_path / "v.avi"), "--frames", "2")
    assert cam.returncode == 0 and (tmp_path / "v.avi").exists()


def test_drivers_are_made_from_device_tables(sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from devices.camera.capture import Camera
    from devices.errors import DeviceError
    from devices.idcard.reader import IdCardReader
    from devices.printer.driver import TicketPrinter
    from devices.registry import open_device

    printer = open_device({"name": "p", "type": "escpos-file", "path": str(tmp_path / "p.bin"),
                           "profile": "xprinter-80"})
    assert isinstance(printer, TicketPrinter) and printer.profile.native_qr
    reader = open_device({"name": "i", "type": "sam-serial", "port": sim.path})
    assert isinstance(reader, IdCardReader) and reader.sam_status().ok
    reader.close()
    still = tmp_path / "s.png"
    cv2.imwrite(str(still), np.zeros((10, 10, 3), np.uint8))
    assert isinstance(open_device({"name": "c", "type": "doc-camera", "source": str(still)}), Camera)
    with pytest.raises(DeviceError, match="port: missing required key"):
        open_device({"name": "i", "type": "sam-serial"})
    from devices.board.driver import BoardDriver
    from devices.keypad.line import Keypad

    keypad = open_device({"name": "k", "type": "keypad-serial", "port": "/dev/ttyS1", "address": 1})
    assert isinstance(keypad, Keypad)  # made, not started: the line opens when the counter agent listens
    keypad.close()
    assert isinstance(open_device({"name": "b", "type": "led-pingan", "path": str(tmp_path / "b.bin"),
                                   "address": 1}), BoardDriver)


def test_voice_regenerate_without_espeak_is_one_line_and_missing(tmp_path: Path) -> None:
    import os

    bare = tmp_path / "bin"  # neither espeak-ng nor sox on PATH, as on a kiosk image without them
    bare.mkdir()
    res = subprocess.run([sys.executable, "-m", "hall_bus.cli", "device", "voice", "segments", "--regenerate"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60, env={**os.environ, "PATH": str(bare)})
    assert res.returncode == 4, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert res.stderr.startswith("FAIL: espeak-ng is not installed") and "apt-get install espeak-ng" in res.stderr
    assert res.stdout == ""  # refused before a file was rewritten, not after the chime
