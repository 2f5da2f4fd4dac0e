"""Double JPEG compression from the histograms of quantised DCT coefficients.

How: the file's luma plane (decoded straight to YCbCr, no RGB round trip) is cut on its own 8x8 grid, transformed
with the JPEG DCT and divided by the file's luminance table: that recovers the stored coefficient values k (up to
decoder rounding). If the picture had earlier been quantised with a coarser step q1 > q2, the values k can only be
``round(m * q1 / q2)``: the histogram of k at that frequency gets periodic empty bins. For each of a few low
frequencies we try every q1 in (q2, 12 q2] and compare the counts in the bins q1 makes unreachable with the counts
interpolated (geometrically, as the histograms decay roughly exponentially) from the reachable bins around them.
A ratio near 0 means the bins really are empty: a first compression with step q1 explains the histogram.

Localisation: in a doubly compressed file, blocks inserted or altered after the first compression were compressed
only once, so their coefficients also fall in the "empty" bins. The per-block share of such coefficients (3x3 block
neighbourhood) maps them; a compact region of high share is reported (on the shared LFW face swaps, saved at q95
over q90 photos, it outlines the swapped face).

Limits: a first compression at a finer or equal step (q1 <= q2) leaves no empty bins and is not detected; cropping
between the two compressions shifts the grid and hides the trace; small images give few coefficients.

Example:
    >>> from forensics.checks.synthetic import camera_like_image, jpeg_bytes, decode
    >>> img = camera_like_image(256, 256, seed=1)
    >>> estimate_double_jpeg(jpeg_bytes(decode(jpeg_bytes(img, 60)), 90))["double_compressed"]
    True
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np

from forensics.checks.base import (
    NEUTRAL,
    SUPPORTS_MANIPULATION,
    Finding,
    display_image,
    exif_orientation,
    file_format,
    is_jpeg,
    orient,
    register_check,
    upsample_blocks,
)
from forensics.checks.jpeg_tools import block_dct, decode_luma, jpeg_info
from forensics.errors import NotApplicableError
from forensics.evidence.jpeg_tables import ijg_table

# The nine lowest AC frequencies in zig-zag order (row, column).
POSITIONS: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (2, 0), (1, 1), (0, 2), (0, 3), (1, 2), (2, 1), (3, 0))
EMPTY_RATIO = 0.5  # observed/expected counts in the unreachable bins below which a position votes "double"
MIN_EXPECTED = 30.0  # expected count in the unreachable bins needed before a position may vote
ROUNDING_SLACK = 0.2  # bins within 0.5 + slack of a reachable value count as reachable (decoder rounding noise)


def _reachable(q1: float, q2: float, nmax: int) -> np.ndarray:
    """Boolean mask over bins 0..nmax: True where round(m*q1/q2) (allowing rounding slack) can land."""
    centres = np.arange(0, nmax * q2 / q1 + 2) * (q1 / q2)
    n = np.arange(nmax + 1)[:, None]
    return np.asarray((np.abs(n - centres[None, :]) <= 0.5 + ROUNDING_SLACK).any(axis=1))


def _expected_from_neighbours(h: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """Per unreachable bin: log-linear interpolation of the nearest reachable bins' counts (bin 0 excluded)."""
    n = h.size
    idx = np.nonzero(reach)[0]
    idx = idx[idx > 0]
    exp = np.full(n, np.nan)
    if idx.size == 0:
        return exp
    logh = np.log(h + 1.0)
    for b in np.nonzero(~reach)[0]:
        left = idx[idx < b]
        right = idx[idx > b]
        if left.size and right.size:
            a, c = left[-1], right[0]
            t = (b - a) / (c - a)
            exp[b] = np.exp((1 - t) * logh[a] + t * logh[c]) - 1.0
        elif right.size:  # only bin 0 on the left: the next reachable bin is a conservative (low) estimate
            exp[b] = h[right[0]]
        # no reachable bin on the right: beyond the data, leave NaN
    return exp


def _magnitude_histogram(k: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Counts of |k| in bins 0..nmax (larger values fall out) and nmax; None when fewer than 50 values are non-zero."""
    a = np.abs(k)
    nz = a[a > 0]
    if nz.size < 50:
        return None
    nmax = int(min(60, max(4, np.percentile(nz, 99))))
    return np.bincount(np.minimum(a, nmax + 1), minlength=nmax + 2)[: nmax + 1].astype(np.float64), nmax


def _empty_bins(h: np.ndarray, q1: float, q2: float, nmax: int) -> tuple[float, float] | None:
    """Observed and expected counts in the bins a first compression at step ``q1`` leaves empty; None when ``q1``
    empties no bin or the expected count is below MIN_EXPECTED (too little evidence to vote)."""
    reach = _reachable(q1, q2, nmax)
    if reach.all():
        return None
    exp = _expected_from_neighbours(h, reach)
    ok = ~reach & np.isfinite(exp)
    expected = float(exp[ok].sum())
    if expected < MIN_EXPECTED:
        return None
    return float(h[ok].sum()), expected


def _position_estimate(k: np.ndarray, q2: float) -> dict[str, Any]:
    """Best first-compression step for one frequency's quantised values ``k`` (ints) at file step ``q2``."""
    hist = _magnitude_histogram(k)
    best: dict[str, Any] = {"q2": q2, "q1": None, "ratio": None, "expected": 0.0, "n_nonzero": int(np.count_nonzero(k))}
    if hist is None:
        return best
    h, nmax = hist
    for q1 in range(int(q2) + 1, int(12 * q2) + 1):
        counts = _empty_bins(h, q1, q2, nmax)
        if counts is None:
            continue
        observed, expected = counts
        ratio = observed / expected
        # prefer the lowest ratio; among near-equal ratios, the candidate explaining more empty mass
        if (
            best["ratio"] is None
            or ratio < best["ratio"] - 0.02
            or (abs(ratio - best["ratio"]) <= 0.02 and expected > best["expected"])
        ):
            best.update(q1=q1, ratio=ratio, expected=expected)
    return best


def _pooled_quality(ks: dict[tuple[int, int], np.ndarray], q2tab: np.ndarray) -> tuple[int | None, float | None]:
    """The IJG quality whose luma steps best explain the empty bins pooled over positions (None if none fits)."""
    best_q, best_ratio, best_mass = None, None, 0.0
    hists = {pos: hist for pos, k in ks.items() if (hist := _magnitude_histogram(k)) is not None}
    for q in range(1, 100):
        tab = np.asarray(ijg_table(q), dtype=float).reshape(8, 8)
        obs = exp_total = worst = 0.0
        used = 0
        for pos, (h, nmax) in hists.items():
            q1, q2 = tab[pos], q2tab[pos]
            if q1 <= q2:
                continue
            counts = _empty_bins(h, q1, q2, nmax)
            if counts is None:
                continue
            o, e = counts
            obs, exp_total, worst, used = obs + o, exp_total + e, max(worst, o / e), used + 1
        # a quality must fit every frequency it constrains (a too-coarse one empties bins that are populated);
        # among those that fit, the most specific one (most emptied mass) wins
        if used >= 2 and worst < EMPTY_RATIO and exp_total > best_mass:
            best_q, best_ratio, best_mass = q, obs / exp_total, exp_total
    return best_q, best_ratio


def _local_map(
    ks: dict[tuple[int, int], np.ndarray], per_pos: list[dict[str, Any]], grid: tuple[int, int]
) -> np.ndarray:
    """Per 8x8 block: share of its informative coefficients that fall in bins the first compression leaves empty.

    Pooled over the frequencies that voted "double" and over a 3x3 block neighbourhood. A doubly compressed block
    scores near 0; a block inserted after the first compression (single-compressed) scores like an unconstrained
    histogram (0.3-0.6). NaN where a neighbourhood has fewer than 4 informative coefficients (flat areas).
    """
    from scipy.ndimage import uniform_filter

    hits = np.zeros(grid[0] * grid[1])
    informative = np.zeros_like(hits)
    for p in per_pos:
        if p["q1"] is None or p["ratio"] is None or p["ratio"] >= EMPTY_RATIO:
            continue
        a = np.abs(ks[tuple(p["position"])])
        nmax = int(min(60, max(4, np.percentile(a[a > 0], 99))))
        reach = _reachable(p["q1"], p["q2"], nmax)
        ok = (a > 0) & (a <= nmax)
        informative += ok
        hits += ok & ~reach[np.minimum(a, nmax)]
    hits_n = uniform_filter(hits.reshape(grid), size=3, mode="nearest") * 9
    inf_n = uniform_filter(informative.reshape(grid), size=3, mode="nearest") * 9
    share = np.full(grid, np.nan)
    np.divide(hits_n, inf_n, out=share, where=inf_n >= 4)
    return share.astype(np.float32)


REGION_MIN_SHARE = 0.3  # a block neighbourhood this far off the double-compression pattern is "inconsistent"
REGION_MIN_AREA = 0.02
REGION_MIN_BLOCKS = 12


def inconsistent_region(share: np.ndarray) -> dict[str, Any]:
    """The largest compact region of blocks lacking the double-compression trace (in a doubly compressed file).

    Blocks count when their share exceeds ``max(0.3, median + 0.2)``; the largest connected group must cover at
    least 2% of the informative blocks and 12 blocks. Returns ``found``, ``area_fraction`` (of informative blocks),
    ``region_share`` and ``background_share`` (medians inside/outside) and the boolean ``mask``.
    """
    from scipy.ndimage import binary_opening, label

    valid = np.isfinite(share)
    out: dict[str, Any] = {
        "found": False,
        "area_fraction": 0.0,
        "region_share": None,
        "background_share": None,
        "mask": np.zeros(share.shape, bool),
    }
    if valid.sum() < 50:
        return out
    med = float(np.median(share[valid]))
    flagged = valid & (np.nan_to_num(share) > max(REGION_MIN_SHARE, med + 0.2))
    flagged = binary_opening(flagged, structure=np.ones((2, 2), bool))
    lab, n = label(flagged)
    if n == 0:
        return out
    sizes = np.bincount(lab.ravel())[1:]
    biggest = lab == (int(np.argmax(sizes)) + 1)
    area = float(biggest.sum() / valid.sum())
    out.update(
        area_fraction=area,
        region_share=float(np.median(share[biggest])),
        background_share=float(np.median(share[valid & ~biggest])),
        mask=biggest,
    )
    out["found"] = bool(area >= REGION_MIN_AREA and biggest.sum() >= REGION_MIN_BLOCKS and area <= 0.6)
    return out


def estimate_double_jpeg(data: bytes) -> dict[str, Any]:
    """Analyse JPEG bytes; see ``_estimate`` for the keys. Cached per file (ELA reuses the double-JPEG check's run)."""
    return copy.deepcopy(_estimate_cached(bytes(data)))


@functools.lru_cache(maxsize=4)
def _estimate_cached(data: bytes) -> dict[str, Any]:
    return _estimate(data)


def _estimate(data: bytes) -> dict[str, Any]:
    """Analyse JPEG bytes; returns a dict (``double_compressed``, per-position results, histograms, local map).

    Keys: ``unreachable_share_map`` (per 8x8 block float32 map, see ``_local_map``; None unless double; the only
    value that is not JSON-ready), ``double_compressed`` (bool), ``votes``/``usable_positions``, ``positions`` (per
    frequency: q2, best q1, ratio of observed to expected counts in the unreachable bins),
    ``primary_quality_estimate`` (nearest IJG quality of the first compression, or None), ``file_quality_estimate``,
    ``rounding_error`` (mean |k - round(k)|: near 0 when the grid is the file's own), ``histograms`` {"r,c": [counts
    for k = -N..N]}.
    """
    info = jpeg_info(data)
    q2tab = info.luma_table
    luma = decode_luma(data)
    coef = block_dct(luma.astype(np.float64))
    grid = (luma.shape[0] // 8, luma.shape[1] // 8)
    per_pos = []
    ks: dict[tuple[int, int], np.ndarray] = {}
    rounding = []
    hists: dict[str, list[int]] = {}
    for pos in POSITIONS:
        q2 = float(q2tab[pos])
        x = coef[:, pos[0], pos[1]] / q2
        k = np.rint(x).astype(np.int64)
        ks[pos] = k
        rounding.append(float(np.abs(x - k).mean()))
        est = _position_estimate(k, q2)
        est["position"] = list(pos)
        per_pos.append(est)
        if len(hists) < 3:
            n = 20
            hists[f"{pos[0]},{pos[1]}"] = np.bincount(np.clip(k, -n, n) + n, minlength=2 * n + 1).tolist()
    usable = [p for p in per_pos if p["ratio"] is not None]
    votes = [p for p in usable if p["ratio"] < EMPTY_RATIO]
    double = len(votes) >= 2 and len(votes) * 2 >= len(usable)
    q_est, q_ratio = _pooled_quality(ks, q2tab) if double else (None, None)
    local = _local_map(ks, per_pos, grid) if double else None
    return {
        "unreachable_share_map": local,
        "double_compressed": bool(double),
        "votes": len(votes),
        "usable_positions": len(usable),
        "positions": per_pos,
        "median_ratio": float(np.median([p["ratio"] for p in usable])) if usable else None,
        "primary_quality_estimate": q_est,
        "primary_quality_ratio": q_ratio,
        "file_quality_estimate": info.quality,
        "rounding_error": float(np.mean(rounding)),
        "n_blocks": int(coef.shape[0]),
        "histograms": hists,
    }


@register_check(
    "double-jpeg",
    title="Double JPEG compression",
    description="periodic empty bins in DCT coefficient histograms reveal an earlier, coarser compression",
    order=30,
)
def run(evidence: Any) -> Finding:
    """Double-compression estimate as a Finding (JPEG only; otherwise neutral and not applicable)."""
    title = "Double JPEG compression"
    if not is_jpeg(evidence):
        return Finding(
            check="double-jpeg",
            title=title,
            measured={"is_jpeg": False},
            direction=NEUTRAL,
            reliability="not applicable",
            applicable=False,
            images={},
            caveats=(
                "A file converted to PNG/WebP after JPEG compression keeps block traces, but without the "
                "file's own quantisation tables this estimate cannot be made.",
            ),
            summary=f"Not applicable: the file is {file_format(evidence)}; the double-JPEG estimate needs a JPEG's "
            "own quantisation tables.",
        )
    try:
        r = estimate_double_jpeg(evidence.data)
    except NotApplicableError as exc:
        return Finding(
            check="double-jpeg",
            title=title,
            measured={"is_jpeg": True},
            direction=NEUTRAL,
            reliability="not applicable",
            applicable=False,
            images={},
            caveats=(),
            summary=f"Not applicable: {exc}.",
        )
    measured = {
        k: r[k]
        for k in (
            "double_compressed",
            "votes",
            "usable_positions",
            "median_ratio",
            "primary_quality_estimate",
            "file_quality_estimate",
            "rounding_error",
            "n_blocks",
        )
    }
    measured["positions"] = [{k: p[k] for k in ("position", "q2", "q1", "ratio", "n_nonzero")} for p in r["positions"]]
    images: dict[str, np.ndarray] = {}
    region = {"found": False}
    if r["unreachable_share_map"] is not None:
        share = r["unreachable_share_map"]
        region = inconsistent_region(share)
        measured.update(
            {
                "inconsistent_region": region["found"],
                "inconsistent_area_fraction": region["area_fraction"],
                "region_share": region["region_share"],
                "background_share": region["background_share"],
            }
        )
        o = exif_orientation(evidence.data)
        h, w = display_image(evidence).shape[:2]
        stored = (w, h) if o in (5, 6, 7, 8) else (h, w)
        m = np.clip(np.nan_to_num(share) / 0.6, 0.0, 1.0).astype(np.float32)
        images["double_jpeg_map"] = orient(upsample_blocks(m, 8, stored), o)
    series = {f"dct_hist_{name}": np.stack([np.arange(-20, 21), np.asarray(c)]) for name, c in r["histograms"].items()}
    caveats = [
        "A first compression at equal or higher quality than the last leaves no empty bins: not detected.",
        "Cropping or resizing between the two compressions moves the 8x8 grid and hides the trace.",
        "Double compression says the file was re-encoded (editors, messaging apps and social networks all do this); "
        "it does not by itself say the content was altered.",
    ]
    if r["usable_positions"] < 3:
        caveats.insert(
            0,
            f"Only {r['usable_positions']} of {len(POSITIONS)} frequencies had enough non-zero "
            "coefficients (small or very smooth image): a negative result means little.",
        )
    if r["double_compressed"]:
        q1 = r["primary_quality_estimate"]
        first = f" (first compression near IJG quality {q1})" if q1 is not None else ""
        summary = (
            f"The DCT histograms show periodic empty bins at {r['votes']} of {r['usable_positions']} usable "
            f"frequencies: the file was JPEG-compressed at least twice{first}, the last time near quality "
            f"{r['file_quality_estimate']}. It is not a first-generation camera file."
        )
        if region["found"]:
            summary += (
                f" A compact region ({region['area_fraction']:.0%} of the informative blocks) lacks the "
                "double-compression trace (see the map): it was probably inserted or altered after the "
                "first compression."
            )
        direction = SUPPORTS_MANIPULATION
    else:
        summary = (
            "No periodic empty bins in the DCT histograms: no sign of an earlier, coarser JPEG compression "
            "(this is not evidence that the file is an original)."
        )
        direction = NEUTRAL
    return Finding(
        check="double-jpeg",
        title=title,
        measured=measured,
        direction=direction,
        reliability="high for the measurement (synthetic single vs double compression separate cleanly; 0 of 75 "
        "camera JPEGs in ../shared/data flagged, 25 of 25 LFW face swaps flagged with the face "
        "localised); weak as evidence of content manipulation unless a region lacks the trace",
        caveats=tuple(caveats),
        images=images,
        summary=summary,
        series=series,
        params={"positions": [list(p) for p in POSITIONS], "empty_ratio": EMPTY_RATIO, "min_expected": MIN_EXPECTED},
    )
