"""Leave-source-out protocol: hold-out specs, the per-group row (rates, intervals, which AUC), and a tiny fold run
end to end (left out of training and calibration, reported on every left-out file)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_training import tiny_cfg  # noqa: F401  (the tiny synthetic training fixture)

from forensics.errors import ForensicsError
from forensics.evaluation import auc, wilson_interval
from forensics.training.data import Sample, is_held, parse_hold, video_group
from forensics.training.leave_out import FAKE_KIND, PAIRED, REAL_SOURCE, fold_config, group_row


def _s(source: str, kind: str = "real") -> Sample:
    return Sample(path="x", rel="x", label="real" if kind == "real" else "fake", kind=kind, source=source, group="g")


def test_hold_specs_match_source_kind_and_family():
    assert is_held(_s("ciplab"), ["source:ciplab"]) and not is_held(_s("ciplab_photoshop", "edit"), ["source:ciplab"])
    assert is_held(_s("ciplab_photoshop", "edit"), ["family:ciplab"]) and is_held(_s("ciplab"), ["family:ciplab"])
    assert is_held(_s("sdfd_sd21", "diffusion"), ["kind:diffusion"]) and not is_held(
        _s("sdfd_sd21", "gan"), ["kind:diffusion"]
    )
    for bad in ("ciplab", "camera:x", "source:"):
        with pytest.raises(ForensicsError, match="source:NAME"):
            parse_hold(bad)


def test_dfl_pairs_group_by_video_so_a_pair_moves_together():
    a, b = video_group("dfl_video", "Kim_Jarrey_2_f68_L.png"), video_group("dfl_video", "Kim_Jarrey_2_f68_R.png")
    assert a == b == "video:dfl:Kim_Jarrey_2"
    assert video_group("dfl_video", "Kim_Jarrey_3_f10_L.png") != a
    assert video_group("lfw", "Kim_Jarrey_2_f68_L.png").startswith("file:")  # only that source's naming


def test_group_row_counts_at_the_band_with_wilson_intervals():
    band = (0.2, 0.8)
    p = np.array([0.9, 0.5, 0.1, 0.05, 0.85])  # five left-out camera originals
    val_p = np.array([0.95, 0.9, 0.3, 0.1])
    val_fake = np.array([True, True, False, False])
    groups = np.array(list("abcde"), dtype=object)
    row = group_row(
        "source:x",
        p,
        np.zeros(5, bool),
        groups,
        band,
        val_p=val_p,
        val_fake=val_fake,
        val_groups=np.array(list("wxyz"), dtype=object),
        n_boot=50,
    )
    assert row["what"] == REAL_SOURCE and row["n_real"] == 5 and row["n_fake"] == 0
    assert row["false_accusation"] == pytest.approx([0.4, *wilson_interval(2, 5)])
    assert row["inconclusive"][0] == pytest.approx(0.2) and row["detected"] is None
    # AUC against the fold's validation fakes (the other class), not its validation reals
    assert row["auc"][0] == pytest.approx(auc(np.r_[np.zeros(5, bool), True, True], np.r_[p, 0.95, 0.9]))
    fakes = group_row(
        "kind:y",
        np.array([0.9, 0.1, 0.5]),
        np.ones(3, bool),
        groups[:3],
        band,
        val_p=val_p,
        val_fake=val_fake,
        val_groups=np.array(list("wxyz"), dtype=object),
        n_boot=50,
    )
    assert fakes["what"] == FAKE_KIND and fakes["false_accusation"] is None
    assert fakes["detected"][0] == pytest.approx(1 / 3) and fakes["missed"][0] == pytest.approx(1 / 3)
    assert fakes["auc"][0] == pytest.approx(auc(np.r_[True, True, True, False, False], np.r_[0.9, 0.1, 0.5, 0.3, 0.1]))
    pair = group_row(
        "source:z",
        np.array([0.1, 0.9, 0.2, 0.3]),
        np.array([False, True, False, True]),
        np.array(["v1", "v1", "v2", "v2"], dtype=object),
        band,
        val_p=val_p,
        val_fake=val_fake,
        val_groups=np.array(list("wxyz"), dtype=object),
        n_boot=50,
    )
    assert pair["what"] == PAIRED and pair["auc"][0] == pytest.approx(1.0)  # within the pairs only


def test_fold_config_is_one_unexported_seed_with_its_own_folder():
    from forensics.paths import PROJECT_ROOT
    from forensics.training.config import TrainConfig

    cfg = TrainConfig.from_toml(PROJECT_ROOT / "configs" / "from-imagenet.toml")
    fold = fold_config(cfg, ["source:pixabay_portraits", "kind:diffusion"], minutes=5)
    assert fold.data.holdout == ("source:pixabay_portraits", "kind:diffusion")
    assert not fold.export.enabled and not fold.soup.seeds and fold.train.max_minutes == 5
    assert fold.name == "from-imagenet-lso-pixabayportraits-diffusion" and fold.out_path != cfg.out_path
    assert (
        fold.replace(
            name=cfg.name,
            data={"holdout": ()},
            export=cfg.export,
            soup=cfg.soup,
            train={"max_minutes": cfg.train.max_minutes},
        ).to_dict()
        == cfg.to_dict()
    )
    with pytest.raises(ForensicsError, match="at least one"):
        fold_config(cfg, [])


@pytest.mark.slow
def test_fold_leaves_groups_out_of_training_and_calibration_and_reports_them(tiny_cfg):  # noqa: F811
    from forensics.training.leave_out import collect, leave_out_report
    from forensics.training.trainer import train

    cfg = fold_config(tiny_cfg, ["source:camB", "kind:gan"])
    train(cfg, progress=False)
    rows = [r.split(",") for r in (cfg.out_path / "split.csv").read_text().splitlines()[1:]]
    assert rows and not any(r[4] == "camB" or r[3] == "gan" for r in rows)  # neither trained nor calibrated on
    rep = leave_out_report(cfg, n_boot=20)
    by = {r["held_out"]: r for r in rep["rows"]}
    assert by["source:camB"]["n_real"] == 7 and by["source:camB"]["what"] == REAL_SOURCE  # 4 train + 3 val files
    assert by["kind:gan"]["n_fake"] == 7 and by["kind:gan"]["what"] == FAKE_KIND
    assert json.loads((cfg.out_path / "leave_out.json").read_text())["as-is"]["band"] == rep["band"]
    leave_out_report(cfg, normalise=(40, 80), n_boot=20)
    assert {r["condition"] for r in collect([cfg.out_path])} == {"as-is", "40px-q80"}
