"""One call from evidence to per-face scores: ``analyze(evidence, ...) -> Analysis``.

The Analysis is frozen and JSON-serialisable (``to_dict()``); the aligned face crops travel beside it (not in the JSON)
for explanation and display. Every score names the model file hash it came from.

Example:
    >>> from forensics.evidence import load_evidence
    >>> from forensics.pipeline import analyze
    >>> a = analyze(load_evidence("photo.jpg"), detectors=["meso4-df"])      # doctest: +SKIP
    >>> a.to_dict()["faces"][0]["scores"]["meso4-df"]["p_fake"]               # doctest: +SKIP
"""

from __future__ import annotations

import functools
import platform
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

import forensics
from forensics.calibration import Assessment
from forensics.coverage import Coverage, coverage
from forensics.errors import ForensicsError
from forensics.face_checks import FaceChecks, check_face
from forensics.novelty import INCONCLUSIVE, NOT_MEASURED, UNLIKE, Novelty, novelty_of
from forensics.stability import Stability, stability, variant_crops

SCHEMA = "forensics.analysis/1"


@dataclass(frozen=True)
class AnalyzeOptions:
    """Everything that changes the numbers. Recorded in the Analysis so a re-run can reproduce them."""

    detectors: tuple[str, ...] = ()
    face_method: str = "auto"
    min_face_size: int = 40
    margin: float | None = None
    crop_size: int | None = None
    max_faces: int = 20
    allow_untrained: bool = False
    stability: bool = True  # re-score every face after re-compression and re-scaling (forensics.stability)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["detectors"] = list(self.detectors)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnalyzeOptions:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        known["detectors"] = tuple(known.get("detectors", ()))
        return cls(**known)


NO_VERDICT = "no verdict"


@dataclass(frozen=True)
class Withheld:
    """Why a ready, calibrated detector's verdict is not given for a face: ``verdict`` is what is said instead
    ("no verdict" for a face that is not whole, "inconclusive" outside the detector's experience)."""

    verdict: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class DetectorScore:
    detector: str
    p_fake: float
    probabilities: dict[str, float]
    logits: list[float]
    ready: bool
    calibrated: bool
    assessment: Assessment | None  # None: no verdict (not ready, not calibrated, or withheld)
    withheld: Withheld | None = None  # set when a ready, calibrated detector's verdict is withheld
    stability: Stability | None = None  # None when not measured (AnalyzeOptions.stability off)
    novelty: Novelty | None = None  # None: novelty not measured (the detector has no novelty model)

    @property
    def verdict(self) -> str:
        """What is said about the face: the calibrated verdict, or what replaces it."""
        if self.assessment is not None:
            return self.assessment.verdict
        return self.withheld.verdict if self.withheld is not None else NO_VERDICT

    def to_dict(self) -> dict[str, Any]:
        return {"detector": self.detector, "p_fake": self.p_fake, "probabilities": dict(self.probabilities),
                "logits": list(self.logits), "ready": self.ready, "calibrated": self.calibrated,
                "verdict": self.verdict,
                "assessment": None if self.assessment is None else self.assessment.to_dict(),
                "withheld": None if self.withheld is None else self.withheld.to_dict(),
                "stability": None if self.stability is None else self.stability.to_dict(),
                "novelty": dict(NOT_MEASURED) if self.novelty is None else self.novelty.to_dict()}


@dataclass(frozen=True)
class FaceAnalysis:
    index: int
    box: list[float]
    confidence: float
    landmarks: list[list[float]] | None
    scores: dict[str, DetectorScore]
    checks: FaceChecks | None = None  # whole-face checks (None only for analyses built by hand)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "box": self.box, "confidence": self.confidence, "landmarks": self.landmarks,
                "checks": None if self.checks is None else self.checks.to_dict(),
                "scores": {k: s.to_dict() for k, s in self.scores.items()}}


@dataclass(frozen=True, eq=False)
class Analysis:
    evidence: dict[str, Any]
    options: AnalyzeOptions
    faces: tuple[FaceAnalysis, ...]
    skipped_faces: tuple[dict[str, Any], ...]
    no_face_reason: str | None
    face_method: str
    models: dict[str, dict[str, Any]]
    timings_ms: dict[str, float]
    device: str
    environment: dict[str, str]
    crops: tuple[np.ndarray, ...] = field(default=(), repr=False)  # aligned crops, same order as faces
    coverage: Coverage | None = None  # what was not looked at (None only for analyses built by hand)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "library_version": forensics.__version__,
            "evidence": self.evidence,
            "options": self.options.to_dict(),
            "face_method": self.face_method,
            "faces": [f.to_dict() for f in self.faces],
            "skipped_faces": list(self.skipped_faces),
            "no_face_reason": self.no_face_reason,
            "coverage": None if self.coverage is None else self.coverage.to_dict(),
            "models": self.models,
            "timings_ms": self.timings_ms,
            "device": self.device,
            "environment": self.environment,
        }


_detector_lock = threading.Lock()


@functools.lru_cache(maxsize=16)
def _cached_detector(name: str, weights_dirs: tuple[str, ...]):
    from forensics.detectors import create_detector

    return create_detector(name, weights_dirs=list(weights_dirs) or None)


def get_detector(name: str, weights_dirs: Sequence[str | Path] | None = None):
    """A process-wide shared detector (one model per name; explaining takes ``detector.lock``)."""
    with _detector_lock:
        return _cached_detector(name, tuple(str(p) for p in (weights_dirs or ())))


def environment() -> dict[str, str]:
    """Versions that can change a number: recorded with every analysis."""
    import PIL
    import torch

    env = {"python": platform.python_version(), "forensics": forensics.__version__, "numpy": np.__version__,
           "torch": torch.__version__, "platform": platform.platform()}
    env["pillow"] = PIL.__version__
    return env


_BATCH = 16  # crops per forward pass: bounds memory for many faces x conditions


def _logits(detector, crops: Sequence[np.ndarray]) -> np.ndarray:
    parts = [detector.predict(detector.preprocess(crops[i:i + _BATCH])).double().cpu().numpy()
             for i in range(0, len(crops), _BATCH)]
    return np.concatenate(parts)


def batched_logits_and_features(detector, crops: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    logits, feats = [], []
    for i in range(0, len(crops), _BATCH):
        z, f = detector.logits_and_features(detector.preprocess(crops[i:i + _BATCH]))
        if f is None:
            raise ForensicsError(f"{detector.name} has a novelty model but exposes no penultimate features")
        logits.append(z.double().cpu().numpy())
        feats.append(f)
    return np.concatenate(logits), np.concatenate(feats)


def _score(detector, crops: Sequence[np.ndarray], variants: Sequence[Sequence[tuple[str, np.ndarray]]] = ()
           ) -> list[DetectorScore]:
    """Scores of ``crops``; with ``variants`` (per crop, its re-compressed / re-scaled crops) their stability;
    their novelty when the detector has a novelty model."""
    novelty: list[Novelty | None] = [None] * len(crops)
    if getattr(detector, "novelty", None) is not None:
        logits, feats = batched_logits_and_features(detector, crops)
        novelty = list(novelty_of(detector.novelty, feats))
    else:
        logits = _logits(detector, crops)
    proba = detector.logits_to_proba(logits, calibrated=True)
    p_fake = detector.p_fake(proba)
    stab: list[Stability | None] = [None] * len(crops)
    if variants:
        flat = [c for v in variants for _, c in v]
        p_var = detector.p_fake(detector.logits_to_proba(_logits(detector, flat), calibrated=True))
        cal = detector.calibration if detector.ready else None
        k = 0
        for i, v in enumerate(variants):
            stab[i] = stability(float(p_fake[i]), [(name, float(p)) for (name, _), p in zip(v, p_var[k:k + len(v)],
                                                                                            strict=True)], cal)
            k += len(v)
    out = []
    for i in range(len(crops)):
        assessment = None
        if detector.ready and detector.calibration is not None:
            assessment = detector.calibration.assess(float(p_fake[i]))
        out.append(DetectorScore(
            detector=detector.name,
            p_fake=float(p_fake[i]),
            probabilities={c: float(p) for c, p in zip(detector.classes, proba[i], strict=True)},
            logits=[float(v) for v in logits[i]],
            ready=bool(detector.ready),
            calibrated=detector.calibration is not None,
            assessment=assessment,
            stability=stab[i],
            novelty=novelty[i],
        ))
    return out


def analyze(
    evidence,
    *,
    detectors: Sequence[Any] | None = None,
    options: AnalyzeOptions | None = None,
    weights_dirs: Sequence[str | Path] | None = None,
) -> Analysis:
    """Find every face in ``evidence`` and score it with each detector.

    ``evidence`` is an Evidence, a path or bytes. ``detectors`` are names or Detector objects (default:
    ``default_detector_names()``). Detectors without trained weights are refused unless ``allow_untrained``.
    "No face found" is a result (``no_face_reason``), not an exception.
    """
    from forensics.evidence import Evidence, load_evidence
    from forensics.faces import DEFAULT_CROP_SIZE, DEFAULT_MARGIN, detect_faces

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if not isinstance(evidence, Evidence):
        evidence = load_evidence(evidence)
    timings["decode"] = (time.perf_counter() - t0) * 1000

    opts = options or AnalyzeOptions()
    dets = _resolve_detectors(detectors if detectors is not None else opts.detectors, opts, weights_dirs)
    opts = AnalyzeOptions(**{**opts.to_dict(), "detectors": tuple(d.name for d in dets)})

    t0 = time.perf_counter()
    face_set = detect_faces(
        evidence.image,
        method=opts.face_method,
        min_size=opts.min_face_size,
        margin=DEFAULT_MARGIN if opts.margin is None else opts.margin,
        crop_size=DEFAULT_CROP_SIZE if opts.crop_size is None else opts.crop_size,
        max_faces=opts.max_faces,
    )
    timings["faces"] = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    checks = [check_face(f, face_set.image_size, min_size=opts.min_face_size) for f in face_set.faces]
    cov = coverage(face_set, checks, evidence.image)
    timings["face_checks"] = (time.perf_counter() - t0) * 1000

    crops = [f.crop for f in face_set.faces]
    variants: list[list[tuple[str, np.ndarray]]] = []
    if opts.stability and crops:
        t0 = time.perf_counter()
        variants = [variant_crops(evidence.image, f.box, f.landmarks,
                                  margin=0.0 if f.method == "whole" else face_set.params["margin"],  # as detect_faces
                                  crop_size=face_set.params["crop_size"], pad=face_set.params["pad"])
                    for f in face_set.faces]
        timings["stability_crops"] = (time.perf_counter() - t0) * 1000
    per_detector: dict[str, list[DetectorScore]] = {}
    for det in dets:
        t0 = time.perf_counter()
        per_detector[det.name] = _score(det, crops, variants) if crops else []
        timings[f"detector:{det.name}"] = (time.perf_counter() - t0) * 1000

    faces = tuple(
        FaceAnalysis(
            index=f.index,
            box=[float(v) for v in f.box],
            confidence=float(f.confidence),
            landmarks=None if f.landmarks is None else np.asarray(f.landmarks, dtype=float).round(2).tolist(),
            scores={name: withhold(scores[i], checks[i]) for name, scores in per_detector.items()},
            checks=checks[i],
        )
        for i, f in enumerate(face_set.faces)
    )
    fs = face_set.to_dict()
    return Analysis(
        evidence=evidence.to_dict(),
        options=opts,
        faces=faces,
        skipped_faces=tuple(fs.get("skipped", ())),
        no_face_reason=face_set.reason,
        face_method=face_set.method,
        models={d.name: _model_record(d) for d in dets},
        timings_ms={k: round(v, 2) for k, v in timings.items()},
        device=str(dets[0].device) if dets else "cpu",
        environment=environment(),
        crops=tuple(crops),
        coverage=cov,
    )


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
    return replace(score, assessment=None, withheld=Withheld(NO_VERDICT if checks.failures else INCONCLUSIVE,
                                                             tuple(reasons)))


def _model_record(det) -> dict[str, Any]:
    info = det.info()
    if det.calibration is not None and hasattr(det.calibration, "to_dict"):
        info["calibration"] = det.calibration.to_dict()
    return info


def _resolve_detectors(detectors, opts: AnalyzeOptions, weights_dirs) -> list[Any]:
    from forensics.detectors import default_detector_names

    names_or_objs = list(detectors) if detectors else default_detector_names(weights_dirs=weights_dirs)
    if not names_or_objs:
        raise ForensicsError(
            "no ready detector: no trained weights were found in weights/ or ../shared/peers. "
            "Train one with `python -m forensics train --config configs/default.toml`, pass --weights-dir, or "
            "use --allow-untrained for an explanation-only run (no verdict)."
        )
    out = []
    for d in names_or_objs:
        det = get_detector(d, weights_dirs) if isinstance(d, str) else d
        if not det.ready and not opts.allow_untrained:
            raise ForensicsError(
                f"detector {det.name!r} has no trained weights, so it cannot give a verdict; choose a ready detector "
                "(`python -m forensics models`) or pass allow_untrained for an explanation-only run"
            )
        out.append(det)
    return out
