"""The spectacle-frame heuristic of the landmark segmenter: strong horizontal edges forming a straight bar over the
nose bridge at eye height and a smooth rim curve below at least one eye; the mask is the frame (long edge
structures, dilated), not the lenses.
"""

from __future__ import annotations

import numpy as np

from forensics.segmentation.masks import dilate, erode


def _row_band_score(strong: np.ndarray, tol: int) -> float:
    """Best fraction of columns holding a strong pixel within one horizontal band of +-tol rows (a straight bar)."""
    if strong.shape[0] == 0 or strong.shape[1] < 2:
        return 0.0
    best = 0.0
    for y in range(strong.shape[0]):
        band = strong[max(0, y - tol) : y + tol + 1]
        best = max(best, float(band.any(0).mean()))
    return best


def _curve_score(strong: np.ndarray, max_step: float) -> float:
    """Fraction of columns whose first strong pixel continues a smooth curve (|step| <= max_step from the previous)."""
    if strong.shape[1] < 3:
        return 0.0
    has = strong.any(0)
    first = np.where(has, strong.argmax(0), -1).astype(float)
    ok = 0
    for i in range(1, len(first)):
        if first[i] >= 0 and first[i - 1] >= 0 and abs(first[i] - first[i - 1]) <= max_step:
            ok += 1
    return ok / (len(first) - 1)


def find_glasses(
    gray: np.ndarray,
    pts: np.ndarray,
    eyes: list[list[int]],
    skin: np.ndarray,
    eyes_mask: np.ndarray,
    brows_mask: np.ndarray,
    oval: np.ndarray,
) -> tuple[np.ndarray | None, dict[str, float]]:
    """Heuristic spectacle-frame detector: a straight bar over the nose bridge at eye height plus a smooth rim
    curve below at least one eye. Returns (frame mask or None, scores)."""
    import cv2

    h, w = gray.shape
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy)
    inner = erode(skin, 2)
    base = float(np.median(mag[inner])) if inner.any() else float(np.median(mag))
    thr = max(4.0 * base, 60.0)
    eye_pts = [pts[e] for e in eyes]
    centres = [e.mean(0) for e in eye_pts]
    iod = float(np.linalg.norm(centres[0] - centres[1]))
    if iod < 8:
        return None, {"iod": iod}
    order = np.argsort([c[0] for c in centres])  # image-left eye first
    el, er = eye_pts[order[0]], eye_pts[order[1]]
    eye_top = min(el[:, 1].min(), er[:, 1].min())
    eye_cy = (centres[0][1] + centres[1][1]) / 2
    strong_y = np.abs(gy) > thr

    def roi(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
        xa, xb = int(max(0, np.floor(x0))), int(min(w, np.ceil(x1)))
        ya, yb = int(max(0, np.floor(y0))), int(min(h, np.ceil(y1)))
        return strong_y[ya : max(ya, yb), xa : max(xa, xb)]

    inner_l, inner_r = el[:, 0].max(), er[:, 0].min()
    span = inner_r - inner_l
    tol = max(2, int(round(0.04 * iod)))
    bridge = _row_band_score(
        roi(inner_l + 0.2 * span, inner_r - 0.2 * span, eye_top - 0.3 * iod, eye_cy + 0.1 * iod), tol
    )
    lows = [
        _curve_score(
            roi(e[:, 0].min(), e[:, 0].max(), e[:, 1].max() + 0.1 * iod, e[:, 1].max() + 0.5 * iod),
            max(1.5, 0.04 * iod),
        )
        for e in (el, er)
    ]
    scores = {"bridge": bridge, "lower_rim": max(lows), "edge_threshold": thr}
    if not (bridge >= 0.8 and max(lows) >= 0.7):
        return None, scores
    # Frame mask: long strong-edge structures inside the spectacle zone (lens boxes + bridge, within the face),
    # away from the eyes and brows, dilated to a rim width.
    zone = np.zeros((h, w), dtype=bool)
    y0 = int(max(0, eye_top - 0.35 * iod))
    y1 = int(min(h, max(el[:, 1].max(), er[:, 1].max()) + 0.6 * iod))
    x0 = int(max(0, el[:, 0].min() - 0.3 * iod))
    x1 = int(min(w, er[:, 0].max() + 0.3 * iod))
    zone[y0:y1, x0:x1] = True
    zone &= dilate(oval, max(1, int(0.1 * iod)))
    edges = (mag > thr) & zone & ~dilate(eyes_mask, max(1, int(0.04 * iod))) & ~dilate(brows_mask, 1)
    # keep the edge structures that pass through the bridge or lower-rim windows where the frame was detected
    anchor = np.zeros((h, w), dtype=bool)
    for a, b, c, d in [(inner_l + 0.2 * span, inner_r - 0.2 * span, eye_top - 0.3 * iod, eye_cy + 0.1 * iod)] + [
        (e[:, 0].min(), e[:, 0].max(), e[:, 1].max() + 0.1 * iod, e[:, 1].max() + 0.5 * iod) for e in (el, er)
    ]:
        anchor[int(max(0, c)) : int(max(0, d)), int(max(0, a)) : int(max(0, b))] = True
    n, lab, stats, _ = cv2.connectedComponentsWithStats(edges.astype(np.uint8), connectivity=8)
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    keep = extent >= 0.25 * iod
    touching = np.zeros(n, dtype=bool)
    touching[np.unique(lab[anchor & edges])] = True
    keep &= touching
    keep[0] = False
    frame = dilate(keep[lab], max(1, int(round(0.02 * iod))))
    return frame, scores
