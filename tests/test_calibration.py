"""Calibration: temperature and class biases, inconclusive band, likelihood ratio and the ENFSI verbal scale."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forensics.calibration import Calibration, fit_calibration
from forensics.calibration.decision_band import band_error_rates, choose_band
from forensics.calibration.likelihood_ratio import PROP_FAKE, PROP_REAL, LikelihoodRatioModel, verbal_scale
from forensics.calibration.temperature import fit_temperature, fit_temperature_and_bias, nll, softmax
from forensics.errors import ForensicsError


def _synthetic(n: int = 800, sep: float = 2.0, overconf: float = 4.0, seed: int = 0):
    """Binary logits whose true log-odds are N(+-sep, 1) but reported x overconf (over-confident)."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n // 2, int), np.ones(n // 2, int)]
    true_logodds = np.where(y == 1, sep, -sep) + rng.normal(0, 1.0, n)
    # sample labels from the true model so the calibrated temperature is known (= overconf)
    y = (rng.random(n) < 1 / (1 + np.exp(-true_logodds))).astype(int)
    logits = np.c_[np.zeros(n), true_logodds * overconf]
    return logits, y


def test_temperature_recovers_overconfidence_and_reduces_nll():
    logits, y = _synthetic(n=4000, overconf=4.0)
    t = fit_temperature(logits, y)
    assert 3.3 < t < 4.8
    assert nll(logits, y, t) < nll(logits, y, 1.0) - 0.1
    # the optimum is a minimum: nearby temperatures are worse
    assert nll(logits, y, t) <= min(nll(logits, y, t * 0.8), nll(logits, y, t * 1.25))


def test_temperature_of_well_calibrated_logits_is_near_one():
    logits, y = _synthetic(n=4000, overconf=1.0, seed=3)
    assert 0.85 < fit_temperature(logits, y) < 1.2


def test_class_bias_recovers_a_prior_shift_that_temperature_cannot():
    # true log-odds = x + shift; the detector reports 3 * x: over-confident AND leaning towards "fake" by -shift
    rng = np.random.default_rng(11)
    n, shift = 6000, -1.5
    x = rng.normal(0, 2.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x + shift)))).astype(int)
    logits = np.c_[np.zeros(n), 3.0 * x]
    t, bias = fit_temperature_and_bias(logits, y)
    assert t == pytest.approx(3.0, rel=0.1) and bias[0] == 0.0 and bias[1] == pytest.approx(shift, abs=0.15)
    t_only = fit_temperature(logits, y)
    assert nll(logits / t + np.asarray(bias), y) < nll(logits, y, t_only) - 0.02
    from forensics.evaluation import expected_calibration_error as ece

    p_bias = softmax(logits / t + np.asarray(bias))[:, 1]
    p_temp = softmax(logits / t_only)[:, 1]
    assert ece(y == 1, p_bias) < 0.03 < ece(y == 1, p_temp)
    # without a shift the biases stay near zero and the temperature is the temperature-only one
    y0 = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    t0, b0 = fit_temperature_and_bias(logits, y0)
    assert abs(b0[1]) < 0.12 and t0 == pytest.approx(fit_temperature(logits, y0), rel=0.05)


def test_calibration_applies_biases_and_reads_temperature_only_files():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 900)
    logits = rng.normal(0, 1, (900, 3)) + 2.5 * np.eye(3)[y] + np.array([0.0, 1.0, 0.6])  # leans to classes 1, 2
    cal = fit_calibration(logits, y, fake_indices=(1, 2))
    assert len(cal.class_bias) == 3 and cal.class_bias[0] == 0.0 and cal.class_bias[1] < -0.5
    np.testing.assert_allclose(cal.proba(logits), softmax(logits / cal.temperature + np.asarray(cal.class_bias)))
    assert cal.error_rates["nll_after"] <= cal.error_rates["nll_temperature_only"] <= cal.error_rates["nll_before"]
    old = {**cal.to_dict(), "schema": "forensics.calibration/1"}
    del old["class_bias"]
    read = Calibration.from_dict(old)
    assert read.class_bias == () and np.allclose(read.proba(logits), softmax(logits / cal.temperature))
    with pytest.raises(ForensicsError, match="class biases"):
        cal.scale_logits(logits[:, :2])


def test_band_keeps_error_under_target():
    rng = np.random.default_rng(1)
    p_real = 1 / (1 + np.exp(-rng.normal(-1.5, 1.2, 1000)))
    p_fake = 1 / (1 + np.exp(-rng.normal(1.5, 1.2, 1000)))
    p = np.r_[p_real, p_fake]
    y = np.r_[np.zeros(1000, bool), np.ones(1000, bool)]
    lo, hi = choose_band(p, y, target_error=0.05)
    assert lo < hi  # overlapping classes: a genuine inconclusive band
    r = band_error_rates(p, y, (lo, hi))
    assert r["false_positive_rate"] <= 0.05 and r["false_negative_rate"] <= 0.05
    assert r["inconclusive_real"] > 0 and r["inconclusive_fake"] > 0
    # tight: the threshold is the lowest that meets the target (one more real above it would break it)
    assert (p_real >= hi).sum() == math.floor(0.05 * 1000)
    # the threshold sits between two real scores, not on one: jitter of a float32 forward pass cannot flip a face
    flagged = (p_real >= hi).sum()
    for eps in (-1e-6, 1e-6):
        assert (np.clip(p_real + eps, 0, 1) >= hi).sum() == flagged
    assert (np.clip(p_fake + 1e-6 * np.sign(rng.normal(size=1000)), 0, 1) < lo).sum() == (p_fake < lo).sum()
    z = np.log(p_real / (1 - p_real))
    z_above, z_below = np.sort(z)[-flagged], np.sort(z)[-flagged - 1]
    z_hi = np.log(hi / (1 - hi))
    assert z_below < z_hi <= z_below + 0.05 + 1e-9 and z_hi <= (z_above + z_below) / 2 + 1e-9
    # held-out data from the same distributions stays close to target
    p_real2 = 1 / (1 + np.exp(-rng.normal(-1.5, 1.2, 20000)))
    assert (p_real2 >= hi).mean() < 0.065


def test_band_honours_every_real_source():
    rng = np.random.default_rng(2)
    easy = 1 / (1 + np.exp(-rng.normal(-4, 1, 900)))  # a dominant, easy real source
    hard = 1 / (1 + np.exp(-rng.normal(0, 1, 100)))  # a small real source the model finds suspicious
    fake = 1 / (1 + np.exp(-rng.normal(3, 1, 1000)))
    p = np.r_[easy, hard, fake]
    y = np.r_[np.zeros(1000, bool), np.ones(1000, bool)]
    groups = ["easy"] * 900 + ["hard"] * 100 + ["fake"] * 1000
    _, hi_pooled = choose_band(p, y, target_error=0.05)
    _, hi = choose_band(p, y, target_error=0.05, real_groups=groups)
    assert hi > hi_pooled
    assert (hard >= hi).mean() <= 0.05
    assert (hard >= hi_pooled).mean() > 0.05  # pooling alone would have accused the small source


def test_separable_scores_give_empty_band():
    p = np.r_[np.linspace(0.01, 0.2, 50), np.linspace(0.8, 0.99, 50)]
    y = np.r_[np.zeros(50, bool), np.ones(50, bool)]
    lo, hi = choose_band(p, y, target_error=0.05)
    assert lo == hi and 0.2 < hi < 0.8
    r = band_error_rates(p, y, (lo, hi))
    assert r["false_positives"] == 0 and r["false_negatives"] == 0


def test_likelihood_ratio_monotone_and_capped():
    rng = np.random.default_rng(4)
    n_real, n_fake = 300, 200
    p = 1 / (1 + np.exp(-np.r_[rng.normal(-2, 1.5, n_real), rng.normal(2, 1.5, n_fake)]))
    y = np.r_[np.zeros(n_real, bool), np.ones(n_fake, bool)]
    m = LikelihoodRatioModel.fit(p, y, bins=10)
    grid = np.linspace(1e-6, 1 - 1e-6, 2001)
    v = m(grid)
    assert np.all(np.diff(v) >= -1e-12)
    assert v.max() <= math.log10(n_real) + 1e-12 and v.min() >= -math.log10(n_fake) - 1e-12
    assert v[-1] > 1 and v[0] < -1  # strong evidence at the extremes, both ways
    # near the crossing of the two score densities the LR is close to 1
    assert abs(float(m(0.5))) < 0.5


def test_likelihood_ratio_needs_both_classes():
    with pytest.raises(ForensicsError):
        LikelihoodRatioModel.fit(np.array([0.1, 0.2, 0.3]), np.array([False, False, False]))


@pytest.mark.parametrize(
    ("lr", "words", "prop"),
    [
        (1.0, "no meaningful support for either proposition", None),
        (1.99, "no meaningful support for either proposition", None),
        (2.0, "weak support", PROP_FAKE),
        (9.99, "weak support", PROP_FAKE),
        (10.0, "moderate support", PROP_FAKE),
        (99.9, "moderate support", PROP_FAKE),
        (100.0, "moderately strong support", PROP_FAKE),
        (1000.0, "strong support", PROP_FAKE),
        (9999.0, "strong support", PROP_FAKE),
        (10000.0, "very strong support", PROP_FAKE),
        (0.5, "weak support", PROP_REAL),
        (0.51, "no meaningful support for either proposition", None),
        (0.01, "moderately strong support", PROP_REAL),
        (1e-5, "very strong support", PROP_REAL),
    ],
)
def test_verbal_scale_boundaries(lr, words, prop):
    assert verbal_scale(lr) == (words, prop)


def test_verbal_scale_rejects_nonpositive():
    with pytest.raises(ValueError):
        verbal_scale(0.0)


def test_fit_assess_roundtrip_and_wording():
    logits, y = _synthetic(n=1200, overconf=3.0, seed=5)
    cal = fit_calibration(logits, y, fake_indices=(1,), target_error=0.05, fitted_on="synthetic")
    lo, hi = cal.band
    assert cal.threshold == hi and 0 < lo <= hi < 1
    high = cal.assess(0.999)
    assert high.verdict == "manipulated or generated" and not high.inconclusive and high.log10_lr > 0
    low = cal.assess(1e-4)
    assert low.verdict == "camera original" and low.log10_lr < 0 and low.supports == PROP_REAL
    if lo < hi:
        mid = cal.assess((lo + hi) / 2)
        assert mid.verdict == "inconclusive" and mid.inconclusive
    for a in (high, low):
        assert "probability" not in a.statement.lower()
        assert math.isclose(a.likelihood_ratio, 10**a.log10_lr)
    back = Calibration.from_dict(cal.to_dict())
    assert back == cal
    assert back.assess(0.7).to_dict() == cal.assess(0.7).to_dict()
    assert cal.error_rates["nll_after"] <= cal.error_rates["nll_before"]


def test_from_dict_rejects_other_schema():
    with pytest.raises(ForensicsError):
        Calibration.from_dict({"schema": "other", "temperature": 1})


def test_three_class_logits_use_summed_fake_classes():
    rng = np.random.default_rng(7)
    n = 600
    y = rng.integers(0, 3, n)
    logits = rng.normal(0, 1, (n, 3))
    logits[np.arange(n), y] += 3.0
    cal = fit_calibration(logits, y, fake_indices=(1, 2))
    assert cal.error_rates["n_real"] == int((y == 0).sum())
    assert cal.error_rates["n_fake"] == int((y != 0).sum())


def test_threshold_also_holds_under_a_resampling_condition():
    """Re-compression makes camera originals look more suspicious: the threshold fitted with that condition keeps
    the false-positive target there, while temperature, biases, lo and the LR model stay those of the files as
    they are."""
    rng = np.random.default_rng(5)
    n = 400
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    z = np.where(y == 1, 2.0, -2.0) + rng.normal(0, 1, 2 * n)
    logits = np.c_[np.zeros(2 * n), z]
    cond = np.c_[np.zeros(2 * n), z + np.where(y == 1, -0.5, 1.2)]
    cond[3] = np.nan  # a real face that could not be scored after re-sampling
    groups = ["camA"] * n + ["fake:gan"] * n
    plain = fit_calibration(logits, y, groups=groups)
    cal = fit_calibration(logits, y, groups=groups, conditions={"256px-q75": cond})
    assert cal.temperature == plain.temperature and cal.class_bias == plain.class_bias
    assert cal.band[0] == plain.band[0] and cal.lr_model == plain.lr_model
    assert cal.band[1] > plain.band[1]
    ok = ~np.isnan(cond).any(axis=1)
    p_cond = cal.proba(np.where(ok[:, None], cond, 0))[:, 1]
    real_ok = ok & (y == 0)
    assert (p_cond[real_ok] >= plain.band[1]).mean() > 0.05  # the as-is threshold would break the target there
    assert (p_cond[real_ok] >= cal.band[1]).mean() <= 0.05
    rates = cal.error_rates["conditions"]["256px-q75"]
    assert rates["n_real"] == n - 1 and rates["false_positives"] == int((p_cond[real_ok] >= cal.band[1]).sum())
    assert rates["false_negatives"] == int((p_cond[y == 1] < cal.band[0]).sum())
    assert rates["per_group"]["camA"]["n_real"] == n - 1
    # a condition that changes nothing leaves the band as it was
    same = fit_calibration(logits, y, groups=groups, conditions={"none": logits})
    assert same.band == plain.band
    with pytest.raises(ForensicsError, match="do not match"):
        fit_calibration(logits, y, conditions={"bad": logits[:10]})


def test_error_rate_rows_read_counts_and_shares_per_condition():
    from forensics.calibration import error_rate_rows

    rates = {
        "n_real": 554,
        "false_positives": 2,
        "n_fake": 251,
        "false_negatives": 12,
        "inconclusive_real": 0.1896,
        "inconclusive_fake": 0.4343,
        "conditions": {
            "192px-q60": {
                "n_real": 554,
                "false_positives": 0,
                "n_fake": 251,
                "false_negatives": 32,
                "inconclusive_real": 0.16,
                "inconclusive_fake": float("nan"),
            }
        },
    }
    rows = error_rate_rows(rates)
    assert rows[0] == {
        "validation files": "as they are",
        "camera originals called manipulated": "2 / 554",
        "fakes called camera original": "12 / 251",
        "inconclusive (real)": "19.0 %",
        "inconclusive (fake)": "43.4 %",
    }
    assert rows[1]["validation files"] == "re-sampled to 192px-q60" and rows[1]["inconclusive (fake)"] == "n/a"
    assert rows[1]["fakes called camera original"] == "32 / 251"
    assert error_rate_rows({}) == []
