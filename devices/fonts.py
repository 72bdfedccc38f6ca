"""Fonts for text we draw ourselves (tickets as images, previews): the first font that really has the glyph.

A ticket may carry a rare name character beyond GBK (e.g. 𬌗, U+2C317); WenQuanYi Micro Hei covers everyday
Chinese, HanaMin A/B (fonts-hanazono) the extension planes. We read each font's character map (fontTools) once,
so a missing glyph is known before drawing rather than discovered as a tofu box on paper.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont
from PIL import Image, ImageDraw, ImageFont

SEARCH = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",
    "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",
)


class FontMissing(RuntimeError):
    pass


@cache
def _cmap(path: str) -> frozenset[int]:
    if path.endswith(".ttc"):
        return frozenset(TTCollection(path, lazy=True).fonts[0].getBestCmap())
    return frozenset(TTFont(path, lazy=True).getBestCmap())


def available() -> list[str]:
    return [p for p in SEARCH if Path(p).exists()]


def font_for(char: str) -> str | None:
    for path in available():
        if ord(char) in _cmap(path):
            return path
    return None


def missing_glyphs(text: str) -> set[str]:
    return {ch for ch in text if not ch.isspace() and font_for(ch) is None}


@cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def render_line(text: str, size: int, width: int, align: str = "left") -> Image.Image:
    """One line of text as a 1-bit image `width` dots wide, each run drawn with a font that has its glyphs."""
    fonts = available()
    if not fonts:
        raise FontMissing("no CJK font found; install fonts-wqy-microhei and fonts-hanazono")
    runs: list[tuple[str, str]] = []
    for ch in text:
        path = font_for(ch) or fonts[0]
        if runs and runs[-1][0] == path:
            runs[-1] = (path, runs[-1][1] + ch)
        else:
            runs.append((path, ch))
    total = sum(int(_font(p, size).getlength(t)) for p, t in runs)
    img = Image.new("1", (width, int(size * 1.25)), 1)
    draw = ImageDraw.Draw(img)
    x = {"left": 0, "center": max(0, (width - total) // 2), "right": max(0, width - total)}[align]
    for path, run in runs:
        font = _font(path, size)
        draw.text((x, 0), run, font=font, fill=0)
        x += int(font.getlength(run))
    return img
