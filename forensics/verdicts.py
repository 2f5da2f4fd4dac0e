"""The words a result is given in, as enums: ``Verdict`` (what is said about a face) and ``Direction`` (which way a
classic check's finding points).

Both are ``StrEnum``: a member equals, hashes, formats and serialises to JSON as its plain value, so files and text
written from them read exactly as before they were typed.

    >>> Verdict("camera original") is Verdict.REAL, f"{Verdict.FAKE}", Direction.NEUTRAL == "neutral"
    (True, 'manipulated or generated', True)
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    FAKE = "manipulated or generated"
    REAL = "camera original"
    INCONCLUSIVE = "inconclusive"  # in the calibration's band, or outside the detector's experience (novelty)
    NONE = "no verdict"  # untrained or uncalibrated detector, or a face that is not whole


class Direction(StrEnum):
    SUPPORTS_MANIPULATION = "supports manipulation"
    SUPPORTS_ORIGINAL = "supports an original"
    NEUTRAL = "neutral"
