"""LED board frames, byte for byte, and the layout rules a visitor relies on (pure: no ports, no sockets)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.board import imm9003, imm9013, layout, pingan, textnet
from devices.board.driver import BoardEncoder
from devices.board.frame import BadRequest, DoesNotFit, Unsupported, columns
from devices.errors import DeviceError

# ------------------------------------------------------------------ golden frames


def test_pingan_golden_frame_and_its_checksum() -> None:
    frame = pingan.encode_text(1, ["A001"])
    assert frame == bytes.fromhex("AA 01 BB 51 54 CE 01 00 99 00 63 41 30 30 31 FF")
    assert sum(frame[6:]) % 256 == frame[5] == 0xCE  # bytes 6 through the final FF, FF included


def test_pingan_summary_screen_variant() -> None:
    frame = pingan.encode_text(2, ["A001"], summary=True)
    assert frame[:2] == b"\xaa\x02" and frame[6:8] == b"\x08\x02"
    assert frame[5] == sum(frame[6:]) % 256
    [decoded], rest = pingan.decode(frame)
    assert rest == b"" and decoded.variant == "summary" and decoded.text == "A001" and decoded.address == 2


def test_imm9003_golden_frame() -> None:
    assert imm9003.encode_text(5, ["请A001"]) == bytes.fromhex("85 C0 44 0C 07 0E 0B 41 30 30 31 1A")


def test_imm9003_high_address_bits() -> None:
    frame = imm9003.encode_text(4095, ["X"])
    assert frame[:2] == b"\xbf\xff"
    [decoded], _ = imm9003.decode(frame)
    assert decoded.address == 4095
    with pytest.raises(BadRequest):
        imm9003.encode_text(4096, ["X"])


def test_crc16_ccitt_check_value() -> None:
    assert imm9013.crc16_ccitt(b"123456789") == 0x31C3  # XModem: poly 0x1021, init 0


def test_imm9013_frame_layout_length_and_crc() -> None:
    frame = imm9013.encode_text(7, ["A001"], seq=3)
    assert frame[:9] == bytes((7, 0xFE, len(frame), 3, 0x86, 0x3C, 0x00, 0x05, 0x00))
    assert frame[9:-2] == b"A001\x00"
    crc = imm9013.crc16_ccitt(frame[:-2])
    assert frame[-2:] == bytes((crc >> 8, crc & 0xFF))
    [decoded], rest = imm9013.decode(frame)
    assert (decoded.kind, decoded.address, decoded.text, rest) == ("text", 7, "A001", b"")


def test_imm9013_combined_call_only_when_the_sentence_fits() -> None:
    wide = imm9013.encode_call(1, "A001", 5, width=20)
    assert wide[4:6] == b"\x8c\x00" and "请A001号到5号窗口".encode("gbk") in wide
    [call], _ = imm9013.decode(wide)
    assert (call.kind, call.number, call.window) == ("call", "A001", "5")
    narrow = imm9013.encode_call(1, "A001", 15, width=14)
    assert narrow[4] == 0x86  # a text frame of the shortened call: the window number stays whole
    [text], _ = imm9013.decode(narrow)
    assert text.text == "A001→15号窗口"


def test_imm9013_too_much_text_for_one_frame() -> None:
    with pytest.raises(DoesNotFit):
        imm9013.encode_text(1, ["字" * 200])


def test_textnet_lines() -> None:
    assert textnet.encode_call(3, "A023", 5) == b"CALL 3 A023 5\n"
    assert textnet.encode_call(3, "A023", 5, "陪同办") == "CALL 3 A023 5 陪同办\n".encode()
    assert textnet.encode_text(1, ["请 A023", "a|b 100%"]) == "TEXT 1 请 A023|a%7Cb 100%25\n".encode()
    assert textnet.encode_clear(1) == b"CLEAR 1\n"
    assert textnet.encode_brightness(1, 9) == b"BRIGHT 1 9\n"
    assert textnet.encode_test(1) == b"TEST 1\n"
    with pytest.raises(BadRequest):
        textnet.encode_brightness(1, 16)
    with pytest.raises(BadRequest):
        textnet.encode_call(1, "A 023", 5)


def test_textnet_round_trip_and_bad_lines() -> None:
    data = (textnet.encode_call(3, "A023", 5, "陪同 办") + textnet.encode_text(1, ["x|y", "", "z"]) + b"FOO 1\r\n"
            + b"\xff\xfe\n" + b"BRIGHT 1 99\n" + textnet.encode_clear(2) + b"TEST")
    frames, rest = textnet.decode(data)
    assert rest == b"TEST"
    kinds = [f.kind for f in frames]
    assert kinds == ["call", "text", "bad", "bad", "bad", "clear"]
    assert (frames[0].number, frames[0].window, frames[0].note) == ("A023", "5", "陪同 办")
    assert frames[1].lines == ("x|y", "", "z")
    assert "unknown command FOO" in frames[2].error
    replies, tail = textnet.decode_replies(b"OK\nERR too wide\nhello\nOK tex")
    assert [(r.ok, r.text) for r in replies] == [(True, ""), (False, "too wide"), (False, "unexpected answer 'hello'")]
    assert tail == b"OK tex"


def test_brightness_unsupported_on_serial_boards_is_a_device_error() -> None:
    for module in (pingan, imm9003, imm9013):
        with pytest.raises(Unsupported) as err:
            module.encode_brightness(1, 5)
        assert isinstance(err.value, DeviceError) and err.value.fix


def test_clear_and_test_pattern_frames() -> None:
    [clear], _ = pingan.decode(pingan.encode_clear(1, rows=2, width=8))
    assert clear.text == " " * 16
    [lit], _ = imm9003.decode(imm9003.encode_test(1, rows=2, width=8))
    assert layout.split_rows(lit.text, 8, 2) == ["████", "████"]


# ------------------------------------------------------------------ nibbles and decoders


@given(st.text(alphabet="请到号窗口办理陪同帮代ABC0123456789 →★·", max_size=40), st.integers(0, 4095))
def test_imm9003_nibble_round_trip(text: str, address: int) -> None:
    frame = imm9003.encode_text(address, [text])
    assert all(b < 0x80 for b in frame[2:])  # only the address bytes have the high bit
    [decoded], rest = imm9003.decode(frame)
    assert (decoded.kind, decoded.address, decoded.text, rest) == ("text", address, text, b"")


def test_nibbles_of_chinese() -> None:
    assert imm9003.nibbles("请".encode("gbk")) == b"\x0c\x07\x0e\x0b"
    assert imm9003.unnibble(b"\x0c\x07\x0e\x0bA").decode("gbk") == "请A"
    with pytest.raises(ValueError):
        imm9003.unnibble(b"\x0cA")
    with pytest.raises(ValueError):
        imm9003.unnibble(b"\x01\x02")  # 0x12 is not a GBK byte


@given(st.binary(max_size=300))
def test_decoders_never_crash_on_noise(noise: bytes) -> None:
    for module in (pingan, imm9003, imm9013, textnet):
        frames, rest = module.decode(noise)
        assert len(rest) <= len(noise)
        assert all(f.error for f in frames if f.kind == "bad")


@pytest.mark.parametrize("module", [pingan, imm9003, imm9013])
def test_decoder_garbage_partial_and_corrupted(module) -> None:  # type: ignore[no-untyped-def]
    good = module.encode_text(1, ["请A001"])
    # noise before a frame: one bad frame for the run, then the frame
    frames, rest = module.decode(b"\x13\x37\x55" + good)
    assert [f.kind for f in frames] == ["bad", "text"] and frames[1].text == "请A001" and rest == b""
    # a frame arriving in two pieces decodes once the second arrives
    frames, rest = module.decode(good[:5])
    assert frames == [] and rest == good[:5]
    frames, rest = module.decode(rest + good[5:])
    assert [f.text for f in frames] == ["请A001"] and rest == b""
    # a corrupted byte inside the text: counted as bad, and the next good frame still decodes
    broken = bytearray(good)
    broken[-4] ^= 0x01 if module is not imm9003 else 0x40  # ASCII '0' → 'p' is undetectable there; flip to 0x70..
    if module is imm9003:
        broken[3] = 0x88  # a byte ≥ 0x80 inside an IMM9003 text cannot be part of it
    frames, rest = module.decode(bytes(broken) + good)
    assert frames[-1].kind == "text" and frames[-1].text == "请A001"
    assert any(f.kind == "bad" for f in frames[:-1])


def test_pingan_wrong_checksum_is_named() -> None:
    frame = bytearray(pingan.encode_text(1, ["A001"]))
    frame[5] = 0x00
    [bad], _ = pingan.decode(bytes(frame))
    assert bad.kind == "bad" and "checksum 00, expected CE" in bad.error


def test_pingan_frame_cut_short_by_the_next() -> None:
    good = pingan.encode_text(1, ["A002"])
    frames, rest = pingan.decode(good[:-3] + good)
    assert [f.kind for f in frames] == ["bad", "text"] and frames[1].text == "A002" and rest == b""


def test_imm9013_wrong_crc_then_recovers() -> None:
    good = imm9013.encode_text(1, ["A003"])
    broken = bytearray(good)
    broken[2] = 0xFF  # the length itself is corrupted: the next frame must not be swallowed
    frames, _ = imm9013.decode(bytes(broken) + good + b"\x00" * 300)
    texts = [f for f in frames if f.kind == "text"]
    assert [f.text for f in texts] == ["A003"]
    assert "CRC" in frames[0].error


# ------------------------------------------------------------------ layout


def test_window_number_is_never_cut() -> None:
    full = "请 A1234 号到 15 号窗口"
    assert layout.fit_call("A1234", 15, 40) == full
    for width in range(8, 40):
        shown = layout.fit_call("A1234", 15, width)
        assert columns(shown) <= width
        assert "A1234" in shown and "15" in shown.replace("A1234", "")
        assert "1" not in shown.replace("A1234", "").replace("15", "")  # never "1号窗口" for 15
    assert layout.fit_call("A1234", 15, 16) == "A1234→15号窗口"
    assert layout.fit_call("A1234", 15, 8) == "A1234 15"
    with pytest.raises(DoesNotFit) as err:
        layout.fit_call("A1234", 15, 7)
    assert "width" in (err.value.fix or "")


def test_note_is_dropped_before_words() -> None:
    assert layout.fit_call("A001", 5, 40, "（陪同办）") == "请 A001 号到 5 号窗口（陪同办）"
    assert layout.fit_call("A001", 5, 17, "★", style="row") == "A001 → 5号窗口★"
    assert layout.fit_call("A001", 5, 16, "★") == "A001→5号窗口★"
    assert layout.fit_call("A001", 5, 14, "★", style="row") == "A001→5号窗口"  # the mark goes first


def test_latest_calls_newest_first_and_recall_moves_up() -> None:
    calls: list[layout.CallEntry] = []
    for n, w in (("A021", 3), ("A022", 4), ("A023", 5), ("B007", 12)):
        calls = layout.remember(calls, layout.CallEntry(n, str(w)), 3)
    assert layout.calls_screen(calls, 3, 16) == ["B007 → 12号窗口", "A023 → 5号窗口", "A022 → 4号窗口"]
    calls = layout.remember(calls, layout.CallEntry("A022", "4"), 3)
    assert layout.calls_screen(calls, 3, 16) == ["A022 → 4号窗口", "B007 → 12号窗口", "A023 → 5号窗口"]


def test_long_text_is_paged_and_numbers_stay_whole() -> None:
    notice = "请携带身份证原件及复印件到3号窗口办理，办理时间8:30-17:00"
    pages = layout.pages([notice], 2, 16)
    rows = [r for p in pages for r in p]
    assert [len(p) for p in pages] == [2, 2]
    assert all(columns(r) <= 16 for r in rows)
    assert "".join(rows) == notice
    assert any("8:30-17:00" in r for r in rows)  # the hours moved to a row of their own, not split


def test_characters_outside_gbk_are_replaced_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    layout._logged.clear()
    with caplog.at_level(logging.WARNING, logger="devices.board.layout"):
        assert layout.safe_text("张𬌗 😀 • ★") == "张？ ？ · ★"  # ★ is in GBK (A1EF) and stays
        layout.safe_text("王𬌗")
    assert sum("U+2C317" in r.message for r in caplog.records) == 1
    assert layout.safe_text("喆", "gb2312") == "？" and layout.safe_text("喆") == "喆"
    for sub in layout.SUBSTITUTES.values():
        sub.encode("gbk")
    frame = pingan.encode_text(1, ["张𬌗"])  # never an encoding error on the way to the board
    [decoded], _ = pingan.decode(frame)
    assert decoded.text == "张？"


def test_encoder_multi_row_board_sends_latest_calls() -> None:
    enc = BoardEncoder("pingan", 1, rows=2, width=16, summary=True)
    enc.call("A001", 1)
    frame = enc.call("A002", 15, "★")
    [decoded], _ = pingan.decode(frame)
    assert layout.split_rows(decoded.text, 16, 2) == ["A002→15号窗口★", "A001 → 1号窗口"]
    assert enc.expected == ["A002→15号窗口★", "A001 → 1号窗口"]
    with pytest.raises(BadRequest):
        enc.call("", 3)
