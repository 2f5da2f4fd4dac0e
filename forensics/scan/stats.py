"""Statistics over a scan's results store: tables (lists of dicts) and arrays; figures live in forensics.viz.scan.

- ``region_stats``: region relevance per class (mean, median, bootstrap 95% interval).
- ``mean_heatmaps``: mean explanation heatmap per class on the aligned crops.
- ``detection_metrics``: for labelled scans, AUC / EER / ROC / DET with intervals, confusion matrix at the default
  threshold, and tables per generator kind and per source.
- ``embedding_map``: t-SNE of penultimate features, with class and source per point.
- ``problem_faces``: misclassified and inconclusive faces with thumbnails.
- ``store_statistics``: all of the above a dashboard page or the ``stats`` command shows, in one call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forensics.scan.store import ScanStore
from forensics.verdicts import Verdict, verdict_of


def _bootstrap_mean_ci(values: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the mean (scipy's ``bootstrap``, ``batch`` resamples at a time, so
    memory stays at 100 x n values however many resamples)."""
    from scipy.stats import bootstrap

    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2 or np.ptp(values) == 0:
        v = float(values[0]) if len(values) else float("nan")
        return v, v
    res = bootstrap(
        (values,),
        np.mean,
        n_resamples=n_boot,
        batch=100,
        method="percentile",
        confidence_level=0.95,
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def scanned_detectors(store: ScanStore) -> list[str]:
    return [r["detector"] for r in store.rows("SELECT DISTINCT detector FROM scores ORDER BY detector")]


def scanned_explainers(store: ScanStore) -> list[str]:
    return [r["explainer"] for r in store.rows("SELECT DISTINCT explainer FROM heatmaps ORDER BY explainer")]


def region_stats(store: ScanStore, detector: str, explainer: str, *, by: str = "label") -> list[dict[str, Any]]:
    """Per (group, region): n faces, mean / median relevance share and a bootstrap 95% interval of the mean.

    ``by`` is "label" (real / fake / unlabelled) or "kind". Faces where the region is absent count as share 0.
    """
    if by not in ("label", "kind"):
        raise ValueError("by must be 'label' or 'kind'")
    rows = store.rows(
        f"SELECT COALESCE(i.{by}, 'unlabelled') AS grp, r.region, r.share, r.pixel_share, r.density "
        "FROM regions r JOIN images i USING (sha256) WHERE r.detector=? AND r.explainer=?",
        (detector, explainer),
    )
    groups: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in rows:
        groups.setdefault((r["grp"], r["region"]), []).append((r["share"] or 0.0, r["pixel_share"] or 0.0))
    out = []
    for (grp, region), vals in sorted(groups.items()):
        arr = np.asarray(vals, dtype=np.float64)
        lo, hi = _bootstrap_mean_ci(arr[:, 0])
        out.append(
            {
                "group": grp,
                "region": region,
                "n": len(arr),
                "mean_share": float(arr[:, 0].mean()),
                "median_share": float(np.median(arr[:, 0])),
                "ci_low": lo,
                "ci_high": hi,
                "mean_pixel_share": float(arr[:, 1].mean()),
            }
        )
    return out


def mean_heatmaps(store: ScanStore, detector: str, explainer: str) -> dict[str, tuple[np.ndarray, int]]:
    """Mean heatmap and face count per class (label), on the stored aligned-crop heatmaps."""
    labels = {r["sha256"]: r["label"] or "unlabelled" for r in store.rows("SELECT sha256, label FROM images")}
    acc: dict[str, list[np.ndarray]] = {}
    for sha, _fi, hm in store.heatmaps(detector, explainer):
        acc.setdefault(labels.get(sha, "unlabelled"), []).append(hm)
    return {k: (np.mean(v, axis=0), len(v)) for k, v in sorted(acc.items())}


def labelled_scores(store: ScanStore, detector: str) -> list[dict[str, Any]]:
    """One row per scored face of a labelled image: label (1 = fake), p_fake, verdict, kind, source, path."""
    rows = store.rows(
        "SELECT s.sha256, s.face_index, s.p_fake, s.verdict, s.inconclusive, i.label, i.kind, i.source, i.path "
        "FROM scores s JOIN images i USING (sha256) WHERE s.detector=? AND i.label IS NOT NULL "
        "ORDER BY i.path, s.face_index",
        (detector,),
    )
    for r in rows:
        r["y"] = int(r["label"] == "fake")
        r["verdict"] = verdict_of(r["verdict"])  # stores of earlier versions hold former values
    return rows


def embedding_map(store: ScanStore, detector: str, *, max_points: int = 2000, seed: int = 0) -> dict[str, Any]:
    """t-SNE of the stored penultimate features: 2-D coordinates with label, kind and source per face."""
    from sklearn.manifold import TSNE

    meta = {r["sha256"]: r for r in store.rows("SELECT sha256, label, kind, source, path FROM images")}
    emb = store.embeddings(detector)
    if len(emb) < 5:
        raise ValueError(f"only {len(emb)} embeddings stored for {detector}: a map needs at least 5 faces")
    rng = np.random.default_rng(seed)
    if len(emb) > max_points:
        emb = [emb[i] for i in sorted(rng.choice(len(emb), max_points, replace=False))]
    x = np.stack([e[2] for e in emb]).astype(np.float64)
    x = (x - x.mean(0)) / (x.std(0) + 1e-8)
    perplexity = float(min(30, max(2, (len(x) - 1) // 3)))
    xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)
    info = [meta.get(sha, {}) for sha, _, _ in emb]
    return {
        "xy": xy,
        "label": [m.get("label") or "unlabelled" for m in info],
        "kind": [m.get("kind") or "" for m in info],
        "source": [m.get("source") or "" for m in info],
        "path": [m.get("path") or "" for m in info],
        "perplexity": perplexity,
    }


def problem_faces(store: ScanStore, detector: str, threshold: float = 0.5, limit: int = 60) -> list[dict[str, Any]]:
    """Misclassified (at the verdict or, uncalibrated, at ``threshold``) and inconclusive faces, with thumbnails."""
    rows = store.rows(
        "SELECT s.sha256, s.face_index, s.p_fake, s.verdict, s.inconclusive, i.label, i.kind, i.source, i.path, "
        "f.thumb FROM scores s JOIN images i USING (sha256) JOIN faces f ON f.sha256=s.sha256 "
        "AND f.face_index=s.face_index WHERE s.detector=? ORDER BY i.path",
        (detector,),
    )
    out = []
    for r in rows:
        v = r["verdict"] = verdict_of(r["verdict"])
        if v == Verdict.INCONCLUSIVE:
            r["problem"] = str(Verdict.INCONCLUSIVE)
        elif v == Verdict.NONE:  # a verdict withheld (whole-face checks): not an error of the detector
            continue
        elif r["label"] in ("real", "fake"):
            called_fake = v == Verdict.FAKE if v is not None else r["p_fake"] >= threshold
            if called_fake != (r["label"] == "fake"):
                r["problem"] = "false alarm" if r["label"] == "real" else "missed"
        if "problem" in r:
            out.append(r)
    out.sort(key=lambda r: (r["problem"] != "false alarm", -abs(r["p_fake"] - 0.5)))
    return out[:limit]


def detection_metrics(
    store: ScanStore, detector: str, *, threshold: float | None = None, n_boot: int = 500
) -> dict[str, Any]:
    """Labelled-scan metrics for one detector (uses forensics.evaluation).

    The decision is the calibrated verdict, after the gates an analysis applies, where the detector has one
    (inconclusive faces and faces given no verdict are counted apart), else ``p_fake >= threshold`` (default 0.5).
    Returns the overall report with bootstrap intervals, a confusion matrix, and per-kind / per-source tables (detection
    rate for fakes, false-alarm rate for real sources, Wilson intervals).
    """
    from forensics.evaluation import binary_report, rate_table

    rows = labelled_scores(store, detector)
    if not rows:
        raise ValueError(f"no labelled faces scored by {detector}: metrics need folders named real/ and fake/")
    y = np.array([r["y"] for r in rows])
    s = np.array([r["p_fake"] for r in rows], dtype=np.float64)
    thr = 0.5 if threshold is None else threshold
    has_verdict = all(r["verdict"] is not None for r in rows)
    verdicts = [r["verdict"] if has_verdict else None for r in rows]
    inconclusive = np.array([v == Verdict.INCONCLUSIVE for v in verdicts])
    no_verdict = np.array([v == Verdict.NONE for v in verdicts])
    flagged = np.array([v == Verdict.FAKE for v in verdicts]) if has_verdict else s >= thr
    decided = ~inconclusive & ~no_verdict
    confusion = {
        "real_called_real": int(((y == 0) & decided & ~flagged).sum()),
        "real_called_fake": int(((y == 0) & decided & flagged).sum()),
        "fake_called_real": int(((y == 1) & decided & ~flagged).sum()),
        "fake_called_fake": int(((y == 1) & decided & flagged).sum()),
        "real_inconclusive": int(((y == 0) & inconclusive).sum()),
        "fake_inconclusive": int(((y == 1) & inconclusive).sum()),
        "real_no_verdict": int(((y == 0) & no_verdict).sum()),
        "fake_no_verdict": int(((y == 1) & no_verdict).sum()),
    }
    kinds = [r["kind"] or "?" for r in rows]
    sources = [f"{r['kind']}/{r['source']}" for r in rows]
    return {
        "detector": detector,
        "decision": "calibrated verdict" if has_verdict else f"p_fake >= {thr}",
        "overall": binary_report(y, s, threshold=thr, n_boot=n_boot),
        "confusion": confusion,
        "per_kind": rate_table(flagged & decided, kinds),
        "per_source": rate_table(flagged & decided, sources),
        "curves": (y, s),
    }


def store_statistics(
    store: ScanStore, *, detectors: list[str] | None = None, n_boot: int = 500, heatmaps: bool = True
) -> dict[str, Any]:
    """Everything the dashboard and ``stats`` show of a store: counts, options, root, models; per detector its
    ``detection_metrics`` (``{"error": why}`` when the store cannot give them, e.g. no labelled faces); per
    (detector, explainer) the ``region_stats`` and (with ``heatmaps``) the ``mean_heatmaps``."""
    from forensics.errors import ForensicsError

    out: dict[str, Any] = {
        "counts": store.counts(),
        "options": store.get_meta("options"),
        "root": store.get_meta("root"),
        "models": store.get_meta("models"),
        "metrics": {},
        "regions": {},
        "mean_heatmaps": {},
    }
    expls = scanned_explainers(store)
    for d in detectors or scanned_detectors(store):
        try:
            out["metrics"][d] = detection_metrics(store, d, n_boot=n_boot)
        except (ValueError, ForensicsError) as exc:  # no labelled faces: the store still has scores, no metrics
            out["metrics"][d] = {"error": str(exc)}
        for e in expls:
            out["regions"][(d, e)] = region_stats(store, d, e)
            if heatmaps:
                out["mean_heatmaps"][(d, e)] = mean_heatmaps(store, d, e)
    return out
