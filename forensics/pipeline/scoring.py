"""Scoring, the one place where logits become probabilities, p_fake and a calibrated assessment.

``score_crops`` runs the detector on face crops (with stability and novelty when asked or available);
``score_logits`` does the rest from logits a caller already has (a scan's one forward pass per batch);
``withhold`` removes a verdict a face's whole-face checks or novelty do not support.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from forensics.calibration.novelty import INCONCLUSIVE, UNLIKE, Novelty, novelty_of
from forensics.calibration.stability import Stability, stability
from forensics.errors import ForensicsError
from forensics.faces.whole_face import FaceChecks
from forensics.pipeline.results import NO_VERDICT, DetectorScore, Withheld

_BATCH = 16  # crops per forward pass: bounds memory for many faces x conditions


def crop_logits(detector, crops: Sequence[np.ndarray], *, batch: int = _BATCH) -> np.ndarray:
    """Raw logits (float64, one row per crop), ``batch`` crops per forward pass."""
    parts = [
        detector.predict(detector.preprocess(crops[i : i + batch])).double().cpu().numpy()
        for i in range(0, len(crops), batch)
    ]
    return np.concatenate(parts)


def logits_and_features(
    detector, crops: Sequence[np.ndarray], *, batch: int = _BATCH
) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits and penultimate features from the same forward passes; features None when the detector exposes
    none."""
    logits, feats = [], []
    for i in range(0, len(crops), batch):
        z, f = detector.logits_and_features(detector.preprocess(crops[i : i + batch]))
        logits.append(z.double().cpu().numpy())
        feats.append(f)
    return np.concatenate(logits), None if any(f is None for f in feats) else np.concatenate(feats)


def batched_logits_and_features(detector, crops: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``logits_and_features`` for a detector that must expose features (it has a novelty model)."""
    logits, feats = logits_and_features(detector, crops)
    if feats is None:
        raise ForensicsError(f"{detector.name} has a novelty model but exposes no penultimate features")
    return logits, feats


def p_fake_of(detector, logits: np.ndarray) -> np.ndarray:
    """Calibrated probability of "manipulated or generated" per row of ``logits``."""
    return detector.p_fake(detector.logits_to_proba(logits, calibrated=True))


def score_logits(
    detector,
    logits: np.ndarray,
    *,
    stabilities: Sequence[Stability | None] = (),
    novelties: Sequence[Novelty | None] = (),
) -> list[DetectorScore]:
    """Logits -> calibrated probabilities -> p_fake -> assessment (only for a ready, calibrated detector), one
    ``DetectorScore`` per row. ``stabilities`` / ``novelties``, when given, are per row."""
    proba = detector.logits_to_proba(logits, calibrated=True)
    p_fake = detector.p_fake(proba)
    judged = detector.ready and detector.calibration is not None
    return [
        DetectorScore(
            detector=detector.name,
            p_fake=float(p_fake[i]),
            probabilities={c: float(p) for c, p in zip(detector.classes, proba[i], strict=True)},
            logits=[float(v) for v in logits[i]],
            ready=bool(detector.ready),
            calibrated=detector.calibration is not None,
            assessment=detector.calibration.assess(float(p_fake[i])) if judged else None,
            stability=stabilities[i] if stabilities else None,
            novelty=novelties[i] if novelties else None,
        )
        for i in range(len(logits))
    ]


def score_crops(
    detector, crops: Sequence[np.ndarray], variants: Sequence[Sequence[tuple[str, np.ndarray]]] = ()
) -> list[DetectorScore]:
    """Scores of ``crops``; with ``variants`` (per crop, its re-compressed / re-scaled crops) their stability;
    their novelty when the detector has a novelty model."""
    if not crops:
        return []
    novelties: list[Novelty | None] = []
    if getattr(detector, "novelty", None) is not None:
        logits, feats = batched_logits_and_features(detector, crops)
        novelties = list(novelty_of(detector.novelty, feats))
    else:
        logits = crop_logits(detector, crops)
    stabilities: list[Stability | None] = []
    if variants:
        p_fake = p_fake_of(detector, logits)
        p_var = p_fake_of(detector, crop_logits(detector, [c for v in variants for _, c in v]))
        cal = detector.calibration if detector.ready else None
        k = 0
        for i, v in enumerate(variants):
            stabilities.append(
                stability(
                    float(p_fake[i]),
                    [(name, float(p)) for (name, _), p in zip(v, p_var[k : k + len(v)], strict=True)],
                    cal,
                )
            )
            k += len(v)
    return score_logits(detector, logits, stabilities=stabilities, novelties=novelties)


def withhold(score: DetectorScore, checks: FaceChecks) -> DetectorScore:
    """The score without its verdict when the face failed a whole-face check ("no verdict") or lies beyond the
    detector's novelty threshold ("inconclusive"); a face failing both gets "no verdict" with both reasons. Only
    ever removes a verdict: a score without one stays without one."""
    if score.assessment is None:
        return score
    reasons = list(checks.failures)
    if score.novelty is not None and score.novelty.beyond:
        reasons.append(f"{UNLIKE}: {score.novelty.summary()}")
    if not reasons:
        return score
    return replace(
        score, assessment=None, withheld=Withheld(NO_VERDICT if checks.failures else INCONCLUSIVE, tuple(reasons))
    )
