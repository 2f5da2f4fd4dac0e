"""Training: splits never leak, source balancing, self-blended images, augmentations, and a tiny end-to-end run
(synthetic images in tmp folders: checkpoint, resume, export + reload, distillation, Optuna)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from forensics.errors import ForensicsError
from forensics.training.augment import AugmentConfig, augment
from forensics.training.config import TrainConfig
from forensics.training.data import (
    Sample,
    balanced_weights,
    check_no_leak,
    list_samples,
    sampling_weights,
    split_by_group,
    video_group,
)


# ------------------------------------------------------------------------------------------------ splits
def _ffpp_samples() -> list[Sample]:
    out = []
    for src, kind, label in (("ffpp", "real", "real"), ("ffpp_df", "faceswap", "fake")):
        for video in range(30):
            for frame in range(4):
                name = f"image_{video}_{frame}.png"
                out.append(
                    Sample(
                        path=name,
                        rel=f"{label}/{src}/{name}",
                        label=label,
                        kind=kind,
                        source=src,
                        group=video_group(src, name),
                    )
                )
    for i in range(40):
        out.append(
            Sample(
                path=f"r{i}.jpg",
                rel=f"real/lfw/r{i}.jpg",
                label="real",
                kind="real",
                source="lfw",
                group=video_group("lfw", f"r{i}.jpg"),
            )
        )
    return out


def test_video_group_parses_ffpp_names():
    assert video_group("ffpp", "image_103_19.png") == "video:103"
    assert video_group("ffpp_nt", "image_103_2.png") == "video:103"  # same video across real and fake
    assert video_group("lfw", "real_1010.jpg") == "file:lfw/real_1010.jpg"
    assert video_group("sdfd", "anE-159,3.jpg").startswith("file:")


def test_split_by_group_never_leaks_a_video():
    samples = _ffpp_samples()
    train, val = split_by_group(samples, 0.25, seed=3)
    assert len(train) + len(val) == len(samples)
    videos_train = {s.group for s in train if s.group.startswith("video:")}
    videos_val = {s.group for s in val if s.group.startswith("video:")}
    assert videos_val and not (videos_train & videos_val)
    # every frame of a validation video is in validation
    for s in samples:
        if s.group in videos_val:
            assert s in val
    check_no_leak(train, val)


def test_check_no_leak_catches_a_frame_level_split():
    samples = [s for s in _ffpp_samples() if s.source == "ffpp"]
    train = [s for s in samples if not s.path.endswith("_0.png")]
    val = [s for s in samples if s.path.endswith("_0.png")]  # frame 0 of every video: leaks
    with pytest.raises(ForensicsError, match="leaks"):
        check_no_leak(train, val)


def test_shared_split_has_no_video_leak(shared_data):
    check_no_leak(list_samples(shared_data / "train"), list_samples(shared_data / "val"))


# ------------------------------------------------------------------------------------------------ balancing
def test_balanced_weights_hand_case():
    strata = [(0, "big")] * 90 + [(0, "small")] * 10 + [(1, "gan")] * 20
    w = balanced_weights(strata, [0.5, 0.5], power=0.5)
    # real class: sqrt(90)=9.49 vs sqrt(10)=3.16 -> big gets 0.75 of the class half
    assert w[:90].sum() == pytest.approx(0.5 * 9.4868 / (9.4868 + 3.1623), rel=1e-4)
    assert w[90:100].sum() == pytest.approx(0.5 * 3.1623 / (9.4868 + 3.1623), rel=1e-4)
    assert w[100:].sum() == pytest.approx(0.5)
    assert w.sum() == pytest.approx(1.0)


def test_sampling_weights_with_sbi_and_missing_class():
    strata = [(0, "a")] * 10 + [(2, "gan")] * 5  # no natural examples of class 1
    sbi = [(1, "a")] * 10
    w = sampling_weights(strata, sbi, [0.4, 0.35, 0.25], power=0.5, sbi_share=0.5)
    assert w.sum() == pytest.approx(1.0)
    assert w[15:].sum() == pytest.approx(0.35)  # SBI takes all of class 1 when it has no natural examples
    assert w[:10].sum() == pytest.approx(0.4)


# ------------------------------------------------------------------------------------------------ augment
def _face_like(size: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    base = np.stack([(xx * 2) % 255, (yy * 2) % 255, (xx + yy) % 255], -1).astype(np.float64)
    return np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)


def test_augment_output_and_determinism():
    img = _face_like(256)
    cfg = AugmentConfig(input_size=96, jpeg_p=1.0, rescale_p=1.0, blur_p=1.0, noise_p=1.0)
    a = augment(img, cfg, np.random.default_rng(7))
    b = augment(img, cfg, np.random.default_rng(7))
    c = augment(img, cfg, np.random.default_rng(8))
    assert a.shape == (96, 96, 3) and a.dtype == np.uint8
    assert (a == b).all() and not (a == c).all()


def test_jpeg_recompress_removes_quality_cue():
    from forensics.training.augment import jpeg_recompress

    img = _face_like(128)
    q30, q95 = jpeg_recompress(img, 30), jpeg_recompress(img, 95)
    err30 = np.abs(q30.astype(int) - img).mean()
    err95 = np.abs(q95.astype(int) - img).mean()
    assert err30 > err95 > 0


# ------------------------------------------------------------------------------------------------ end to end
def _write_tree(root, n_per=4, size=80, seed=0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    layout = {"real/camA": 0, "real/camB": 0, "fake/gan/ganA": 1, "fake/faceswap/swapA": 2}
    for sub, style in layout.items():
        d = root / sub
        d.mkdir(parents=True)
        for i in range(n_per):
            base = rng.integers(60, 200, (size, size, 3)).astype(np.float64)
            if style == 1:
                base = np.clip(base * 0.3 + 120, 0, 255)  # flatter "generated" look
            elif style == 2:
                base[20:60, 20:60] = 255 - base[20:60, 20:60]
            name = f"image_{i + 100 * seed}_0.png" if sub.endswith("swapA") else f"img{i}.png"
            Image.fromarray(base.astype(np.uint8)).save(d / name)


@pytest.fixture()
def tiny_cfg(tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_CROP_CACHE", str(tmp_path / "cache"))
    _write_tree(tmp_path / "data" / "train", n_per=4, seed=0)
    _write_tree(tmp_path / "data" / "val", n_per=3, seed=1)
    raw = {
        "name": "tiny",
        "seed": 1,
        "out_dir": str(tmp_path / "run"),
        "data": {
            "train_dir": str(tmp_path / "data" / "train"),
            "val_dir": str(tmp_path / "data" / "val"),
            "crop_method": "whole",
            "crop_size": 64,
            "sbi_share": 0.5,
        },
        "model": {"architecture": "mobilenetv2", "init": "none"},
        "augment": {"input_size": 48, "rescale_min": 24},
        "train": {"batch_size": 4, "samples_per_epoch": 8, "threads": 1, "val_batch_size": 16},
        "stages": [{"epochs": 1, "unfreeze": "head", "lr": 1e-3}, {"epochs": 1, "unfreeze": 2, "lr": 1e-3}],
        "export": {"enabled": False, "name": "tiny-det", "weights_dir": str(tmp_path / "weights")},
    }
    return TrainConfig.from_dict(raw)


def test_config_rejects_unknown_keys():
    with pytest.raises(ForensicsError, match="unknown"):
        TrainConfig.from_dict({"train": {"batchsize": 3}})
    with pytest.raises(ForensicsError, match="unknown"):
        TrainConfig.from_dict({"nmae": "x"})
    with pytest.raises(ForensicsError, match="sbi_part_p = 1.4 must lie in"):
        TrainConfig.from_dict({"data": {"sbi_part_p": 1.4}})
    with pytest.raises(ForensicsError, match="border_p"):
        TrainConfig.from_dict({"augment": {"border_p": -0.1}})


def test_default_config_parses():
    from forensics.paths import PROJECT_ROOT

    default = TrainConfig.from_toml(PROJECT_ROOT / "configs" / "default.toml")
    cfg = TrainConfig.from_toml(PROJECT_ROOT / "configs" / "from-imagenet.toml")
    assert default.name == "ffd-mobilenetv2" and default.export.enabled and not cfg.export.enabled
    # the shipped default fine-tunes the previous default (kept in weights/init/) with the from-ImageNet recipe's
    # data, sampling, augmentations and calibration
    assert (PROJECT_ROOT / default.model.init).is_file() and cfg.model.init == "imagenet"
    assert {k: v for k, v in default.to_dict().items() if k in ("data", "augment", "calibration")} == {
        k: v for k, v in cfg.to_dict().items() if k in ("data", "augment", "calibration")
    }
    assert cfg.data.classes == ("real", "face-manipulated", "generated")
    assert cfg.augment.jpeg_p > 0 and cfg.augment.rescale_p > 0 and cfg.data.sbi_share > 0
    assert len(cfg.soup.seeds) == 2 and cfg.soup.seeds[0] == cfg.seed  # from ImageNet: a soup of two seeds
    assert not default.soup.seeds and default.stages[-1].unfreeze == cfg.stages[-1].unfreeze
    # the resolution-matching experiment changes only that against the recipe it is compared with
    match = {
        "match_resolution_p": cfg.augment.match_resolution_p,
        "match_resolution_range": cfg.augment.match_resolution_range,
    }
    for name, base in (("default-resmatch", cfg),):
        exp = TrainConfig.from_toml(PROJECT_ROOT / "configs" / f"{name}.toml")
        assert exp.augment.match_resolution_p > 0 and not exp.export.enabled
        assert (
            exp.replace(name=base.name, augment=match, export=base.export, soup=base.soup).to_dict() == base.to_dict()
        )
    # the threshold must also hold on re-shared evidence, under conditions other than evaluate's 256,75 check
    assert cfg.calibration.resampled and (256, 75) not in cfg.calibration.resampled


def test_config_reads_resampling_conditions():
    cfg = TrainConfig.from_dict({"calibration": {"resampled": [[192, 60], [320, 90]]}})
    assert cfg.calibration.resampled == ((192, 60), (320, 90))
    with pytest.raises(ForensicsError, match="side must be 32..4096"):
        TrainConfig.from_dict({"calibration": {"resampled": [[16, 60]]}})
    with pytest.raises(ForensicsError, match="pairs"):
        TrainConfig.from_dict({"calibration": {"resampled": [[256, 75, 3]]}})


@pytest.mark.slow
def test_tiny_training_checkpoint_resume_export(tiny_cfg, tmp_path):
    import torch

    from forensics.detectors import create_detector
    from forensics.training.export import export_model
    from forensics.training.run_log import LOG
    from forensics.training.trainer import CHECKPOINT, train

    class Interrupt(Exception):
        pass

    def stop_after_first(epoch, rec):
        if epoch == 0:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(tiny_cfg, progress=False, epoch_callback=stop_after_first)
    out = tiny_cfg.out_path
    ckpt = torch.load(out / CHECKPOINT, map_location="cpu", weights_only=False)
    assert ckpt["epoch"] == 0 and ckpt["stage"] == 0
    with pytest.raises(ForensicsError, match="--resume"):
        train(tiny_cfg, progress=False)  # refuses to overwrite silently
    with pytest.raises(ForensicsError, match="different config"):  # another recipe cannot continue this run
        train(tiny_cfg.replace(train={"label_smoothing": 0.2}), resume=True, progress=False)
    # naming the export does not change what is learnt: the run resumes under it
    res = train(tiny_cfg.replace(export={"name": "renamed"}), resume=True, progress=False)
    assert res.epochs_done == 2 and not res.stopped_early
    log = [json.loads(line) for line in (out / LOG).read_text().splitlines()]
    epochs = [r["epoch"] for r in log if r["event"] == "epoch"]
    assert epochs == [0, 1]  # epoch 0 not repeated after the resume
    assert [r["event"] for r in log].count("resume") == 1
    first = next(r for r in log if r["event"] == "epoch")
    assert first["samples"] == 8 and set(first["class_draws"]) <= {"real", "face-manipulated", "generated"}
    # the split file lists every file with its hash, and train/val are disjoint
    rows = (out / "split.csv").read_text().splitlines()
    assert rows[0].startswith("split,path") and len(rows) == 1 + 16 + 12
    assert all(len(r.split(",")[-1]) == 64 for r in rows[1:])
    cal = json.loads((out / "calibration.json").read_text())
    assert cal["temperature"] > 0 and 0 <= cal["band"][0] <= cal["band"][1] <= 1
    # --recalibrate refits from the saved validation logits alone: same logits, same calibration, logged
    from forensics.training.run_calibration import recalibrate

    (out / "calibration.json").unlink()
    assert json.loads(json.dumps(recalibrate(tiny_cfg))) == cal
    assert json.loads((out / "calibration.json").read_text()) == cal
    assert json.loads((out / LOG).read_text().splitlines()[-1])["event"] == "recalibrated"
    with pytest.raises(ForensicsError, match="val_logits"):
        recalibrate(tiny_cfg.replace(out_dir=str(tmp_path / "never-run")))

    # export -> manifest -> create_detector reloads the same function (ready, calibrated)
    wdir = tmp_path / "weights"
    dst = export_model(tiny_cfg, out)
    det = create_detector("tiny-det", manifest=wdir / "manifest.json", weights_dirs=[wdir])
    assert det.ready and det.calibration is not None and det.classes == ("real", "face-manipulated", "generated")
    assert (wdir / "tiny-det.card.md").is_file() and (wdir / "tiny-det.split.csv").is_file()
    assert dst.name == "tiny-det.safetensors"
    card = det.card.to_dict()
    assert "train" in card["reproduce"] and card["metrics"]["epochs_done"] == 2
    # the size histogram of the training images, one count per train row of the split (what the caveat reads)
    import csv

    with open(wdir / "tiny-det.split.csv", newline="") as fh:
        n_train = sum(r["split"] == "train" for r in csv.DictReader(fh))
    sides = card["training_image_sides"]
    assert sum(sum(c) for c in sides["counts"].values()) == n_train > 0 and "real" in sides["counts"]
    assert "## Training images by size" in (wdir / "tiny-det.card.md").read_text()

    # evaluation results merge into the card: readable tables (all-real and same-family AUC, false accusations)
    from forensics.evaluation import compact_roc, summarise_scores
    from forensics.training.export import update_card_with_evaluation

    rng = np.random.default_rng(0)
    src = ["lfw"] * 20 + ["lfw_faceswap"] * 10 + ["utkface"] * 20
    kinds = ["real"] * 20 + ["faceswap"] * 10 + ["real"] * 20
    y = np.array([k != "real" for k in kinds])
    p = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.1, len(y)), 0, 1)
    summary = summarise_scores(p, y, kinds, src, [str(i) for i in range(len(y))], threshold=0.6, n_boot=20)
    summary["roc"] = compact_roc(y, p)
    update_card_with_evaluation(
        "tiny-det",
        {
            "data_dir": "/x/val",
            "models": {"tiny-det": {"weights_sha256": det.weights_sha256}},
            "conditions": {"as-is": {"n_faces": len(y), "models": {"tiny-det": summary}}},
        },
        command="python -m forensics evaluate /x/val",
        manifest=wdir / "manifest.json",
    )
    md = (wdir / "tiny-det.card.md").read_text()
    fs = summary["per_kind"]["faceswap"]
    assert f"| faceswap | {fs['auc_vs_all_real']:.3f}" in md and f"/ {fs['paired']['auc']:.3f}" in md
    lfw = summary["real_flagged_per_source"]["lfw"]
    assert f"| lfw | {lfw['flagged']}/20 ({lfw['rate']:.1%}) |" in md
    assert "`python -m forensics evaluate /x/val`" in md
    det = create_detector("tiny-det", manifest=wdir / "manifest.json", weights_dirs=[wdir])
    assert det.ready and det.card.metrics["evaluation"]["conditions"]["as-is"]["n_faces"] == 50
    # with its ROC curve and where it was measured (the Models page draws it)
    roc = det.info()["card"]["roc"]
    assert roc["fpr"] == summary["roc"]["fpr"] and roc["auc"] == summary["roc"]["auc"]
    assert (roc["data_dir"], roc["weights_sha256"], roc["condition"]) == ("/x/val", det.weights_sha256, "as-is")
    assert f"## ROC curve\nAUC {roc['auc']:.3f} on 40 camera originals and 10 manipulated" in md


@pytest.mark.slow
def test_distillation_runs_and_logs(tiny_cfg):
    from forensics.training.trainer import train

    cfg = tiny_cfg.replace(
        distill={
            "enabled": True,
            "teacher": "mobilenetv2",
            "teacher_weights": "none",
            "alpha": 0.7,
            "temperature": 2.0,
        },
        stages=(tiny_cfg.stages[0],),
    )
    res = train(cfg, progress=False)
    assert res.epochs_done == 1 and np.isfinite(res.metrics["val_nll"])


@pytest.mark.slow
def test_optuna_two_trials_one_step(tiny_cfg):
    from forensics.training.search import optuna_search

    out = optuna_search(tiny_cfg, n_trials=2, epochs=1, progress=False, max_steps=1)
    assert out["n_trials"] == 2 and out["completed"] + out["pruned"] == 2
    assert (tiny_cfg.out_path / "optuna.json").is_file()
    assert set(out["best_params"]) == {"lr", "unfreeze", "sbi_share"}


def test_normalise_bytes_and_crop_cache(tmp_path, monkeypatch):
    import io

    from PIL import Image

    from forensics.training.crops import CropSettings, face_crop_for_bytes, normalise_bytes

    monkeypatch.setenv("FORENSICS_CROP_CACHE", str(tmp_path / "cache"))
    buf = io.BytesIO()
    Image.fromarray(_face_like(120)[:, :100].copy()).save(buf, format="PNG")
    out = normalise_bytes(buf.getvalue(), 64, 80)
    img = Image.open(io.BytesIO(out))
    assert img.format == "JPEG" and min(img.size) == 64 and img.size == (64, 77)
    s = CropSettings(method="whole", crop_size=48)
    a = face_crop_for_bytes(buf.getvalue(), s)
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 1
    b = face_crop_for_bytes(buf.getvalue(), s)  # from the cache
    assert a.method == b.method == "whole" and (a.crop == b.crop).all() and a.crop.shape == (48, 48, 3)
    assert CropSettings(method="whole", crop_size=48).key() != CropSettings(method="whole", crop_size=64).key()


def test_pair_domains_balances_each_family():
    from forensics.training.data import pair_domains

    strata = [(0, "lfw")] * 10 + [(0, "utk")] * 40 + [(1, "lfw_faceswap")] * 10 + [(2, "gan")] * 10
    sbi = [(1, "lfw")] * 10 + [(1, "utk")] * 40
    w = sampling_weights(strata, sbi, [0.4, 0.35, 0.25], power=0.5, sbi_share=0.5)
    before_lfw_real = w[:10].sum()
    p = pair_domains(w, strata, sbi, floor=0.0)
    assert p.sum() == pytest.approx(1.0) and p[:50].sum() == pytest.approx(w[:50].sum())
    lfw_fake = p[50:60].sum() + p[70:80].sum()
    utk_fake = p[80:].sum()
    # with floor 0 each real family gets real mass proportional to its fake mass
    assert p[:10].sum() / lfw_fake == pytest.approx(p[10:50].sum() / utk_fake)
    assert p[:10].sum() > before_lfw_real
    assert (p[60:] == w[60:]).all()  # fake weights untouched


def test_shipped_card_states_the_failure_modes_export_writes():
    """The manifest's card and its Markdown copy carry the failure modes that a re-export would write (no drift)."""
    import json

    from forensics.detectors.weights import DEFAULT_MANIFEST
    from forensics.training.export import FAILURE_MODES

    entry = next(e for e in json.loads(DEFAULT_MANIFEST.read_text())["entries"] if e["name"] == "ffd-mobilenetv2")
    assert entry["card"]["failure_modes"] == list(FAILURE_MODES)
    md = (DEFAULT_MANIFEST.parent / "ffd-mobilenetv2.card.md").read_text()
    assert all(f"- {f}" in md for f in FAILURE_MODES)


# ------------------------------------------------------------------------------------------------ weight soups
def test_average_state_dicts_hand_case():
    import torch

    from forensics.training.soup import average_state_dicts

    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3), "h": torch.tensor([0.5], dtype=torch.float16)}
    b = {"w": torch.tensor([3.0, -2.0]), "n": torch.tensor(7), "h": torch.tensor([1.5], dtype=torch.float16)}
    c = {"w": torch.tensor([2.0, 3.0]), "n": torch.tensor(5), "h": torch.tensor([1.0], dtype=torch.float16)}
    avg = average_state_dicts([a, b, c])
    assert avg["w"].tolist() == [2.0, 1.0] and avg["n"].item() == 7  # counters: the largest, not a fraction
    assert avg["h"].dtype == torch.float16 and avg["h"].item() == 1.0
    with pytest.raises(ForensicsError, match="other parameters"):
        average_state_dicts([a, {"w": a["w"], "n": a["n"]}])
    with pytest.raises(ForensicsError, match="shape"):
        average_state_dicts([a, {**a, "w": torch.zeros(3)}])
    with pytest.raises(ForensicsError, match="at least two"):
        average_state_dicts([a])


def test_soup_config_needs_two_different_seeds():
    assert TrainConfig.from_dict({"soup": {"seeds": [0, 1]}}).soup.seeds == (0, 1)
    for bad in ([3], [1, 1], [0, 1, 1]):
        with pytest.raises(ForensicsError, match="two or more different seeds"):
            TrainConfig.from_dict({"soup": {"seeds": bad}})


@pytest.mark.slow
def test_soup_reuses_finished_members_averages_and_calibrates(tiny_cfg):
    import torch

    from forensics.detectors import create_detector
    from forensics.detectors.weights import read_state_dict
    from forensics.training.crop_sets import prepare_data
    from forensics.training.crops import predict_logits
    from forensics.training.run_log import LOG
    from forensics.training.soup import member_config, train_soup
    from forensics.training.trainer import train

    cfg = tiny_cfg.replace(soup={"seeds": (1, 2)}, stages=(tiny_cfg.stages[0],))
    m1, m2 = member_config(cfg, 1), member_config(cfg, 2)
    assert m1.seed == 1 and m1.out_path == cfg.out_path / "member-1" and not m1.export.enabled
    train(m1, progress=False)  # a member finished before the soup started (as after an interruption)
    log1 = (m1.out_path / LOG).read_text()
    res = train_soup(cfg, progress=False)
    assert (m1.out_path / LOG).read_text() == log1  # reused, not trained again
    states = [read_state_dict(m.out_path / "model.safetensors") for m in (m1, m2)]
    soup = read_state_dict(cfg.out_path / "model.safetensors")
    key = next(k for k, v in soup.items() if v.is_floating_point() and not torch.equal(states[0][k], states[1][k]))
    assert torch.allclose(soup[key], (states[0][key] + states[1][key]) / 2, atol=1e-7)
    # the soup's validation logits are those of the averaged network, and it is calibrated like a single run
    _, va, _ = prepare_data(cfg, progress=False)
    det = create_detector("mobilenetv2", weights=cfg.out_path / "model.safetensors", classes=cfg.data.classes)
    with np.load(cfg.out_path / "val_logits.npz") as z:
        np.testing.assert_allclose(z["logits"], predict_logits(det.model, va.crops, 48), rtol=1e-5, atol=1e-6)
    assert res.calibration is not None and (cfg.out_path / "calibration.json").is_file()
    log = [json.loads(line) for line in (cfg.out_path / LOG).read_text().splitlines()]
    assert [r["seed"] for r in log if r["event"] == "member"] == [1, 2]
    assert sorted(r["member"] for r in log if r["event"] == "epoch") == [1, 2]
    assert log[-1]["event"] == "done" and log[-1]["epochs_done"] == 2
    assert (cfg.out_path / "split.csv").read_text() == (m1.out_path / "split.csv").read_text()
    with pytest.raises(ForensicsError, match="--resume"):
        train_soup(cfg, progress=False)
    again = train_soup(cfg, resume=True, progress=False)  # nothing left to train: same soup, members logged once
    assert torch.equal(read_state_dict(again.weights)[key], soup[key])
    log = [json.loads(line) for line in (cfg.out_path / LOG).read_text().splitlines()]
    assert [r["seed"] for r in log if r["event"] == "member"] == [1, 2]
    # the exported card says what the weights are: the members, their seeds and validation AUCs
    from forensics.training.export import export_model

    export_model(cfg, cfg.out_path)
    wdir = Path(cfg.export.weights_dir)
    assert "the average of 2 training runs of one recipe (seeds 1, 2" in (wdir / "tiny-det.card.md").read_text()
    entry = json.loads((wdir / "manifest.json").read_text())
    text = json.dumps(entry)
    assert '"soup_members"' in text and "uniform weight soup of 2 seeds" in text
    # a member folder made with another recipe is never averaged in
    import dataclasses

    other = cfg.replace(stages=(dataclasses.replace(cfg.stages[0], lr=5e-4),))
    with pytest.raises(ForensicsError, match="another recipe"):
        train_soup(other, resume=True, progress=False)


def test_run_kinds_script_reads_saved_validation_logits(tmp_path):
    import subprocess
    import sys

    from forensics.evaluation import auc
    from forensics.paths import PROJECT_ROOT

    rng = np.random.default_rng(4)
    kinds = np.array(["real"] * 30 + ["gan"] * 10 + ["reenactment"] * 10)
    labels = np.array([0] * 30 + [2] * 10 + [1] * 10)
    logits = rng.normal(0, 1, (50, 3)) + 1.5 * np.eye(3)[labels]
    np.savez(tmp_path / "val_logits.npz", logits=logits, labels=labels, kinds=kinds)
    out = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "run_kinds.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    head, _, row = out.strip().splitlines()
    cells = dict(zip(head.strip("| ").split(" | "), row.strip("| ").split(" | "), strict=True))
    e = np.exp(logits - logits.max(1, keepdims=True))
    p_fake = e[:, 1:].sum(1) / e.sum(1)
    sel = (kinds == "real") | (kinds == "reenactment")
    assert cells["AUC"] == f"{auc(labels != 0, p_fake):.3f}" and cells["faces"] == "50"
    assert cells["reenactment"] == f"{auc(kinds[sel] == 'reenactment', p_fake[sel]):.3f}"


@pytest.mark.slow
def test_training_is_deterministic_for_a_fixed_seed(tiny_cfg, tmp_path):
    # same config and seed twice in one environment -> the same bytes (draws, blends, augmentations, head init)
    import torch

    from forensics.detectors.weights import read_state_dict
    from forensics.training.trainer import train

    a = read_state_dict(train(tiny_cfg, progress=False).weights)
    b = read_state_dict(train(tiny_cfg.replace(out_dir=str(tmp_path / "again")), progress=False).weights)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    c = read_state_dict(train(tiny_cfg.replace(seed=2, out_dir=str(tmp_path / "seed2")), progress=False).weights)
    assert not all(torch.equal(a[k], c[k]) for k in a)  # and the seed matters


@pytest.mark.slow
def test_resampled_validation_logits_set_the_threshold_and_are_reused(tiny_cfg, monkeypatch):
    from forensics.detectors import create_detector
    from forensics.training import run_calibration, trainer
    from forensics.training.crops import CropSettings, face_crop_for_file

    cfg = tiny_cfg.replace(calibration={"resampled": ((40, 80),)}, stages=(tiny_cfg.stages[0],))
    trainer.train(cfg, progress=False)
    out = cfg.out_path
    with np.load(out / run_calibration.RESAMPLED_LOGITS) as z:
        saved, paths = z["40px-q80"], [str(p) for p in z["paths"]]
    with np.load(out / "val_logits.npz") as z:
        assert len(saved) == len(z["logits"]) == len(paths)
    # the same numbers from the exported file, re-sampled and cropped independently of the trainer
    det = create_detector(
        "mobilenetv2", weights=out / "model.safetensors", classes=cfg.data.classes, fake_indices=(1, 2)
    )
    settings = CropSettings(method="whole", crop_size=64)
    crops = [face_crop_for_file(p, settings, normalise=(40, 80)).crop for p in paths]
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0
    x = F.interpolate(x, size=(48, 48), mode="bilinear", align_corners=False, antialias=True)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    x = (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    with torch.no_grad():
        ref = det.model.cpu().eval()(x).double().numpy()
    np.testing.assert_allclose(saved, ref, atol=1e-4)
    cal = json.loads((out / "calibration.json").read_text())
    assert set(cal["error_rates"]["conditions"]) == {"40px-q80"} and "40px-q80" in cal["fitted_on"]

    # --recalibrate reuses the saved conditions (no new crops)...
    def no_crops(*a, **k):
        raise AssertionError("re-cropped although the logits were saved")

    monkeypatch.setattr("forensics.training.crops.face_crop_for_file", no_crops)
    assert run_calibration.recalibrate(cfg)["band"] == cal["band"]
    # ...and, when they are gone, recomputes them from the saved weights to the same band
    monkeypatch.undo()
    (out / run_calibration.RESAMPLED_LOGITS).unlink()
    again = run_calibration.recalibrate(cfg)
    assert again["band"] == pytest.approx(cal["band"], abs=1e-9)
    with np.load(out / run_calibration.RESAMPLED_LOGITS) as z:
        np.testing.assert_allclose(z["40px-q80"], saved, atol=1e-5)


def test_card_lists_the_rates_under_each_resampling_condition():
    from forensics.training.export import card_markdown

    cal = {
        "temperature": 0.5,
        "class_bias": [0.0, -1.0],
        "band": [0.1, 0.9],
        "target_error": 0.05,
        "error_rates": {
            "false_positives": 2,
            "n_real": 554,
            "false_negatives": 12,
            "n_fake": 251,
            "conditions": {"320px-q90": {"false_positives": 1, "n_real": 554, "false_negatives": 16, "n_fake": 251}},
        },
    }
    md = card_markdown("x", {}, cal)
    assert "- after re-sampling to 320px-q90 (the threshold is fitted to hold here too): FPR 1/554, FNR 16/251" in md


def test_card_tables_show_paired_auc_differences():
    from forensics.training.export import evaluation_tables

    ev = {
        "data_dir": "val",
        "conditions": {
            "as-is": {
                "n_faces": 10,
                "models": {
                    "det": {
                        "threshold": 0.9,
                        "auc_per_kind": {"gan": {"auc": 0.99, "ci95": [0.98, 1.0]}},
                        "auc_difference_per_kind": {"floor": {"gan": {"difference": 0.0123, "ci95": [-0.004, 0.031]}}},
                    },
                    "floor": {"threshold": 0.5, "auc_per_kind": {"gan": {"auc": 0.978, "ci95": [0.96, 0.99]}}},
                },
            }
        },
    }
    text = "\n".join(evaluation_tables(ev, "cmd"))
    assert "det: AUC per kind minus each other model's on the same faces" in text
    assert "| kind | floor |" in text and "| gan | +0.012 [-0.004, +0.031] |" in text
