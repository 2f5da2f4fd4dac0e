"""The leave-out folds' findings applied to a calibration (issue 33.2, 33.8): the low edge keeps every left-out
kind's misses under the target, is carried over as a share of validation camera originals and never rises above
validation's; unseen-kind misses are cross-fitted over kinds; LR bounds are the narrowest ELUB."""

from __future__ import annotations

import json

import numpy as np
import pytest

from forensics.calibration import Calibration, fit_calibration
from forensics.training.leave_out_calibration import apply_leave_out, load_fold, low_edge_findings


def _logits(p_fake: np.ndarray) -> np.ndarray:
    """Two-class logits whose softmax gives ``p_fake`` for class 1."""
    p = np.clip(p_fake, 1e-6, 1 - 1e-6)
    return np.c_[np.zeros(len(p)), np.log(p / (1 - p))]


def _fold(tmp_path, rng, name="g-x-s0"):
    """A fold run: identity calibration (temperature 1, no bias) fitted on its validation, and three left-out
    groups: two fake kinds (one easy, one hard) and a real source."""
    run = tmp_path / name
    run.mkdir()
    val_real = rng.beta(2, 8, 400)
    val_fake = rng.beta(8, 2, 200)
    y = np.r_[np.zeros(400, int), np.ones(200, int)]
    val_logits = _logits(np.r_[val_real, val_fake])
    cal = fit_calibration(val_logits, y, fake_indices=(1,)).to_dict()
    cal.update(temperature=1.0, class_bias=[0.0, 0.0])
    (run / "calibration.json").write_text(json.dumps(cal))
    easy, hard, real = rng.beta(8, 2, 100), rng.beta(3, 3, 100), rng.beta(2, 6, 80)
    data = {
        "val/logits": val_logits,
        "val/logits_flip": val_logits,
        "val/labels": y,
        "val/paths": np.array([f"v{i}" for i in range(600)]),
        "val/sources": np.array(["s"] * 600),
    }
    for spec, p, fake in (("generator:easy", easy, True), ("generator:hard", hard, True), ("source:r", real, False)):
        data[f"held:{spec}/logits"] = _logits(p)
        data[f"held:{spec}/logits_flip"] = _logits(p)
        data[f"held:{spec}/is_fake"] = np.full(len(p), fake)
        data[f"held:{spec}/paths"] = np.array([f"{spec}{i}" for i in range(len(p))])
        data[f"held:{spec}/groups"] = np.array([f"g{i}" for i in range(len(p))])
    np.savez(run / "leave_out_scores-as-is.npz", **data)
    return run, {"easy": easy, "hard": hard, "val_real": val_real}


def test_low_edge_keeps_every_left_out_kind_under_target(tmp_path):
    rng = np.random.default_rng(0)
    run, raw = _fold(tmp_path, rng)
    fold = load_fold(run, "as-is")
    f = low_edge_findings([fold], 0.05)
    edge = f["folds"]["g-x-s0"]["edge"]
    assert (raw["hard"] < edge).mean() <= 0.05 and (raw["easy"] < edge).mean() <= 0.05
    assert f["real_share_below"] == pytest.approx((raw["val_real"] < edge).mean())
    # cross-fitted: the hard kind is judged at the edge of the easy kind alone, so it is missed more often
    hard = f["misses_cross_fitted"]["as-is"]["generator:hard"]
    assert hard["n"] == 100 and hard["k"] / hard["n"] > 0.05
    assert f["worst_kind"]["held_out"] == "generator:hard" and f["worst_kind"]["n"] == 100


def test_apply_carries_the_edge_and_bounds_the_lr(tmp_path):
    rng = np.random.default_rng(1)
    run, _ = _fold(tmp_path, rng)
    fold = load_fold(run, "as-is")
    # the shipped detector: another scale (scores squeezed towards 0.5)
    y = np.r_[np.zeros(500, bool), np.ones(300, bool)]
    p = np.r_[rng.beta(4, 8, 500), rng.beta(8, 4, 300)]
    cal = fit_calibration(_logits(p), y.astype(int), fake_indices=(1,)).to_dict()
    cal.update(temperature=1.0, class_bias=[0.0, 0.0])
    out = apply_leave_out(cal, p, y, [fold], target=0.05)
    lo = out["band"][0]
    assert lo <= cal["band"][0]  # never above validation's edge
    share = out["low_edge"]["real_share_below"]
    assert (p[~y] < lo).mean() == pytest.approx(share, abs=1 / 500 + 1e-9) or lo == cal["band"][0]
    lo_b, hi_b = out["lr_bounds"]
    elubs = [v["elub"] for v in out["lr_validation"]]
    assert np.log10(hi_b) == pytest.approx(min(e[1] for e in elubs))
    assert np.log10(lo_b) == pytest.approx(max(e[0] for e in elubs))
    c = Calibration.from_dict(out)
    assert c.low_edge is not None and len(c.lr_validation) == 2 and c.leave_out_miss_rate["n"] == 100
    # every LR the calibration reports stays inside the bounds
    for q in (0.001, 0.5, 0.999):
        assert lo_b - 1e-12 <= c.assess(q).likelihood_ratio <= hi_b + 1e-12
    assert Calibration.from_dict(json.loads(json.dumps(c.to_dict()))).to_dict() == c.to_dict()
