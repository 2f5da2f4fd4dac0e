"""Calibration: from a detector's logits to statements an analyst can defend, and what bounds them.

- ``forensics.calibration.fitted``: the fitted ``Calibration``, the ``Assessment`` of one score, ``fit_calibration``;
- ``forensics.calibration.temperature``: bias-corrected temperature scaling;
- ``forensics.calibration.decision_band``: the inconclusive band and its error rates;
- ``forensics.calibration.likelihood_ratio``: the likelihood ratio and the ENFSI verbal scale;
- ``forensics.calibration.novelty``: how far a face lies from the detector's training faces;
- ``forensics.calibration.stability``: whether a verdict holds under re-compression and re-scaling;
- ``forensics.calibration.domain``: caveats where the evidence lies outside the measured conditions;
- ``forensics.calibration.lr_validation``: Cllr, Tippett curves and ELUB bounds of the likelihood ratios (lir).

Example:
    >>> from forensics.calibration import fit_calibration                # doctest: +SKIP
"""

from forensics.calibration.fitted import (
    SCHEMA,
    Assessment,
    Calibration,
    condition_name,
    error_rate_rows,
    fit_calibration,
    parse_condition_name,
)

__all__ = [
    "SCHEMA",
    "Assessment",
    "Calibration",
    "condition_name",
    "error_rate_rows",
    "fit_calibration",
    "parse_condition_name",
]
