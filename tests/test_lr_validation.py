"""Likelihood-ratio validation (forensics.calibration.lr_validation, through the NFI's lir): Cllr against its definition
computed here by hand, Cllr-min <= Cllr, ELUB within what the number of faces can support, Tippett curves."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.calibration.lr_validation import narrowest_bounds, tippett_points, validate_lrs
from forensics.errors import ForensicsError


def _cllr_by_hand(llr: np.ndarray, y: np.ndarray) -> float:
    lr = 10.0 ** llr.astype(np.float64)
    return 0.5 * (np.mean(np.log2(1 + 1 / lr[y])) + np.mean(np.log2(1 + lr[~y])))


def test_cllr_matches_its_definition_and_cllr_min_is_no_larger():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(200, bool), np.ones(120, bool)]
    llr = np.where(y, rng.normal(1.0, 1.0, y.size), rng.normal(-0.8, 1.2, y.size))
    v = validate_lrs(llr, y, data="toy")
    assert v.cllr == pytest.approx(_cllr_by_hand(llr, y), rel=1e-9)
    assert 0 <= v.cllr_min <= v.cllr and v.cllr_cal == pytest.approx(v.cllr - v.cllr_min)
    assert v.misleading_real == int((llr[~y] > 0).sum()) and v.misleading_fake == int((llr[y] < 0).sum())
    # badly calibrated (all LRs 100x too strong): the same discrimination, a much higher Cllr
    bad = validate_lrs(llr * 3, y, data="toy, overstated")
    assert bad.cllr > v.cllr and bad.cllr_min == pytest.approx(v.cllr_min, abs=1e-9)


def test_elub_is_bounded_by_the_number_of_faces():
    # perfectly separated, very strong LRs: the data of 10 + 10 faces support at most about log10(11)
    y = np.r_[np.zeros(10, bool), np.ones(10, bool)]
    llr = np.where(y, 6.0, -6.0)
    v = validate_lrs(llr, y, data="separated")
    assert 0 < v.elub[1] <= np.log10(11) + 0.01
    assert -np.log10(11) - 0.01 <= v.elub[0] < 0
    # a useless system (LR 1 everywhere) supports nothing beyond 1
    assert validate_lrs(np.zeros(20), y, data="flat").elub == (0.0, 0.0)
    # more faces support larger bounds
    y_big = np.r_[np.zeros(1000, bool), np.ones(1000, bool)]
    assert validate_lrs(np.where(y_big, 6.0, -6.0), y_big, data="big").elub[1] > v.elub[1] + 1


def test_tippett_curves_and_bounds_over_several_validations():
    y = np.array([False, False, True, True])
    t = tippett_points(np.array([-1.0, 0.5, 0.0, 2.0]), y, grid=np.array([-2.0, 0.0, 1.0]))
    assert t["manipulated_or_generated"] == [1.0, 1.0, 0.5]
    assert t["camera_original"] == [1.0, 0.5, 0.0]
    a = validate_lrs(np.where(np.r_[y, y], 3.0, -3.0), np.r_[y, y], data="a")
    b = validate_lrs(np.zeros(8), np.r_[y, y], data="b")
    assert narrowest_bounds([a, b]) == (0.0, 0.0)
    with pytest.raises(ForensicsError, match="both propositions"):
        validate_lrs(np.zeros(3), np.ones(3, bool), data="fakes only")
