"""Evaluating detectors on a labelled folder (``real/<source>/``, ``fake/<kind>/<source>/``): every face scored
as the file is and, optionally, after re-sampling to one shorter side and JPEG quality; metrics with intervals per
kind and per source, verdict counts, cross-fitted error rates and, with a floor, a frozen ImageNet MobileNetV2 with
logistic regression for comparison. ``python -m forensics evaluate`` writes and prints what ``evaluate_folder``
returns.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def _crops(samples, normalise: tuple[int, int] | None) -> tuple[list, np.ndarray, list[str]]:
    from tqdm import tqdm

    from forensics.errors import ForensicsError
    from forensics.training.crops import CropSettings, face_crop_for_file

    settings = CropSettings()
    kept, crops, notes = [], [], []
    for s in tqdm(samples, desc="faces" + (" (normalised)" if normalise else ""), mininterval=10, file=sys.stderr):
        try:
            rec = face_crop_for_file(s.path, settings, normalise=normalise)
        except ForensicsError as exc:
            notes.append(f"{s.rel}: {exc}")
            continue
        kept.append(s)
        crops.append(rec.crop)
    return kept, np.stack(crops), notes


def _score(det, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """(raw logits, calibrated p_fake, DetectorScores) through the pipeline's scoring."""
    from forensics.pipeline import crop_logits, score_logits

    z = crop_logits(det, list(crops), batch=32)
    scores = score_logits(det, z)
    return z, np.array([s.p_fake for s in scores]), scores


class _Floor:
    """Frozen ImageNet MobileNetV2 penultimate features + standardised logistic regression (binary)."""

    name = "floor-imagenet-logreg"

    def __init__(self, train_dir: str) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from forensics.detectors import create_detector
        from forensics.training.data import list_samples

        self.det = create_detector("mobilenetv2", weights="imagenet")
        samples = list_samples(train_dir)
        x, y = self._train_features(samples)
        self.clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced"))
        self.clf.fit(x, y)
        self.n_train = len(y)

    def _train_features(self, samples) -> tuple[np.ndarray, np.ndarray]:
        """Features of the training crops, cached in CACHE_DIR/floor keyed by the file list and crop settings."""
        import hashlib

        from forensics.paths import CACHE_DIR
        from forensics.training.crops import CropSettings

        key_text = "|".join(f"{s.rel}:{Path(s.path).stat().st_size}" for s in samples) + CropSettings().key()
        path = CACHE_DIR / "floor" / f"{hashlib.sha256(key_text.encode()).hexdigest()[:16]}.npz"
        if path.is_file():
            with np.load(path) as z:
                return z["x"], z["y"]
        kept, crops, _ = _crops(samples, None)
        x = self.features(crops)
        y = np.array([s.label == "fake" for s in kept])
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, x=x, y=y)
        return x, y

    def features(self, crops: np.ndarray, batch: int = 32) -> np.ndarray:
        return np.concatenate(
            [self.det.features(self.det.preprocess(list(crops[i : i + batch]))) for i in range(0, len(crops), batch)]
        )

    def p_fake(self, crops: np.ndarray) -> np.ndarray:
        return self.clf.predict_proba(self.features(crops))[:, 1]


def evaluate_folder(
    data_dir: str,
    detectors: list[str],
    *,
    normalise: tuple[int, int] | None,
    floor: str | None,
    weights_dirs: list[str] | None,
    n_boot: int,
    limit: int = 0,
    exclude: list[str] | None = None,
) -> dict[str, Any]:
    from forensics.detectors import create_detector
    from forensics.evaluation import auc_differences_per_kind, compact_roc, summarise_scores
    from forensics.training.data import is_held, list_samples
    from forensics.verdicts import Verdict

    samples = [s for s in list_samples(data_dir) if not is_held(s, exclude or [])]
    if limit and len(samples) > limit:
        samples = samples[:: int(np.ceil(len(samples) / limit))]
    dets = [create_detector(n, weights_dirs=weights_dirs) for n in detectors]
    floor_model = _Floor(floor) if floor else None
    conditions = [("as-is", None)] + (
        [(f"normalised {normalise[0]}px q{normalise[1]}", normalise)] if normalise else []
    )
    results: dict[str, Any] = {"data_dir": str(data_dir), "conditions": {}, "models": {}, "rows": []}
    for d in dets:
        results["models"][d.name] = {
            **{k: v for k, v in d.info().items() if k != "card"},
            "threshold": d.calibration.threshold if d.calibration else 0.5,
            "threshold_source": "calibration" if d.calibration else "0.5 (uncalibrated)",
        }
    if floor_model is not None:
        results["models"][floor_model.name] = {
            "threshold": 0.5,
            "threshold_source": "0.5 (logistic regression)",
            "trained_on": floor,
            "n_train": floor_model.n_train,
        }
    fit_logits: dict[str, dict[str, np.ndarray]] = {}  # detector -> as-is logits by file, for the cross-fit
    fit_conditions: dict[str, dict[str, dict[str, np.ndarray]]] = {}  # detector -> condition -> logits by file
    for cond, norm in conditions:
        t0 = time.perf_counter()
        kept, crops, notes = _crops(samples, norm)
        y = np.array([s.label == "fake" for s in kept])
        kinds = [s.kind for s in kept]
        sources = [s.source for s in kept]
        groups = [s.group for s in kept]
        block: dict[str, Any] = {"n_faces": len(kept), "skipped": notes, "models": {}}
        scores: dict[str, np.ndarray] = {}
        for d in dets:
            logits, pf, det_scores = _score(d, crops)
            thr = results["models"][d.name]["threshold"]
            summary = summarise_scores(pf, y, kinds, sources, groups, threshold=thr, n_boot=n_boot)
            summary["roc"] = compact_roc(y, pf)  # the curve a model card keeps (Models page)
            if d.calibration is not None:
                if norm is None:
                    fit_logits[d.name] = {s.rel: z for s, z in zip(kept, logits, strict=True)}
                    fit_conditions[d.name] = _condition_logits(d, kept)
                summary["cross_fitted"] = _cross_fit(
                    d,
                    kept,
                    logits,
                    sources,
                    groups,
                    fit_logits.get(d.name, {}),
                    fit_conditions.get(d.name, {}),
                    judged=norm is not None,
                )
                a = [x.assessment or d.calibration.assess(x.p_fake) for x in det_scores]  # also when not ready
                summary["verdicts"] = {
                    str(v): int(sum(x.verdict == v for x in a))
                    for v in (Verdict.FAKE, Verdict.REAL, Verdict.INCONCLUSIVE)
                }
            block["models"][d.name] = summary
            scores[d.name] = pf
        if floor_model is not None:
            pf = floor_model.p_fake(crops)
            block["models"][floor_model.name] = summarise_scores(
                pf, y, kinds, sources, groups, threshold=0.5, n_boot=n_boot
            )
            scores[floor_model.name] = pf
        for d in dets:  # is each calibrated detector better than the others on each kind, beyond resampling noise?
            if d.calibration is not None and len(scores) > 1:
                block["models"][d.name]["auc_difference_per_kind"] = auc_differences_per_kind(
                    y, kinds, groups, scores, d.name, n_boot=n_boot // 2
                )
        block["seconds"] = time.perf_counter() - t0
        results["conditions"][cond] = block
        for i, s in enumerate(kept):
            results["rows"].append(
                {
                    "condition": cond,
                    "path": s.rel,
                    "label": s.label,
                    "kind": s.kind,
                    "source": s.source,
                    **{f"p_fake:{k}": float(v[i]) for k, v in scores.items()},
                }
            )
        results.setdefault("_curves", {})[cond] = (y, scores)
    return results


def _condition_logits(det, kept) -> dict[str, dict[str, np.ndarray]]:
    """Logits of the faces under each re-sampling the detector's threshold was fitted to hold under, by file."""
    from forensics.calibration import parse_condition_name

    out: dict[str, dict[str, np.ndarray]] = {}
    for name in det.calibration.error_rates.get("conditions") or {}:
        got, crops, _ = _crops(kept, parse_condition_name(name))
        out[name] = {s.rel: z for s, z in zip(got, _score(det, crops)[0], strict=True)}
    return out


def _cross_fit(
    det,
    kept,
    logits: np.ndarray,
    sources: list[str],
    groups: list[str],
    fit_by_rel: dict,
    conditions_by_rel: dict,
    *,
    judged: bool,
) -> dict[str, Any]:
    """``cross_fitted_rates`` with the detector's own recipe: fitted on the as-is logits (and its re-sampling
    conditions) of one half; counted on ``logits`` of the other half, which are this block's (as-is or
    normalised). Faces without as-is logits are left out."""
    from forensics.evaluation import cross_fitted_rates

    idx = [i for i, s in enumerate(kept) if s.rel in fit_by_rel]
    rels = [kept[i].rel for i in idx]
    labels = (
        np.array([0 if kept[i].label == "real" else 1 for i in idx])
        if len(det.classes) == 2
        else np.array([_class3(kept[i].kind) for i in idx])
    )
    nan = np.full(logits.shape[1], np.nan)
    conds = {name: np.stack([by.get(r, nan) for r in rels]) for name, by in conditions_by_rel.items()}
    return cross_fitted_rates(
        np.stack([fit_by_rel[r] for r in rels]),
        labels,
        [sources[i] for i in idx],
        [groups[i] for i in idx],
        fake_indices=det.config.fake_indices,
        target_error=det.calibration.target_error,
        conditions=conds,
        judged=logits[idx] if judged else None,
    )


def _class3(kind: str) -> int:
    from forensics.training.data import THREE_CLASS

    return ("real", "face-manipulated", "generated").index(THREE_CLASS[kind])
