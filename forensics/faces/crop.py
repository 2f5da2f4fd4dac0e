"""Aligned square face crops: the affine that maps a face's rotated square onto the crop (``crop_matrix``,
``face_matrix``), the resampling through it (``warp_crop``) and the whole recipe for one face (``aligned_crop``).

Coordinates are continuous image coordinates: pixel (col i, row j) covers [i, i+1) x [j, j+1). ``crop_matrix`` maps
image coordinates to crop coordinates: ``crop_xy = M[:, :2] @ xy + M[:, 2]``. The recipe (training uses the same
constants, so training crops match inference crops) is described in ``forensics.faces``.
"""

from __future__ import annotations

import math

import numpy as np

from forensics.errors import UnknownComponentError

DEFAULT_CROP_SIZE = 256
DEFAULT_MARGIN = 0.15
PAD_MODES: tuple[str, ...] = ("reflect", "edge", "black")


def crop_matrix(center: tuple[float, float], side: float, crop_size: int, angle_deg: float = 0.0) -> np.ndarray:
    """2x3 affine (continuous coordinates) mapping the rotated square of ``side`` around ``center`` onto the crop.

    ``angle_deg`` is the direction of the eye line in the image (positive: the right eye is lower, y grows down);
    the crop is rotated by the opposite angle so that the eye line becomes horizontal.
    """
    s = crop_size / float(side)
    a = math.radians(angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    rot = np.array([[ca, sa], [-sa, ca]]) * s  # R(-angle) scaled
    c = np.asarray(center, dtype=np.float64)
    t = -rot @ c + crop_size / 2.0
    return np.hstack([rot, t[:, None]])


def border_mode(pad: str) -> int:
    """The OpenCV border mode of a pad mode (``PAD_MODES``); UnknownComponentError for any other."""
    import cv2

    try:
        return {"reflect": cv2.BORDER_REFLECT_101, "edge": cv2.BORDER_REPLICATE, "black": cv2.BORDER_CONSTANT}[pad]
    except KeyError:
        raise UnknownComponentError(f"unknown pad mode {pad!r}; known: {', '.join(PAD_MODES)}") from None


def warp_crop(image: np.ndarray, matrix: np.ndarray, crop_size: int, *, pad: str = "reflect") -> np.ndarray:
    """Resample ``image`` through the continuous-coordinate affine ``matrix`` into a crop_size square.

    When the crop shrinks the image (scale < 1) the square is first warped at (at most) full resolution and then
    reduced with area averaging, which avoids the aliasing of a direct bilinear warp.
    """
    import cv2

    border = border_mode(pad)
    m = np.asarray(matrix, dtype=np.float64)
    scale = math.hypot(m[0, 0], m[0, 1])
    if scale < 1.0:
        inter = min(int(math.ceil(crop_size / scale)), 4096)
        m_inter = m * (inter / crop_size)  # continuous coordinates: resizing is a plain scaling
        big = _warp(image, m_inter, inter, border, cv2.INTER_LINEAR)
        if inter == crop_size:
            return big
        return cv2.resize(big, (crop_size, crop_size), interpolation=cv2.INTER_AREA)
    return _warp(image, m, crop_size, border, cv2.INTER_LINEAR)


def _warp(image: np.ndarray, m_cont: np.ndarray, size: int, border: int, interp: int) -> np.ndarray:
    import cv2

    # cv2 works on pixel-centre indices: q_idx = A (p_idx + 0.5) + t - 0.5
    m_idx = m_cont.copy()
    m_idx[:, 2] = m_cont[:, :2] @ np.array([0.5, 0.5]) + m_cont[:, 2] - 0.5
    return cv2.warpAffine(
        np.ascontiguousarray(image), m_idx, (size, size), flags=interp, borderMode=border, borderValue=(0, 0, 0)
    )


def padded_fraction(matrix: np.ndarray, crop_size: int, width: int, height: int) -> float:
    """Share of crop pixels whose source point lies outside the image (filled by padding)."""
    n = 32
    g = (np.arange(n) + 0.5) * crop_size / n
    xx, yy = np.meshgrid(g, g)
    a, t = matrix[:, :2], matrix[:, 2]
    src = np.linalg.solve(a, np.stack([xx.ravel() - t[0], yy.ravel() - t[1]]))
    inside = (src[0] >= 0) & (src[0] <= width) & (src[1] >= 0) & (src[1] <= height)
    return float(1.0 - inside.mean())


def eye_angle(landmarks: np.ndarray | None) -> float:
    """Angle in degrees of the line from the left eye to the right eye (0 when level or unknown)."""
    if landmarks is None:
        return 0.0
    (lx, ly), (rx, ry) = landmarks[0], landmarks[1]
    if not np.isfinite([lx, ly, rx, ry]).all() or (rx == lx and ry == ly):
        return 0.0
    return math.degrees(math.atan2(ry - ly, rx - lx))


def face_matrix(
    box: tuple[float, float, float, float],
    landmarks: np.ndarray | None = None,
    *,
    margin: float = DEFAULT_MARGIN,
    crop_size: int = DEFAULT_CROP_SIZE,
) -> tuple[np.ndarray, float]:
    """``(crop_matrix, angle_deg)`` of the aligned crop of one face (see ``aligned_crop``)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0, 1.0) * (1.0 + 2.0 * margin)
    angle = eye_angle(landmarks)
    return crop_matrix(((x0 + x1) / 2.0, (y0 + y1) / 2.0), side, crop_size, angle), angle


def aligned_crop(
    image: np.ndarray,
    box: tuple[float, float, float, float],
    landmarks: np.ndarray | None = None,
    *,
    margin: float = DEFAULT_MARGIN,
    crop_size: int = DEFAULT_CROP_SIZE,
    pad: str = "reflect",
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Crop one face the way ``detect_faces`` does. Returns ``(crop, matrix, angle_deg, padded_fraction)``."""
    m, angle = face_matrix(box, landmarks, margin=margin, crop_size=crop_size)
    crop = warp_crop(image, m, crop_size, pad=pad)
    return crop, m, angle, padded_fraction(m, crop_size, image.shape[1], image.shape[0])
