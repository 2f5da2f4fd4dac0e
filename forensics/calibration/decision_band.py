"""The inconclusive band ``[lo, hi)`` on a calibrated p_fake: ``hi`` the lowest threshold keeping the false-positive
rate of camera originals under the target (per real source too), ``lo`` the highest keeping the share of fakes
called "camera original" under it (``choose_band``), and the error rates, with counts, a band has on labelled
scores (``band_error_rates``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from forensics.calibration.temperature import logit


def _shifted(p: float, dz: float) -> float:
    """``p`` moved by ``dz`` on the logit scale."""
    return float(1 / (1 + math.exp(-(float(logit(p)) + dz))))


def _fpr_threshold(scores: np.ndarray, target: float, margin: float = 0.05) -> float:
    """Lowest t such that mean(scores >= t) <= target, kept a little clear of the scores around it: ``margin``
    logits above the (k+1)-th largest score, which must stay below t (at most halfway to the k-th largest, which
    may lie above). A threshold placed exactly on a face's score would flip with the last bit of a float (another
    batch size or thread count)."""
    s = np.sort(np.asarray(scores, dtype=np.float64))
    n = len(s)
    k = int(math.floor(target * n))  # at most k scores may lie at or above t
    if k >= n:
        return 0.0
    below = s[n - 1 - k]
    dz = margin if k == 0 else min(margin, (float(logit(s[n - k])) - float(logit(below))) / 2)
    return float(min(1.0, max(_shifted(below, dz), np.nextafter(below, np.inf))))


def _fnr_threshold(scores: np.ndarray, target: float, margin: float = 0.05) -> float:
    """Highest t such that mean(scores < t) <= target, ``margin`` logits below the (k+1)-th smallest score (at most
    halfway to the k-th smallest, which may lie below t)."""
    s = np.sort(np.asarray(scores, dtype=np.float64))
    n = len(s)
    k = int(math.floor(target * n))  # at most k scores may lie below t
    if k >= n:
        return 1.0
    above = s[k]
    dz = margin if k == 0 else min(margin, (float(logit(above)) - float(logit(s[k - 1]))) / 2)
    return float(min(above, _shifted(above, -dz)))


def choose_band(
    p_fake: np.ndarray,
    is_fake: np.ndarray,
    *,
    target_error: float = 0.05,
    real_groups: Sequence[str] | None = None,
    min_group: int = 20,
) -> tuple[float, float]:
    """Band ``(lo, hi)`` on p_fake: FPR(hi) <= target (per real group with >= min_group faces, and overall) and
    FNR(lo) <= target. When the two constraints do not overlap the band is empty (lo == hi, mid-point in logit)."""
    p = np.asarray(p_fake, dtype=np.float64)
    y = np.asarray(is_fake, dtype=bool)
    reals, fakes = p[~y], p[y]
    hi = _fpr_threshold(reals, target_error)
    if real_groups is not None:
        g = np.asarray(real_groups, dtype=object)
        if len(g) != len(p):
            raise ValueError("real_groups must have one entry per score")
        g_real = g[~y]
        for name in sorted(set(g_real.tolist())):
            sel = reals[g_real == name]
            if len(sel) >= min_group:
                hi = max(hi, _fpr_threshold(sel, target_error))
    lo = _fnr_threshold(fakes, target_error)
    if lo > hi:  # separable enough: both constraints hold anywhere in [hi, lo]
        mid = float(1 / (1 + math.exp(-(logit(hi) + logit(lo)) / 2)))
        lo = hi = mid
    return float(lo), float(hi)


def band_error_rates(
    p_fake: np.ndarray, is_fake: np.ndarray, band: tuple[float, float], groups: Sequence[str] | None = None
) -> dict[str, Any]:
    """Error rates (with counts) of a band on labelled scores: FPR among reals, FNR among fakes, inconclusive shares;
    per group when given."""
    p = np.asarray(p_fake, dtype=np.float64)
    y = np.asarray(is_fake, dtype=bool)
    lo, hi = band

    def rates(pp: np.ndarray, yy: np.ndarray) -> dict[str, Any]:
        nr, nf = int((~yy).sum()), int(yy.sum())
        fp = int((pp[~yy] >= hi).sum())
        fn = int((pp[yy] < lo).sum())
        inc_r = int(((pp[~yy] >= lo) & (pp[~yy] < hi)).sum())
        inc_f = int(((pp[yy] >= lo) & (pp[yy] < hi)).sum())
        return {
            "n_real": nr,
            "n_fake": nf,
            "false_positives": fp,
            "false_negatives": fn,
            "false_positive_rate": fp / nr if nr else float("nan"),
            "false_negative_rate": fn / nf if nf else float("nan"),
            "inconclusive_real": inc_r / nr if nr else float("nan"),
            "inconclusive_fake": inc_f / nf if nf else float("nan"),
        }

    out = rates(p, y)
    if groups is not None:
        g = np.asarray(groups, dtype=object)
        out["per_group"] = {str(name): rates(p[g == name], y[g == name]) for name in sorted(set(g.tolist()))}
    return out
