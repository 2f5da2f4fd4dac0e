"""JPEG ghosts: re-save at a range of qualities and find regions whose difference dips at a lower quality.

How (after Farid's "Exposing digital forgeries from JPEG ghosts"): for each quality q the image is re-saved, the
squared difference is averaged over colour channels and over blocks of ``block`` pixels, then each block's curve is
normalised across q to [0, 1]. A region that was once compressed at q1 has a second minimum (a "ghost") at q1,
while the rest of a file last saved at Q only dips at Q. Blocks that are flat (tiny difference at every q) carry no
information and are left out. The global mean-difference curve is reported too.

Example:
    >>> from tests.synthetic_images import camera_like_image
    >>> g = jpeg_ghosts(camera_like_image(64, 64), qualities=(60, 80, 95))
    >>> g["normalised"].shape
    (3, 4, 4)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forensics.checks.base import (
    NEUTRAL,
    SUPPORTS_MANIPULATION,
    Finding,
    block_mean,
    file_format,
    is_jpeg,
    orient,
    register_check,
    stored_rgb,
    upsample_blocks,
)
from forensics.checks.jpeg_tools import jpeg_info, resave

DEFAULT_QUALITIES: tuple[int, ...] = tuple(range(50, 100, 5))
GHOST_LEVEL = 0.15  # normalised difference below which a block is "at a minimum" for that quality
MIN_AREA, MAX_AREA = 0.02, 0.5  # a localised ghost covers between 2% and 50% of the informative blocks
MIN_BLOCKS = 8
RISE_LEVEL = 0.5  # ... and above which it must rise again at a higher quality (below the file's)
MIN_CONTRAST = 2.0  # mean raw difference outside the ghost / inside, at the ghost quality


def jpeg_ghosts(
    image: np.ndarray,
    qualities: tuple[int, ...] | list[int] = DEFAULT_QUALITIES,
    *,
    block: int = 16,
    subsampling: int | None = None,
) -> dict[str, Any]:
    """Difference maps across re-save qualities for an HxWx3 uint8 RGB image.

    Returns ``qualities``, ``curve`` (mean squared difference per quality), ``block_diff`` (Q, H/b, W/b raw block
    means), ``normalised`` (same, each block scaled to [0, 1] across qualities) and ``informative`` (bool block mask).
    """
    qs = sorted({int(q) for q in qualities})
    if len(qs) < 3:
        raise ValueError("JPEG ghosts need at least three qualities")
    rgb = np.asarray(image)
    x = rgb.astype(np.int32)
    diffs = []
    for q in qs:
        d = x - resave(rgb, q, subsampling)
        d *= d
        sq = d[..., 0] + d[..., 1] + d[..., 2]  # explicit channel sum: much faster than a strided mean
        diffs.append(block_mean(sq, block) / 3.0)
    raw = np.stack(diffs).astype(np.float64)
    lo, hi = raw.min(axis=0), raw.max(axis=0)
    span = hi - lo
    informative = hi > max(2.0, 0.05 * float(np.median(hi)))
    norm = np.where(span > 0, (raw - lo) / np.where(span > 0, span, 1.0), 1.0)
    return {
        "qualities": qs,
        "curve": raw.mean(axis=(1, 2)),
        "block_diff": raw,
        "normalised": norm.astype(np.float32),
        "informative": informative,
        "block": block,
    }


def _curve_dip(qs: list[int], curve: np.ndarray, file_quality: int | None) -> int | None:
    """Lowest quality (at least 10 below the file's) where the whole-image curve has a local minimum."""
    for i in range(1, len(qs) - 1):
        if file_quality is not None and qs[i] > file_quality - 10:
            break
        if curve[i] < curve[i - 1] and curve[i] < curve[i + 1]:
            return int(qs[i])
    return None


def _largest_component_share(mask: np.ndarray) -> float:
    from scipy.ndimage import label

    lab, n = label(mask)
    if n == 0:
        return 0.0
    sizes = np.bincount(lab.ravel())[1:]
    return float(sizes.max() / sizes.sum())


def find_ghost(g: dict[str, Any], file_quality: int | None) -> dict[str, Any]:
    """The strongest localised ghost at a quality at least 10 below the file's (all qualities when unknown)."""
    qs, raw, norm, inf = g["qualities"], g["block_diff"], g["normalised"], g["informative"]
    n_inf = int(inf.sum())
    best: dict[str, Any] = {"quality": None, "area": 0.0, "contrast": None, "compactness": None}
    if n_inf < 16:
        return best
    for i, q in enumerate(qs):
        if file_quality is not None and q > file_quality - 10:
            continue
        # a real ghost is a dip: low at q, and clearly higher again at some quality between q and the file's
        upper = [j for j, qq in enumerate(qs) if q < qq and (file_quality is None or qq <= file_quality - 5)]
        if not upper:
            continue
        rises = norm[upper].max(axis=0) > RISE_LEVEL
        ghost = (norm[i] < GHOST_LEVEL) & rises & inf
        area = float(ghost.sum() / n_inf)
        if not MIN_AREA <= area <= MAX_AREA or ghost.sum() < MIN_BLOCKS:
            continue
        inside, outside = raw[i][ghost].mean(), raw[i][inf & ~ghost].mean()
        contrast = float(outside / max(inside, 1e-6))
        compact = _largest_component_share(ghost)
        if contrast >= MIN_CONTRAST and compact >= 0.5 and (best["contrast"] is None or contrast > best["contrast"]):
            best = {"quality": q, "area": area, "contrast": contrast, "compactness": compact, "index": i}
    return best


@register_check(
    "jpeg-ghost",
    title="JPEG ghosts",
    description="re-save across qualities; a region dipping at a lower quality was compressed before",
    order=50,
)
def run(evidence: Any, *, qualities: tuple[int, ...] | list[int] = DEFAULT_QUALITIES, block: int = 16) -> Finding:
    """JPEG ghost analysis as a Finding."""
    jpeg = is_jpeg(evidence)
    info = jpeg_info(evidence.data) if jpeg else None
    fq = info.quality if info else None
    rgb, o = stored_rgb(evidence)
    g = jpeg_ghosts(rgb, qualities, block=block, subsampling=info.subsampling if info else None)
    ghost = find_ghost(g, fq)
    qs = g["qualities"]
    curve = g["curve"]
    shape = rgb.shape[:2]
    measured: dict[str, Any] = {
        "is_jpeg": jpeg,
        "file_quality_estimate": fq,
        "curve_dip_quality": _curve_dip(qs, curve, fq),
        "ghost_quality": ghost["quality"],
        "ghost_area_fraction": ghost["area"],
        "ghost_contrast": ghost["contrast"],
        "ghost_compactness": ghost["compactness"],
        "informative_blocks": int(g["informative"].sum()),
    }
    # the map at the ghost quality; without a ghost, at the whole-image dip (or the lowest quality) to look at
    if ghost["quality"] is not None:
        i = ghost["index"]
    else:
        i = qs.index(measured["curve_dip_quality"]) if measured["curve_dip_quality"] is not None else 0
    measured["ghost_map_quality"] = int(qs[i])
    m = np.where(g["informative"], 1.0 - g["normalised"][i], 0.0)
    images = {"ghost_map": orient(upsample_blocks(m.astype(np.float32), block, shape), o)}
    caveats = [
        "Ghosts appear only when the pasted region kept its 8x8 grid alignment and its earlier quality is lower "
        "than the last one; misaligned pastes and high-quality sources leave none.",
        "Flat regions (sky, walls, over-exposed skin) are left out: they differ little at any quality.",
    ]
    if not jpeg:
        caveats.insert(
            0,
            f"The file is {file_format(evidence)}: a ghost can still reveal JPEG-compressed pieces "
            "pasted into it, but the file's own quality is unknown.",
        )
    if ghost["quality"] is not None:
        direction = SUPPORTS_MANIPULATION
        summary = (
            f"A compact region ({ghost['area']:.0%} of the informative blocks) dips at quality "
            f"{ghost['quality']} (difference {ghost['contrast']:.1f}x lower than elsewhere), "
            + (f"below the file's ~{fq}" if fq is not None else "while the rest does not")
            + f": that region was JPEG-compressed at about quality {ghost['quality']} before the rest."
        )
    else:
        direction = NEUTRAL
        summary = (
            "No localised JPEG ghost below the file's quality (absence of a ghost is not evidence of an original)."
        )
        if measured["curve_dip_quality"] is not None:
            summary += (
                f" The whole image dips at quality {measured['curve_dip_quality']}: it was probably "
                "compressed at that quality before (see the double-JPEG check)."
            )
    series = {"ghost_curve": np.stack([np.asarray(qs, float), curve])}
    return Finding(
        check="jpeg-ghost",
        title="JPEG ghosts",
        measured=measured,
        direction=direction,
        reliability="low to moderate: thresholds set on synthetic splices; in a survey of ../shared/data validation "
        "images it flagged 2 of 84 camera photos (false alarms) and is silent on most real splices",
        caveats=tuple(caveats),
        images=images,
        summary=summary,
        series=series,
        params={
            "qualities": list(qs),
            "block": block,
            "ghost_level": GHOST_LEVEL,
            "min_contrast": MIN_CONTRAST,
            "area_range": [MIN_AREA, MAX_AREA],
        },
    )
