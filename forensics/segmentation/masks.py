"""Mask helpers of the landmark segmenter: polygons filled and measured, morphology, connected components touching
an anchor, per-row extents, and a skin-colour model sampled from the cheeks.
"""

from __future__ import annotations

import numpy as np


def polygon_area(pts: np.ndarray) -> float:
    """Area of a simple polygon (shoelace formula)."""
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def fill_polygon(shape: tuple[int, int], pts: np.ndarray) -> np.ndarray:
    """Boolean mask of the polygon ``pts`` (x, y pixel coordinates, sub-pixel precision) on a canvas of ``shape``."""
    import cv2

    canvas = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(canvas, [np.round(pts * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return canvas.astype(bool)


def dilate(mask: np.ndarray, r: int) -> np.ndarray:
    """``mask`` grown by a disk of radius ``r`` pixels."""
    import cv2

    if r <= 0:
        return mask
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(mask.astype(np.uint8), k).astype(bool)


def erode(mask: np.ndarray, r: int) -> np.ndarray:
    """``mask`` shrunk by a disk of radius ``r`` pixels."""
    import cv2

    if r <= 0:
        return mask
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.erode(mask.astype(np.uint8), k).astype(bool)


def components_touching(mask: np.ndarray, anchor: np.ndarray, min_area: int) -> np.ndarray:
    """Connected components of ``mask`` that overlap ``anchor`` and have at least ``min_area`` pixels."""
    import cv2

    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, dtype=bool)
    hit = np.unique(lab[anchor & mask])
    keep[hit] = True
    keep[0] = False
    keep &= stats[:, cv2.CC_STAT_AREA] >= min_area
    return keep[lab]


def row_extent(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leftmost/rightmost True column per row (nan where the row is empty)."""
    h, w = mask.shape
    any_row = mask.any(1)
    left = np.full(h, np.nan)
    right = np.full(h, np.nan)
    left[any_row] = mask[any_row].argmax(1)
    right[any_row] = w - 1 - mask[any_row][:, ::-1].argmax(1)
    return left, right


class SkinModel:
    """Gaussian colour model in CIELAB fitted on sampled skin pixels; ``like(img)`` is True where skin-coloured."""

    def __init__(self, lab: np.ndarray, sample: np.ndarray) -> None:
        px = lab[sample].reshape(-1, 3).astype(np.float64)
        if len(px) < 30:
            raise ValueError("too few skin samples")
        self.mean = px.mean(0)
        cov = np.cov(px.T) + np.diag([4.0, 1.0, 1.0])  # floor: JPEG noise, flat lighting
        self.inv = np.linalg.inv(cov)
        d = self._dist(px)
        self.threshold = float(np.percentile(d, 95.0)) * 1.25

    def _dist(self, px: np.ndarray) -> np.ndarray:
        z = px - self.mean
        return np.sqrt(np.einsum("ni,ij,nj->n", z, self.inv, z))

    def like(self, lab: np.ndarray) -> np.ndarray:
        h, w = lab.shape[:2]
        return (self._dist(lab.reshape(-1, 3).astype(np.float64)) <= self.threshold).reshape(h, w)
