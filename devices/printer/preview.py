"""The ticket as a picture, from the same layout the encoder prints: what the technician checks on screen."""

from __future__ import annotations

from PIL import Image, ImageDraw

from ..fonts import render_line
from .encoder import DOT_HEIGHT_FONT_A, qr_image
from .profile import PrinterProfile
from .ticket import QR, Cut, Line, Op, Rule


def render(ops: list[Op], profile: PrinterProfile, margin: int = 16) -> Image.Image:
    width = profile.width_dots
    parts: list[Image.Image] = []
    for op in ops:
        if isinstance(op, Line):
            parts.append(render_line(op.text, DOT_HEIGHT_FONT_A * max(1, min(8, op.size)), width, op.align))
        elif isinstance(op, QR):
            parts.append(qr_image(op.content, op.size, width))
        elif isinstance(op, Rule):
            rule = Image.new("1", (width, 12), 1)
            ImageDraw.Draw(rule).line((0, 6, width, 6), fill=0)
            parts.append(rule)
        elif isinstance(op, Cut):
            cut = Image.new("1", (width, 24), 1)
            d = ImageDraw.Draw(cut)
            for x in range(0, width, 16):
                d.line((x, 12, x + 8, 12), fill=0)
            parts.append(cut)
    height = sum(p.height for p in parts) + 2 * margin
    page = Image.new("L", (width + 2 * margin, height), 255)
    y = margin
    for part in parts:
        page.paste(part.convert("L"), (margin, y))
        y += part.height
    return page
