"""Finding a document in a camera frame and straightening it. Pure image maths (numpy/OpenCV), no devices.

Detection runs on a copy scaled to about 1,000 pixels on the long side (fast on an 8-megapixel frame); the
warp uses the full-resolution frame so the saved page keeps every detail.
"""

from __future__ import annotations

import cv2
import numpy as np

DETECT_SIDE = 1000
PAPER_RATIOS = {"A4": 2**0.5, "ID-1 card": 85.6 / 53.98}
SNAP_TOLERANCE = 0.06


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Top-left, top-right, bottom-right, bottom-left, whatever order the contour gave."""
    pts = pts.reshape(4, 2).astype(np.float32)
    s = pts.sum(axis=1)
    d = np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], dtype=np.float32)


def find_document(frame: np.ndarray, min_area: float = 0.1) -> np.ndarray | None:
    """Corners of the largest convex quadrilateral covering at least `min_area` of the frame, or None."""
    h, w = frame.shape[:2]
    scale = min(1.0, DETECT_SIDE / max(h, w))
    small = cv2.resize(frame, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else frame
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    grey = cv2.GaussianBlur(grey, (5, 5), 0)
    edges = cv2.Canny(grey, 50, 150)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    best, best_area = None, min_area * small.shape[0] * small.shape[1]
    for c in contours:
        hull = cv2.convexHull(c)
        area = cv2.contourArea(hull)
        if area < best_area:
            continue
        peri = cv2.arcLength(hull, True)
        for eps in (0.01, 0.015, 0.02, 0.03):
            approx = cv2.approxPolyDP(hull, eps * peri, True)
            if len(approx) == 4 and cv2.isContourConvex(approx):
                best, best_area = approx, area
                break
    if best is None:
        return None
    corners = order_corners(best) / scale
    if scale < 1:  # the small image places corners to ±1/scale pixels; refine them on the full frame
        full_grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        win = max(3, round(2 / scale))
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.05)
        refined = cv2.cornerSubPix(full_grey, corners.reshape(-1, 1, 2).copy(), (win, win), (-1, -1), criteria)
        corners = refined.reshape(4, 2)
    return corners


def page_size(corners: np.ndarray, snap: bool = True) -> tuple[int, int]:
    """Width and height of the straightened page: the longer of each pair of opposite sides, and, when the
    ratio is within a few per cent of A4 or an ID card, exactly that ratio (perspective makes sides unequal)."""
    tl, tr, br, bl = corners
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    if snap:
        long_, short = max(width, height), min(width, height)
        for ratio in PAPER_RATIOS.values():
            if abs(long_ / short / ratio - 1) < SNAP_TOLERANCE:
                long_ = short * ratio
                width, height = (long_, short) if width >= height else (short, long_)
                break
    return round(width), round(height)


def straighten(frame: np.ndarray, corners: np.ndarray, snap: bool = True) -> np.ndarray:
    w, h = page_size(corners, snap)
    target = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    return cv2.warpPerspective(frame, matrix, (w, h), flags=cv2.INTER_LINEAR)


def binarise(page: np.ndarray) -> np.ndarray:
    """Black text on white for copies and PDFs; adaptive, so a shadow across the page does not blacken it."""
    grey = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY) if page.ndim == 3 else page
    return cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 15)
