"""The LED board driver against its simulator over a real pty and a real loopback socket, and what a visitor
at the board would read: the rows shown, dark rows, the picture."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from PIL import Image

from devices.board import imm9003, pingan
from devices.board.driver import BoardDriver
from devices.board.frame import BoardError, Unsupported
from devices.board.options import LedText
from devices.board.simulator import BoardSimulator
from devices.errors import DeviceError
from devices.registry import open_device, option_problems, probe


@pytest.fixture
def pty_board() -> Iterator[BoardSimulator]:
    sim = BoardSimulator("pingan", lines=1, width=24, address=1)
    sim.start_pty()
    yield sim
    sim.stop()


def _shows(sim: BoardSimulator, rows: list[str], timeout: float = 3.0) -> bool:
    return sim.wait_for(lambda s: s.shown == rows, timeout)


def test_pingan_call_over_a_pty(pty_board: BoardSimulator) -> None:
    board: BoardDriver = open_device({"type": "led-pingan", "port": pty_board.path, "address": 1, "width": 24,
                                      "frame_gap": 0})
    try:
        assert board.show_call("A023", 5) == ["请 A023 号到 5 号窗口"]
        assert _shows(pty_board, ["请 A023 号到 5 号窗口"]), pty_board.shown
        board.show_call("A1234", 15, "（陪同办）")
        assert _shows(pty_board, ["请 A1234 号到 15 号窗口"]), pty_board.shown  # the note went, the 15 stayed
        board.clear()
        assert _shows(pty_board, [])
        assert pty_board.bad_frames == 0 and pty_board.overflows == 0
    finally:
        board.close()


def test_narrow_counter_display_keeps_the_window_number(pty_board: BoardSimulator) -> None:
    narrow = BoardSimulator("imm9003", lines=1, width=8, address=3)
    narrow.start_pty()
    board = open_device({"type": "led-imm9003", "port": narrow.path, "address": 3, "width": 8, "frame_gap": 0})
    try:
        board.show_call("A1234", 15)
        assert _shows(narrow, ["A1234 15"]), narrow.shown
        with pytest.raises(DeviceError) as err:
            board.show_call("A12345", 15)  # 9 columns on an 8-column display: refused, not cut
        assert "width" in (err.value.fix or "")
        time.sleep(0.2)
        assert narrow.shown == ["A1234 15"] and narrow.overflows == 0
    finally:
        board.close()
        narrow.stop()


def test_summary_board_shows_the_latest_calls_newest_first() -> None:
    sim = BoardSimulator("imm9003", lines=3, width=16, address=9)
    path = sim.start_pty()
    board = open_device({"type": "led-imm9003", "port": path, "address": 9, "lines": 3, "width": 16,
                         "frame_gap": 0})
    try:
        for number, window in (("A021", 3), ("A022", 4), ("A023", 5), ("B007", 12)):
            board.show_call(number, window)
        assert _shows(sim, ["B007 → 12号窗口", "A023 → 5号窗口", "A022 → 4号窗口"]), sim.shown
        board.show_call("A022", 4)  # recalled: moves to the top, not a second row
        assert _shows(sim, ["A022 → 4号窗口", "B007 → 12号窗口", "A023 → 5号窗口"]), sim.shown
    finally:
        board.close()
        sim.stop()


def test_noise_on_the_line_is_counted_and_the_next_frame_shows(pty_board: BoardSimulator) -> None:
    with serial.serial_for_url(pty_board.path, baudrate=9600, timeout=0.1) as line:
        good = pingan.encode_text(1, ["A001"])
        broken = bytearray(good)
        broken[5] ^= 0xFF
        line.write(b"\x00\x13noise" + bytes(broken) + good[:7])
        line.flush()
        time.sleep(0.1)
        line.write(good[7:])  # the rest of a frame split across two writes
        line.flush()
    assert _shows(pty_board, ["A001"]), pty_board.shown
    assert pty_board.wait_for(lambda s: s.bad_frames == 2)
    assert [f.kind for f in pty_board.frames] == ["bad", "bad", "text"]


def test_frames_for_another_address_are_ignored(pty_board: BoardSimulator) -> None:
    other = open_device({"type": "led-pingan", "port": pty_board.path, "address": 2, "frame_gap": 0})
    mine = open_device({"type": "led-pingan", "port": pty_board.path, "address": 1, "frame_gap": 0, "width": 24})
    try:
        other.show_call("B001", 9)
        mine.show_call("A002", 2)
        assert _shows(pty_board, ["请 A002 号到 2 号窗口"])
        assert pty_board.ignored == 1
    finally:
        other.close()
        mine.close()


def test_long_text_pages_over_imm9013() -> None:
    sim = BoardSimulator("imm9013", lines=2, width=16, address=4)
    path = sim.start_pty()
    board = open_device({"type": "led-imm9013", "port": path, "address": 4, "lines": 2, "width": 16,
                         "frame_gap": 0})
    try:
        pages = board.show_lines(["请携带身份证原件及复印件到3号窗口办理，办理时间8:30-17:00"])
        assert pages == 2
        assert _shows(sim, ["请携带身份证原件", "及复印件到3号窗"]), sim.shown
        assert board.next_page() == ["口办理，办理时间", "8:30-17:00"]
        assert _shows(sim, ["口办理，办理时间", "8:30-17:00"]), sim.shown
        board.next_page()  # back to the first
        assert _shows(sim, ["请携带身份证原件", "及复印件到3号窗"])
        board.test_pattern()
        assert _shows(sim, ["████████", "████████"])
        with pytest.raises(Unsupported):
            board.brightness(3)
        assert sim.bad_frames == 0
    finally:
        board.close()
        sim.stop()


def test_frame_gap_is_kept(pty_board: BoardSimulator) -> None:
    board = open_device({"type": "led-pingan", "port": pty_board.path, "address": 1, "frame_gap": 0.25})
    try:
        board.show_call("A001", 1)
        started = time.monotonic()
        board.show_call("A002", 1)
        board.show_call("A003", 1)
        assert time.monotonic() - started >= 0.45
        assert pty_board.wait_frames(3)
    finally:
        board.close()


# ------------------------------------------------------------------ textnet over loopback TCP


@pytest.fixture
def net_board() -> Iterator[BoardSimulator]:
    sim = BoardSimulator("textnet", lines=2, width=16)
    sim.start_tcp()
    yield sim
    sim.stop()


def test_textnet_over_loopback(net_board: BoardSimulator) -> None:
    board = open_device({"type": "led-text", "host": "127.0.0.1", "port": net_board.port, "lines": 2, "width": 16})
    try:
        assert board.ping() == "answered"
        board.show_call("A001", 1)
        board.show_call("A002", 15, "★")
        assert net_board.shown == ["A002→15号窗口★", "A001 → 1号窗口"]  # answered OK, so already shown
        board.show_lines(["今日办件 128 件", "", "谢谢 | 再见"])
        assert net_board.shown == ["今日办件 128 件"]  # page 1 of 2: the blank row is kept on page 2's side
        assert board.next_page() == ["谢谢 | 再见"]
        assert net_board.shown == ["谢谢 | 再见"]
        board.brightness(4)
        assert net_board.brightness == 4
        board.test_pattern()
        assert net_board.shown == ["████████", "████████"]
        board.clear()
        assert net_board.shown == []
        assert net_board.bad_frames == 0
    finally:
        board.close()


def test_textnet_controller_refusal_is_a_board_error() -> None:
    sim = BoardSimulator("textnet", lines=1, width=6)
    port = sim.start_tcp()
    board = open_device({"type": "led-text", "host": "127.0.0.1", "port": port, "width": 16})
    try:
        with pytest.raises(BoardError) as err:
            board.show_call("A1234", 15)  # fits our 16 columns, not the controller's 6
        assert "refused CALL" in err.value.message and err.value.fix
        board.show_call("A1", 2)
        assert sim.shown == ["A1→2"]
    finally:
        board.close()
        sim.stop()


def test_textnet_garbage_gets_err_and_is_counted(net_board: BoardSimulator) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", net_board.port), timeout=2) as s:
        s.sendall(b"HELLO\nBRIGHT 1 99\nCLEAR 1\n")
        answer = b""
        while answer.count(b"\n") < 3:
            answer += s.recv(1024)
    assert answer.decode().splitlines() == ["ERR unknown command HELLO", "ERR brightness 99 out of range 0–15", "OK"]
    assert net_board.bad_frames == 2


def test_board_that_went_away_is_a_device_error(net_board: BoardSimulator) -> None:
    board = open_device({"type": "led-text", "host": "127.0.0.1", "port": net_board.port})
    board.show_call("A001", 1)
    net_board.stop()
    with pytest.raises(DeviceError) as err:
        for _ in range(3):  # the first send after the peer closed may still be buffered
            board.show_call("A002", 1)
    assert err.value.fix
    board.close()


def test_refused_connection_names_the_fix() -> None:
    sim = BoardSimulator("textnet")
    port = sim.start_tcp()
    sim.stop()
    board = open_device({"type": "led-text", "host": "127.0.0.1", "port": port, "connect_timeout": 1})
    with pytest.raises(DeviceError) as err:
        board.show_call("A001", 1)
    assert "refused" in err.value.message and "listening" in (err.value.fix or "")


# ------------------------------------------------------------------ file transport, options, probe


def test_frames_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "board.bin"
    board = open_device({"type": "led-imm9003", "path": str(out), "address": 5, "frame_gap": 0})
    board.show_lines(["请A001"])
    board.show_call("A002", 3)
    board.close()
    data = out.read_bytes()
    assert data.startswith(bytes.fromhex("85 C0 44 0C 07 0E 0B 41 30 30 31") + b" " * 10 + b"\x1a")  # padded
    frames, rest = imm9003.decode(data)
    assert [f.text.rstrip() for f in frames] == ["请A001", "请A002到3号窗口"] and rest == b""


def test_missing_port_is_a_device_error_with_a_fix() -> None:
    board = open_device({"type": "led-pingan", "port": "/dev/ttyNOSUCH0", "address": 1})
    with pytest.raises(DeviceError) as err:
        board.show_call("A001", 1)
    assert "does not exist" in err.value.message and "hallctl device list" in (err.value.fix or "")
    rows = probe({"name": "led-x", "type": "led-pingan", "port": "/dev/ttyNOSUCH0", "address": 1})
    assert [r.ok for r in rows] == [True, False] and rows[1].name == "port" and rows[1].fix


def test_probe_through_the_registry_lights_the_board(pty_board: BoardSimulator) -> None:
    rows = probe({"name": "led-main", "type": "led-pingan", "port": pty_board.path, "address": 1})
    assert [(r.name, r.ok) for r in rows] == [("protocol", True), ("port", True), ("open", True),
                                              ("test frame", True)]
    assert _shows(pty_board, ["████████"])  # the options say 16 columns: 8 lit blocks


def test_probe_textnet(net_board: BoardSimulator) -> None:
    rows = probe({"name": "led-net", "type": "led-text", "host": "127.0.0.1", "port": net_board.port, "lines": 2})
    assert all(r.ok for r in rows) and "answer" in [r.name for r in rows]
    assert net_board.shown == ["████████", "████████"]


def test_options() -> None:
    assert option_problems("led-pingan", {"port": "/dev/ttyS2", "address": 1}) == []  # the example hall's board
    assert option_problems("led-imm9003", {"port": "/dev/ttyS2", "address": 4095, "baudrate": 19200}) == []
    assert option_problems("led-imm9013", {"path": "/tmp/strip.bin", "address": 1, "lines": 1, "width": 24}) == []
    both = option_problems("led-pingan", {"port": "/dev/ttyS2", "path": "/tmp/x", "address": 1})
    neither = option_problems("led-imm9013", {"address": 1})
    assert both and neither and "exactly one" in both[0][1] and "exactly one" in neither[0][1]
    assert option_problems("led-pingan", {"port": "/dev/ttyS2", "address": 256})  # one address byte
    assert option_problems("led-text", {"host": "127.0.0.1"})  # the port is required
    assert option_problems("led-text", {"host": "127.0.0.1", "port": 7000, "baudrate": 9600})  # not a serial key
    opts = LedText.model_validate({"host": "127.0.0.1", "port": 7000})
    assert (opts.address, opts.frame_gap, opts.lines, opts.width) == (1, 0.0, 1, 16)


# ------------------------------------------------------------------ the picture


def _lit(source: Path | Image.Image) -> int:
    """Pixels of a lit red dot."""
    img = (source if isinstance(source, Image.Image) else Image.open(source)).convert("RGB")
    px = img.tobytes()
    return sum(1 for i in range(0, len(px), 3) if px[i] > 200 and px[i + 1] < 90 and px[i + 2] < 90)


def test_png_of_what_the_board_shows(tmp_path: Path, net_board: BoardSimulator) -> None:
    dark = net_board.render(tmp_path / "dark.png")
    assert dark.stat().st_size > 0 and _lit(dark) == 0
    board = open_device({"type": "led-text", "host": "127.0.0.1", "port": net_board.port, "lines": 2, "width": 16})
    board.show_call("A023", 5)
    board.show_call("A024", 6)
    board.close()
    shown = net_board.render(tmp_path / "board.png")
    img = Image.open(shown)
    assert img.size == (16 * 8 * 4 + 24, 2 * 20 * 4 + 24)
    lit = _lit(shown)
    assert lit > 500
    # both rows have light in them: a row left dark would be what a visitor notices first
    top = img.crop((0, 0, img.width, img.height // 2))
    bottom = img.crop((0, img.height // 2, img.width, img.height))
    assert _lit(top) > 100 and _lit(bottom) > 100
    amber = net_board.render(tmp_path / "amber.png", colour="amber")
    assert _lit(amber) == 0 and amber.stat().st_size > 0


def test_unplugged_serial_board_is_a_device_error_and_replug_works(tmp_path: Path) -> None:
    link = str(tmp_path / "ttyBOARD")
    sim = BoardSimulator("pingan", width=24, address=1)
    sim.start_pty(link)
    board = open_device({"type": "led-pingan", "port": link, "address": 1, "width": 24, "frame_gap": 0})
    try:
        board.show_call("A001", 1)
        assert _shows(sim, ["请 A001 号到 1 号窗口"])
        sim.stop()  # the cable is pulled: the pty hangs up and the by-id link disappears
        with pytest.raises(DeviceError) as err:
            for _ in range(3):
                board.show_call("A002", 2)
        assert err.value.fix
        replugged = BoardSimulator("pingan", width=24, address=1)
        replugged.start_pty(link)
        try:
            board.show_call("A003", 3)  # the link reopens on its next use: no restart of the agent
            assert _shows(replugged, ["请 A003 号到 3 号窗口"]), replugged.shown
        finally:
            replugged.stop()
    finally:
        board.close()
