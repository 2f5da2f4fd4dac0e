"""Metric functions against scikit-learn and hand-computed cases; figure builders."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.errors import ForensicsError
from forensics.evaluation import (
    auc,
    binary_report,
    bootstrap_ci,
    compact_roc,
    det_curve,
    eer,
    expected_calibration_error,
    rate_table,
    reliability_curve,
    roc_curve,
    tpr_at_fpr,
    wilson_interval,
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_and_roc_match_sklearn(seed):
    from sklearn.metrics import roc_auc_score
    from sklearn.metrics import roc_curve as sk_roc

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.normal(y * 0.8, 1.0), 1)  # rounding makes ties
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    fpr, tpr, thr = roc_curve(y, s)
    sk_fpr, sk_tpr, sk_thr = sk_roc(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_allclose(thr[1:], sk_thr[1:])
    assert np.trapezoid(tpr, fpr) == pytest.approx(auc(y, s), abs=1e-12)


def test_hand_cases():
    y = np.array([0, 0, 1, 1])
    assert auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    # separable: EER 0, TPR 1 at any FPR
    s = np.array([0.1, 0.2, 0.8, 0.9])
    rate, thr = eer(y, s)
    assert rate == 0.0 and 0.2 < thr <= 0.8
    assert tpr_at_fpr(y, s, 0.0) == 1.0
    # perfectly inverted: EER 1
    assert eer(y, 1 - s)[0] == 1.0
    # one real above one fake out of 2+2: fpr/fnr cross at 0.5
    assert eer(y, np.array([0.1, 0.6, 0.5, 0.9]))[0] == pytest.approx(0.5)


def test_eer_matches_crossing_of_det_curve():
    rng = np.random.default_rng(5)
    y = np.r_[np.zeros(2000, int), np.ones(2000, int)]
    s = np.r_[rng.normal(0, 1, 2000), rng.normal(2, 1, 2000)]
    rate, _ = eer(y, s)
    # for two unit normals 2 apart the EER is Phi(-1) = 0.1587
    assert rate == pytest.approx(0.1587, abs=0.015)
    fpr, fnr, _ = det_curve(y, s)
    i = np.argmin(np.abs(fpr - fnr))
    assert abs(fpr[i] - rate) < 0.01


def test_tpr_at_fpr_respects_the_limit():
    y = np.array([0] * 100 + [1] * 10)
    s = np.r_[np.arange(100) / 100.0, np.full(10, 0.985)]
    # only the real at 0.99 outranks the fakes: 1% FPR reaches all fakes, 0% FPR none of them
    assert tpr_at_fpr(y, s, 0.01) == 1.0
    assert tpr_at_fpr(y, s, 0.0) == 0.0


def test_ece_hand_case_and_perfect_calibration():
    y = np.array([0, 1, 1, 1])
    p = np.array([0.05, 0.95, 0.95, 0.95])
    # bin 0: mean 0.05, frac 0 -> 0.05 * 1/4; bin 9: mean 0.95, frac 1 -> 0.05 * 3/4
    assert expected_calibration_error(y, p, bins=10) == pytest.approx(0.05)
    rng = np.random.default_rng(0)
    p = rng.random(200000)
    y = rng.random(200000) < p
    assert expected_calibration_error(y, p) < 0.01
    rc = reliability_curve(y, p, 10)
    assert rc["count"].sum() == 200000


def test_bootstrap_interval_covers_point_and_narrows_with_n():
    rng = np.random.default_rng(1)

    def data(n):
        y = np.r_[np.zeros(n, int), np.ones(n, int)]
        return y, np.r_[rng.normal(0, 1, n), rng.normal(1, 1, n)]

    y1, s1 = data(50)
    v, lo, hi = bootstrap_ci(auc, y1, s1, n_boot=300)
    assert lo <= v <= hi
    y2, s2 = data(1000)
    v2, lo2, hi2 = bootstrap_ci(auc, y2, s2, n_boot=300)
    assert (hi2 - lo2) < (hi - lo) / 2
    assert 0.72 < lo2 < v2 < hi2 < 0.80  # true AUC Phi(1/sqrt 2) = 0.760


def test_bootstrap_by_group_moves_groups_together():
    # 4 "videos", each 50 identical frames: resampling by group has only 4 units per class -> wide interval
    y = np.r_[np.zeros(100, int), np.ones(100, int)]
    s = np.r_[np.repeat([0.1, 0.6], 50), np.repeat([0.5, 0.9], 50)]
    groups = np.repeat(["a", "b", "c", "d"], 50)
    _, lo_g, hi_g = bootstrap_ci(auc, y, s, n_boot=300, groups=groups)
    _, lo_f, hi_f = bootstrap_ci(auc, y, s, n_boot=300)
    assert (hi_g - lo_g) > (hi_f - lo_f)


def test_wilson_interval():
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and 0.15 < hi < 0.17  # 0/20: upper bound ~0.161
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(1 - hi)


def test_binary_report_and_rate_table():
    rng = np.random.default_rng(2)
    y = np.r_[np.zeros(100, int), np.ones(100, int)]
    s = np.clip(np.r_[rng.normal(0.3, 0.15, 100), rng.normal(0.7, 0.15, 100)], 0, 1)
    rep = binary_report(y, s, n_boot=100)
    for k in ("auc", "accuracy", "eer", "tpr_at_fpr_1pct", "tpr_at_fpr_5pct", "ece"):
        v = rep[k]["value"]
        lo, hi = rep[k]["ci95"]
        assert lo <= v <= hi, k
    assert rep["n_real"] == 100 and rep["n_fake"] == 100
    tab = rate_table(s[:100] >= 0.5, ["a"] * 60 + ["b"] * 40)
    assert tab["a"]["n"] == 60 and tab["a"]["flagged"] == int((s[:60] >= 0.5).sum())


def test_metrics_need_both_classes():
    with pytest.raises(ForensicsError):
        auc(np.zeros(5, int), np.linspace(0, 1, 5))


@pytest.mark.parametrize(("seed", "n"), [(0, 900), (1, 60)])
def test_compact_roc_keeps_points_of_the_curve_and_its_area(seed, n):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.round(rng.normal(y * 1.2, 1.0), 3)
    fpr, tpr, _ = roc_curve(y, s)
    c = compact_roc(y, s, max_points=100)
    assert len(c["fpr"]) == len(c["tpr"]) <= 100
    assert (c["fpr"][0], c["tpr"][0], c["fpr"][-1], c["tpr"][-1]) == (0.0, 0.0, 1.0, 1.0)
    full = set(zip(np.round(fpr, 5).tolist(), np.round(tpr, 5).tolist(), strict=True))
    assert set(zip(c["fpr"], c["tpr"], strict=True)) <= full  # points of the curve, none made up
    assert np.all(np.diff(c["fpr"]) >= 0) and np.all(np.diff(c["tpr"]) >= 0)
    assert c["auc"] == auc(y, s) and (c["n_real"], c["n_fake"]) == (int((y == 0).sum()), int(y.sum()))
    assert np.trapezoid(c["tpr"], c["fpr"]) == pytest.approx(c["auc"], abs=0.01)
    if len(fpr) <= 100:  # a short curve is kept whole
        assert len(c["fpr"]) == len(fpr)
    with pytest.raises(ForensicsError, match="at least 2 points"):
        compact_roc(y, s, max_points=1)


def test_stored_roc_figure_draws_the_kept_points():
    from forensics.viz.curves import stored_roc_figure

    roc = {"fpr": [0.0, 0.1, 1.0], "tpr": [0.0, 0.8, 1.0], "auc": 0.85}
    fig = stored_roc_figure(roc, "det")
    assert list(fig.data[0].x) == roc["fpr"] and list(fig.data[0].y) == roc["tpr"]
    assert fig.data[0].name == "det (AUC 0.850)" and fig.data[1].name == "chance"


def test_figures_build():
    from forensics.viz.curves import det_figure, reliability_figure, roc_figure

    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.3, 0.7, 0.9, 0.6, 0.4])
    for fn in (roc_figure, det_figure, reliability_figure):
        fig = fn({"model": (y, s)})
        assert fig.data[0].name.startswith("model") and len(fig.data[0].x) > 2


def test_cross_fitted_rates_are_out_of_sample():
    from forensics.evaluation import cross_fitted_rates

    rng = np.random.default_rng(3)
    n = 400
    labels = np.r_[np.zeros(n, int), np.ones(n, int)]
    logits = np.c_[np.zeros(2 * n), np.r_[rng.normal(-2, 1.5, n), rng.normal(2, 1.5, n)]]
    sources = ["camA"] * n + ["gan"] * n
    groups = [f"file:{i}" for i in range(2 * n)]
    r = cross_fitted_rates(logits, labels, sources, groups, fake_indices=(1,), target_error=0.05)
    assert 0.0 <= r["false_positive_rate"] < 0.12  # near the 5% target, measured on held-out halves
    assert r["real_flagged_per_source"]["camA"]["n"] == n


def test_cross_fit_holds_the_recipe_conditions_and_counts_on_judged_logits():
    from forensics.evaluation import cross_fitted_rates

    rng = np.random.default_rng(4)
    n = 400
    labels = np.r_[np.zeros(n, int), np.ones(n, int)]
    logits = np.c_[np.zeros(2 * n), np.r_[rng.normal(-2, 1.5, n), rng.normal(2, 1.5, n)]]
    shared = np.c_[logits[:, 0], logits[:, 1] + np.where(labels == 0, 1.5, 0.0)]  # re-shared reals look worse
    sources = ["camA"] * n + ["gan"] * n
    groups = [f"file:{i}" for i in range(2 * n)]
    kw = {"fake_indices": (1,), "target_error": 0.05}
    plain = cross_fitted_rates(logits, labels, sources, groups, **kw)
    assert {
        k: v
        for k, v in cross_fitted_rates(logits, labels, sources, groups, judged=logits, **kw).items()
        if k != "method"
    } == {k: v for k, v in plain.items() if k != "method"}
    blind = cross_fitted_rates(logits, labels, sources, groups, judged=shared, **kw)
    robust = cross_fitted_rates(logits, labels, sources, groups, conditions={"c": shared}, judged=shared, **kw)
    assert blind["false_positive_rate"] > 0.12  # a threshold fitted on the files alone breaks on re-shared reals
    assert robust["false_positive_rate"] < 0.12 and robust["false_positive_rate"] < blind["false_positive_rate"]
    assert "threshold also held under c" in robust["method"] and "re-sampling the fit did not see" in robust["method"]


@pytest.mark.slow
def test_evaluate_command_end_to_end(tmp_path, monkeypatch):
    """Synthetic labelled folder -> evaluate (as-is + normalised, floor, untrained detector) -> results.json."""
    import json

    from PIL import Image

    from forensics.cli import main

    monkeypatch.setenv("FORENSICS_CROP_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    for sub, n in (("real/camA", 6), ("real/camB", 4), ("fake/gan/ganA", 5), ("fake/faceswap/swapA", 5)):
        d = tmp_path / "data" / sub
        d.mkdir(parents=True)
        for i in range(n):
            arr = rng.integers(0, 255, (72, 72, 3), dtype=np.uint8)
            if "fake" in sub:
                arr[::2] = 128
            Image.fromarray(arr).save(d / f"img{i}.png")
    out = tmp_path / "out"
    code = main(
        [
            "evaluate",
            str(tmp_path / "data"),
            "--detector",
            "simplenet",
            "--normalise",
            "64,80",
            "--floor",
            str(tmp_path / "data"),
            "--out",
            str(out),
            "--bootstrap",
            "30",
        ]
    )
    assert code == 0
    res = json.loads((out / "results.json").read_text())
    assert set(res["conditions"]) == {"as-is", "normalised 64px q80"}
    block = res["conditions"]["as-is"]
    assert block["n_faces"] == 20
    assert set(block["models"]) == {"simplenet", "floor-imagenet-logreg"}
    m = block["models"]["floor-imagenet-logreg"]
    assert set(m["per_kind"]) == {"gan", "faceswap"}
    assert m["real_flagged_per_source"]["camA"]["n"] == 6
    assert 0 <= m["overall"]["auc"]["value"] <= 1
    roc = block["models"]["simplenet"]["roc"]  # the compact curve a card keeps, of the same scores
    assert roc["auc"] == pytest.approx(block["models"]["simplenet"]["overall"]["auc"]["value"])
    assert (roc["n_real"], roc["n_fake"]) == (10, 10)
    assert (out / "roc_asis.html").is_file() and (out / "det_normalised.html").is_file()
    rows = (out / "scores.csv").read_text().splitlines()
    assert len(rows) == 1 + 40


def test_paired_auc_exposes_a_source_shortcut():
    """A score that only recognises the dataset family ("ciplab look = fake") ranks ciplab edits above every other
    real face (high AUC against all reals) but is at chance against ciplab's own reals."""
    from forensics.evaluation import family, summarise_scores

    rng = np.random.default_rng(0)
    sources = ["utkface"] * 200 + ["ciplab"] * 40 + ["ciplab_photoshop"] * 40 + ["lfw"] * 50 + ["lfw_faceswap"] * 50
    kinds = ["real"] * 240 + ["edit"] * 40 + ["real"] * 50 + ["faceswap"] * 50
    y = np.array([k != "real" for k in kinds])
    fam = np.array([family(s) for s in sources])
    score = np.where(fam == "ciplab", 0.8, 0.2) + rng.normal(0, 0.05, len(y))  # family only
    score[(fam == "lfw") & y] += 0.5  # a real swap signal within lfw
    m = summarise_scores(score, y, kinds, sources, [str(i) for i in range(len(y))], threshold=0.5, n_boot=50)
    edit = m["per_kind"]["edit"]
    assert edit["auc_vs_all_real"] > 0.8
    assert abs(edit["paired"]["auc"] - 0.5) < 0.15 and edit["paired"]["real_sources"] == ["ciplab"]
    assert m["per_kind"]["faceswap"]["paired"]["auc"] > 0.99
    assert m["paired_per_fake_source"]["lfw_faceswap"]["n_real"] == 50
    assert family("ffpp_df") == "ffpp" and family("lfw") == "lfw"


def test_normalise_option_shares_the_range_check_of_the_training_config():
    from forensics.commands.evaluate import _parse_normalise
    from forensics.errors import ForensicsError

    assert _parse_normalise("256,75") == (256, 75) and _parse_normalise(None) is None
    with pytest.raises(ForensicsError, match=r"--normalise 16,75: side must be 32\.\.4096"):
        _parse_normalise("16,75")
    with pytest.raises(ForensicsError, match="quality 10..100"):
        _parse_normalise("256,101")
    with pytest.raises(ForensicsError, match="wants SIDE,QUALITY"):
        _parse_normalise("256")


def test_auc_difference_is_paired():
    from sklearn.metrics import roc_auc_score

    from forensics.evaluation import auc_difference_ci, auc_differences_per_kind, bootstrap_ci

    rng = np.random.default_rng(7)
    n = 300
    y = np.r_[np.zeros(n, bool), np.ones(n, bool)]
    a = np.r_[rng.normal(0, 1, n), rng.normal(1.2, 1, n)]
    b = a + rng.normal(0, 0.3, 2 * n)  # the same ranking blurred a little: a is better, by a small margin
    d, lo, hi = auc_difference_ci(y, a, b, n_boot=400)
    assert d == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b))
    assert 0 < lo < d < hi
    # the two marginal intervals overlap although the paired one is clear of 0: pairing is what shows the gain
    _, a_lo, a_hi = bootstrap_ci(auc, y, a, n_boot=400)
    _, b_lo, b_hi = bootstrap_ci(auc, y, b, n_boot=400)
    assert a_lo < b_hi and hi - lo < (a_hi - a_lo) / 2
    assert auc_difference_ci(y, a, a, n_boot=50) == (0.0, 0.0, 0.0)
    # per kind: each kind's fakes against all reals, the same numbers as a direct call on that subset
    kinds = np.array(["real"] * n + ["gan"] * (n // 2) + ["edit"] * (n // 2), dtype=object)
    groups = [f"f{i}" for i in range(2 * n)]
    per = auc_differences_per_kind(y, kinds, groups, {"a": a, "b": b}, "a", n_boot=100)
    assert set(per) == {"b"} and set(per["b"]) == {"edit", "gan"}
    sel = ~y | (kinds == "gan")
    ref = auc_difference_ci(y[sel], a[sel], b[sel], n_boot=100, groups=np.array(groups, dtype=object)[sel])
    assert per["b"]["gan"] == {"difference": ref[0], "ci95": [ref[1], ref[2]]}
