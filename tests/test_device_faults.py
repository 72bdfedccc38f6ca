"""Device faults never crash anything: every printer fault a hall meets, driven for real (ptys, 127.0.0.1 sockets,
a USB bus with no printer on it), and what the visitor and the technician see."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devices.printer.decode import decode
from devices.printer.simulator import PrinterSimulator
from devices.registry import open_device
from hall_bus.config import HallConfig
from hall_bus.nodes.kiosk import KioskAgent, KioskOutcome

from .bus_helpers import config_on_ports, free_port, make_keys, running_hall, start_server_process
from .conftest import EXAMPLE, ROOT
from .test_bus_process import wait_ready


def serve_visitors(cfg: HallConfig, tmp_path: Path, printer: Any, services: list[str],
                   between: Any = None) -> list[KioskOutcome]:
    """Visitors at kiosk-1, one after another over the real bus; `between(i)` runs before visitor i (i ≥ 1)."""

    async def scenario() -> list[KioskOutcome]:
        async with running_hall(cfg, tmp_path) as hall:
            client = await hall.started("kiosk-1", subscribe=False)
            agent = KioskAgent(client, cfg, "kiosk-1", printer=printer)
            out = []
            for i, service in enumerate(services):
                if between and i:
                    between(i)
                out.append(await agent.serve(service))
            return out

    try:
        return asyncio.run(asyncio.wait_for(scenario(), 30))
    finally:
        printer.close()


def on_screen_whole(out: KioskOutcome) -> None:
    """The screen carries the ticket: the number, the service, and the QR code's text (the phone page's link for
    the ticket, with its token)."""
    result = out.answer["result"]
    assert out.ok and not out.printed
    assert result["number"] in out.on_screen
    assert any(result["service"] in line for line in out.on_screen)
    assert f"二维码 QR: http://127.0.0.1:8088/t/{result['ticket']}.{result['token']}" in out.on_screen


def test_absent_usb_printer_gives_every_visitor_a_ticket_on_screen(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    printer = open_device({"name": "printer", "type": "escpos-usb", "vendor_id": 0x0416, "product_id": 0x5011})
    first, second = serve_visitors(cfg, tmp_path, printer, ["医保", "公安"])  # no USB printer exists here
    for out in (first, second):
        on_screen_whole(out)
        assert "0416:5011" in out.printer_note or "USB backend" in out.printer_note


def test_unreachable_network_printer(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    printer = open_device({"name": "printer", "type": "escpos-network", "host": "127.0.0.1", "port": free_port()})
    outs = serve_visitors(cfg, tmp_path, printer, ["医保", "公安"])
    for out in outs:
        on_screen_whole(out)
        assert "refused the connection" in out.printer_note and "port" in out.printer_note


def test_serial_printer_unplugged_between_tickets_and_back(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = PrinterSimulator()
    port = sim.start_pty(str(tmp_path / "ttyPRINTER"))  # a stable name, like /dev/serial/by-id/…
    printer = open_device({"name": "printer", "type": "escpos-serial", "port": port, "baudrate": 115200})

    def cable(i: int) -> None:
        sim.unplug() if i == 1 else sim.plug()

    try:
        first, second, third = serve_visitors(cfg, tmp_path, printer, ["医保", "公安", "医保"], between=cable)
    finally:
        sim.stop()
    assert first.printed and third.printed, third.printer_note
    on_screen_whole(second)
    assert "ttyPRINTER" in second.printer_note
    assert third.answer["result"]["number"] in decode(sim.job()).text  # printing resumed by itself


@pytest.mark.parametrize(("state", "note"), [({"paper_out": True}, "paper out"),
                                             ({"cover_open": True}, "cover open")])
def test_printer_not_ready(cfg, tmp_path: Path, state: dict[str, bool], note: str) -> None:  # type: ignore[no-untyped-def]
    sim = PrinterSimulator()
    sim.set_state(**state)
    port = sim.start_tcp()
    printer = open_device({"name": "printer", "type": "escpos-network", "host": "127.0.0.1", "port": port})
    try:
        (out,) = serve_visitors(cfg, tmp_path, printer, ["医保"])
    finally:
        sim.stop()
    on_screen_whole(out)
    assert note in out.printer_note and decode(sim.job()).text == []


def test_paper_running_out_mid_ticket_puts_the_ticket_on_screen(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = PrinterSimulator(paper_out_after=1)  # one whole ticket, then the roll ends during the second
    port = sim.start_pty()
    printer = open_device({"name": "printer", "type": "escpos-serial", "port": port, "baudrate": 115200})
    try:
        first, second, third = serve_visitors(cfg, tmp_path, printer, ["医保", "公安", "医保"])
    finally:
        sim.stop()
    assert first.printed and not first.on_screen
    on_screen_whole(second)
    assert "paper out while printing" in second.printer_note and "incomplete" in second.printer_note
    on_screen_whole(third)  # the paper is still out: refused before printing
    assert "load a new paper roll" in third.printer_note


# ---------------------------------------------------------------- the console kiosk, as a process


def test_console_kiosk_survives_missing_printers(tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys", {"kiosk-1": "kiosk"})
    cmd_port, ev_port = free_port(), free_port()
    config = tmp_path / "hall.toml"
    config_on_ports(config, cmd_port, ev_port)
    server = start_server_process(config, tmp_path / "data", keys.dir, cmd_port, ev_port)
    try:
        wait_ready(server)
        runs = {
            "usb": [],  # kiosk-1's configured printer: USB 0416:5011, which is not attached here
            "serial": ["--printer", str(tmp_path / "ttyNOPE")],  # the port is missing before any number is issued
        }
        for name, extra in runs.items():
            res = subprocess.run(
                [sys.executable, "-m", "hall_bus.cli", "run", "kiosk", "--console", "--node", "kiosk-1", "--config",
                 str(config), "--keys", str(keys.dir), *extra], input="医保\n公安\nq\n", capture_output=True,
                text=True, cwd=ROOT, timeout=60)
            assert res.returncode == 0 and "Traceback" not in res.stderr, (name, res.stderr)
            assert "warning: printer:" in res.stderr and "tickets go on screen" in res.stderr
            assert res.stdout.count("✓ ") == 2 and "（已打印）" not in res.stdout
            assert res.stdout.count("  | 二维码 QR: ") == 2  # each ticket on screen, QR text included
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


# ---------------------------------------------------------------- hallctl device, as the technician runs it


def hallctl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hall_bus.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


NET_PRINTER = 'type = "escpos-network", host = "127.0.0.1", port = 9100, profile = "xprinter-80"'


def hall_with(tmp_path: Path, *swaps: tuple[str, str]) -> Path:
    """The example hall with some device settings swapped (old text, new text)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in swaps:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "hall.toml"
    path.write_text(text.replace('catalogue = "catalogue.example.toml"', ""), encoding="utf-8")
    return path


def kiosk2_printer(tmp_path: Path, settings: str) -> Path:
    return hall_with(tmp_path, (NET_PRINTER, settings))


def test_probe_and_test_a_reachable_network_printer(tmp_path: Path) -> None:
    sim = PrinterSimulator()
    port = sim.start_tcp()
    try:
        config = kiosk2_printer(tmp_path, f'type = "escpos-network", host = "127.0.0.1", port = {port}')
        probe = hallctl("device", "probe", "kiosk-2/printer", "--config", str(config))
        assert probe.returncode == 0 and "Traceback" not in probe.stderr, probe.stderr
        assert f"127.0.0.1:{port}" in probe.stdout and "ready" in probe.stdout and "FAIL" not in probe.stdout
        sim.set_state(paper_out=True)
        failing = hallctl("device", "probe", "kiosk-2/printer", "--config", str(config))
        assert failing.returncode == 1 and "paper out" in failing.stdout and "load a new paper roll" in failing.stdout
        refused = hallctl("device", "printer", "test", "kiosk-2/printer", "--config", str(config))
        assert refused.returncode == 5 and "paper out" in refused.stderr
    finally:
        sim.stop()
    gone = hallctl("device", "probe", "kiosk-2/printer", "--config", str(config))
    assert gone.returncode == 1 and "refused the connection" in gone.stdout and "Traceback" not in gone.stderr


def test_printer_test_with_a_missing_port_or_an_unknown_profile(tmp_path: Path) -> None:
    missing = kiosk2_printer(tmp_path, f'type = "escpos-serial", port = "{tmp_path}/ttyNOPE"')
    res = hallctl("device", "printer", "test", "kiosk-2/printer", "--config", str(missing))
    assert res.returncode == 4 and "ttyNOPE does not exist" in res.stderr and "Traceback" not in res.stderr
    nope = kiosk2_printer(tmp_path, 'type = "escpos-network", host = "127.0.0.1", profile = "nope"')
    line = nope.read_text(encoding="utf-8")[: nope.read_text(encoding="utf-8").index('"nope"')].count("\n") + 1
    res = hallctl("device", "printer", "test", "kiosk-2/printer", "--config", str(nope))
    assert res.returncode == 2 and res.stderr.startswith(f"{nope}:{line}: nodes[1].devices[0].profile: unknown printer")


def test_paper_out_after_n_tickets_from_the_command_line(tmp_path: Path) -> None:
    sim = subprocess.Popen([sys.executable, "-m", "hall_bus.cli", "device", "sim", "printer", "--tcp", "0",
                            "--paper-out-after", "0", "--duration", "20"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert sim.stdout is not None
        first = sim.stdout.readline()
        assert "paper runs out during ticket 1" in first
        port = int(first.split("127.0.0.1:")[1].split(";")[0])
        config = kiosk2_printer(tmp_path, f'type = "escpos-network", host = "127.0.0.1", port = {port}')
        res = hallctl("device", "printer", "test", "kiosk-2/printer", "--config", str(config))
        assert res.returncode == 5 and "after: paper out" in res.stdout and "incomplete" in res.stderr
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(timeout=10)


def test_idcard_simulator_faults_from_the_command_line() -> None:
    sim = subprocess.Popen([sys.executable, "-m", "hall_bus.cli", "device", "sim", "idcard", "--fault", "checksum",
                            "--duration", "20"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert sim.stdout is not None
        first = sim.stdout.readline()
        assert "fault: checksum" in first
        port = first.split(" on ")[1].split()[0]
        res = hallctl("device", "idcard", "read", "--port", port, "--timeout", "1")
        assert res.returncode == 5 and "checksum" in res.stderr and "Traceback" not in res.stderr
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(timeout=10)


def test_out_into_a_missing_directory(tmp_path: Path) -> None:
    nowhere = tmp_path / "no" / "such"
    preview = hallctl("device", "printer", "preview", "--out", str(nowhere / "t.png"))
    assert preview.returncode == 2 and f"the directory {nowhere} does not exist" in preview.stderr
    from devices.camera.simulator import write_video

    video = write_video(tmp_path / "desk.avi", frames=1, width=320, height=240)
    snap = hallctl("device", "camera", "snap", "--source", str(video), "--out", str(nowhere / "p.pdf"))
    assert snap.returncode == 2 and "does not exist" in snap.stderr and "Traceback" not in snap.stderr
    assert not nowhere.exists()


def test_list_shows_usb_ids_in_hex_and_probes_fail_cleanly(tmp_path: Path) -> None:
    config = hall_with(tmp_path, ('source = "0"', 'source = "7"'),
                       (NET_PRINTER, f'type = "escpos-file", path = "{tmp_path}/gone/ticket.bin"'))
    listing = hallctl("device", "list", "--config", str(config))
    assert listing.returncode == 0 and "usb=0416:5011" in listing.stdout and "0x0416" not in listing.stdout
    file_probe = hallctl("device", "probe", "kiosk-2/printer", "--config", str(config))
    assert file_probe.returncode == 1 and "gone does not exist" in file_probe.stdout and "mkdir -p" in file_probe.stdout
    camera = hallctl("device", "probe", "kiosk-1/camera", "--config", str(config))
    assert camera.returncode == 1 and "/dev/video7 does not exist" in camera.stdout
    assert "WARN" not in camera.stdout + camera.stderr and "cap_v4l" not in camera.stdout + camera.stderr
