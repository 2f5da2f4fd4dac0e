"""Copy-move (clone) detection: a part of the image pasted elsewhere in the same image.

Keypoint matching within one image (SIFT, OpenCV), after Amerini et al. 2011 ("A SIFT-based forensic method for
copy-move attack detection"): every keypoint is matched against the image's own keypoints; a match is kept when its
nearest other keypoint is clearly closer than the next (generalised ratio test, g2NN) and lies at least
``min_distance`` px away (neighbouring keypoints of one texture are not clones). A clone shows as many kept matches
that share ONE geometric transform (shift, rotation, scale): they are fitted with RANSAC and the check reports a
clone only when at least ``min_inliers`` matches agree on a transform that moves them at least ``min_distance``.

False alarms: repeated structures (tiles, windows, text, patterned fabric) are true copies of a kind too. The rate on
camera photos is measured by ``bench/bench_copy_move.py`` (figure in BENCHMARKS.md); the Finding quotes it.
Misses: flat or blurred clones have no keypoints; a clone that is mirrored is not matched (SIFT is not mirror
invariant); heavy re-compression after the edit removes the matches.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img = (rng.random((200, 300, 3)) * 255).astype(np.uint8)
    >>> copy_move(img)["detected"]
    False
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forensics.checks.base import NEUTRAL, SUPPORTS_MANIPULATION, Finding, display_image, register_check

WORK_SIDE = 1024  # longer side of the working copy: keypoints of larger photos add time, not clones
RATIO = 0.6  # g2NN: nearest / next distance below this keeps the match (Amerini et al. use 0.5; 0.6 finds more)
MIN_DISTANCE = 40  # px at the working size between a keypoint and its match, and the least clone shift
MIN_INLIERS = 12  # matches agreeing on one transform before a clone is reported
MAX_KEYPOINTS = 4000
# (clones reported, camera photos checked): bench/bench_copy_move.py --n 1000 on ../shared/data (BENCHMARKS.md);
# the same run found 21 of 200 patches pasted into those photos (a fifth of the shorter side, saved at JPEG 90):
# most of them are 200-250 px face crops whose smooth skin gives a small patch too few keypoints. Enlarging small
# photos to 512 px found 15 % instead of 10 % at five times the time (347 against 65 ms per photo), so it is not done.
MEASURED_FALSE_ALARMS: tuple[int, int] = (2, 1000)


def _work_copy(image: np.ndarray) -> tuple[np.ndarray, float]:
    import cv2

    gray = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
    scale = min(1.0, WORK_SIDE / max(gray.shape))
    if scale < 1.0:
        gray = cv2.resize(
            gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)), interpolation=cv2.INTER_AREA
        )
    return gray, scale


def copy_move(
    image: np.ndarray, *, ratio: float = RATIO, min_distance: float = MIN_DISTANCE, min_inliers: int = MIN_INLIERS
) -> dict[str, Any]:
    """Matches of the image with itself and the largest group sharing one transform.

    Returns ``detected``, ``keypoints``, ``matches`` (kept by the ratio and distance tests), ``inliers`` (of the
    best transform), ``shift_px`` (median displacement of the inliers, full-resolution px), ``pairs`` (inlier
    source/target points, full-resolution x, y) and ``scale`` (working copy / original)."""
    import cv2

    gray, scale = _work_copy(image)
    sift = cv2.SIFT_create(nfeatures=MAX_KEYPOINTS)  # type: ignore[attr-defined]  # OpenCV >= 4.4 has it, its stubs do not
    kps, desc = sift.detectAndCompute(gray, None)
    out: dict[str, Any] = {
        "detected": False,
        "keypoints": len(kps),
        "matches": 0,
        "inliers": 0,
        "shift_px": None,
        "pairs": np.zeros((0, 4)),
        "scale": scale,
    }
    if desc is None or len(kps) < 3:
        return out
    pts = np.array([k.pt for k in kps], dtype=np.float32)
    knn = cv2.BFMatcher(cv2.NORM_L2).knnMatch(desc, desc, k=3)  # the first neighbour is the keypoint itself
    src, dst, seen = [], [], set()
    for m in knn:
        if len(m) < 3 or m[2].distance <= 0 or m[1].distance / m[2].distance >= ratio:
            continue
        i, j = m[0].queryIdx, m[1].trainIdx
        if i == j or np.hypot(*(pts[i] - pts[j])) < min_distance or (j, i) in seen:
            continue
        seen.add((i, j))
        src.append(pts[i])
        dst.append(pts[j])
    out["matches"] = len(src)
    if len(src) < min_inliers:
        return out
    s, d = np.array(src), np.array(dst)
    # orient every pair the same way (left point first) so one clone gives one transform, not two
    flip = (s[:, 0] > d[:, 0]) | ((s[:, 0] == d[:, 0]) & (s[:, 1] > d[:, 1]))
    s[flip], d[flip] = d[flip].copy(), s[flip].copy()
    model, mask = cv2.estimateAffinePartial2D(s, d, method=cv2.RANSAC, ransacReprojThreshold=3.0, maxIters=4000)
    if model is None or mask is None:
        return out
    keep = mask.ravel().astype(bool)
    shift = float(np.median(np.hypot(*(d[keep] - s[keep]).T))) if keep.any() else 0.0
    out["inliers"] = int(keep.sum())
    out["shift_px"] = shift / scale
    out["pairs"] = np.hstack([s[keep], d[keep]]) / scale
    out["detected"] = bool(out["inliers"] >= min_inliers and shift >= min_distance)
    return out


def clone_map(shape: tuple[int, int], pairs: np.ndarray, radius: int) -> np.ndarray:
    """HxW float32 map: 1 around the source points, 0.5 around their copies, 0 elsewhere."""
    import cv2

    m = np.zeros(shape, np.float32)
    for _, _, x1, y1 in pairs:
        cv2.circle(m, (round(x1), round(y1)), radius, 0.5, -1)
    for x0, y0, _, _ in pairs:
        cv2.circle(m, (round(x0), round(y0)), radius, 1.0, -1)
    return m


@register_check(
    "copy-move",
    title="Copy-move (cloned areas)",
    description="SIFT keypoints matched within the image; many matches sharing one shift = a clone",
    order=65,
)
def run(evidence: Any) -> Finding:
    """Copy-move detection as a Finding (supports manipulation when a clone is found, else neutral)."""
    img = display_image(evidence)
    r = copy_move(img)
    measured = {k: r[k] for k in ("detected", "keypoints", "matches", "inliers", "shift_px")}
    from forensics.wording.numbers import pct_of

    k, n = MEASURED_FALSE_ALARMS
    radius = max(4, round(max(img.shape[:2]) / 80))
    images = {"copy_move_map": clone_map(img.shape[:2], r["pairs"] if r["detected"] else np.zeros((0, 4)), radius)}
    if r["detected"]:
        summary = (
            f"Possible cloned area: {r['inliers']} keypoint matches share one transform that moves them about "
            f"{r['shift_px']:.0f} px (sources bright, copies dim on the map). Check by eye whether the two "
            "areas are a repeated pattern of the scene (tiles, windows, fabric) or pasted content."
        )
    else:
        summary = (
            f"No cloned area found: {r['matches']} distant self-matches among {r['keypoints']} keypoints, "
            f"at most {r['inliers']} sharing one transform (a clone needs {MIN_INLIERS})."
        )
    return Finding(
        check="copy-move",
        title="Copy-move (cloned areas)",
        measured=measured,
        direction=SUPPORTS_MANIPULATION if r["detected"] else NEUTRAL,
        reliability="medium: a found clone is specific but repeated scene patterns also match; finding none "
        "excludes nothing",
        caveats=(
            f"False alarms: on camera photos of faces (../shared/data) it reported a clone on {pct_of(k, n)} "
            "of them (bench/bench_copy_move.py).",
            "Misses: small, flat, blurred or mirrored clones, and clones re-compressed hard afterwards; on small "
            "face photos it found about 1 in 10 pasted patches, so finding none excludes little.",
        ),
        images=images,
        summary=summary,
        params={"ratio": RATIO, "min_distance_px": MIN_DISTANCE, "min_inliers": MIN_INLIERS, "work_side": WORK_SIDE},
    )
