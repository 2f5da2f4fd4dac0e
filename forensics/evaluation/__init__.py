"""Evaluation: metrics with intervals, and the evaluation of a detector on a labelled folder.

- ``forensics.evaluation.metrics``: ROC / DET / AUC / EER, reliability and calibration error, Wilson and bootstrap
  intervals, paired AUC differences, cross-fitted error rates;
- ``forensics.evaluation.folder``: ``evaluate_folder`` (the ``evaluate`` command).

Example:
    >>> from forensics.evaluation import auc, wilson_interval
    >>> wilson_interval(0, 10)[1] > 0
    True
"""

from forensics.evaluation.metrics import (
    accuracy,
    auc,
    auc_difference_ci,
    auc_differences_per_kind,
    binary_report,
    bootstrap_ci,
    compact_roc,
    cross_fitted_rates,
    det_curve,
    eer,
    expected_calibration_error,
    family,
    mean_ci,
    paired_auc,
    rate_table,
    reliability_curve,
    roc_curve,
    summarise_scores,
    tpr_at_fpr,
    wilson_interval,
)

__all__ = [
    "accuracy",
    "auc",
    "auc_difference_ci",
    "auc_differences_per_kind",
    "binary_report",
    "bootstrap_ci",
    "compact_roc",
    "cross_fitted_rates",
    "det_curve",
    "eer",
    "expected_calibration_error",
    "family",
    "mean_ci",
    "paired_auc",
    "rate_table",
    "reliability_curve",
    "roc_curve",
    "summarise_scores",
    "tpr_at_fpr",
    "wilson_interval",
]
