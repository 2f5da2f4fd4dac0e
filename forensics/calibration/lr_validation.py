"""Validation of the detector's likelihood ratios as forensic LR systems are validated, with the Netherlands
Forensic Institute's ``lir`` package:

- **Cllr** (log-likelihood-ratio cost, Brümmer & du Preez 2006): 0 for perfect LRs, 1 for a system that always says
  LR 1, above 1 for misleading LRs. **Cllr-min** is the cost after the best monotone re-calibration (what the scores
  could give: discrimination), **Cllr-cal** = Cllr - Cllr-min (what is lost to calibration).
- **Tippett curves**: for each log10 LR value, the share of faces of each proposition whose LR is at least that.
- **ELUB** (empirical lower and upper bounds, Vergeer et al., Science & Justice 2016): the largest LR in favour of
  either proposition that the validation data can support; every reported LR is capped at them.

Propositions, as everywhere in this project: Hp "the face is manipulated or generated" (label 1), Hd "the face is a
camera original" (label 0); LRs are given as log10 values.

    >>> import numpy as np
    >>> v = validate_lrs(np.zeros(20), np.r_[np.zeros(10), np.ones(10)], data="toy")
    >>> round(v.cllr, 3), v.elub
    (1.0, (0.0, 0.0))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from forensics.errors import ForensicsError


@dataclass(frozen=True)
class LRValidation:
    """What one labelled set says about a detector's log10 LRs (see the module docstring)."""

    data: str  # which faces, in words: "validation faces (645 real, 259 fake)", "left out: generator flux ..."
    n_real: int
    n_fake: int
    cllr: float
    cllr_min: float
    cllr_cal: float
    elub: tuple[float, float]  # (lower, upper) bound of log10 LR
    misleading_real: int  # camera originals with log10 LR > 0 (pointing to manipulated or generated)
    misleading_fake: int  # fakes with log10 LR < 0 (pointing to camera original)
    tippett: dict[str, list[float]] = field(default_factory=dict)  # log10_lr grid, share >= x per proposition

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["elub"] = list(self.elub)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LRValidation:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**{**known, "elub": tuple(d["elub"])})


def _lir_llrs(log10_lr: np.ndarray, labels: np.ndarray) -> Any:
    from lir.data.models import LLRData

    return LLRData(features=np.asarray(log10_lr, dtype=np.float64).copy(), labels=np.asarray(labels, dtype=int))


def tippett_points(log10_lr: np.ndarray, is_fake: np.ndarray, grid: np.ndarray | None = None) -> dict[str, list[float]]:
    """Share of each proposition's faces with log10 LR >= x, on a grid spanning the observed values."""
    llr = np.asarray(log10_lr, dtype=np.float64)
    y = np.asarray(is_fake, dtype=bool)
    if grid is None:
        lo, hi = float(np.floor(llr.min() * 4) / 4), float(np.ceil(llr.max() * 4) / 4)
        grid = np.linspace(lo, hi, max(2, int(round((hi - lo) * 20)) + 1))
    return {
        "log10_lr": [float(x) for x in grid],
        "manipulated_or_generated": [float((llr[y] >= x).mean()) if y.any() else float("nan") for x in grid],
        "camera_original": [float((llr[~y] >= x).mean()) if (~y).any() else float("nan") for x in grid],
    }


def validate_lrs(log10_lr: np.ndarray, is_fake: np.ndarray, *, data: str) -> LRValidation:
    """Cllr, Cllr-min, Cllr-cal, ELUB and the Tippett curves of labelled log10 LRs (both propositions needed)."""
    from lir.algorithms.bayeserror import elub
    from lir.metrics import cllr, cllr_min

    llr = np.asarray(log10_lr, dtype=np.float64)
    y = np.asarray(is_fake, dtype=bool)
    if llr.shape != y.shape or llr.ndim != 1:
        raise ForensicsError(f"LR validation: {llr.shape} LRs against {y.shape} labels")
    if not np.isfinite(llr).all():
        raise ForensicsError("LR validation: every log10 LR must be finite (cap them first)")
    if y.all() or not y.any():
        raise ForensicsError(f"LR validation of {data}: needs faces of both propositions")
    labels = y.astype(int)
    c = float(cllr(_lir_llrs(llr, labels)))
    cmin = float(cllr_min(_lir_llrs(llr, labels)))
    lower, upper = elub(llr.copy(), labels.astype(float), add_misleading=1)
    return LRValidation(
        data=data,
        n_real=int((~y).sum()),
        n_fake=int(y.sum()),
        cllr=c,
        cllr_min=cmin,
        cllr_cal=c - cmin,
        elub=(float(lower), float(upper)),
        misleading_real=int((llr[~y] > 0).sum()),
        misleading_fake=int((llr[y] < 0).sum()),
        tippett=tippett_points(llr, y),
    )


def narrowest_bounds(validations: list[LRValidation]) -> tuple[float, float]:
    """The tightest (lower, upper) log10 LR bounds over several validations: what every one of them supports."""
    if not validations:
        raise ForensicsError("no LR validation to take bounds from")
    return max(v.elub[0] for v in validations), min(v.elub[1] for v in validations)
