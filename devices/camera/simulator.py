"""A document camera that is a file: a generated photo of a form lying skewed on a textured desk.

The page carries Chinese text and a QR code (UTF-8 payload), so detection, straightening and code reading are
all exercised by one picture; the true corners are returned for tests to measure against.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import qrcode

from ..fonts import render_line

DEFAULT_QR = "预约码：平安县医保 20261123-0930"


def make_page(width: int = 1240, qr_text: str = DEFAULT_QR) -> np.ndarray:
    """A white A4 page with a heading, some lines and a QR code, as a BGR image."""
    height = int(width * 2**0.5)
    page = np.full((height, width, 3), 255, np.uint8)
    y = width // 12
    for text, size in (("授权委托书", width // 16), ("委托人：张** 受托人：王**", width // 32),
                       ("事项：不动产登记 代理办（帮办代办）", width // 32), ("平安县政务服务中心", width // 32)):
        line = np.array(render_line(text, size, width - width // 6, "left").convert("L"))
        page[y : y + line.shape[0], width // 12 : width // 12 + line.shape[1]] = line[:, :, None]
        y += int(line.shape[0] * 1.6)
    code = qrcode.QRCode(box_size=max(4, width // 120), border=2)
    code.add_data(qr_text.encode("utf-8"))
    code.make(fit=True)
    qr = np.array(code.make_image().get_image().convert("L"))
    qy, qx = height - qr.shape[0] - width // 10, width - qr.shape[1] - width // 10
    page[qy : qy + qr.shape[0], qx : qx + qr.shape[1]] = qr[:, :, None]
    cv2.rectangle(page, (0, 0), (width - 1, height - 1), (235, 235, 235), 2)
    return page


def desk(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A dark wood-like texture: low-frequency grain plus noise, so edges other than the page's exist."""
    x = np.linspace(0, 12 * np.pi, width)
    grain = (np.sin(x[None, :] + np.linspace(0, 3, height)[:, None] * 2) * 12).astype(np.float32)
    base = np.empty((height, width, 3), np.float32)
    base[:] = (40, 70, 110)
    noise = rng.normal(0, 9, (height, width, 1)).astype(np.float32)
    return np.clip(base + grain[:, :, None] + noise, 0, 255).astype(np.uint8)


def document_photo(width: int = 3264, height: int = 2448, seed: int = 1,
                   qr_text: str = DEFAULT_QR) -> tuple[np.ndarray, np.ndarray]:
    """(BGR photo, true corners tl, tr, br, bl) of a page rotated and perspective-skewed on a desk."""
    rng = np.random.default_rng(seed)
    page = make_page(qr_text=qr_text)
    ph, pw = page.shape[:2]
    cx, cy = width / 2 + rng.uniform(-0.05, 0.05) * width, height / 2 + rng.uniform(-0.05, 0.05) * height
    scale = 0.8 * height / ph
    angle = np.deg2rad(rng.uniform(-12, 12))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    half = np.array([[-pw / 2, -ph / 2], [pw / 2, -ph / 2], [pw / 2, ph / 2], [-pw / 2, ph / 2]]) * scale
    corners = half @ rot.T + [cx, cy]
    corners += rng.uniform(-0.03, 0.03, (4, 2)) * [width, height]  # perspective: the camera is not square-on
    src = np.array([[0, 0], [pw - 1, 0], [pw - 1, ph - 1], [0, ph - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
    photo = desk(width, height, rng)
    warped = cv2.warpPerspective(page, matrix, (width, height), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), matrix, (width, height))
    photo[mask > 127] = warped[mask > 127]
    shade = np.linspace(0.85, 1.0, width, dtype=np.float32)[None, :, None]  # uneven lighting
    photo = (photo.astype(np.float32) * shade).astype(np.uint8)
    return photo, corners.astype(np.float32)


def write_video(path: str | Path, frames: int = 10, width: int = 1632, height: int = 1224, seed: int = 1) -> Path:
    """A short MJPG video of the desk (the page shifts slightly between frames), usable as a camera source."""
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (width, height))
    for i in range(frames):
        photo, _ = document_photo(width, height, seed + i)
        writer.write(photo)
    writer.release()
    return path
