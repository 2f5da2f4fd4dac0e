"""Detector evaluation: plain metric functions (ROC, DET, EER, TPR at fixed FPR, ECE, bootstrap and Wilson
intervals) and the folder summaries built from them. Labels are 1 for "manipulated or generated", 0 for "camera
original"; scores are p_fake (higher = more likely fake). Their figures are built in ``forensics.viz.curves``.

Example:
    >>> import numpy as np
    >>> from forensics.evaluation import auc, eer
    >>> y = np.array([0, 0, 1, 1]); s = np.array([0.1, 0.4, 0.35, 0.8])
    >>> auc(y, s)
    0.75
    >>> eer(np.array([0, 1]), np.array([0.2, 0.9]))[0]
    0.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from forensics.errors import ForensicsError


def _check(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError(f"labels and scores must be 1-D of equal length, got {y.shape} and {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or infinity")
    return y, s


def _need_both(y: np.ndarray) -> None:
    if y.all() or not y.any():
        raise ForensicsError("this metric needs both camera originals and manipulated/generated faces")


def roc_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds): one point per distinct score, deciding "fake" when score >= threshold.
    Starts at (0, 0) with threshold +inf."""
    y, s = _check(y, s)
    _need_both(y)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    distinct = np.r_[np.nonzero(np.diff(s_sorted))[0], len(s) - 1]
    tps = np.cumsum(y_sorted)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / y.sum()]
    fpr = np.r_[0.0, fps / (~y).sum()]
    thr = np.r_[np.inf, s_sorted[distinct]]
    return fpr, tpr, thr


def auc(y: np.ndarray, s: np.ndarray) -> float:
    """Area under the ROC curve = P(score_fake > score_real) + 0.5 P(tie) (Mann-Whitney, ties by mid-rank)."""
    from scipy.stats import rankdata

    y, s = _check(y, s)
    _need_both(y)
    r = rankdata(s)
    n1, n0 = int(y.sum()), int((~y).sum())
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def det_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, fnr, thresholds) for the detection-error-tradeoff plot."""
    fpr, tpr, thr = roc_curve(y, s)
    return fpr, 1.0 - tpr, thr


def compact_roc(y: np.ndarray, s: np.ndarray, max_points: int = 100) -> dict[str, Any]:
    """At most ``max_points`` points of the ROC curve, spread evenly along its length (a model card holds this, not
    one point per face), with the AUC of the full scores. Every kept point is a point of :func:`roc_curve`, the
    first (0, 0) and the last (1, 1); the area under the kept points is within about 1/max_points of the AUC."""
    if max_points < 2:
        raise ForensicsError(f"a ROC curve needs at least 2 points, got max_points={max_points}")
    fpr, tpr, _ = roc_curve(y, s)
    along = np.r_[0.0, np.cumsum(np.abs(np.diff(fpr)) + np.abs(np.diff(tpr)))]
    keep = np.unique(np.searchsorted(along, np.linspace(0.0, along[-1], max_points)).clip(0, len(fpr) - 1))
    y = np.asarray(y, dtype=bool)
    return {
        "fpr": [round(float(v), 5) for v in fpr[keep]],
        "tpr": [round(float(v), 5) for v in tpr[keep]],
        "auc": auc(y, s),
        "n_real": int((~y).sum()),
        "n_fake": int(y.sum()),
    }


def eer(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """(equal error rate, threshold): where FPR and FNR cross, interpolated between ROC points."""
    fpr, tpr, thr = roc_curve(y, s)
    fnr = 1.0 - tpr
    d = fpr - fnr  # rises from -1 to +1
    i = int(np.argmax(d >= 0))
    if d[i] == 0 or i == 0:
        t = thr[i] if np.isfinite(thr[i]) else thr[min(i + 1, len(thr) - 1)]
        return float(fpr[i]), float(t)
    # linear interpolation between points i-1 and i
    w = -d[i - 1] / (d[i] - d[i - 1])
    rate = fpr[i - 1] + w * (fpr[i] - fpr[i - 1])
    t_prev = thr[i - 1] if np.isfinite(thr[i - 1]) else thr[i]
    return float(rate), float(t_prev + w * (thr[i] - t_prev))


def tpr_at_fpr(y: np.ndarray, s: np.ndarray, max_fpr: float) -> float:
    """Highest true-positive rate reachable with a threshold whose false-positive rate is <= max_fpr."""
    fpr, tpr, _ = roc_curve(y, s)
    ok = fpr <= max_fpr + 1e-12
    return float(tpr[ok].max())


def reliability_curve(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, np.ndarray]:
    """Per equal-width bin of predicted p: mean prediction, observed fraction of fakes, count."""
    y, p = _check(y, p)
    if (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie in [0, 1]")
    idx = np.clip((p * bins).astype(int), 0, bins - 1)
    count = np.bincount(idx, minlength=bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(idx, weights=p, minlength=bins) / count
        frac = np.bincount(idx, weights=y.astype(float), minlength=bins) / count
    return {"edges": np.linspace(0, 1, bins + 1), "mean_predicted": conf, "fraction_fake": frac, "count": count}


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Sum over bins of (bin share) x |mean predicted p - observed fraction of fakes|."""
    rc = reliability_curve(y, p, bins)
    c = rc["count"]
    ok = c > 0
    return float((c[ok] / c.sum() * np.abs(rc["mean_predicted"][ok] - rc["fraction_fake"][ok])).sum())


def accuracy(y: np.ndarray, s: np.ndarray, threshold: float = 0.5) -> float:
    y, s = _check(y, s)
    return float(((s >= threshold) == y).mean())


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95% interval of a proportion k/n (good for small n and k = 0)."""
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_ci(values: list[float], level: float = 0.95) -> dict[str, Any]:
    """Mean with a Student-t confidence interval (None when fewer than two finite values)."""
    from scipy import stats

    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    out: dict[str, Any] = {
        "n": int(v.size),
        "mean": float(v.mean()) if v.size else None,
        "ci_low": None,
        "ci_high": None,
        "level": level,
    }
    if v.size >= 2:
        half = float(stats.t.ppf(0.5 + level / 2.0, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
        out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    return out


def _resamples(y: np.ndarray, n_boot: int, seed: int, groups: np.ndarray | None):
    """Index arrays of ``n_boot`` bootstrap resamples, drawn within each class (and by group, e.g. video, when
    ``groups`` is given so that near-identical frames move together)."""
    rng = np.random.default_rng(seed)
    pos, neg = np.nonzero(y)[0], np.nonzero(~y)[0]
    grouped: list[list[np.ndarray]] = []
    if groups is not None:
        g = np.asarray(groups, dtype=object)
        for cls_idx in (pos, neg):
            members: dict[Any, list[int]] = {}
            for i in cls_idx:
                members.setdefault(g[i], []).append(int(i))
            grouped.append([np.array(v) for v in members.values()])
    for _ in range(n_boot):
        if groups is None:
            yield np.r_[rng.choice(pos, len(pos)) if len(pos) else pos, rng.choice(neg, len(neg)) if len(neg) else neg]
        else:
            yield np.concatenate(
                [np.concatenate([u[j] for j in rng.integers(0, len(u), len(u))]) for u in grouped if u]
            )


def _interval(values: list[float], point: float, alpha: float) -> tuple[float, float, float]:
    if not values:
        return point, float("nan"), float("nan")
    lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return point, float(lo), float(hi)


def bootstrap_ci(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y: np.ndarray,
    s: np.ndarray,
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """(point estimate, lower, upper) percentile bootstrap interval, resampling within each class (and by group,
    e.g. video, when ``groups`` is given so that near-identical frames move together)."""
    y, s = _check(y, s)
    point = float(metric(y, s))
    vals = []
    for idx in _resamples(y, n_boot, seed, groups):
        try:
            v = float(metric(y[idx], s[idx]))
        except ForensicsError:
            continue
        if np.isfinite(v):
            vals.append(v)
    return _interval(vals, point, alpha)


def auc_difference_ci(
    y: np.ndarray,
    s_a: np.ndarray,
    s_b: np.ndarray,
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """AUC(s_a) - AUC(s_b) on the same faces with a paired percentile bootstrap interval: each resample scores both
    models on the same faces, so what the two share (hard faces, easy faces) cancels, unlike two separate
    intervals. An interval above 0 means model a ranks these faces better beyond the resampling noise."""
    y, s_a = _check(y, s_a)
    _, s_b = _check(y, s_b)
    point = auc(y, s_a) - auc(y, s_b)
    vals = []
    for idx in _resamples(y, n_boot, seed, groups):
        try:
            vals.append(auc(y[idx], s_a[idx]) - auc(y[idx], s_b[idx]))
        except ForensicsError:
            continue
    return _interval(vals, point, alpha)


def binary_report(
    y: np.ndarray,
    s: np.ndarray,
    *,
    threshold: float = 0.5,
    n_boot: int = 1000,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """AUC, accuracy at ``threshold``, EER, TPR at 1% / 5% FPR and ECE, each ``{"value", "ci95"}``."""
    y, s = _check(y, s)
    metrics: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        "auc": auc,
        "accuracy": lambda a, b: accuracy(a, b, threshold),
        "eer": lambda a, b: eer(a, b)[0],
        "tpr_at_fpr_1pct": lambda a, b: tpr_at_fpr(a, b, 0.01),
        "tpr_at_fpr_5pct": lambda a, b: tpr_at_fpr(a, b, 0.05),
        "ece": expected_calibration_error,
    }
    out: dict[str, Any] = {"n_real": int((~y).sum()), "n_fake": int(y.sum()), "threshold": float(threshold)}
    for name, fn in metrics.items():
        if name != "accuracy" and name != "ece" and (y.all() or not y.any()):
            out[name] = {"value": None, "ci95": None}
            continue
        v, lo, hi = bootstrap_ci(fn, y, s, n_boot=n_boot, seed=seed, groups=groups)
        out[name] = {"value": v, "ci95": [lo, hi]}
    return out


def rate_table(flagged: np.ndarray, groups: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per group: n, number flagged, share flagged with a Wilson 95% interval."""
    f = np.asarray(flagged, dtype=bool)
    g = np.asarray(groups, dtype=object)
    out = {}
    for name in sorted(set(g.tolist())):
        sel = f[g == name]
        k, n = int(sel.sum()), int(len(sel))
        out[str(name)] = {
            "n": n,
            "flagged": k,
            "rate": k / n if n else float("nan"),
            "ci95": list(wilson_interval(k, n)),
        }
    return out


# ----------------------------------------------------------------------------------------- folder evaluation
def cross_fitted_rates(
    logits: np.ndarray,
    labels: np.ndarray,
    sources: Sequence[str],
    groups: Sequence[str],
    *,
    fake_indices: Sequence[int],
    target_error: float = 0.05,
    seed: int = 0,
    conditions: Mapping[str, np.ndarray] | None = None,
    judged: np.ndarray | None = None,
) -> dict[str, Any]:
    """Out-of-sample error rates of the calibration recipe: split faces in two halves by group (video/file),
    fit the calibration on one half and count errors on the other, both ways. Per-source flagged shares.

    ``conditions``: logits of the same faces under the re-samplings the recipe fits its threshold on (see
    ``fit_calibration``), split with them. ``judged``: logits the errors are counted on (default ``logits``), e.g.
    the same faces re-sampled in a way the fit never saw."""
    from forensics.calibration import fit_calibration

    labels = np.asarray(labels, dtype=int)
    src = np.asarray(sources, dtype=object)
    g = np.asarray(groups, dtype=object)
    rng = np.random.default_rng(seed)
    uniq = np.array(sorted(set(g.tolist())), dtype=object)
    half = set(rng.permutation(uniq)[: len(uniq) // 2].tolist())
    fold = np.array([x in half for x in g.tolist()])
    flagged = np.zeros(len(labels), bool)
    missed = np.zeros(len(labels), bool)
    inconclusive = np.zeros(len(labels), bool)
    for f in (True, False):
        fit, test = fold == f, fold != f
        cal_groups = [s if y == 0 else f"fake:{s}" for s, y in zip(src[fit], labels[fit], strict=True)]
        cal = fit_calibration(
            logits[fit],
            labels[fit],
            fake_indices=fake_indices,
            target_error=target_error,
            groups=cal_groups,
            conditions={k: v[fit] for k, v in (conditions or {}).items()},
        )
        pf = cal.proba((logits if judged is None else judged)[test])[:, list(fake_indices)].sum(axis=1)
        lo, hi = cal.band
        flagged[test] = pf >= hi
        missed[test] = pf < lo
        inconclusive[test] = (pf >= lo) & (pf < hi)
    real = labels == 0
    fp, nr = int(flagged[real].sum()), int(real.sum())
    fn, nf = int(missed[~real].sum()), int((~real).sum())
    method = "2-fold by group: calibration fitted on one half"
    if conditions:
        method += f" (threshold also held under {', '.join(conditions)})"
    method += (
        ", rates counted on the other half"
        if judged is None
        else ", rates counted on the other half's faces after a re-sampling the fit did not see"
    )
    return {
        "method": method,
        "false_positive_rate": fp / nr,
        "false_positive_ci95": list(wilson_interval(fp, nr)),
        "false_negative_rate": fn / nf,
        "false_negative_ci95": list(wilson_interval(fn, nf)),
        "inconclusive_real": float(inconclusive[real].mean()),
        "inconclusive_fake": float(inconclusive[~real].mean()),
        "real_flagged_per_source": rate_table(flagged[real], src[real]),
        "fake_detected_per_source": rate_table(flagged[~real], src[~real]),
    }


def family(source: str) -> str:
    """Dataset family of a source name: the part before the first underscore (``ffpp_df`` -> ``ffpp``)."""
    return str(source).split("_", 1)[0]


def paired_auc(
    y: np.ndarray, s: np.ndarray, src: np.ndarray, g: np.ndarray, fake_sel: np.ndarray, *, n_boot: int
) -> dict[str, Any] | None:
    """AUC of the fakes in ``fake_sel`` against the real faces of the same dataset families only (``lfw_faceswap``
    against ``lfw``, ``ciplab_photoshop`` against ``ciplab``): a score that separates sources instead of
    manipulations ("ciplab look = fake") gains nothing here. None when no real face shares a family."""
    fams = {family(x) for x in src[fake_sel]}
    real_sel = (~y) & np.isin(np.array([family(x) for x in src], dtype=object), list(fams))
    if not real_sel.any() or not fake_sel.any():
        return None
    sel = real_sel | fake_sel
    v, lo, hi = bootstrap_ci(auc, y[sel], s[sel], n_boot=n_boot, groups=g[sel])
    return {
        "auc": v,
        "ci95": [lo, hi],
        "n_real": int(real_sel.sum()),
        "n_fake": int(fake_sel.sum()),
        "real_sources": sorted({str(x) for x in src[real_sel]}),
    }


def auc_differences_per_kind(
    labels_fake: np.ndarray,
    kinds: Sequence[str],
    groups: Sequence[str],
    scores: dict[str, np.ndarray],
    model: str,
    *,
    n_boot: int = 500,
) -> dict[str, dict[str, dict[str, Any]]]:
    """For ``model`` against every other model in ``scores`` (same faces): per fake kind (against all real faces),
    AUC(model) - AUC(other) with its paired bootstrap interval (``auc_difference_ci``, resampling by group)."""
    y = np.asarray(labels_fake, dtype=bool)
    k = np.asarray(kinds, dtype=object)
    g = np.asarray(groups, dtype=object)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for other in scores:
        if other == model:
            continue
        out[other] = {}
        for kind in sorted(set(k[y].tolist())):
            sel = (~y) | (k == kind)
            d, lo, hi = auc_difference_ci(y[sel], scores[model][sel], scores[other][sel], n_boot=n_boot, groups=g[sel])
            out[other][str(kind)] = {"difference": d, "ci95": [lo, hi]}
    return out


def summarise_scores(
    p_fake: np.ndarray,
    labels_fake: np.ndarray,
    kinds: Sequence[str],
    sources: Sequence[str],
    groups: Sequence[str],
    *,
    threshold: float,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """Overall report with bootstrap intervals (resampling by group); AUC per fake kind against all reals and
    against the reals of the same dataset families (``paired``); AUC per fake source against its family's reals;
    the share flagged at ``threshold`` per source (for real sources: the false-positive rate)."""
    y = np.asarray(labels_fake, dtype=bool)
    s = np.asarray(p_fake, dtype=np.float64)
    k = np.asarray(kinds, dtype=object)
    src = np.asarray(sources, dtype=object)
    g = np.asarray(groups, dtype=object)
    out: dict[str, Any] = {"overall": binary_report(y, s, threshold=threshold, n_boot=n_boot, groups=g)}
    per_kind = {}
    for kind in sorted(set(k[y].tolist())):
        sel = (~y) | (k == kind)
        v, lo, hi = bootstrap_ci(auc, y[sel], s[sel], n_boot=n_boot // 2, groups=g[sel])
        n = int((k == kind).sum())
        det = int((s[k == kind] >= threshold).sum())
        per_kind[str(kind)] = {
            "n": n,
            "auc_vs_all_real": v,
            "auc_ci95": [lo, hi],
            "detected_at_threshold": det / n,
            "detected_ci95": list(wilson_interval(det, n)),
            "paired": paired_auc(y, s, src, g, y & (k == kind), n_boot=n_boot // 2),
        }
    out["per_kind"] = per_kind
    out["paired_per_fake_source"] = {
        str(name): paired_auc(y, s, src, g, y & (src == name), n_boot=n_boot // 2)
        for name in sorted(set(src[y].tolist()))
    }
    out["real_flagged_per_source"] = rate_table(s[~y] >= threshold, src[~y])
    out["fake_detected_per_source"] = rate_table(s[y] >= threshold, src[y])
    out["worst_real_source_fpr"] = max((r["rate"] for r in out["real_flagged_per_source"].values()), default=None)
    return out
