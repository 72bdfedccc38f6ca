"""Document camera: detection on the generated desk photo, straightening, PDF, codes with Chinese payloads."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode

from devices.camera.capture import Camera
from devices.camera.codes import fix_text, scan
from devices.camera.document import binarise, find_document, page_size, straighten
from devices.camera.pdf import save_image, save_pdf
from devices.camera.simulator import DEFAULT_QR, document_photo, write_video
from devices.errors import DeviceError


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_corners_found_within_a_few_pixels_on_an_8_megapixel_photo(seed: int) -> None:
    photo, truth = document_photo(3264, 2448, seed=seed)
    corners = find_document(photo)
    assert corners is not None
    assert np.abs(corners - truth).max() < 3.0


def test_straightened_page_has_a4_proportions_and_its_code_reads() -> None:
    photo, _ = document_photo(3264, 2448, seed=4)
    corners = find_document(photo)
    assert corners is not None
    page = straighten(photo, corners)
    h, w = page.shape[:2]
    assert abs(h / w - 2**0.5) < 0.01
    assert [c.text for c in scan(page)] == [DEFAULT_QR]
    bw = binarise(page)
    assert set(np.unique(bw)) <= {0, 255} and (bw == 255).mean() > 0.8  # mostly white paper


def test_no_document_in_an_empty_scene() -> None:
    assert find_document(np.full((600, 800, 3), 90, np.uint8)) is None


def test_page_size_snaps_only_when_close() -> None:
    square = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], np.float32)
    assert page_size(square) == (100, 100)
    near_a4 = np.array([[0, 0], [100, 0], [100, 140], [0, 140]], np.float32)
    assert page_size(near_a4) == (100, 141)


@pytest.mark.parametrize("payload", ["营业执照 91410127MA9XXXXX1T", "预约码：平安县医保 20261123-0930",
                                     "https://zwfw.example.gov.cn/q?id=E007", "张三"])
def test_utf8_chinese_qr_payloads_survive_zbar(payload: str) -> None:
    img = np.array(qrcode.make(payload.encode("utf-8")).get_image().convert("L"))
    assert [c.text for c in scan(img)] == [payload]


def test_fix_text_leaves_honest_text_alone() -> None:
    assert fix_text("café".encode()) == "café"
    assert fix_text(b"E007") == "E007"


_L = ["0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011"]
_PARITY = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"]


def ean13_image(digits: str, module: int = 3) -> np.ndarray:
    """An EAN-13 barcode drawn from the standard's tables (as on a 营业执照 or a medicine box)."""
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits[:12])) % 10) % 10
    digits = digits[:12] + str(check)
    bits = "101"
    for d, parity in zip(digits[1:7], _PARITY[int(digits[0])], strict=True):
        code = _L[int(d)]
        bits += code if parity == "L" else "".join("1" if c == "0" else "0" for c in code)[::-1]
    bits += "01010"
    bits += "".join("".join("1" if c == "0" else "0" for c in _L[int(d)]) for d in digits[7:])
    bits += "101"
    quiet = "0" * 10  # white margin either side, as the standard asks
    row = np.array([0 if b == "1" else 255 for b in quiet + bits + quiet], np.uint8)
    return np.tile(np.repeat(row, module), (60, 1))


def test_barcode() -> None:
    found = scan(ean13_image("690123456789"))
    assert [(c.kind, c.text) for c in found] == [("EAN13", "6901234567892")]


def test_pdf_and_images(tmp_path: Path) -> None:
    photo, _ = document_photo(1632, 1224, seed=5)
    corners = find_document(photo)
    assert corners is not None
    page = straighten(photo, corners)
    pdf = save_pdf([page, binarise(page)], tmp_path / "file.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and b"/Count 2" in data
    jpg = save_image(page, tmp_path / "page.jpg")
    assert cv2.imread(str(jpg)).shape[:2] == page.shape[:2]
    with pytest.raises(ValueError, match="cannot write"):
        save_image(page, tmp_path / "page.xyz")


def test_camera_from_a_video_file_and_a_still(tmp_path: Path) -> None:
    video = write_video(tmp_path / "desk.avi", frames=3, width=816, height=612)
    cam = Camera(str(video))
    frames = [cam.read() for _ in range(5)]  # loops like a live camera
    cam.close()
    assert all(f.shape == (612, 816, 3) for f in frames)
    assert find_document(frames[0]) is not None
    still = tmp_path / "still.png"
    cv2.imwrite(str(still), frames[0])
    assert Camera(str(still)).read().shape == (612, 816, 3)
    with pytest.raises(DeviceError, match="no such file"):
        Camera(str(tmp_path / "missing.avi"))
