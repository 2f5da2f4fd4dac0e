"""Novelty of a face for one detector: how far its penultimate features lie from the detector's training faces.

The model is the class-conditional Gaussian of Lee et al. (NeurIPS 2018, "A simple unified framework for detecting
out-of-distribution samples"): one mean per class and one covariance shared by the classes, shrunk towards a scaled
identity (Ledoit-Wolf) because a 1280-d MobileNetV2 feature has fewer training faces than a stable covariance needs.
A face's novelty is its smallest Mahalanobis distance to a class mean, divided by sqrt(D) so that it reads the same
for any feature width (about 1 for a typical training face). Scoring is one matrix product per face.

The threshold is set from held-out training faces: the model is fitted on one half of the faces and scores the other
half, both ways round (2-fold cross-fitting, so the reference is not the fit's own, too-close, faces), and the
threshold is a quantile of those scores (default 0.99). The lead may replace it with one chosen on leave-source-out
runs: :func:`threshold_tradeoff` reports what a threshold does (false accusations turned inconclusive against
correct verdicts lost). The model is stored as ``.npz`` (read without pickle) next to the weights; its SHA-256,
threshold and how it was fitted sit in the manifest entry's ``novelty`` field and are checked before loading.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> feats = rng.normal(size=(400, 8)); labels = np.repeat([0, 1], 200)
    >>> m = fit_novelty(feats, labels, classes=("real", "fake"))
    >>> bool(m.score(rng.normal(size=(1, 8)) + 8.0)[0] > m.threshold)
    True
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forensics.errors import ForensicsError
from forensics.verdicts import Verdict

SCHEMA = "forensics.novelty/1"
DEFAULT_QUANTILE = 0.99
INCONCLUSIVE = Verdict.INCONCLUSIVE
UNLIKE = "unlike the faces this detector was trained on"
_REFERENCE_POINTS = 201  # quantiles of the held-out scores kept for percentiles


@dataclass(frozen=True, eq=False)
class NoveltyModel:
    """Class means (C, D), the shared shrunk precision (D, D), held-out reference scores and the threshold."""

    means: np.ndarray = field(repr=False)
    precision: np.ndarray = field(repr=False)
    reference: np.ndarray = field(repr=False)  # sorted quantiles of cross-fitted training-face scores
    threshold: float
    classes: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)  # how it was fitted (counts, shrinkage, quantile, source)

    def score(self, features: np.ndarray) -> np.ndarray:
        """Novelty of each row of ``features`` (N, D): min over classes of Mahalanobis distance / sqrt(D)."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.means.shape[1]:
            raise ForensicsError(
                f"novelty model expects (N, {self.means.shape[1]}) features, got {x.shape}: it was "
                "fitted for another detector"
            )
        d2 = np.stack([(((x - m) @ self.precision) * (x - m)).sum(axis=1) for m in self.means], axis=1)
        return np.sqrt(np.maximum(d2.min(axis=1), 0.0) / x.shape[1])

    def percentile(self, score: float) -> float:
        """Share of held-out training faces with a lower novelty than ``score``."""
        ref = np.asarray(self.reference, dtype=np.float64)
        return float(np.interp(score, ref, np.linspace(0.0, 1.0, len(ref)), left=0.0, right=1.0))

    def with_threshold(self, threshold: float) -> NoveltyModel:
        return NoveltyModel(self.means, self.precision, self.reference, float(threshold), self.classes, self.info)

    def save(self, path: str | Path) -> Path:
        """Write the model as ``.npz`` (arrays plus a JSON header; no pickled objects)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        header = json.dumps(
            {"schema": SCHEMA, "threshold": self.threshold, "classes": list(self.classes), "info": self.info},
            sort_keys=True,
        )
        with open(p, "wb") as fh:
            np.savez(
                fh,
                means=self.means.astype(np.float32),
                precision=self.precision.astype(np.float32),
                reference=self.reference.astype(np.float64),
                header=np.frombuffer(header.encode(), np.uint8),
            )
        return p

    @classmethod
    def load(cls, path: str | Path) -> NoveltyModel:
        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(bytes(z["header"]).decode())
                arrays = {k: np.asarray(z[k], dtype=np.float64) for k in ("means", "precision", "reference")}
        except (OSError, ValueError, KeyError) as exc:
            raise ForensicsError(
                f"cannot read novelty model {path}: {exc}; re-fit it with `python -m forensics fit-novelty`"
            ) from exc
        if header.get("schema") != SCHEMA:
            raise ForensicsError(f"novelty model {path} has schema {header.get('schema')!r}, expected {SCHEMA}")
        return cls(
            arrays["means"],
            arrays["precision"],
            arrays["reference"],
            float(header["threshold"]),
            tuple(header["classes"]),
            dict(header.get("info") or {}),
        )


@dataclass(frozen=True)
class Novelty:
    """One face's novelty for one detector, against the threshold in force."""

    score: float
    threshold: float
    percentile: float  # share of held-out training faces less novel than this one

    @property
    def beyond(self) -> bool:
        return self.score > self.threshold

    def summary(self) -> str:
        where = "beyond" if self.beyond else "within"
        return (
            f"novelty {self.score:.2f} ({where} the threshold {self.threshold:.2f}; farther from this detector's "
            f"training faces than {self.percentile:.1%} of held-out training faces)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "measured": True,
            "score": self.score,
            "threshold": self.threshold,
            "percentile": self.percentile,
            "beyond": self.beyond,
            "summary": self.summary(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Novelty | None:
        """The Novelty of ``to_dict()``; None for ``NOT_MEASURED``."""
        if not d.get("measured"):
            return None
        return cls(float(d["score"]), float(d["threshold"]), float(d["percentile"]))


NOT_MEASURED = {"measured": False, "summary": "novelty not measured: this detector has no novelty model"}


def _ledoit_wolf(centred: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.covariance import ledoit_wolf

    cov, shrinkage = ledoit_wolf(centred, assume_centered=True)
    return cov, float(shrinkage)


def _fit_arrays(features: np.ndarray, labels: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray, float]:
    means = np.stack([features[labels == c].mean(axis=0) for c in range(n_classes)])
    centred = features - means[labels]
    cov, shrinkage = _ledoit_wolf(centred)
    return means, np.linalg.pinv(cov, hermitian=True), shrinkage


def fit_novelty(
    features: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    classes: Sequence[str],
    quantile: float = DEFAULT_QUANTILE,
    seed: int = 0,
    fitted_on: str = "",
) -> NoveltyModel:
    """Fit on penultimate ``features`` (N, D) of training faces with integer class ``labels``; the threshold is
    the ``quantile`` of 2-fold cross-fitted scores (each half scored by the model of the other)."""
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=int)
    c = len(classes)
    counts = np.bincount(y, minlength=c)
    if x.ndim != 2 or len(x) != len(y) or (counts < 4).any() or len(counts) != c:
        raise ForensicsError(
            f"a novelty model needs (N, D) features and at least 4 faces of every class; got "
            f"{x.shape} and counts {counts.tolist()} for classes {list(classes)}"
        )
    if not 0.5 <= quantile < 1.0:
        raise ForensicsError(f"threshold quantile must be in [0.5, 1), got {quantile}")
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=int)
    for k in range(c):  # stratified halves
        idx = rng.permutation(np.flatnonzero(y == k))
        fold[idx] = np.arange(len(idx)) % 2
    held = np.empty(len(y))
    for f in (0, 1):
        means, prec, _ = _fit_arrays(x[fold != f], y[fold != f], c)
        part = NoveltyModel(means, prec, np.array([0.0, 1.0]), 0.0, tuple(classes))
        held[fold == f] = part.score(x[fold == f])
    means, prec, shrinkage = _fit_arrays(x, y, c)
    reference = np.quantile(held, np.linspace(0.0, 1.0, _REFERENCE_POINTS))
    info = {
        "method": "class means + shared Ledoit-Wolf covariance; min Mahalanobis distance / sqrt(D)",
        "n_faces": int(len(y)),
        "per_class": {str(k): int(n) for k, n in zip(classes, counts, strict=True)},
        "dim": int(x.shape[1]),
        "shrinkage": shrinkage,
        "threshold_quantile": float(quantile),
        "threshold_from": "2-fold cross-fitted scores of the training faces",
        "fitted_on": fitted_on,
    }
    return NoveltyModel(means, prec, reference, float(np.quantile(held, quantile)), tuple(classes), info)


def novelty_of(model: NoveltyModel, features: np.ndarray) -> list[Novelty]:
    """:class:`Novelty` of each row of ``features``."""
    return [Novelty(float(s), model.threshold, model.percentile(float(s))) for s in model.score(features)]


def manifest_record(model: NoveltyModel, file: str, sha256: str) -> dict[str, Any]:
    """The manifest entry's ``novelty`` field for a saved model file."""
    return {"file": file, "sha256": sha256, "threshold": model.threshold, "fitted": dict(model.info)}


@dataclass(frozen=True)
class TradeoffRow:
    """What one threshold does on one labelled set of faces (scores, labels, verdicts without novelty)."""

    name: str
    threshold: float
    faces: int
    beyond: int  # faces whose novelty is beyond the threshold
    false_accusations: int  # camera originals called "manipulated or generated"
    false_accusations_inconclusive: int  # ... of which the threshold turns inconclusive
    correct_verdicts: int
    correct_verdicts_lost: int  # correct verdicts the threshold turns inconclusive
    wrong_verdicts: int  # every wrong verdict (false accusations and missed fakes)
    wrong_verdicts_inconclusive: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def threshold_tradeoff(
    threshold: float, sets: Mapping[str, tuple[Sequence[float], Sequence[int], Sequence[str]]]
) -> list[TradeoffRow]:
    """For each named set of faces ``(novelty scores, labels (0 = camera original), verdicts without the novelty
    gate)``: how many false accusations and other wrong verdicts the ``threshold`` turns inconclusive, and how many
    correct verdicts it costs. Inconclusive verdicts stay inconclusive either way.

    >>> calls = ["manipulated or generated", "camera original", "camera original"]
    >>> rows = threshold_tradeoff(2.0, {"left out": ([3.0, 1.0, 2.5], [0, 0, 1], calls)})
    >>> rows[0].false_accusations_inconclusive, rows[0].correct_verdicts_lost, rows[0].wrong_verdicts_inconclusive
    (1, 0, 2)
    """
    out = []
    for name, (scores, labels, verdicts) in sets.items():
        s = np.asarray(scores, dtype=np.float64)
        y = np.asarray(labels, dtype=int) != 0
        v = np.asarray(verdicts, dtype=object)
        if not len(s) == len(y) == len(v):
            raise ForensicsError(f"set {name!r}: scores, labels and verdicts differ in length")
        beyond = s > threshold
        fake_call, real_call = v == Verdict.FAKE, v == Verdict.REAL
        false_acc = ~y & fake_call
        correct = (y & fake_call) | (~y & real_call)
        wrong = (~y & fake_call) | (y & real_call)
        out.append(
            TradeoffRow(
                name=name,
                threshold=float(threshold),
                faces=int(len(s)),
                beyond=int(beyond.sum()),
                false_accusations=int(false_acc.sum()),
                false_accusations_inconclusive=int((false_acc & beyond).sum()),
                correct_verdicts=int(correct.sum()),
                correct_verdicts_lost=int((correct & beyond).sum()),
                wrong_verdicts=int(wrong.sum()),
                wrong_verdicts_inconclusive=int((wrong & beyond).sum()),
            )
        )
    return out
