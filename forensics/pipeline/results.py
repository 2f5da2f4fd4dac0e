"""The typed results of an analysis: ``Analysis`` > ``FaceAnalysis`` > ``DetectorScore``, and the options that made
them (``AnalyzeOptions``). Frozen; ``to_dict()`` gives the JSON form (schema ``SCHEMA``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import forensics
from forensics.calibration import Assessment
from forensics.calibration.novelty import NOT_MEASURED, Novelty
from forensics.calibration.stability import Stability
from forensics.faces.coverage import Coverage
from forensics.faces.whole_face import FaceChecks
from forensics.verdicts import Verdict

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
    stability: bool = True  # re-score every face after re-compression and re-scaling (forensics.calibration.stability)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["detectors"] = list(self.detectors)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AnalyzeOptions:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        known["detectors"] = tuple(known.get("detectors", ()))
        return cls(**known)


NO_VERDICT = Verdict.NONE


@dataclass(frozen=True)
class Withheld:
    """Why a ready, calibrated detector's verdict is not given for a face: ``verdict`` is what is said instead
    ("no verdict" for a face that is not whole, "inconclusive" outside the detector's experience)."""

    verdict: Verdict
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": str(self.verdict), "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Withheld:
        return cls(Verdict(d["verdict"]), tuple(d["reasons"]))


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
    def verdict(self) -> Verdict:
        """What is said about the face: the calibrated verdict, or what replaces it."""
        if self.assessment is not None:
            return self.assessment.verdict
        return self.withheld.verdict if self.withheld is not None else NO_VERDICT

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "p_fake": self.p_fake,
            "probabilities": dict(self.probabilities),
            "logits": list(self.logits),
            "ready": self.ready,
            "calibrated": self.calibrated,
            "verdict": str(self.verdict),
            "assessment": None if self.assessment is None else self.assessment.to_dict(),
            "withheld": None if self.withheld is None else self.withheld.to_dict(),
            "stability": None if self.stability is None else self.stability.to_dict(),
            "novelty": dict(NOT_MEASURED) if self.novelty is None else self.novelty.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DetectorScore:
        """The DetectorScore of ``to_dict()`` (a saved analysis read back; ``verdict`` is derived)."""
        return cls(
            detector=d["detector"],
            p_fake=float("nan") if d.get("p_fake") is None else float(d["p_fake"]),  # JSON keeps NaN as null
            probabilities=dict(d.get("probabilities") or {}),
            logits=list(d.get("logits") or ()),
            ready=bool(d.get("ready")),
            calibrated=bool(d.get("calibrated")),
            assessment=None if not d.get("assessment") else Assessment.from_dict(d["assessment"]),
            withheld=None if not d.get("withheld") else Withheld.from_dict(d["withheld"]),
            stability=None if not d.get("stability") else Stability.from_dict(d["stability"]),
            novelty=Novelty.from_dict(d.get("novelty") or NOT_MEASURED),
        )


@dataclass(frozen=True)
class FaceAnalysis:
    index: int
    box: list[float]
    confidence: float
    landmarks: list[list[float]] | None
    scores: dict[str, DetectorScore]
    checks: FaceChecks | None = None  # whole-face checks (None only for analyses built by hand)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "box": self.box,
            "confidence": self.confidence,
            "landmarks": self.landmarks,
            "checks": None if self.checks is None else self.checks.to_dict(),
            "scores": {k: s.to_dict() for k, s in self.scores.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FaceAnalysis:
        return cls(
            index=int(d["index"]),
            box=list(d["box"]),
            confidence=float(d["confidence"]),
            landmarks=d.get("landmarks"),
            scores={k: DetectorScore.from_dict(s) for k, s in (d.get("scores") or {}).items()},
            checks=None if not d.get("checks") else FaceChecks.from_dict(d["checks"]),
        )


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

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Analysis:
        """The Analysis of ``to_dict()``: a saved analysis (a report bundle's) read back at the edge, without its
        crops (they are not in the JSON)."""
        return cls(
            evidence=dict(d.get("evidence") or {}),
            options=AnalyzeOptions.from_dict(d.get("options") or {}),
            faces=tuple(FaceAnalysis.from_dict(f) for f in d.get("faces") or ()),
            skipped_faces=tuple(d.get("skipped_faces") or ()),
            no_face_reason=d.get("no_face_reason"),
            face_method=str(d.get("face_method", "")),
            models=dict(d.get("models") or {}),
            timings_ms=dict(d.get("timings_ms") or {}),
            device=str(d.get("device", "")),
            environment=dict(d.get("environment") or {}),
            coverage=None if not d.get("coverage") else Coverage.from_dict(d["coverage"]),
        )
