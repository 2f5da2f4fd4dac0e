"""The main flow, evidence -> faces -> detector -> explainer -> regions, one module per step:

- ``forensics.pipeline.detectors``: which detectors run (``resolve_detectors``, ``get_detector``);
- ``forensics.pipeline.scoring``: logits -> probabilities -> p_fake -> assessment (``score_crops``, ``score_logits``);
- ``forensics.pipeline.explaining``: maps, regions and region relevance of one face (``explain_face``);
- ``forensics.pipeline.results``: the typed results (``Analysis``, ``FaceAnalysis``, ``DetectorScore``).

Here: one call from evidence to per-face scores, ``analyze(evidence, ...) -> Analysis``.

The Analysis is frozen and JSON-serialisable (``to_dict()``); the aligned face crops travel beside it (not in the JSON)
for explanation and display. Every score names the model file hash it came from.

Example:
    >>> from forensics.evidence import load_evidence
    >>> from forensics.pipeline import analyze
    >>> a = analyze(load_evidence("photo.jpg"), detectors=["meso4-df"])      # doctest: +SKIP
    >>> a.to_dict()["faces"][0]["scores"]["meso4-df"]["p_fake"]               # doctest: +SKIP
"""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import forensics
from forensics.calibration.stability import variant_crops
from forensics.faces.coverage import coverage
from forensics.faces.whole_face import check_face
from forensics.pipeline.detectors import get_detector, resolve_detectors
from forensics.pipeline.explaining import FaceExplanation, explain_face
from forensics.pipeline.results import (
    NO_VERDICT,
    SCHEMA,
    Analysis,
    AnalyzeOptions,
    DetectorScore,
    FaceAnalysis,
    Withheld,
)
from forensics.pipeline.scoring import (
    batched_logits_and_features,
    crop_logits,
    logits_and_features,
    p_fake_of,
    score_crops,
    score_logits,
    withhold,
)

__all__ = [
    "NO_VERDICT",
    "SCHEMA",
    "Analysis",
    "AnalyzeOptions",
    "DetectorScore",
    "FaceAnalysis",
    "FaceExplanation",
    "Withheld",
    "analyze",
    "batched_logits_and_features",
    "crop_logits",
    "environment",
    "explain_face",
    "get_detector",
    "logits_and_features",
    "p_fake_of",
    "resolve_detectors",
    "score_crops",
    "score_logits",
    "withhold",
]


def environment() -> dict[str, str]:
    """Versions that can change a number: recorded with every analysis."""
    import PIL
    import torch

    env = {
        "python": platform.python_version(),
        "forensics": forensics.__version__,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "platform": platform.platform(),
    }
    env["pillow"] = PIL.__version__
    return env


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
    from forensics.faces import FaceOptions, detect_faces
    from forensics.faces.crop import DEFAULT_CROP_SIZE, DEFAULT_MARGIN

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if not isinstance(evidence, Evidence):
        evidence = load_evidence(evidence)
    timings["decode"] = (time.perf_counter() - t0) * 1000

    opts = options or AnalyzeOptions()
    dets = resolve_detectors(
        detectors if detectors is not None else opts.detectors,
        allow_untrained=opts.allow_untrained,
        weights_dirs=weights_dirs,
    )
    opts = AnalyzeOptions(**{**opts.to_dict(), "detectors": tuple(d.name for d in dets)})

    t0 = time.perf_counter()
    face_set = detect_faces(
        evidence.image,
        FaceOptions(
            method=opts.face_method,
            min_size=opts.min_face_size,
            margin=DEFAULT_MARGIN if opts.margin is None else opts.margin,
            crop_size=DEFAULT_CROP_SIZE if opts.crop_size is None else opts.crop_size,
            max_faces=opts.max_faces,
        ),
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
        variants = [
            variant_crops(
                evidence.image,
                f.box,
                f.landmarks,
                margin=0.0 if f.method == "whole" else face_set.params["margin"],  # as detect_faces
                crop_size=face_set.params["crop_size"],
                pad=face_set.params["pad"],
            )
            for f in face_set.faces
        ]
        timings["stability_crops"] = (time.perf_counter() - t0) * 1000
    per_detector: dict[str, list[DetectorScore]] = {}
    for det in dets:
        t0 = time.perf_counter()
        per_detector[det.name] = score_crops(det, crops, variants)
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


def _model_record(det) -> dict[str, Any]:
    info = det.info()
    if det.calibration is not None and hasattr(det.calibration, "to_dict"):
        info["calibration"] = det.calibration.to_dict()
    return info
