"""Numbers as the dashboard and the court report print them: one place, so the two never disagree.

Shares are percentages with one decimal ("0.4 %"), with their 95% Wilson interval when the counts are known
("0.4 % (2 of 554; 95 % interval 0.1 % to 1.3 %)"); likelihood ratios are stated in favour of the proposition they
support ("4.0 in favour of the proposition that the face is manipulated or generated"), so a value below 1 is
never printed as a bare fraction.

    >>> pct(2 / 554), num(0.6264)
    ('0.4 %', '0.63')
    >>> pct_of(2, 554)
    '0.4 % (2 of 554; 95 % interval 0.1 % to 1.3 %)'
    >>> lr_in_favour(0.05)
    '20 in favour of the proposition that the face is a camera original'
"""

from __future__ import annotations

import math
from typing import Any


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def num(v: Any, digits: int = 2) -> str:
    """A plain decimal with ``digits`` places; "n/a" for None or a non-finite value."""
    return "n/a" if _missing(v) else f"{float(v):.{digits}f}"


def pct(v: Any) -> str:
    """A share in [0, 1] as a percentage with one decimal: ``0.0036 -> "0.4 %"``."""
    return "n/a" if _missing(v) else f"{100 * float(v):.1f} %"


def pct_range(lo: Any, hi: Any) -> str:
    """An interval of shares: ``"0.1 % to 1.3 %"``."""
    return f"{pct(lo)} to {pct(hi)}"


def pct_of(k: Any, n: Any) -> str:
    """``k`` of ``n`` as a percentage with the counts and the 95% Wilson interval (``"n/a"`` when n is 0)."""
    from forensics.evaluation import wilson_interval

    if _missing(k) or _missing(n) or int(n) <= 0:
        return "n/a (no cases measured)"
    lo, hi = wilson_interval(int(k), int(n))
    return f"{pct(int(k) / int(n))} ({int(k)} of {int(n)}; 95 % interval {pct_range(lo, hi)})"


def pct_interval(triple: Any) -> str:
    """``[rate, lo, hi]`` (lo/hi may be None) as ``"12.0 % (95 % interval 8.1 % to 17.2 %)"``; "n/a" for None."""
    if not triple or _missing(triple[0]):
        return "n/a"
    rate, lo, hi = (list(triple) + [None, None])[:3]
    return pct(rate) + ("" if _missing(lo) or _missing(hi) else f" (95 % interval {pct_range(lo, hi)})")


def value_interval(triple: Any, digits: int = 2) -> str:
    """``[value, lo, hi]`` as ``"0.91 (95 % interval 0.88 to 0.94)"``; "n/a" for None."""
    if not triple or _missing(triple[0]):
        return "n/a"
    v, lo, hi = (list(triple) + [None, None])[:3]
    return num(v, digits) + (
        "" if _missing(lo) or _missing(hi) else f" (95 % interval {num(lo, digits)} to {num(hi, digits)})"
    )


def lr_number(lr: Any) -> str:
    """The strength of a likelihood ratio, >= 1, with three significant figures (1/LR when LR < 1)."""
    if _missing(lr) or float(lr) <= 0:
        return "n/a"
    v = float(lr)
    return f"{(v if v >= 1 else 1 / v):.3g}"


def lr_in_favour(lr: Any, prop_fake: str | None = None, prop_real: str | None = None) -> str:
    """An LR stated in favour of the proposition it supports: ``"4.0 in favour of the proposition that ..."``."""
    from forensics.calibration.likelihood_ratio import PROP_FAKE, PROP_REAL

    if _missing(lr) or float(lr) <= 0:
        return "n/a"
    prop = (prop_fake or PROP_FAKE) if float(lr) >= 1 else (prop_real or PROP_REAL)
    return f"{lr_number(lr)} in favour of the proposition that {prop}"
