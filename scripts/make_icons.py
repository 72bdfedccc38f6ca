"""Draws the kiosk's assistance-group pictograms (assets/icons/*.png): pictures beside the words, for visitors
who cannot read. Plain shapes, a dark figure on a white disc, legible on any button colour and in high contrast.

Run: .venv/bin/python scripts/make_icons.py   (the PNGs are committed; rerun only to change them)
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

S = 256
INK = (26, 26, 26, 255)
OUT = Path(__file__).resolve().parents[1] / "assets" / "icons"


def canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((4, 4, S - 4, S - 4), fill=(255, 255, 255, 255), outline=INK, width=6)
    return img, d


def person(d: ImageDraw.ImageDraw, x: float, y: float, h: float, *, seated: bool = False) -> None:
    """A stick figure whose head top is at (x, y) and which is h tall."""
    r = h * 0.11
    w = max(6, int(h * 0.07))
    d.ellipse((x - r, y, x + r, y + 2 * r), fill=INK)
    neck, hip = y + 2.3 * r, y + h * 0.55
    d.line((x, neck, x, hip), fill=INK, width=w)
    d.line((x - h * 0.18, neck + h * 0.12, x + h * 0.18, neck + h * 0.12), fill=INK, width=w)
    if seated:
        d.line((x, hip, x + h * 0.25, hip), fill=INK, width=w)
        d.line((x + h * 0.25, hip, x + h * 0.25, y + h), fill=INK, width=w)
    else:
        d.line((x, hip, x - h * 0.15, y + h), fill=INK, width=w)
        d.line((x, hip, x + h * 0.15, y + h), fill=INK, width=w)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    img, d = canvas()  # 推着办: a seated person in a wheelchair, a helper behind
    person(d, 120, 60, 110, seated=True)
    d.ellipse((95, 150, 175, 230), outline=INK, width=10)
    person(d, 190, 50, 150)
    d.line((150, 120, 190, 100), fill=INK, width=10)
    img.save(OUT / "wheelchair_push.png")

    img, d = canvas()  # 陪同办: two people side by side, holding hands
    person(d, 95, 55, 150)
    person(d, 165, 65, 140)
    d.line((110, 115, 150, 115), fill=INK, width=10)
    img.save(OUT / "accompany.png")

    img, d = canvas()  # 引导办: a person and an arrow showing the way
    person(d, 90, 55, 150)
    d.line((130, 128, 215, 128), fill=INK, width=14)
    d.polygon(((215, 100), (245, 128), (215, 156)), fill=INK)
    img.save(OUT / "guide.png")

    img, d = canvas()  # 代理办: a seated person and a document done for them
    person(d, 80, 70, 130, seated=True)
    d.rectangle((145, 60, 215, 150), outline=INK, width=8)
    for yy in (85, 105, 125):
        d.line((158, yy, 202, yy), fill=INK, width=6)
    d.line((160, 190, 185, 215), fill=INK, width=12)
    d.line((185, 215, 225, 170), fill=INK, width=12)
    img.save(OUT / "delegate.png")

    img, d = canvas()  # 不用，谢谢: one person on their own
    person(d, 128, 45, 165)
    img.save(OUT / "normal.png")


if __name__ == "__main__":
    main()
