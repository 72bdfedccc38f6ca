"""A picture of what an LED board shows: red or amber dots on black, one 16-dot font row per board row.

Drawn as dots rather than smooth text so a person looking at the PNG judges what a visitor at the board would
see: a row cut at the board's edge, a character that came out as "?", a row that stayed dark.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from PIL import Image, ImageChops, ImageDraw

from ..fonts import render_line
from .layout import Charset, safe_text

Colour = Literal["red", "amber", "green"]
COLOURS: dict[str, tuple[int, int, int]] = {"red": (255, 36, 24), "amber": (255, 168, 0), "green": (40, 255, 80)}
DOTS_PER_COLUMN = 8  # a 16×16 Chinese character is two columns
FONT_DOTS = 16
CELL = 4  # pixels per dot in the picture


def _dot_mask(width: int, height: int) -> Image.Image:
    tile = Image.new("L", (CELL, CELL), 0)
    ImageDraw.Draw(tile).ellipse((0, 0, CELL - 2, CELL - 2), fill=255)
    mask = Image.new("L", (width, height), 0)
    for x in range(0, width, CELL):
        for y in range(0, height, CELL):
            mask.paste(tile, (x, y))
    return mask


def render_board(rows: Sequence[str], *, lines: int, width: int, colour: Colour = "red",
                 brightness: int = 15, charset: Charset = "gbk") -> Image.Image:
    """The board's face: `lines` rows of `width` columns, the given rows lit from the top. Characters the
    board's font lacks are drawn as the board would show them (layout.safe_text), not from the PC's fonts."""
    dots_w = width * DOTS_PER_COLUMN
    row_h = int(FONT_DOTS * 1.25)
    lit = Image.new("L", (dots_w, row_h * lines), 0)
    for i, text in enumerate(list(rows)[:lines]):
        if not text:
            continue
        line = render_line(safe_text(text, charset), FONT_DOTS, dots_w).convert("L")  # 0 = ink
        lit.paste(ImageChops.invert(line).crop((0, 0, dots_w, row_h)), (0, i * row_h))
    lit = lit.point(lambda v: 255 if v >= 128 else 0)
    size = (dots_w * CELL, row_h * lines * CELL)
    mask = ImageChops.multiply(lit.resize(size, Image.Resampling.NEAREST), _dot_mask(*size))
    scale = (max(0, min(15, brightness)) + 1) / 16
    on = tuple(int(c * scale) for c in COLOURS[colour])
    face = Image.new("RGB", size, (0, 0, 0))
    face.paste(Image.new("RGB", size, (38, 8, 6)), (0, 0), _dot_mask(*size))  # unlit dots, faintly visible
    face.paste(Image.new("RGB", size, on), (0, 0), mask)
    border = 12
    out = Image.new("RGB", (size[0] + 2 * border, size[1] + 2 * border), (18, 18, 18))
    out.paste(face, (border, border))
    return out


def render_png(rows: Sequence[str], path: str | Path, *, lines: int, width: int, colour: Colour = "red",
               brightness: int = 15, charset: Charset = "gbk") -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    render_board(rows, lines=lines, width=width, colour=colour, brightness=brightness, charset=charset).save(out, "PNG")
    return out
