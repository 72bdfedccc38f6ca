"""Sizes and colours for elderly visitors (China's 适老化 rules, WCAG 2.2): one place that turns the hall's screen
(pixels per millimetre) and the visitor's choices (large text, high contrast) into numbers for the screens.

Targets are physical: a finger is millimetres wide whatever the screen's resolution, so a main button is at
least 15 mm, and never under 44 dp (60 dp in large-text mode). Text contrast is at least 4.5:1 in both modes.
"""

from __future__ import annotations

from dataclasses import dataclass

Colour = tuple[float, float, float, float]


def _rgb(hex_: str) -> Colour:
    return (int(hex_[0:2], 16) / 255, int(hex_[2:4], 16) / 255, int(hex_[4:6], 16) / 255, 1.0)


def _lum(c: Colour) -> float:
    def chan(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * chan(c[0]) + 0.7152 * chan(c[1]) + 0.0722 * chan(c[2])


def contrast(a: Colour, b: Colour) -> float:
    hi, lo = sorted((_lum(a), _lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@dataclass(frozen=True)
class Palette:
    background: Colour
    text: Colour
    button: Colour
    button_text: Colour
    accent: Colour  # the assistance choices and the ticket number
    accent_text: Colour
    muted: Colour


NORMAL = Palette(_rgb("F4F6F8"), _rgb("1A1A1A"), _rgb("0B5CAD"), _rgb("FFFFFF"), _rgb("B34700"), _rgb("FFFFFF"),
                 _rgb("44505C"))
HIGH_CONTRAST = Palette(_rgb("000000"), _rgb("FFFFFF"), _rgb("FFD400"), _rgb("000000"), _rgb("FFFFFF"),
                        _rgb("000000"), _rgb("E0E0E0"))


@dataclass(frozen=True)
class Theme:
    px_per_mm: float = 4.0  # a 21.5" 1080×1920 portrait screen
    large_text: bool = False
    high_contrast: bool = False

    @property
    def palette(self) -> Palette:
        return HIGH_CONTRAST if self.high_contrast else NORMAL

    @property
    def body(self) -> float:
        return 30.0 if self.large_text else 22.0  # dp; the rule is ≥ 18

    @property
    def heading(self) -> float:
        return 56.0 if self.large_text else 40.0  # dp; the rule is ≥ 30

    @property
    def number(self) -> float:
        return 160.0 if self.large_text else 128.0

    @property
    def target(self) -> float:
        """Main touch targets: at least 15 mm, at least 44 dp (60 dp in large-text mode)."""
        floor = 60.0 if self.large_text else 44.0
        return max(floor, 15 * self.px_per_mm, (22 if self.large_text else 15) * self.px_per_mm)
