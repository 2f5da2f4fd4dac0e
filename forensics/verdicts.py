"""The words a result is given in, as enums: ``Verdict`` (what is said about a face) and ``Direction`` (which way a
classic check's finding points). The only place a verdict is spelled out.

Both are ``StrEnum``: a member equals, hashes, formats and serialises to JSON as its plain value. The low verdict
states a finding, never authenticity: "no sign of manipulation found" (by this detector). Scan stores, analyses and
report bundles written before 2026-12-08 hold its former value "camera original", which still reads as ``REAL``.

    >>> Verdict("camera original") is Verdict.REAL, f"{Verdict.REAL}", Direction.NEUTRAL == "neutral"
    (True, 'no sign of manipulation found', True)
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    FAKE = "manipulated or generated"
    REAL = "no sign of manipulation found"  # a finding of this detector, not a statement that the face is original
    INCONCLUSIVE = "inconclusive"  # in the calibration's band, or outside the detector's experience (novelty)
    NONE = "no verdict"  # untrained or uncalibrated detector, or a face that is not whole

    @classmethod
    def _missing_(cls, value: object) -> Verdict | None:
        return FORMER_VALUES.get(value) if isinstance(value, str) else None


# values written by earlier versions -> the verdict they meant
FORMER_VALUES: dict[str, Verdict] = {"camera original": Verdict.REAL}


def verdict_of(value: object) -> Verdict | None:
    """The Verdict a stored value stands for (a current or former value); None for None or an empty value."""
    return None if value is None or value == "" else Verdict(str(value))


class Direction(StrEnum):
    SUPPORTS_MANIPULATION = "supports manipulation"
    SUPPORTS_ORIGINAL = "supports an original"
    NEUTRAL = "neutral"
