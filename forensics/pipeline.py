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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import forensics
from forensics.errors import ForensicsError

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

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["detectors"] = list(self.detectors)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnalyzeOptions:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        known["detectors"] = tuple(known.get("detectors", ()))
        return cls(**known)


@dataclass(frozen=True)
class DetectorScore:
    detector: str
    p_fake: float
    probabilities: dict[str, float]
    logits: list[float]
    ready: bool
    calibrated: bool
    assessment: dict[str, Any] | None  # None when the detector is not calibrated or not ready: no verdict


@dataclass(frozen=True)
class FaceAnalysis:
    index: int
    box: list[float]
    confidence: float
    landmarks: list[list[float]] | None
    scores: dict[str, DetectorScore]


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "library_version": forensics.__version__,
            "evidence": self.evidence,
            "options": self.options.to_dict(),
            "face_method": self.face_method,
            "faces": [
                {
                    "index": f.index,
                    "box": f.box,
                    "confidence": f.confidence,
                    "landmarks": f.landmarks,
                    "scores": {k: asdict(s) for k, s in f.scores.items()},
                }
                for f in self.faces
            ],
            "skipped_faces": list(self.skipped_faces),
            "no_face_reason": self.no_face_reason,
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


def _score(detector, crops: Sequence[np.ndarray]) -> list[DetectorScore]:
    logits = detector.predict(detector.preprocess(crops)).double().cpu().numpy()
    proba = detector.logits_to_proba(logits, calibrated=True)
    p_fake = detector.p_fake(proba)
    out = []
    for i in range(len(crops)):
        assessment = None
        if detector.ready and detector.calibration is not None:
            a = detector.calibration.assess(float(p_fake[i]))
            assessment = a.to_dict() if hasattr(a, "to_dict") else asdict(a)
        out.append(DetectorScore(
            detector=detector.name,
            p_fake=float(p_fake[i]),
            probabilities={c: float(p) for c, p in zip(detector.classes, proba[i], strict=True)},
            logits=[float(v) for v in logits[i]],
            ready=bool(detector.ready),
            calibrated=detector.calibration is not None,
            assessment=assessment,
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

    crops = [f.crop for f in face_set.faces]
    per_detector: dict[str, list[DetectorScore]] = {}
    for det in dets:
        t0 = time.perf_counter()
        per_detector[det.name] = _score(det, crops) if crops else []
        timings[f"detector:{det.name}"] = (time.perf_counter() - t0) * 1000

    faces = tuple(
        FaceAnalysis(
            index=f.index,
            box=[float(v) for v in f.box],
            confidence=float(f.confidence),
            landmarks=None if f.landmarks is None else np.asarray(f.landmarks, dtype=float).round(2).tolist(),
            scores={name: scores[i] for name, scores in per_detector.items()},
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
    )


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
