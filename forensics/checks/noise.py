"""Noise residual and local noise-level inconsistency.

How: the luma plane minus its 3x3 median filter keeps sensor noise and fine texture and removes most image content.
In blocks of ``block`` pixels the residual level is measured robustly: the mean absolute residual with the largest
10% dropped (so a few edge pixels do not dominate), scaled so that white Gaussian residuals give their sigma; the
level is proportional to the noise sigma. A camera gives a fairly even level over regions of similar brightness; a
region pasted from another camera, denoised, up-scaled or generated often has a different level. The spread of block
levels and the share of outlier blocks are reported. Texture, focus blur and brightness change the level as well,
so this is a map to look at, not a verdict.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img = np.clip(128 + rng.normal(0, 5, (64, 64, 3)), 0, 255).astype(np.uint8)
    >>> r = noise_residual(img, block=16)
    >>> r["block_level"].shape
    (4, 4)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forensics.checks.base import (
    NEUTRAL,
    Finding,
    block_view,
    display_image,
    register_check,
    to_luma,
    unit_scale,
    upsample_blocks,
)

OUTLIER_Z = 3.0
# E[|x| | |x| below its 90th percentile] for x ~ N(0, 1): sqrt(2/pi) * (1 - exp(-1.6449**2 / 2)) / 0.9
TRIMMED_HALF_NORMAL_MEAN = 0.6575


def median3x3(a: np.ndarray) -> np.ndarray:
    """3x3 median filter (OpenCV's ``medianBlur``) of a float32 or uint8 plane; its border repeats the edge pixel,
    which for a 3x3 window equals ``scipy.ndimage.median_filter(a, 3, mode="reflect")``. About 30 times faster than
    a sorting network in numpy (0.017 s against 0.49 s on 12 MP)."""
    import cv2

    arr = np.ascontiguousarray(a)
    if arr.dtype not in (np.uint8, np.float32):
        arr = arr.astype(np.float32)
    return cv2.medianBlur(arr, 3)


def noise_residual(image: np.ndarray, *, block: int = 32) -> dict[str, Any]:
    """Median-filter residual of an HxWx3 uint8 RGB (or HxW) image and its robust level per block.

    Returns ``residual`` (HxW float32), ``block_level`` (H/b x W/b float32), ``valid`` (blocks neither clipped nor
    perfectly flat), ``outliers`` (valid blocks whose log level is more than 3 robust z from the median) and
    ``stats`` (median level, p95/p5 spread, coefficient of variation, outlier fraction).
    """
    img = np.asarray(image)
    if img.ndim == 3:
        luma = to_luma(img)
        clipped = (img.max(axis=2) >= 254) | (img.min(axis=2) <= 1)
    else:
        luma = img.astype(np.float64)
        clipped = (img >= 254) | (img <= 1)
    b = max(4, min(int(block), *luma.shape))
    luma = luma.astype(np.float32)
    residual = luma - median3x3(luma)
    blocks = block_view(np.abs(residual), b)
    flat = np.sort(blocks.reshape(*blocks.shape[:2], -1), axis=2)
    keep = max(1, int(0.9 * flat.shape[2]))
    # trimmed mean of |r| (largest 10% dropped: edges), scaled so that Gaussian residuals give their sigma;
    # smoother than a median on integer-valued residuals
    level = flat[..., :keep].mean(axis=2) / TRIMMED_HALF_NORMAL_MEAN
    clip_share = block_view(clipped.astype(np.float64), b).mean(axis=(2, 3))
    valid = (clip_share < 0.1) & (level > 0)
    stats: dict[str, Any] = {"valid_blocks": int(valid.sum()), "blocks": int(valid.size)}
    outliers = np.zeros_like(valid)
    if valid.sum() >= 4:
        v = level[valid]
        p5, p95 = np.percentile(v, [5, 95])
        logv = np.log(level, where=valid, out=np.zeros_like(level))
        med = float(np.median(logv[valid]))
        mad = 1.4826 * float(np.median(np.abs(logv[valid] - med)))
        if mad > 0:
            outliers = valid & (np.abs(logv - med) / mad > OUTLIER_Z)
        stats.update(
            {
                "median_level": float(np.median(v)),
                "p5_level": float(p5),
                "p95_level": float(p95),
                "spread_p95_p5": float(p95 / p5) if p5 > 0 else None,
                "coefficient_of_variation": float(v.std() / v.mean()) if v.mean() > 0 else None,
                "outlier_fraction": float(outliers.sum() / valid.sum()),
            }
        )
    else:
        stats.update(
            {
                "median_level": None,
                "p5_level": None,
                "p95_level": None,
                "spread_p95_p5": None,
                "coefficient_of_variation": None,
                "outlier_fraction": None,
            }
        )
    return {
        "residual": residual.astype(np.float32),
        "block_level": level.astype(np.float32),
        "valid": valid,
        "outliers": outliers,
        "block": b,
        "stats": stats,
    }


@register_check(
    "noise",
    title="Noise residual and noise-level consistency",
    description="median-filter residual; block noise levels and their spread",
    order=60,
)
def run(evidence: Any, *, block: int = 32) -> Finding:
    """Noise residual analysis as a Finding (always neutral: no validated threshold separates edits from texture)."""
    img = display_image(evidence)
    r = noise_residual(img, block=block)
    s = r["stats"]
    shape = img.shape[:2]
    level_map = np.where(r["valid"], r["block_level"], 0.0)
    images = {
        "noise_residual": unit_scale(np.abs(r["residual"])),
        "noise_level": upsample_blocks(unit_scale(level_map), r["block"], shape),
        "noise_outliers": upsample_blocks(r["outliers"].astype(np.float32), r["block"], shape),
    }
    if s["median_level"] is None:
        summary = (
            f"Too few usable {r['block']}px blocks ({s['valid_blocks']}) to compare noise levels "
            "(image small, flat or clipped)."
        )
    else:
        summary = (
            f"Residual noise level per {r['block']}px block: median {s['median_level']:.2f}, 95th/5th "
            f"percentile ratio {s['spread_p95_p5']:.2f}, {s['outlier_fraction']:.1%} of blocks are outliers "
            "(> 3 robust z). Look for outlier blocks that cluster on one object rather than on texture."
        )
    return Finding(
        check="noise",
        title="Noise residual and noise-level consistency",
        measured=s,
        direction=NEUTRAL,
        reliability="low: texture, focus, brightness and denoising all change the level; a map for the eye",
        caveats=(
            "Fine texture (hair, fabric) raises the residual and smooth or out-of-focus areas lower it: compare "
            "regions of similar content and brightness.",
            "Strong JPEG compression and phone denoising flatten the noise everywhere, hiding inconsistencies.",
            "Clipped (black or white) blocks are excluded.",
        ),
        images=images,
        summary=summary,
        params={"block": r["block"], "outlier_z": OUTLIER_Z},
    )
