"""The 适老化 numbers the kiosk promises, checked without a window."""

from __future__ import annotations

import pytest

from kiosk.theme import HIGH_CONTRAST, NORMAL, Theme, contrast


@pytest.mark.parametrize("palette", [NORMAL, HIGH_CONTRAST])
def test_text_contrast_is_at_least_4_5_to_1(palette) -> None:  # type: ignore[no-untyped-def]
    assert contrast(palette.text, palette.background) >= 4.5
    assert contrast(palette.button_text, palette.button) >= 4.5
    assert contrast(palette.accent_text, palette.accent) >= 4.5
    assert contrast(palette.muted, palette.background) >= 4.5


@pytest.mark.parametrize("ppm", [2.0, 4.0, 6.0])
def test_sizes_follow_the_rules_on_any_screen(ppm: float) -> None:
    normal, large = Theme(px_per_mm=ppm), Theme(px_per_mm=ppm, large_text=True)
    assert normal.body >= 18 and normal.heading >= 30
    assert normal.target >= 44 and normal.target >= 15 * ppm
    assert large.target >= 60 and large.target > normal.target and large.body > normal.body
