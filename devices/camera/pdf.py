"""Pages → one PDF for a delegation file (代办材料): Pillow writes it, one page per straightened image."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image


def save_pdf(pages: list[np.ndarray], path: str | Path, dpi: int = 200) -> Path:
    if not pages:
        raise ValueError("no pages to save")
    images = []
    for page in pages:
        rgb = cv2.cvtColor(page, cv2.COLOR_BGR2RGB) if page.ndim == 3 else page
        images.append(Image.fromarray(rgb).convert("RGB" if page.ndim == 3 else "L"))
    path = Path(path)
    images[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return path


def save_image(page: np.ndarray, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() == ".pdf":
        return save_pdf([page], path)
    if path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
        raise ValueError(f"{path}: cannot write {path.suffix or 'files without a suffix'} (use .jpg, .png or .pdf)")
    params = [cv2.IMWRITE_JPEG_QUALITY, 90] if path.suffix.lower() in (".jpg", ".jpeg") else []
    if not cv2.imwrite(str(path), page, params):
        raise ValueError(f"{path}: cannot write (use .jpg, .png or .pdf)")
    return path
