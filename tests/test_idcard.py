"""SAM ID card reader: byte-exact frames, the text block, and the driver against its simulator over a real pty."""

from __future__ import annotations

import json
from datetime import date

import pytest

from devices.errors import DeviceError, DeviceTimeout
from devices.idcard.card import CardError, build_text, id_check_digit, id_number_problem, parse_text
from devices.idcard.protocol import (
    Command,
    FrameDecoder,
    encode_request,
    encode_response,
    parse_response,
    split_read_payload,
)
from devices.idcard.reader import CardWatcher, IdCardReader, ReaderError
from devices.idcard.simulator import IdCardSimulator, load_cards
from devices.link import SerialLink
from hall_bus.domain.age import age_on

from .conftest import ROOT

CARDS = load_cards(ROOT / "assets" / "idcard" / "cards.example.json")
H = "AAAAAA9669"

# ---------------------------------------------------------------- frames, byte for byte (values from public sources)


@pytest.mark.parametrize(("command", "frame"), [
    (Command.SAM_STATUS, H + "000311FFED"),
    (Command.RESET_SAM, H + "000310FFEC"),
    (Command.SAM_ID, H + "000312FFEE"),
    (Command.FIND_CARD, H + "0003200122"),
    (Command.SELECT_CARD, H + "0003200221"),
    (Command.READ_TEXT_PHOTO, H + "0003300132"),
    (Command.READ_WITH_FINGERPRINT, H + "0003301023"),
])
def test_request_frames_are_byte_exact(command: Command, frame: str) -> None:
    assert encode_request(command).hex().upper() == frame


@pytest.mark.parametrize(("sw3", "data", "frame"), [
    (0x90, b"", H + "0004000090" + "94"),
    (0x60, b"", H + "0004000060" + "64"),
    (0x9F, bytes(4), H + "0008" + "00009F" + "00000000" + "97"),
    (0x80, b"", H + "0004000080" + "84"),
    (0x81, b"", H + "0004000081" + "85"),
    (0x90, bytes(8), H + "000C000090" + "00" * 8 + "9C"),
])
def test_response_frames_are_byte_exact(sw3: int, data: bytes, frame: str) -> None:
    assert encode_response(sw3, data).hex().upper() == frame


def test_read_answer_is_1295_bytes_with_lengths_from_the_frame() -> None:
    text = build_text(CARDS[0])
    payload = (256).to_bytes(2, "big") + (1024).to_bytes(2, "big") + text + bytes(1024)
    frame = encode_response(0x90, payload)
    assert len(frame) == 1295 and frame[5:10].hex() == "0508000090"
    body = FrameDecoder().feed(frame)[0]
    t, photo, fp = split_read_payload(parse_response(body).data, fingerprint=False)
    assert t == text and len(photo) == 1024 and fp == b""


def test_decoder_skips_noise_and_resyncs_after_a_bad_checksum() -> None:
    good = encode_response(0x90)
    bad = good[:-1] + b"\x00"
    d = FrameDecoder()
    frames = d.feed(b"\x13\x37" + bad + good)
    assert len(frames) == 1 and parse_response(frames[0]).sw3 == 0x90
    assert any("noise" in e for e in d.errors) and any("checksum mismatch" in e for e in d.errors)


def test_decoder_handles_split_reads_and_impossible_lengths() -> None:
    frame = encode_response(0x9F, bytes(4))
    d = FrameDecoder()
    out = []
    for i in range(len(frame)):  # one byte at a time, as a slow UART delivers it
        out += d.feed(frame[i:i + 1])
    assert len(out) == 1 and not d.errors
    d2 = FrameDecoder()
    assert d2.feed(bytes.fromhex(H + "FFFF00") + frame) != []
    assert any("impossible frame length" in e for e in d2.errors)


def test_truncated_frame_is_described() -> None:
    d = FrameDecoder()
    d.feed(encode_response(0x90, bytes(100))[:40])
    assert d.describe_truncation() == "truncated frame: got 40 of 111 bytes"


# ---------------------------------------------------------------- the text block


def test_resident_card_fields() -> None:
    card = parse_text(build_text(CARDS[0]))
    assert (card.card_type, card.name, card.sex, card.nation) == ("resident", "张秀英", "女", "汉族")
    assert card.birth == date(1952, 3, 14) and card.valid_to is None and card.valid_to_text == "长期"
    assert age_on(card.birth, date(2026, 3, 13)) == 73 and age_on(card.birth, date(2026, 3, 14)) == 74
    assert card.id_problem is None
    assert parse_text(build_text(CARDS[1])).nation == "维吾尔族"


def test_rare_character_beyond_the_bmp_survives() -> None:
    assert parse_text(build_text(CARDS[2])).name == "李𬌗"


def test_other_card_types() -> None:
    j = parse_text(build_text(CARDS[3]))
    assert j.card_type == "hmt_residence_permit" and j.permit_number == "H12345678" and j.id_number.endswith("X")
    y = parse_text(build_text(CARDS[4]))
    assert y.card_type == "foreign_permanent" and y.english_name == "ANNA MARIA SCHMIDT" and y.nationality == "DEU"
    i = parse_text(build_text(CARDS[5]))
    assert i.card_type == "foreign_permanent_old" and i.name == "史密斯" and i.id_number == "USA110070010101"


def test_check_digit_mod_11_2() -> None:
    assert id_check_digit("11010519491231002") == "X"  # the example printed in GB 11643
    assert id_number_problem("11010519491231002X") is None
    assert "should be X" in (id_number_problem("110105194912310021") or "")
    card = parse_text(build_text(CARDS[6]))
    assert card.id_problem and "check digit" in card.id_problem


def test_masked_unless_asked() -> None:
    d = parse_text(build_text(CARDS[0])).as_dict(age=74)
    assert d["name"] == "张**" and d["id_number"] == "4101**********0025" and "人民路" not in d["address"]
    full = parse_text(build_text(CARDS[0])).as_dict(age=74, show_id=True)
    assert full["id_number"] == "410127195203140025" and full["age"] == 74


def test_bad_blocks() -> None:
    with pytest.raises(CardError, match="not 256"):
        parse_text(b"\x00" * 10)
    block = bytearray(build_text(CARDS[0]))
    block[248:250] = "Q".encode("utf-16-le")
    with pytest.raises(CardError, match="unknown card type flag"):
        parse_text(bytes(block))


# ---------------------------------------------------------------- driver against the simulator over a real pty


@pytest.fixture
def sim():  # type: ignore[no-untyped-def]
    with IdCardSimulator(CARDS) as s:
        yield s


@pytest.fixture
def reader(sim):  # type: ignore[no-untyped-def]
    r = IdCardReader(SerialLink(sim.path, 115200), timeout=1.0)
    yield r
    r.close()


def test_read_a_card_over_the_pty(sim, reader) -> None:  # type: ignore[no-untyped-def]
    assert reader.sam_status().ok
    assert reader.sam_id().startswith("0501")
    assert reader.read() is None  # nothing on the reader
    sim.insert(0)
    card = reader.read()
    assert card is not None and card.name == "张秀英" and len(card.photo) == 1024
    fp = reader.read(fingerprint=True)
    assert fp is not None and len(fp.fingerprint) == 1024
    assert sim.requests[-3:] == [Command.FIND_CARD, Command.SELECT_CARD, Command.READ_WITH_FINGERPRINT]


def test_sam_failure_is_reported_with_a_fix(sim, reader) -> None:  # type: ignore[no-untyped-def]
    sim.inject("sam_failure")
    with pytest.raises(ReaderError, match="SAM self-test failed") as info:
        reader.sam_status()
    assert "power-cycle" in str(info.value)


def test_checksum_fault_then_recovery(sim, reader) -> None:  # type: ignore[no-untyped-def]
    sim.insert(0)
    sim.inject("checksum")
    with pytest.raises(DeviceError, match="checksum mismatch"):
        reader.find_card()
    assert reader.find_card() is True  # the next exchange is clean


def test_timeout_names_the_command(sim, reader) -> None:  # type: ignore[no-untyped-def]
    sim.inject("timeout")
    with pytest.raises(DeviceTimeout, match="sam_status: no answer"):
        reader.sam_status()
    assert reader.sam_status().ok


def test_noise_before_the_header_is_survived(sim, reader) -> None:  # type: ignore[no-untyped-def]
    sim.inject("noise")
    assert reader.sam_status().ok
    assert any("noise" in w for w in reader.warnings)


def test_card_pulled_mid_read(sim, reader) -> None:  # type: ignore[no-untyped-def]
    sim.insert(0)
    sim.inject("pulled")
    with pytest.raises(DeviceTimeout, match="truncated frame"):
        reader.read()
    assert reader.read() is None  # the card is gone


def test_watcher_reports_each_insertion_once(sim, reader) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    errors: list[str] = []
    w = CardWatcher(reader, lambda c: seen.append(c.name), lambda: seen.append("removed"),
                    lambda e: errors.append(str(e)))
    w.poll_once()
    sim.insert(1)
    for _ in range(3):
        w.poll_once()
    sim.remove()
    w.poll_once()
    w.poll_once()
    sim.insert(0)
    sim.inject("pulled")
    w.poll_once()  # read fails: error, not an insertion
    sim.insert(0)
    w.poll_once()
    assert seen == ["买买提·艾力", "removed", "张秀英"]
    assert len(errors) == 1


def test_missing_port_gives_a_fix() -> None:
    with pytest.raises(DeviceError) as info:
        SerialLink("/dev/ttyNOPE0").open()
    assert "does not exist" in str(info.value) and "hallctl device list" in str(info.value)


def test_cards_file_must_be_a_list(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "cards.json"
    f.write_text(json.dumps({"name": "x"}))
    with pytest.raises(ValueError, match="JSON list"):
        load_cards(f)


def test_unknown_status_is_named() -> None:
    r = parse_response(FrameDecoder().feed(encode_response(0x5C))[0])
    assert not r.ok and r.status_text == "unknown status 0x5C"


def test_photo_goes_through_a_registered_decoder(sim, reader) -> None:  # type: ignore[no-untyped-def]
    from devices.idcard import photo

    sim.insert(0)
    card = reader.read()
    assert card is not None and card.photo.startswith(b"WLT") and card.photo_image() is None  # none installed
    photo.register_photo_decoder(lambda wlt: b"BM" + wlt[:10])
    try:
        assert card.photo_image() == b"BM" + card.photo[:10]
    finally:
        photo._registered.clear()
