"""Calibration of a detector's scores into statements an analyst can defend.

Three pieces, all fitted on a labelled validation set and stored in one frozen :class:`Calibration`:

1. **Bias-corrected temperature scaling** (Alexandari, Kundaje & Shrikumar, ICML 2020): the logits are divided by one
   scalar ``T`` and shifted by one bias per class (class 0 fixed at 0), all chosen to minimise the validation
   negative log-likelihood (scipy L-BFGS-B). Temperature alone changes confidence but cannot move the class prior:
   a detector trained on draws of 40% real faces and judged on a set of 69% real faces leans towards "fake" at every
   score, which only the biases correct. Calibrations written before the biases existed (schema /1) read as
   zero biases.
2. **An inconclusive band** ``[lo, hi)`` on the calibrated ``p_fake``: ``hi`` is the lowest threshold at which the
   false-positive rate of camera originals stays under ``target_error`` (on every real source with enough faces, when
   sources are given); ``lo`` the highest threshold at which the share of manipulated/generated faces called
   "camera original" stays under ``target_error``. Scores in between are reported as inconclusive. When logits of
   the same faces after re-sampling and re-compression are given (``conditions``), ``hi`` is fitted under each
   condition too and the highest kept, so that the false-positive target also holds for camera originals that were
   re-shared (a false accusation is the worst error); ``lo`` stays fitted on the files as they are, and the miss
   rate it has under each condition is reported beside it.
3. **A likelihood ratio** for the propositions Hp "the face is manipulated or generated" and Hd "the face is a
   camera original", from histograms of ``logit(p_fake)`` per class with add-one smoothing, made monotone
   (pool-adjacent-violators) and capped at what the validation counts can support: ``log10 LR <= log10(n_real)``
   and ``>= -log10(n_fake)``. The ENFSI verbal scale turns it into words.

The pieces live in ``temperature``, ``decision_band`` and ``likelihood_ratio`` of this package; this module holds the
fitted ``Calibration``, the ``Assessment`` it gives for one score and ``fit_calibration``.

The output is never phrased as "the probability that the image is fake": a likelihood ratio says how much more
probable the detector's score is under one proposition than under the other.

Example:
    >>> import numpy as np
    >>> from forensics.calibration import fit_calibration
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.zeros(300, int), np.ones(300, int)]
    >>> logits = np.c_[np.zeros(600), np.r_[rng.normal(-2, 1, 300), rng.normal(2, 1, 300)]]
    >>> cal = fit_calibration(logits, y, fake_indices=(1,))
    >>> cal.assess(0.99).verdict
    'manipulated or generated'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from forensics.calibration.decision_band import band_error_rates, choose_band
from forensics.calibration.likelihood_ratio import PROP_FAKE, PROP_REAL, LikelihoodRatioModel, verbal_scale
from forensics.calibration.temperature import fit_temperature, fit_temperature_and_bias, nll, softmax
from forensics.errors import ForensicsError
from forensics.verdicts import Verdict

SCHEMA = "forensics.calibration/2"
_READABLE = (SCHEMA, "forensics.calibration/1")  # /1: temperature only (no class biases)


@dataclass(frozen=True)
class Assessment:
    """What the calibration says about one face score. Never "the probability the image is fake"."""

    verdict: Verdict
    inconclusive: bool
    p_fake: float
    likelihood_ratio: float
    log10_lr: float
    verbal: str
    supports: str | None
    statement: str
    threshold: float
    band: tuple[float, float]
    false_positive_rate: float
    false_negative_rate: float

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = str(self.verdict)
        d["band"] = list(self.band)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Assessment:
        """The Assessment of ``to_dict()`` (a saved analysis read back)."""
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**{**known, "verdict": Verdict(d["verdict"]), "band": tuple(d["band"])})


@dataclass(frozen=True)
class Calibration:
    """Temperature, decision band, validation error rates and the likelihood-ratio model of one detector.

    ``threshold`` equals ``band[1]``: a face is called "manipulated or generated" only at or above it.
    ``error_rates`` records, with counts, what these choices did on the validation faces.
    """

    temperature: float
    band: tuple[float, float]
    target_error: float
    lr_model: LikelihoodRatioModel
    error_rates: dict[str, Any] = field(default_factory=dict)
    fitted_on: str = ""
    class_bias: tuple[float, ...] = ()  # added to logits / temperature; () = none (schema /1)

    def scale_logits(self, logits: np.ndarray) -> np.ndarray:
        """``logits / temperature + class_bias``: softmax of this is the calibrated class probability."""
        z = np.asarray(logits, dtype=np.float64) / float(self.temperature)
        if self.class_bias:
            if z.shape[-1] != len(self.class_bias):
                raise ForensicsError(
                    f"calibration has {len(self.class_bias)} class biases, the logits {z.shape[-1]} classes"
                )
            z = z + np.asarray(self.class_bias, dtype=np.float64)
        return z

    def proba(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities (N, C) of logits (N, C)."""
        return softmax(self.scale_logits(logits))

    @property
    def threshold(self) -> float:
        return self.band[1]

    @property
    def inconclusive_band(self) -> tuple[float, float]:
        return self.band

    def likelihood_ratio(self, p_fake: float) -> tuple[float, float]:
        """(LR, log10 LR) for a calibrated p_fake."""
        v = float(self.lr_model(float(p_fake)))
        return 10.0**v, v

    def assess(self, p_fake: float) -> Assessment:
        """Verdict, inconclusive flag, likelihood ratio and its ENFSI wording for one calibrated p_fake."""
        p = float(p_fake)
        if not 0.0 <= p <= 1.0 or math.isnan(p):
            raise ValueError(f"p_fake must be in [0, 1], got {p_fake}")
        lo, hi = self.band
        if p >= hi:
            verdict = Verdict.FAKE
        elif p < lo:
            verdict = Verdict.REAL
        else:
            verdict = Verdict.INCONCLUSIVE
        lr, log_lr = self.likelihood_ratio(p)
        words, prop = verbal_scale(lr)
        if prop is None:
            statement = (
                "The detector's score is about as probable if the face is manipulated or generated as if it "
                f"is a camera original (LR {lr:.2g}): the findings support neither proposition."
            )
        else:
            other = PROP_REAL if prop == PROP_FAKE else PROP_FAKE
            factor = lr if prop == PROP_FAKE else 1.0 / lr
            statement = (
                f"The detector's score is about {factor:.3g} times more probable if {prop} than if {other}: "
                f"{words} for the proposition that {prop}."
            )
        return Assessment(
            verdict=verdict,
            inconclusive=verdict == Verdict.INCONCLUSIVE,
            p_fake=p,
            likelihood_ratio=lr,
            log10_lr=log_lr,
            verbal=words,
            supports=prop,
            statement=statement,
            threshold=hi,
            band=(lo, hi),
            false_positive_rate=float(self.error_rates.get("false_positive_rate", float("nan"))),
            false_negative_rate=float(self.error_rates.get("false_negative_rate", float("nan"))),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "temperature": self.temperature,
            "class_bias": list(self.class_bias),
            "band": list(self.band),
            "threshold": self.threshold,
            "target_error": self.target_error,
            "lr_model": asdict(self.lr_model),
            "error_rates": self.error_rates,
            "fitted_on": self.fitted_on,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        if d.get("schema") not in _READABLE:
            raise ForensicsError(
                f"calibration schema {d.get('schema')!r} is not one of {_READABLE}: re-run calibration"
            )
        lm = dict(d["lr_model"])
        lm["knots"] = tuple(lm["knots"])
        lm["log10_lr"] = tuple(lm["log10_lr"])
        return cls(
            temperature=float(d["temperature"]),
            band=(float(d["band"][0]), float(d["band"][1])),
            target_error=float(d["target_error"]),
            lr_model=LikelihoodRatioModel(**lm),
            error_rates=dict(d.get("error_rates", {})),
            fitted_on=str(d.get("fitted_on", "")),
            class_bias=tuple(float(b) for b in d.get("class_bias", ())),
        )


def condition_name(side: int, quality: int) -> str:
    """Name of a re-sampling condition (shorter side px, JPEG quality) as calibrations record it: ``256px-q75``."""
    return f"{int(side)}px-q{int(quality)}"


def parse_condition_name(name: str) -> tuple[int, int]:
    """(side, quality) of a ``condition_name``."""
    import re

    m = re.fullmatch(r"(\d+)px-q(\d+)", str(name))
    if m is None:
        raise ForensicsError(f"not a re-sampling condition name: {name!r} (expected like 256px-q75)")
    return int(m.group(1)), int(m.group(2))


def error_rate_rows(error_rates: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per condition of a calibration's ``error_rates`` (the files as they are, then each re-sampling):
    false positives and false negatives as "k / n" and the inconclusive shares, for a table an analyst can read."""

    def row(name: str, r: Mapping[str, Any]) -> dict[str, Any]:
        def share(key: str) -> str:
            v = r.get(key)
            return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * float(v):.1f} %"

        return {
            "validation files": name,
            "camera originals called manipulated": f"{r.get('false_positives')} / {r.get('n_real')}",
            "fakes called camera original": f"{r.get('false_negatives')} / {r.get('n_fake')}",
            "inconclusive (real)": share("inconclusive_real"),
            "inconclusive (fake)": share("inconclusive_fake"),
        }

    if "n_real" not in error_rates:
        return []
    return [row("as they are", error_rates)] + [
        row(f"re-sampled to {name}", r) for name, r in (error_rates.get("conditions") or {}).items()
    ]


def fit_calibration(
    logits: np.ndarray,
    labels: np.ndarray,
    *,
    fake_indices: Sequence[int] = (1,),
    target_error: float = 0.05,
    groups: Sequence[str] | None = None,
    lr_bins: int = 12,
    fitted_on: str = "",
    conditions: Mapping[str, np.ndarray] | None = None,
) -> Calibration:
    """Fit temperature and class biases, band and LR model on validation logits (N, C) and integer class labels
    (0 = real).

    ``groups`` (e.g. the source of each face) make the band keep the false-positive target on every real source
    with at least 20 faces, and are used to report per-source error rates.
    ``conditions`` maps a name (e.g. "256px-q75") to logits (N, C) of the same faces after that re-sampling; rows
    of NaN mark faces that could not be scored under it. Temperature, biases, ``lo`` and the LR model come from
    ``logits`` alone; ``hi`` is the highest of the thresholds fitted under every condition (with the same per-source
    rule), and ``error_rates["conditions"]`` reports each condition's rates at the final band.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    t_only = fit_temperature(logits, labels)
    t, bias = fit_temperature_and_bias(logits, labels, t0=t_only)

    def p_fake_of(z: np.ndarray) -> np.ndarray:
        return softmax(z / t + np.asarray(bias))[:, list(fake_indices)].sum(axis=1)

    p_fake = p_fake_of(logits)
    is_fake = labels != 0
    band = choose_band(p_fake, is_fake, target_error=target_error, real_groups=groups)
    scored: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, z in (conditions or {}).items():
        z = np.asarray(z, dtype=np.float64)
        if z.shape != logits.shape:
            raise ForensicsError(f"condition {name!r}: logits {z.shape} do not match {logits.shape}")
        ok = ~np.isnan(z).any(axis=1)
        scored[name] = (ok, p_fake_of(np.where(ok[:, None], z, 0.0)))
        g = None if groups is None else [x for x, k in zip(groups, ok, strict=True) if k]
        _, hi_c = choose_band(scored[name][1][ok], is_fake[ok], target_error=target_error, real_groups=g)
        band = (band[0], max(band[1], hi_c))
    lr_model = LikelihoodRatioModel.fit(p_fake, is_fake, bins=lr_bins)
    rates = band_error_rates(p_fake, is_fake, band, groups)
    if scored:
        rates["conditions"] = {
            name: band_error_rates(
                p[ok], is_fake[ok], band, None if groups is None else [x for x, k in zip(groups, ok, strict=True) if k]
            )
            for name, (ok, p) in scored.items()
        }
    rates.update(
        nll_before=nll(logits, labels, 1.0),
        nll_temperature_only=nll(logits, labels, t_only),
        nll_after=nll(logits / t + np.asarray(bias), labels),
    )
    return Calibration(
        temperature=t,
        band=band,
        target_error=float(target_error),
        lr_model=lr_model,
        error_rates=rates,
        fitted_on=fitted_on,
        class_bias=bias,
    )
