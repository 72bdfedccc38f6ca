"""Measures a rendered Kivy screen the way an inspector with a ruler and a colour meter would: every widget inside
the window, no text overflowing its box, every text and touch target at or above its minimum, and the contrast of
every text and every control's edge taken from the rendered pixels (not from the colours the code meant).

Used by every GUI driver after a screen has settled: `audit(app.root, Rules(...))` returns the figures (smallest
text, smallest target, lowest contrasts) and a list of failures, each naming the widget and its words, which the
test asserts is empty. Only what a person can see is measured: widgets hidden with opacity 0 or no size are
skipped, and so are the parts of a scrolled list outside its viewport.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

SIZE_TAG = re.compile(r"\[size=([0-9.]+)(dp|sp|px)?\]")
TOLERANCE = 1.5  # px: layouts round to whole pixels


@dataclass(frozen=True)
class Rules:
    min_text_dp: float = 18.0  # normal mode; 30 in large text (MIIT 适老化)
    min_target_dp: float = 44.0  # 60 in large text
    min_target_mm: float = 0.0  # 15 on a kiosk (with the node's px_per_mm)
    px_per_mm: float = 4.0
    min_text_contrast: float = 4.5  # 7 in high contrast (WCAG 1.4.6)
    min_edge_contrast: float = 3.0  # WCAG 1.4.11
    main_text_dp: float = 0.0  # large text: the body (not only headings) must reach this; 0 = not checked


@dataclass
class Report:
    size: tuple[int, int]
    smallest_text_dp: float = 1e9
    smallest_text: str = ""
    smallest_target_px: float = 1e9
    smallest_target: str = ""
    lowest_text_contrast: float = 1e9
    lowest_text: str = ""
    lowest_edge_contrast: float = 1e9
    lowest_edge: str = ""
    texts: int = 0
    targets: int = 0
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("smallest_text_dp", "smallest_target_px", "lowest_text_contrast", "lowest_edge_contrast"):
            d[key] = None if d[key] >= 1e9 else round(d[key], 2)
        return d


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance of sRGB values 0–255 (WCAG 2.2), for any array whose last axis is RGB."""
    c = rgb[..., :3].astype(np.float64) / 255.0
    lin = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def ratio(l1: float, l2: float) -> float:
    hi, lo = max(l1, l2), min(l1, l2)
    return (hi + 0.05) / (lo + 0.05)


def grab(root: Any) -> np.ndarray:
    """The window's pixels as an H×W×3 array, row 0 at the top, as the visitor sees them."""
    from kivy.core.window import Window
    from kivy.graphics.opengl import GL_RGB, GL_UNSIGNED_BYTE, glReadPixels

    Window.dispatch("on_draw")  # draw now: what was last flipped may be a frame old
    w, h = Window.size
    data = glReadPixels(0, 0, w, h, GL_RGB, GL_UNSIGNED_BYTE)
    return np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)[::-1]


def save(pixels: np.ndarray, path: str) -> None:
    import cv2

    cv2.imwrite(path, pixels[..., ::-1])


def _visible(widget: Any) -> bool:
    w = widget
    while w is not None and w is not w.parent:
        if getattr(w, "opacity", 1) <= 0.01 or w.width <= 0.5 or w.height <= 0.5:
            return False
        w = w.parent
    return True


def _rect(widget: Any) -> tuple[float, float, float, float]:
    """The widget's box in window coordinates: left, bottom, right, top."""
    x0, y0 = widget.to_window(widget.x, widget.y)
    x1, y1 = widget.to_window(widget.right, widget.top)
    return x0, y0, x1, y1


def _viewport(widget: Any, win: tuple[int, int]) -> tuple[float, float, float, float]:
    """What of the window can show this widget: the window, narrowed by every ScrollView above it."""
    from kivy.uix.scrollview import ScrollView

    box = (0.0, 0.0, float(win[0]), float(win[1]))
    w = widget.parent
    while w is not None and w is not w.parent:
        if isinstance(w, ScrollView):
            r = _rect(w)
            box = (max(box[0], r[0]), max(box[1], r[1]), min(box[2], r[2]), min(box[3], r[3]))
        w = w.parent
    return box


def _under_scroll(widget: Any) -> bool:
    from kivy.uix.scrollview import ScrollView

    w = widget.parent
    while w is not None and w is not w.parent:
        if isinstance(w, ScrollView):
            return True
        w = w.parent
    return False


def _crop(pixels: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h = pixels.shape[0]
    x0, y0, x1, y1 = (round(v) for v in box)
    x0, x1 = max(0, x0), min(pixels.shape[1], x1)
    top, bottom = max(0, h - y1), min(h, h - y0)
    if x1 <= x0 or bottom <= top:
        return pixels[0:0, 0:0]
    return pixels[top:bottom, x0:x1]


def _mode(region: np.ndarray) -> np.ndarray:
    """The commonest colour. Each colour packed into one integer (R, G, B order kept, so ties break as before):
    `np.unique(axis=0)` took seconds per screen and stalled the loop the app and its bus client share."""
    flat = region.reshape(-1, 3).astype(np.uint32)
    packed = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    colours, counts = np.unique(packed, return_counts=True)
    top = int(colours[counts.argmax()])
    return np.array([(top >> 16) & 255, (top >> 8) & 255, top & 255], dtype=region.dtype)


def text_contrast(region: np.ndarray, meant: tuple[float, ...]) -> float | None:
    """Contrast of a text against what it stands on, from pixels: the background is the commonest colour in the
    text's box; the text is the rendered pixel nearest the colour the label asked for (so an icon beside it is not
    mistaken for the text). None when the box holds one colour only (nothing drawn to measure)."""
    if region.size == 0:
        return None
    bg = _mode(region)
    flat = region.reshape(-1, 3).astype(np.int32)
    differs = flat[np.abs(flat - bg).sum(axis=1) > 24]
    if len(differs) < 4:
        return None
    want = np.array([v * 255 for v in meant[:3]])
    fg = differs[np.abs(differs - want).sum(axis=1).argmin()]
    return ratio(float(luminance(bg.astype(np.float64))), float(luminance(fg.astype(np.float64))))


def edge_contrast(pixels: np.ndarray, box: tuple[float, float, float, float]) -> float | None:
    """A control's fill against a ring just outside it: can its edge be seen at all (WCAG 1.4.11)."""
    x0, y0, x1, y1 = box
    inner = _crop(pixels, (x0 + 4, y0 + 4, x1 - 4, y1 - 4))
    ring = [_crop(pixels, b) for b in ((x0 - 4, y0, x0 - 1, y1), (x1 + 1, y0, x1 + 4, y1),
                                        (x0, y0 - 4, x1, y0 - 1), (x0, y1 + 1, x1, y1 + 4))]
    ring = [r.reshape(-1, 3) for r in ring if r.size]
    if inner.size == 0 or not ring:
        return None
    band = [_crop(pixels, b) for b in ((x0, y0, x0 + 4, y1), (x1 - 4, y0, x1, y1), (x0, y0, x1, y0 + 4),
                                        (x0, y1 - 4, x1, y1))]
    around = float(luminance(_mode(np.concatenate(ring).reshape(-1, 1, 3)).astype(np.float64)))
    # the fill, or a frame drawn along the edge: whichever the eye finds against the surroundings
    inside = [_mode(inner)] + [_mode(b) for b in band if b.size]
    return max(ratio(float(luminance(c.astype(np.float64))), around) for c in inside)


def _words(widget: Any) -> str:
    text = re.sub(r"\[/?[a-z]+(=[^\]]*)?\]", "", getattr(widget, "text", "") or "")
    return f"{type(widget).__name__}「{text.strip()[:24]}」"


def _font_sizes_dp(label: Any) -> list[float]:
    from kivy.metrics import Metrics

    sizes = [label.font_size / Metrics.dp]
    if getattr(label, "markup", False):
        for value, unit in SIZE_TAG.findall(label.text):
            px = float(value) * (Metrics.dp if unit in ("dp", "sp") else 1.0)
            sizes.append(px / Metrics.dp)
    return sizes


def audit(root: Any, rules: Rules, pixels: np.ndarray | None = None) -> Report:
    """Everything visible under `root` (the current screen of a ScreenManager), measured against `rules`."""
    from kivy.core.window import Window
    from kivy.metrics import Metrics
    from kivy.uix.behaviors import ButtonBehavior
    from kivy.uix.label import Label
    from kivy.uix.screenmanager import ScreenManager
    from kivy.uix.textinput import TextInput

    if isinstance(root, ScreenManager):
        root = root.current_screen
    win = (int(Window.width), int(Window.height))
    pixels = grab(root) if pixels is None else pixels
    report = Report(size=win)
    target_px = max(rules.min_target_dp * Metrics.dp, rules.min_target_mm * rules.px_per_mm)
    for w in root.walk(restrict=True):
        if not _visible(w):
            continue
        box = _rect(w)
        view = _viewport(w, win)
        shown = (max(box[0], view[0]), max(box[1], view[1]), min(box[2], view[2]), min(box[3], view[3]))
        if shown[2] - shown[0] < 1 or shown[3] - shown[1] < 1:
            continue  # scrolled out of view
        outside = box[0] < -TOLERANCE or box[1] < -TOLERANCE or box[2] > win[0] + TOLERANCE \
            or box[3] > win[1] + TOLERANCE
        if outside and not _under_scroll(w) and isinstance(w, (Label, TextInput, ButtonBehavior)):
            report.failures.append(f"off screen: {_words(w)} at {tuple(round(v) for v in box)} in {win}")
        is_text = isinstance(w, Label) and w.text.strip()
        if is_text:
            report.texts += 1
            tw, th = w.texture_size
            if th > w.height + TOLERANCE or (w.text_size[0] is not None and tw > w.width + TOLERANCE) \
                    or (w.text_size[0] is None and tw > w.width + TOLERANCE and not w.shorten):
                report.failures.append(f"clipped: {_words(w)} needs {tw:.0f}×{th:.0f}, has "
                                       f"{w.width:.0f}×{w.height:.0f}")
            size = min(_font_sizes_dp(w))
            if size < report.smallest_text_dp:
                report.smallest_text_dp, report.smallest_text = size, _words(w)
            if size < rules.min_text_dp - 0.01:
                report.failures.append(f"text too small: {_words(w)} {size:.1f} dp < {rules.min_text_dp}")
            if not w.disabled:
                c = text_contrast(_crop(pixels, shown), tuple(w.color))
                if c is not None:
                    if c < report.lowest_text_contrast:
                        report.lowest_text_contrast, report.lowest_text = c, _words(w)
                    if c < rules.min_text_contrast:
                        report.failures.append(f"low contrast: {_words(w)} {c:.2f}:1 < {rules.min_text_contrast}")
        if isinstance(w, TextInput):
            size = w.font_size / Metrics.dp
            if size < rules.min_text_dp - 0.01:
                report.failures.append(f"text too small: {_words(w)} {size:.1f} dp < {rules.min_text_dp}")
        if isinstance(w, ButtonBehavior) and not w.disabled:
            report.targets += 1
            side = min(w.width, w.height)
            if side < report.smallest_target_px:
                report.smallest_target_px, report.smallest_target = side, _words(w)
            if side < target_px - TOLERANCE:
                report.failures.append(f"target too small: {_words(w)} {w.width:.0f}×{w.height:.0f} px < "
                                       f"{target_px:.0f} px")
            e = edge_contrast(pixels, shown)
            if e is not None:
                if e < report.lowest_edge_contrast:
                    report.lowest_edge_contrast, report.lowest_edge = e, _words(w)
                if e < rules.min_edge_contrast:
                    report.failures.append(f"edge not visible: {_words(w)} {e:.2f}:1 < {rules.min_edge_contrast}")
    return report
