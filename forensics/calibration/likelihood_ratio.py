"""The likelihood ratio of a calibrated score for Hp "the face is manipulated or generated" against Hd "the face is a
camera original": ``LikelihoodRatioModel`` (histograms of ``logit(p_fake)`` per class, add-one smoothing, made
monotone by pool-adjacent-violators and capped at what the validation counts support) and its ENFSI wording
(``verbal_scale``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from forensics.calibration.temperature import logit
from forensics.errors import ForensicsError

PROP_FAKE = "the face is manipulated or generated"
PROP_REAL = "the face is a camera original"

# ENFSI guideline for evaluative reporting (2015): LR bands and their verbal equivalents.
ENFSI_SCALE: tuple[tuple[float, str], ...] = (
    (1e4, "very strong support"),
    (1e3, "strong support"),
    (1e2, "moderately strong support"),
    (1e1, "moderate support"),
    (2.0, "weak support"),
)


def verbal_scale(likelihood_ratio: float) -> tuple[str, str | None]:
    """(verbal strength, supported proposition) for an LR of Hp (manipulated/generated) vs Hd (camera original).

    ``[2, 10)`` weak, ``[10, 100)`` moderate, ``[100, 1000)`` moderately strong, ``[1000, 10000)`` strong,
    ``>= 10000`` very strong; the same bands for ``1/LR`` support the camera-original proposition. Between 1/2 and 2
    the findings support neither proposition.

    >>> verbal_scale(50.0)
    ('moderate support', 'the face is manipulated or generated')
    >>> verbal_scale(1.5)
    ('no meaningful support for either proposition', None)
    """
    lr = float(likelihood_ratio)
    if not lr > 0 or math.isnan(lr):
        raise ValueError(f"likelihood ratio must be positive, got {likelihood_ratio}")
    strength, prop = (lr, PROP_FAKE) if lr >= 1 else (1.0 / lr, PROP_REAL)
    for bound, words in ENFSI_SCALE:
        if strength >= bound:
            return words, prop
    return "no meaningful support for either proposition", None


def _isotonic(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted non-decreasing least-squares fit (pool adjacent violators)."""
    vals: list[float] = []
    wts: list[float] = []
    lens: list[int] = []
    for yi, wi in zip(y.tolist(), w.tolist(), strict=True):
        vals.append(yi)
        wts.append(wi)
        lens.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            w_new = wts[-2] + wts[-1]
            v_new = (vals[-2] * wts[-2] + vals[-1] * wts[-1]) / w_new if w_new > 0 else (vals[-2] + vals[-1]) / 2
            n_new = lens[-2] + lens[-1]
            del vals[-1], wts[-1], lens[-1]
            vals[-1], wts[-1], lens[-1] = v_new, w_new, n_new
    return np.repeat(np.array(vals), np.array(lens))


@dataclass(frozen=True)
class LikelihoodRatioModel:
    """Piecewise-linear log10 LR as a function of ``logit(p_fake)``, monotone non-decreasing and capped."""

    knots: tuple[float, ...]  # bin centres in logit(p_fake)
    log10_lr: tuple[float, ...]  # value at each knot
    cap_high: float  # log10(n_real): the largest LR the validation reals can support
    cap_low: float  # -log10(n_fake)
    n_real: int
    n_fake: int
    bins: int

    def __call__(self, p_fake: float | np.ndarray) -> np.ndarray:
        x = logit(p_fake)
        v = np.interp(x, np.asarray(self.knots), np.asarray(self.log10_lr))
        return np.clip(v, self.cap_low, self.cap_high)

    @classmethod
    def fit(cls, p_fake: np.ndarray, is_fake: np.ndarray, *, bins: int = 12) -> LikelihoodRatioModel:
        """Histogram both classes on shared bins (quantiles of the pooled logits), add-one smoothing, PAV."""
        x = logit(p_fake)
        y = np.asarray(is_fake, dtype=bool)
        n_fake, n_real = int(y.sum()), int((~y).sum())
        if n_fake < 2 or n_real < 2:
            raise ForensicsError(
                f"a likelihood ratio needs both classes in validation (got {n_real} real, "
                f"{n_fake} fake): calibrate on a labelled folder holding both"
            )
        edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
        if len(edges) < 3:
            edges = np.array([x.min() - 1, np.median(x), x.max() + 1])
        nb = len(edges) - 1
        idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, nb - 1)
        cf = np.bincount(idx[y], minlength=nb).astype(float)
        cr = np.bincount(idx[~y], minlength=nb).astype(float)
        pf = (cf + 1) / (n_fake + nb)
        pr = (cr + 1) / (n_real + nb)
        raw = np.log10(pf / pr)
        mono = _isotonic(raw, cf + cr)
        centres = np.array(
            [np.median(x[idx == b]) if np.any(idx == b) else (edges[b] + edges[b + 1]) / 2 for b in range(nb)]
        )
        # np.interp needs increasing knots; medians of consecutive quantile bins are, unless ties collapse them
        centres = np.maximum.accumulate(centres + np.arange(nb) * 1e-9)
        return cls(
            knots=tuple(float(c) for c in centres),
            log10_lr=tuple(float(v) for v in mono),
            cap_high=float(math.log10(n_real)),
            cap_low=float(-math.log10(n_fake)),
            n_real=n_real,
            n_fake=n_fake,
            bins=nb,
        )
