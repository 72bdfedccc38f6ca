"""Keypad and evaluation-pad frames byte for byte, the decoders on broken input, and the key → op table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.keypad import ff68, qsystem
from devices.keypad.frames import BadFrame
from devices.keypad.keymap import LEVELS, OPS, ff68_key, ff68_op, next_state, qsystem_op, rating_level, rating_raw

H = bytes.fromhex

# ---------------------------------------------------------------- QSystem: 01 ADDR CODE 07, no checksum


def test_qsystem_frames_are_byte_exact() -> None:
    assert qsystem.encode_key(5, qsystem.Key.CALL) == H("01 05 31 07")
    assert qsystem.encode_key(7, qsystem.Key.FINISH) == H("01 07 34 07")  # address 7 is the END byte's value
    assert qsystem.encode_command(5, qsystem.Led.GREEN) == H("01 05 32 07")
    assert qsystem.encode_command(5, qsystem.Led.BEEP_GREEN_BLINK) == H("01 05 3D 07")
    assert qsystem.encode_poll(12) == H("01 0C 3F 07")
    # the display: 01 ADDR BLINK c c c 07, "023" in ASCII is 30 32 33
    assert qsystem.encode_display(5, "023", qsystem.BLINK_ALWAYS) == H("01 05 21 30 32 33 07")
    assert qsystem.encode_display(5, "7") == H("01 05 20 20 20 37 07")  # right-aligned, steady
    with pytest.raises(ValueError):
        qsystem.encode_command(5, 0x40)
    with pytest.raises(ValueError):
        qsystem.encode_display(5, "1234")


@pytest.mark.parametrize(("ticket", "shown"), [("A023", "023"), ("A23", "A23"), ("7", "  7"), ("B999", "999"),
                                               ("AB12", " 12")])
def test_qsystem_display_drops_the_letter_never_a_digit(ticket: str, shown: str) -> None:
    assert qsystem.display_text(ticket) == shown


@pytest.mark.parametrize("ticket", ["A1023", "12345", "A-23", "号23"])
def test_qsystem_display_refuses_what_it_cannot_show_truthfully(ticket: str) -> None:
    with pytest.raises(ValueError):
        qsystem.display_text(ticket)


def test_qsystem_decoder_reads_frames_split_and_back_to_back() -> None:
    d = qsystem.Decoder()
    stream = H("01 05 31 07 01 07 34 07")
    out: list[object] = []
    for b in stream:
        out += d.feed(bytes([b]))
    assert out == [qsystem.Frame(5, 0x31), qsystem.Frame(7, 0x34)]
    assert d.pending() == 0


def test_qsystem_decoder_drops_garbage_collision_and_partial_then_reads_the_next_frame() -> None:
    d = qsystem.Decoder()
    out = d.feed(H("55 AA 13") + H("01 05 31 07"))
    assert [type(f) for f in out] == [BadFrame, qsystem.Frame]
    assert out[0].reason == "garbage" and out[1] == qsystem.Frame(5, 0x31)  # type: ignore[union-attr]
    # two keypads at once: 01 05 31 07 and 01 06 31 07 interleaved
    out = d.feed(H("01 01 05 06 31 31 07 07") + H("01 06 32 07"))
    assert len(out) == 2 and isinstance(out[0], BadFrame) and out[0].reason == "collision"
    assert out[1] == qsystem.Frame(6, 0x32)
    assert d.feed(H("01 05")) == [] and d.pending() == 2
    bad = d.flush()
    assert [b.reason for b in bad] == ["partial"] and bad[0].data == H("01 05")
    assert d.feed(H("01 05 34 07")) == [qsystem.Frame(5, 0x34)]


def test_qsystem_decoder_refuses_unknown_codes_and_other_lengths() -> None:
    d = qsystem.Decoder()
    out = d.feed(H("01 05 39 07") + H("01 05 31 31 07"))  # an LED code is not a key; five bytes is a collision
    out += d.flush()
    assert all(isinstance(f, BadFrame) for f in out) and out


def test_qsystem_simulator_side_decoder_reads_display_frames() -> None:
    d = qsystem.Decoder(to_host=False)
    assert d.feed(H("01 05 21 30 32 33 07 01 05 32 07")) == [qsystem.DisplayFrame(5, 0x21, "023"),
                                                             qsystem.Frame(5, 0x32)]


# ---------------------------------------------------------------- FF 68 L L 68 ADDR FUNC DATA… CS 16


def test_ff68_frames_are_byte_exact() -> None:
    # address 5, FUNC 1, key 0x0C: L = 3 (ADDR FUNC DATA), CS = 05 + 01 + 0C = 0x12
    assert ff68.encode_key(5, ff68.KEY_CALL_NEXT) == H("FF 68 03 03 68 05 01 0C 12 16")
    # "6 then confirm" from address 1: L = 4, CS = 01 + 01 + 06 + 0F = 0x17
    assert ff68.encode_key(1, ff68.KEY_CONFIRM, b"\x06") == H("FF 68 04 04 68 01 01 06 0F 17 16")
    # an evaluation pad at 9 rates raw 1: FUNC 0x11, CS = 09 + 11 + 01 = 0x1B
    assert ff68.encode_rating(9, 1) == H("FF 68 03 03 68 09 11 01 1B 16")
    # beep at 5: L = 2, CS = 05 + 03 = 08
    assert ff68.encode_beep(5) == H("FF 68 02 02 68 05 03 08 16")
    # poll at 5: FUNC 0, CS = 05
    assert ff68.encode_poll(5) == H("FF 68 02 02 68 05 00 05 16")
    # display at 5, waiting 7, ticket A023: 00 00 07 | 00 02 03; L = 8, CS = 5 + 2 + 7 + 2 + 3 = 19 = 0x13
    assert ff68.encode_display(5, ff68.display_digits("A023", 7)) == H("FF 68 08 08 68 05 02 00 00 07 00 02 03 13 16")
    # no waiting count: 0A 0A 0A 00 02 03, CS = 5 + 2 + 3 * 10 + 5 = 42 = 0x2A
    assert ff68.encode_display(5, ff68.display_digits("A023")) == H("FF 68 08 08 68 05 02 0A 0A 0A 00 02 03 2A 16")


@pytest.mark.parametrize(("ticket", "waiting", "shown"), [
    ("A023", None, "   023"), ("A023", 7, "007023"), ("A023", 1500, "999023"), ("B7", 12, "012  7"),
    ("1234", 5, "  1234"),  # four digits take more than the right half: the count gives way, the number stays whole
    ("C123456", None, "123456"), (None, 3, "003   "), (None, None, "      "),
])
def test_ff68_display_shows_every_digit_of_the_number(ticket: str | None, waiting: int | None, shown: str) -> None:
    assert ff68.show(ff68.display_digits(ticket, waiting)) == shown


@pytest.mark.parametrize("ticket", ["A1234567", "A0B3", "23A"])
def test_ff68_display_refuses_what_it_cannot_show_truthfully(ticket: str) -> None:
    with pytest.raises(ValueError):
        ff68.display_digits(ticket)


def test_ff68_decoder_reads_split_frames() -> None:
    d = ff68.Decoder()
    stream = ff68.encode_key(5, ff68.KEY_CALL_NEXT) + ff68.encode_rating(9, 2)
    out: list[object] = []
    for b in stream:
        out += d.feed(bytes([b]))
    assert out == [ff68.Frame(5, 1, b"\x0c"), ff68.Frame(9, 0x11, b"\x02")]
    assert out[0].key == 0x0C  # type: ignore[union-attr]


@pytest.mark.parametrize(("broken", "reason"), [
    (H("FF 68 03 03 68 05 01 0C 13 16"), "checksum"),
    (H("FF 68 03 04 68 05 01 0C 12 16"), "collision"),  # the two lengths disagree
    (H("FF 68 03 03 67 05 01 0C 12 16"), "collision"),  # wrong middle byte
    (H("FF 68 03 03 68 05 01 0C 12 17"), "collision"),  # wrong end byte
    (H("FF 68 40 40 68 05 01"), "collision"),  # impossible length
    (H("00 13 55"), "garbage"),
])
def test_ff68_decoder_drops_a_broken_frame_and_reads_the_next(broken: bytes, reason: str) -> None:
    d = ff68.Decoder()
    out = d.feed(broken + ff68.encode_key(2, ff68.KEY_RECALL))
    bad = [f for f in out if isinstance(f, BadFrame)]
    assert bad and bad[0].reason == reason
    assert out[-1] == ff68.Frame(2, 1, b"\x0d")


def test_ff68_decoder_reports_a_frame_cut_off_by_a_new_header_and_a_partial_one() -> None:
    d = ff68.Decoder()
    cut = ff68.encode_key(1, ff68.KEY_CALL_NEXT)[:6]
    out = d.feed(cut + ff68.encode_key(2, ff68.KEY_CALL_NEXT))
    assert isinstance(out[0], BadFrame) and out[0].reason == "collision" and out[1] == ff68.Frame(2, 1, b"\x0c")
    assert d.feed(cut) == [] and d.pending() == len(cut)
    assert [b.reason for b in d.flush()] == ["partial"] and d.pending() == 0


def _accounted(frames: list[object], encode: object) -> int:
    n = 0
    for f in frames:
        n += len(f.data) if isinstance(f, BadFrame) else len(encode(f))  # type: ignore[operator]
    return n


@given(st.lists(st.one_of(st.binary(max_size=12), st.sampled_from([
    H("FF 68 03 03 68 05 01 0C 12 16"), H("FF 68"), H("01 05 31 07"), H("01"), H("16"), H("68")])), max_size=20))
def test_decoders_never_raise_and_account_for_every_byte(chunks: list[bytes]) -> None:
    f = ff68.Decoder()
    q = qsystem.Decoder()
    out_f: list[object] = []
    out_q: list[object] = []
    for chunk in chunks:
        out_f += f.feed(chunk)
        out_q += q.feed(chunk)
    out_f += f.flush()
    out_q += q.flush()
    total = sum(map(len, chunks))
    assert _accounted(out_f, ff68.encode_frame) == total
    assert _accounted(out_q, lambda fr: qsystem.encode_key(fr.address, fr.code)) == total
    assert f.pending() == q.pending() == 0


# ---------------------------------------------------------------- keys → ops, ratings → levels


@pytest.mark.parametrize(("data", "op"), [
    (b"\x0c", "call_next"), (b"\x0d", "recall"), (b"\x0b", "ask_rating"), (b"\x12", "pause"), (b"\x13", "transfer"),
    (b"\x0f", "confirm"), (b"\x06\x0f", "no_show"), (b"\x00\x0f", "confirm"), (b"\x0e", None), (b"", None),
])
def test_ff68_keys_map_to_bus_ops(data: bytes, op: str | None) -> None:
    assert ff68_op(data) == op
    if op is not None and data not in (b"\x00\x0f",):
        assert ff68_op(ff68_key(op)) == op  # type: ignore[arg-type]


@pytest.mark.parametrize(("key", "state", "op"), [
    (0x31, "idle", "call_next"), (0x31, "called", "recall"), (0x31, "serving", None),
    (0x32, "called", "start"), (0x32, "idle", None),
    (0x34, "called", "no_show"), (0x34, "serving", "finish"), (0x34, "idle", None),
    (0x33, "serving", "transfer"), (0x33, "called", None),
])
def test_qsystem_keys_depend_on_the_counter_state(key: int, state: str, op: str | None) -> None:
    assert qsystem_op(key, state) == op  # type: ignore[arg-type]


def test_ops_are_the_bus_names_and_states_follow_them() -> None:
    assert set(OPS) == {"call_next", "recall", "start", "finish", "no_show", "pause", "transfer", "ask_rating",
                        "confirm"}
    assert next_state("idle", "call_next") == "called"
    assert next_state("called", "start") == "serving"
    assert next_state("serving", "finish") == "idle"
    assert next_state("called", "pause") == "called"


def test_ratings_map_to_gbt_39734_levels_with_5_best() -> None:
    assert LEVELS[5] == "非常满意" and LEVELS[1] == "非常不满意" and LEVELS[3] == "基本满意"
    # default pads: raw 1 is the leftmost key, 非常满意
    assert [rating_level(raw) for raw in (1, 2, 3, 4, 5)] == [5, 4, 3, 2, 1]
    assert [rating_level(raw, best_key=5) for raw in (1, 2, 3, 4, 5)] == [1, 2, 3, 4, 5]
    assert rating_level(0) is None and rating_level(6) is None
    assert all(rating_level(rating_raw(level, b), b) == level for level in range(1, 6) for b in (1, 5))  # type: ignore[arg-type]
