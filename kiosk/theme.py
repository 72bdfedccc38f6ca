"""Sizes and colours for elderly visitors and for staff (China's 适老化 rules, WCAG 2.2): one place that turns a
screen (pixels per millimetre) and the chosen mode (large text, high contrast) into numbers every app draws with.

Targets are physical: a finger is millimetres wide whatever the screen's resolution, so a main kiosk button is at
least 15 mm, and never under 44 dp (60 dp in large-text mode). Text sizes: nothing under 18 dp in normal mode;
in large text every text grows and none is under 30 dp. Colours: text ≥ 4.5:1 in normal mode, ≥ 7:1 in high
contrast, and every control's edge ≥ 3:1 against what surrounds it. The GUI tests measure all of this from the
rendered pixels (tests/gui/measure.py); the palettes below are chosen to pass with room to spare.
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
    """Colour roles, each a background with the text drawn on it. A screen uses roles, never colours of its own,
    so switching the palette restyles everything at once."""

    background: Colour  # the screen
    text: Colour
    muted: Colour  # secondary text on the background: still ≥ 4.5:1 (≥ 7:1 in high contrast)
    button: Colour  # primary controls
    button_text: Colour
    accent: Colour  # the assistance choices; also the ticket number's colour on the background
    accent_text: Colour
    surface: Colour  # cards and panels on the background (list rows, dialogs)
    surface_text: Colour
    mark: Colour  # a card that needs attention (escalated, overdue): colour is never the only cue
    mark_text: Colour
    edge: Colour  # outlines of controls and cards that would otherwise not stand out (≥ 3:1 to the background)
    good: Colour  # connected / done, as a fill with `button_text`-free text: use `good_text`
    good_text: Colour
    bad: Colour  # offline / fault
    bad_text: Colour


NORMAL = Palette(
    background=_rgb("F4F6F8"), text=_rgb("1A1A1A"), muted=_rgb("44505C"),
    button=_rgb("0B5CAD"), button_text=_rgb("FFFFFF"),
    accent=_rgb("A33F00"), accent_text=_rgb("FFFFFF"),
    surface=_rgb("FFFFFF"), surface_text=_rgb("1A1A1A"),
    mark=_rgb("FFE3CC"), mark_text=_rgb("1A1A1A"),
    edge=_rgb("5A6570"),
    good=_rgb("1B6E34"), good_text=_rgb("FFFFFF"),
    bad=_rgb("A8171B"), bad_text=_rgb("FFFFFF"),
)
HIGH_CONTRAST = Palette(
    background=_rgb("000000"), text=_rgb("FFFFFF"), muted=_rgb("E6E6E6"),
    button=_rgb("FFD400"), button_text=_rgb("000000"),
    accent=_rgb("FFFFFF"), accent_text=_rgb("000000"),
    surface=_rgb("000000"), surface_text=_rgb("FFFFFF"),
    mark=_rgb("3D2B00"), mark_text=_rgb("FFFFFF"),
    edge=_rgb("FFFFFF"),
    good=_rgb("7CFF9E"), good_text=_rgb("000000"),
    bad=_rgb("FF9E9E"), bad_text=_rgb("000000"),
)


@dataclass(frozen=True)
class Theme:
    px_per_mm: float = 4.0  # a 21.5" 1080×1920 portrait screen
    large_text: bool = False
    high_contrast: bool = False

    @property
    def palette(self) -> Palette:
        return HIGH_CONTRAST if self.high_contrast else NORMAL

    @property
    def small(self) -> float:
        """The least any text may be: notes, hints, captions (dp)."""
        return 30.0 if self.large_text else 18.0

    @property
    def body(self) -> float:
        return 34.0 if self.large_text else 22.0  # dp; the rules are ≥ 18, and ≥ 30 in large text

    @property
    def heading(self) -> float:
        return 56.0 if self.large_text else 40.0

    @property
    def number(self) -> float:
        return 200.0 if self.large_text else 128.0

    @property
    def target(self) -> float:
        """Main touch targets: at least 15 mm, at least 44 dp (60 dp and 22 mm in large-text mode)."""
        floor = 60.0 if self.large_text else 44.0
        return max(floor, (22 if self.large_text else 15) * self.px_per_mm)
