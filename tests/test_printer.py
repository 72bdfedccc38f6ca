"""The ticket printer: layout → ESC/POS bytes → decoded back, status bytes, and the driver against its simulator."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from pyzbar.pyzbar import decode as zbar_decode

from devices.printer import status as st
from devices.printer.decode import decode
from devices.printer.driver import PrinterNotReady
from devices.printer.encoder import encode, printable_natively
from devices.printer.preview import render
from devices.printer.profile import get_profile
from devices.printer.simulator import PrinterSimulator
from devices.printer.ticket import Line, Ticket, layout
from devices.registry import open_device

TICKET = Ticket(hall="平安县政务服务中心", number="E007", service="医保", group_label="陪同办",
                ticket_id="20261123-E007", issued_at=datetime(2026, 11, 23, 9, 5), ahead=3, wait_min=18,
                name="张秀英")


def expected_lines(t: Ticket) -> list[str]:
    return [op.text for op in layout(t) if isinstance(op, Line)]


@pytest.mark.parametrize("profile", ["generic-80", "xprinter-80", "generic-58"])
def test_ticket_decodes_back_to_its_layout(profile: str) -> None:
    printed = decode(encode(layout(TICKET), get_profile(profile)))
    text = [t for t in printed.text if t and not set(t) <= {"-"}]
    assert text == expected_lines(TICKET)
    assert ("E007", 4) in printed.lines  # the number is the biggest thing on the paper
    assert printed.cuts == 1 and printed.chinese_mode_used and not printed.unknown
    assert "张秀英" not in "".join(printed.text) and "姓名：张**" in printed.text


def test_native_qr_where_the_profile_has_it_and_raster_elsewhere() -> None:
    native = decode(encode(layout(TICKET), get_profile("xprinter-80")))
    assert native.qr_native == ["20261123-E007"] and not native.images
    raster = decode(encode(layout(TICKET), get_profile("generic-80")))
    assert raster.qr_native == []
    found = [r.data.decode() for img in raster.images for r in zbar_decode(img.convert("L"))]
    assert found == ["20261123-E007"]


def test_chinese_goes_as_gb18030() -> None:
    data = encode([Line("医保")], get_profile("generic-80"))
    assert "医保".encode("gb18030") in data and b"\x1c\x26" in data


def test_rare_characters_print_as_an_image_never_as_garbage() -> None:
    line = Line("请 李𬌗 到 3 号窗口")
    gbk_only = decode(encode([line], get_profile("generic-80")))
    assert not printable_natively(line.text, get_profile("generic-80"))
    assert len(gbk_only.images) == 1 and not any("李" in t for t in gbk_only.text)
    assert gbk_only.images[0].getbbox() is not None  # something was drawn
    full = decode(encode([line], get_profile("gb18030-full")))
    assert full.text[0] == line.text and not full.images  # a printer with the 4-byte plane gets text


def test_status_bytes() -> None:
    ready = st.PrinterStatus(online=True)
    assert st.parse(st.encode(ready)) == ready and ready.can_print
    out = st.PrinterStatus(online=True, paper_out=True)
    parsed = st.parse(st.encode(out))
    assert parsed.paper_out and not parsed.can_print and not parsed.online
    near = st.parse(st.encode(st.PrinterStatus(online=True, paper_near_end=True)))
    assert near.paper_near_end and near.can_print and near.describe() == "paper near end"
    with pytest.raises(ValueError, match="not a status byte"):
        st.parse({1: 0xFF})


@pytest.fixture
def sim():  # type: ignore[no-untyped-def]
    s = PrinterSimulator()
    s.start_pty()
    yield s
    s.stop()


def test_print_over_a_pty_with_status_before_and_after(sim) -> None:  # type: ignore[no-untyped-def]
    printer = open_device({"type": "escpos-serial", "port": sim.path, "baudrate": 115200, "profile": "generic-80"})
    try:
        result = printer.print_ticket(TICKET)
        assert result.before.can_print and result.after.can_print
        job = decode(sim.job())
        assert [t for t in job.text if t and not set(t) <= {"-"}] == expected_lines(TICKET)
        assert job.status_queries == [1, 2, 4, 1, 2, 4]
        assert [r.data.decode() for img in job.images for r in zbar_decode(img.convert("L"))] == ["20261123-E007"]
        sim.set_state(paper_near_end=True)
        assert printer.status().describe() == "paper near end"
        sim.set_state(paper_out=True)
        sim.clear()
        with pytest.raises(PrinterNotReady, match="paper out") as info:
            printer.print_ticket(TICKET)
        assert "paper roll" in str(info.value)
        assert decode(sim.job()).text == []  # nothing printed: the kiosk shows the ticket on screen instead
        sim.set_state(paper_out=False, paper_near_end=False, cover_open=True)
        with pytest.raises(PrinterNotReady, match="cover open"):
            printer.print_ticket(TICKET)
    finally:
        printer.close()


def test_network_printer(tmp_path: Path) -> None:
    sim = PrinterSimulator()
    port = sim.start_tcp()
    printer = open_device({"type": "escpos-network", "host": "127.0.0.1", "port": port, "profile": "xprinter-80"})
    try:
        assert printer.print_ticket(TICKET).after.can_print
        assert decode(sim.job()).qr_native == ["20261123-E007"]
    finally:
        printer.close()
        sim.stop()


def test_file_transport_gets_raw_bytes_and_unknown_status(tmp_path: Path) -> None:
    out = tmp_path / "ticket.bin"
    printer = open_device({"type": "escpos-file", "path": str(out), "profile": "xprinter-80"})
    result = printer.print_ticket(TICKET)
    printer.close()
    assert not result.before.known and result.ok
    assert decode(out.read_bytes()).qr_native == ["20261123-E007"]


def test_silent_printer_is_offline(tmp_path: Path) -> None:
    import os
    import tty

    master, slave = os.openpty()  # a port with nothing behind it
    tty.setraw(slave)
    printer = open_device({"type": "escpos-serial", "port": os.ttyname(slave), "profile": "generic-80"})
    try:
        s = printer.status(timeout=0.2)
        assert not s.online and not s.can_print
    finally:
        printer.close()
        os.close(master)
        os.close(slave)


def test_preview_is_a_picture_of_the_ticket(tmp_path: Path) -> None:
    img = render(layout(TICKET), get_profile("generic-80"))
    assert img.width == 576 + 32 and img.height > 400
    found = [r.data.decode() for r in zbar_decode(img)]
    assert found == ["20261123-E007"]


def test_the_simulator_reads_a_command_split_between_two_reads() -> None:
    """A pty hands the simulator the ticket in pieces of any size: a cut (GS V) or an image header (GS v 0) split
    right after its GS must still count, or the paper would run out a ticket late."""
    t = Ticket(hall="平安县政务服务中心", number="E001", service="医保", group_label="普通", ticket_id="20261204-E001",
               issued_at=datetime(2026, 12, 4, 9, 0), ahead=0, wait_min=0,
               link="http://127.0.0.1:8088/t/20261204-E001.9042f4b052")
    data = encode(layout(t), get_profile("generic-80"))
    for split in (data.find(b"\x1dv0") + 1, data.rfind(b"\x1dV") + 1):
        sim = PrinterSimulator(paper_out_after=1)
        sim._feed(data[:split])
        sim._feed(data[split:])
        assert sim.cuts == 1 and not sim.state.paper_out
