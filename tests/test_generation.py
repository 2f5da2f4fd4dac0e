"""Face generators (forensics.generation): losses against hand computations and references, training steps, resume,
sampling provenance, the detector term, the ``[data] generated`` training source and the CLI. Tiny random nets."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from forensics.errors import ForensicsError
from forensics.generation import losses
from forensics.generation.data import FaceSet, to_model_range, to_uint8
from forensics.generation.nets import build_discriminator, build_generator
from forensics.generation.trainer import CHECKPOINT, Budget, GanConfig, load_checkpoint, train_gan


def _toy_faces(n: int = 16, side: int = 64, seed: int = 0) -> FaceSet:
    """Smooth 'faces': a bright ellipse on a darker background, jittered in place and tone."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side] / side
    imgs = []
    for _ in range(n):
        cx, cy = 0.5 + rng.normal(0, 0.03, 2)
        inside = ((xx - cx) / 0.3) ** 2 + ((yy - cy) / 0.4) ** 2 < 1
        tone = rng.uniform(150, 210)
        img = np.where(inside[..., None], [tone, tone * 0.8, tone * 0.7], [40, 50, 60])
        imgs.append(np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8))
    return FaceSet(folder="toy", images=np.stack(imgs), files=tuple(f"f{i}.png" for i in range(n)))


TINY = {"width": 4, "z_dim": 8, "batch_size": 4}


# ------------------------------------------------------------------------------------------------ losses
def test_gradient_penalty_of_a_linear_critic_is_known_by_hand():
    """C(x) = <w, x> + b has gradient w everywhere: the penalty is (||w|| - 1)^2 whatever the images and eps."""
    torch.manual_seed(0)
    w = torch.randn(3, 4, 4, dtype=torch.float64)
    w = w / w.norm() * 3.0  # ||w|| = 3 -> penalty (3 - 1)^2 = 4

    def critic(x):
        return (x * w).flatten(1).sum(1) + 0.7

    real, fake = torch.randn(5, 3, 4, 4, dtype=torch.float64), torch.randn(5, 3, 4, 4, dtype=torch.float64)
    gp = losses.gradient_penalty(critic, real, fake, torch.rand(5, dtype=torch.float64)).detach()
    assert float(gp) == pytest.approx(4.0, abs=1e-12)


def test_gradient_penalty_of_a_quadratic_critic_matches_the_interpolates():
    """C(x) = ||x||^2 / 2 has gradient x: the penalty is mean((||eps r + (1 - eps) f|| - 1)^2), by hand."""
    real = torch.tensor([[[[3.0, 0.0]]], [[[0.0, 0.0]]]], dtype=torch.float64)  # (2, 1, 1, 2)
    fake = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 4.0]]]], dtype=torch.float64)
    eps = torch.tensor([0.5, 0.25], dtype=torch.float64)
    # image 0: x_hat = (2, 0), norm 2 -> (2 - 1)^2 = 1; image 1: x_hat = (0, 3), norm 3 -> 4; mean 2.5
    gp = losses.gradient_penalty(lambda x: 0.5 * (x**2).flatten(1).sum(1), real, fake, eps).detach()
    assert float(gp) == pytest.approx(2.5, abs=1e-12)


def _small_critic():
    torch.manual_seed(3)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Tanh(), torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 1)
    ).double()


def test_gradient_penalty_against_a_finite_difference_reference():
    """float64 central differences of a small non-linear critic give the gradient norms the penalty is made of."""
    critic = _small_critic()

    def scores(x):
        return critic(x).flatten()

    torch.manual_seed(1)
    real, fake = torch.randn(3, 3, 4, 4, dtype=torch.float64), torch.randn(3, 3, 4, 4, dtype=torch.float64)
    eps = torch.rand(3, dtype=torch.float64)
    gp = float(losses.gradient_penalty(scores, real, fake, eps).detach())
    x_hat = losses.interpolates(real, fake, eps)
    h, ref = 1e-6, []
    with torch.no_grad():
        for i in range(len(x_hat)):
            grad = torch.zeros(x_hat[i].numel(), dtype=torch.float64)
            for k in range(grad.numel()):
                d = torch.zeros(x_hat[i].numel(), dtype=torch.float64)
                d[k] = h
                d = d.view_as(x_hat[i])
                grad[k] = (scores((x_hat[i] + d)[None]) - scores((x_hat[i] - d)[None]))[0] / (2 * h)
            ref.append((float(grad.norm()) - 1.0) ** 2)
    assert gp == pytest.approx(float(np.mean(ref)), rel=1e-7)


def test_gradient_penalty_trains_the_critic_double_backward_checked():
    """The penalty's gradient w.r.t. the critic's weights (a double backward) agrees with finite differences."""
    critic = _small_critic()
    torch.manual_seed(2)
    real, fake = torch.randn(2, 3, 4, 4, dtype=torch.float64), torch.randn(2, 3, 4, 4, dtype=torch.float64)
    eps = torch.rand(2, dtype=torch.float64)
    weight = critic[3].weight

    def penalty_of(wt):
        def scores(x):
            h = critic[2](critic[1](critic[0](x)))
            return torch.nn.functional.linear(h, wt, critic[3].bias).flatten()

        return losses.gradient_penalty(scores, real, fake, eps)

    assert torch.autograd.gradcheck(penalty_of, (weight.detach().clone().requires_grad_(True),))


def test_non_saturating_losses_equal_binary_cross_entropy():
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    real, fake = torch.tensor([2.0, -1.0, 0.3]), torch.tensor([-0.5, 1.5])
    d = losses.ns_discriminator_loss(real, fake)
    assert float(d) == pytest.approx(float(bce(real, torch.ones(3)) + bce(fake, torch.zeros(2))), rel=1e-6)
    assert float(losses.ns_generator_loss(fake)) == pytest.approx(float(bce(fake, torch.ones(2))), rel=1e-6)
    # at D = 1/2 everywhere the discriminator loss is 2 log 2
    assert float(losses.ns_discriminator_loss(torch.zeros(4), torch.zeros(4))) == pytest.approx(2 * math.log(2))


# ------------------------------------------------------------------------------------------------ nets and steps
@pytest.mark.parametrize("size", [64, 128])
def test_nets_shapes_and_range(size):
    g, d = build_generator(size, z_dim=8, width=2), build_discriminator(size, width=2, norm="layer")
    x = g(torch.randn(3, 8))
    assert x.shape == (3, 3, size, size) and float(x.detach().abs().max()) <= 1.0
    assert d(x).shape == (3,)
    with pytest.raises(ForensicsError, match="size 96"):
        build_generator(96)


def test_a_dcgan_step_lowers_its_discriminator_loss_on_a_toy_set():
    torch.manual_seed(0)
    g, d = build_generator(64, z_dim=8, width=4), build_discriminator(64, width=4, norm="batch")
    real = to_model_range(_toy_faces(8).images)
    with torch.no_grad():
        fake = g(torch.randn(8, 8))
    opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def d_loss():
        return losses.ns_discriminator_loss(d(real), d(fake))

    seen = [float(d_loss().detach())]
    for _ in range(5):
        loss = d_loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen.append(float(d_loss().detach()))
    assert seen[1] < seen[0], seen  # one step already lowers it
    assert seen[-1] < seen[0] - 0.05, seen


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("arch", ["dcgan", "wgan-gp"])
def test_resume_continues_exactly_where_the_run_stopped(arch, tmp_path):
    faces = _toy_faces(12)
    cfg = GanConfig(arch=arch, seed=3, **TINY)
    per_step = 4 * cfg.resolved().n_critic
    straight = train_gan(cfg, faces, tmp_path / "a", budget=Budget(faces=4 * per_step, log_every=1), progress=False)
    half = train_gan(cfg, faces, tmp_path / "b", budget=Budget(faces=2 * per_step, log_every=1), progress=False)
    assert half.steps == 2 and straight.steps == 4
    with pytest.raises(ForensicsError, match="--resume"):
        train_gan(cfg, faces, tmp_path / "b", budget=Budget(faces=4 * per_step), progress=False)
    resumed = train_gan(
        cfg, faces, tmp_path / "b", budget=Budget(faces=4 * per_step, log_every=1), resume=True, progress=False
    )
    a, b = load_checkpoint(tmp_path / "a" / CHECKPOINT), load_checkpoint(tmp_path / "b" / CHECKPOINT)
    assert resumed.steps == 4 and b["faces_seen"] == a["faces_seen"] == 4 * per_step
    for key in ("generator", "discriminator"):
        assert _same_state(a[key], b[key]), key
    assert torch.equal(a["rng"], b["rng"])
    assert a["opt_g"]["state"][0]["step"] == b["opt_g"]["state"][0]["step"]
    # a resume under other settings or on other faces is refused
    with pytest.raises(ForensicsError, match="other settings"):
        train_gan(GanConfig(arch=arch, seed=4, **TINY), faces, tmp_path / "b", resume=True, progress=False)
    with pytest.raises(ForensicsError, match="other faces"):
        train_gan(cfg, _toy_faces(12, seed=9), tmp_path / "b", resume=True, progress=False)
    log = [json.loads(x) for x in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    steps = [r for r in log if r["event"] == "step"]
    assert [r["step"] for r in steps] == [1, 2, 3, 4] and all(r["faces_per_second"] > 0 for r in steps)
    assert {"resume", "checkpoint", "done"} <= {r["event"] for r in log}
    if arch == "wgan-gp":
        assert all("gp" in r and "wasserstein" in r for r in steps)


def test_a_checkpoint_holding_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"generator": Path("x")}, path)  # a pickled object, not plain data
    with pytest.raises(ForensicsError, match="refused"):
        load_checkpoint(path)


def test_faces_of_another_side_are_refused(tmp_path):
    with pytest.raises(ForensicsError, match="32 px"):
        train_gan(GanConfig(**TINY), _toy_faces(4, side=32), tmp_path / "r", progress=False)


# ------------------------------------------------------------------------------------------------ sampling
@pytest.fixture()
def tiny_run(tmp_path) -> Path:
    run = tmp_path / "gan-tiny"
    train_gan(
        GanConfig(arch="dcgan", seed=1, **TINY), _toy_faces(8), run, budget=Budget(faces=8, log_every=1), progress=False
    )
    return run


def _pixels(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_samples_carry_the_checkpoint_sha256_and_are_reproducible(tiny_run, tmp_path):
    from forensics.generation.sampling import PROVENANCE, write_samples
    from forensics.scan.files import label_from_path

    res = write_samples(tiny_run, 5, tmp_path / "out", seed=7, labelled=True)
    assert res.folder == tmp_path / "out" / "fake" / "gan" / "generated-gan-tiny"
    prov = json.loads((res.folder / PROVENANCE).read_text())
    assert prov["checkpoint_sha256"] == hashlib.sha256((tiny_run / CHECKPOINT).read_bytes()).hexdigest()
    assert (prov["seed"], prov["n"], prov["arch"], prov["size"], prov["run_name"]) == (7, 5, "dcgan", 64, "gan-tiny")
    assert prov["faces_seen"] == 8 and prov["date_utc"].endswith("+00:00")
    assert prov["files"] == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in res.files}
    # the folder scan labels the samples from the layout: fake, kind gan, source generated-<run>
    assert label_from_path(res.files[0], tmp_path / "out") == ("fake", "gan", "generated-gan-tiny")
    with pytest.raises(ForensicsError, match="already holds samples"):
        write_samples(tiny_run, 5, tmp_path / "out", seed=7, labelled=True)
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "gan-tiny-s7-00001.png").write_bytes(b"not ours")
    with pytest.raises(ForensicsError, match="gan-tiny-s7-00001.png"):
        write_samples(tiny_run, 5, tmp_path / "loose", seed=7)  # an existing file is never overwritten
    assert (tmp_path / "loose" / "gan-tiny-s7-00001.png").read_bytes() == b"not ours"
    # same run, checkpoint and seed: the same pixels; another seed: other faces
    again = write_samples(tiny_run, 3, tmp_path / "again", seed=7)
    other = write_samples(tiny_run, 3, tmp_path / "other", seed=8)
    first = [_pixels(p) for p in res.files[:3]]
    assert all((a == _pixels(b)).all() for a, b in zip(first, again.files, strict=True))
    assert not (first[0] == _pixels(other.files[0])).all()


def test_grid_tiles_row_by_row():
    from forensics.generation.sampling import grid

    imgs = np.stack([np.full((2, 2, 3), v, np.uint8) for v in (10, 20, 30)])
    g = grid(imgs, columns=2, gap=1)
    assert g.shape == (5, 5, 3)
    assert g[0, 0, 0] == 10 and g[0, 3, 0] == 20 and g[3, 0, 0] == 30 and g[3, 3, 0] == 255 and g[2, 0, 0] == 255


# ------------------------------------------------------------------------------------------------ against a detector
@pytest.fixture()
def tiny_detector():
    from forensics.detectors import create_detector

    torch.manual_seed(0)
    return create_detector("simplenet", weights="none", classes=("real", "face-manipulated", "generated"))


@pytest.fixture()
def small_detector():
    """A three-class detector of 32 px input (the generated 64 px faces are shrunk to it) whose scores move."""
    from forensics.detectors import Detector, DetectorConfig, ModelCard, PreprocessConfig

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 3),
    )
    with torch.no_grad():
        net[-1].weight.mul_(5.0)
    cfg = DetectorConfig(
        name="toy",
        architecture="toy",
        classes=("real", "face-manipulated", "generated"),
        fake_indices=(1, 2),
        preprocess=PreprocessConfig(input_size=32),
    )
    return Detector(cfg, net, card=ModelCard(architecture="toy"))


def test_detector_term_preprocesses_as_the_detector_does(tiny_detector):
    from forensics.generation.against import DetectorTerm

    term = DetectorTerm(tiny_detector)
    x = build_generator(64, z_dim=8, width=4)(torch.randn(2, 8)).detach()
    crops = to_uint8(x)
    ours = term.logits(to_model_range(crops))  # the same pixels, in the generator's range
    theirs = tiny_detector.predict(tiny_detector.preprocess(list(crops)))
    assert torch.allclose(ours, theirs, atol=1e-4)
    _, p_fake = term(to_model_range(crops))
    proba = tiny_detector.predict_proba(tiny_detector.preprocess(list(crops)), calibrated=False)
    assert p_fake == pytest.approx(float(tiny_detector.p_fake(proba).mean()), abs=1e-5)


def test_against_term_lowers_the_detectors_p_fake(small_detector):
    from forensics.generation.against import DetectorTerm

    term = DetectorTerm(small_detector)
    before_params = {k: v.clone() for k, v in small_detector.model.state_dict().items()}
    torch.manual_seed(0)
    g = build_generator(64, z_dim=8, width=4)
    z = torch.randn(8, 8)
    opt = torch.optim.Adam(g.parameters(), lr=2e-3, betas=(0.5, 0.999))
    with torch.no_grad():
        _, p0 = term(g(z))
    for _ in range(15):
        loss, _ = term(g(z))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        _, p1 = term(g(z))
    assert p1 < p0 - 0.1, (p0, p1)
    assert _same_state(before_params, small_detector.model.state_dict())  # the detector is never trained
    assert not small_detector.model.training


def test_training_against_a_detector_logs_its_p_fake_and_leaves_it_frozen(small_detector, tmp_path):
    from forensics.generation.against import DetectorTerm

    before = {k: v.clone() for k, v in small_detector.model.state_dict().items()}
    cfg = GanConfig(arch="dcgan", against="simplenet", against_batch=2, **TINY)
    res = train_gan(
        cfg,
        _toy_faces(8),
        tmp_path / "r",
        budget=Budget(faces=12, log_every=1),
        term=DetectorTerm(small_detector),
        progress=False,
    )
    assert 0.0 < res.last["p_fake_against"] < 1.0 and res.last["loss_against"] > 0
    assert _same_state(before, small_detector.model.state_dict())
    assert not small_detector.model.training


# ------------------------------------------------------------------------------------------------ training source
def _pngs(folder: Path, n: int, seed: int = 0) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(folder / f"img{i}.png")


def test_generated_folders_are_listed_as_gan_fakes(tmp_path):
    from forensics.training.data import THREE_CLASS, class_index, generated_samples

    _pngs(tmp_path / "dcgan-a", 3)
    (tmp_path / "dcgan-a" / "provenance.json").write_text("{}")
    samples = generated_samples([tmp_path / "dcgan-a"])
    assert len(samples) == 3
    assert {(s.label, s.kind, s.source) for s in samples} == {("fake", "gan", "generated:dcgan-a")}
    assert len({s.group for s in samples}) == 3
    assert class_index(samples[0].kind, ("real", "face-manipulated", "generated"), THREE_CLASS) == 2
    with pytest.raises(ForensicsError, match="not a folder"):
        generated_samples([tmp_path / "missing"])


def test_generated_source_joins_training_only_and_survives_a_hold_out(tmp_path, monkeypatch):
    from forensics.training.config import TrainConfig
    from forensics.training.crop_sets import prepare_data

    monkeypatch.setenv("FORENSICS_CROP_CACHE", str(tmp_path / "cache"))
    for split in ("train", "val"):
        _pngs(tmp_path / split / "real" / "camA", 3)
        _pngs(tmp_path / split / "fake" / "gan" / "ganA", 3, seed=1)
    _pngs(tmp_path / "samples", 4, seed=2)
    cfg = TrainConfig.from_dict(
        {
            "data": {
                "train_dir": str(tmp_path / "train"),
                "val_dir": str(tmp_path / "val"),
                "crop_method": "whole",
                "crop_size": 32,
                "holdout": ["kind:gan"],
                "generated": [str(tmp_path / "samples")],
            }
        }
    )
    tr, va, info = prepare_data(cfg, progress=False)
    assert sorted({s.source for s in tr.samples}) == ["camA", "generated:samples"]
    assert sum(s.source == "generated:samples" for s in tr.samples) == 4
    assert {s.source for s in va.samples} == {"camA"}
    assert "generated faces added to training" in info["split"]


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_trains_and_samples(tmp_path, monkeypatch, capsys):
    from forensics.cli import main

    monkeypatch.setenv("FORENSICS_CROP_CACHE", str(tmp_path / "cache"))
    from PIL import Image

    data = tmp_path / "faces"
    data.mkdir()
    for i, img in enumerate(_toy_faces(4, side=96).images):
        Image.fromarray(img).save(data / f"face{i}.png")
    (data / "heldout").mkdir()
    Image.fromarray(_toy_faces(1, side=96).images[0]).save(data / "heldout" / "other.png")
    run = tmp_path / "run"
    argv = ["generate", "train", "--arch", "wgan-gp", "--data", str(data), "--size", "64", "--out", str(run)]
    argv += ["--faces", "8", "--width", "4", "--batch-size", "2", "--exclude", "heldout", "--quiet"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["faces_seen"] == 10 and summary["training_faces"] == 4  # one step = 5 critic batches of 2
    assert json.loads((run / "gan.json").read_text())["data"]["excluded"] == ["heldout"]
    assert summary["checkpoint_sha256"] == hashlib.sha256((run / CHECKPOINT).read_bytes()).hexdigest()
    assert main(["generate", "sample", "--run", str(run), "--n", "3", "--out", str(tmp_path / "s")]) == 0
    assert len(list((tmp_path / "s").glob("*.png"))) == 3 and (tmp_path / "s" / "provenance.json").is_file()
    capsys.readouterr()
    typo = ["generate", "train", "--arch", "dcgan", "--data", str(data), "--out", str(tmp_path / "t"), "--quiet"]
    assert main([*typo, "--exclude", "heldot"]) == 4  # a name that matches no sub-folder is a typo, not a filter
    bad = ["generate", "train", "--arch", "dcgan", "--data", str(data), "--out", str(tmp_path / "bad"), "--quiet"]
    assert main([*bad, "--against", "no-such-detector"]) == 4
    assert not (tmp_path / "bad").exists()  # a detector that cannot be loaded leaves no run folder behind
    assert main([*bad, "--against-weights", "w.safetensors"]) == 4
    assert main(["generate"]) == 2  # no action: usage error
    assert main(["generate", "train", "--arch", "stylegan", "--data", "x", "--out", "y"]) == 2
    assert main(["generate", "sample", "--run", str(tmp_path / "nothing"), "--n", "2", "--out", "z"]) == 4
    assert "cannot be read" in capsys.readouterr().err


def test_a_run_can_start_from_another_runs_networks(tiny_run, tmp_path):
    from forensics.generation.sampling import write_samples

    source = load_checkpoint(tiny_run / CHECKPOINT)
    cfg = GanConfig(arch="dcgan", seed=5, init=str(tiny_run), **TINY)
    train_gan(cfg, _toy_faces(8), tmp_path / "next", budget=Budget(faces=0), progress=False)
    started = load_checkpoint(tmp_path / "next" / CHECKPOINT)
    assert _same_state(source["generator"], started["generator"]) and started["faces_seen"] == 0
    prov = write_samples(tmp_path / "next", 1, tmp_path / "s").provenance
    assert prov["init"]["checkpoint_sha256"] == hashlib.sha256((tiny_run / CHECKPOINT).read_bytes()).hexdigest()
    with pytest.raises(ForensicsError, match="must match"):
        wider = GanConfig(arch="dcgan", init=str(tiny_run), **{**TINY, "width": 8})
        train_gan(wider, _toy_faces(8), tmp_path / "wider", budget=Budget(faces=0), progress=False)


# ------------------------------------------------------------------------------------------------ dashboard
def test_models_page_shows_a_generators_grid_and_provenance(tiny_run, monkeypatch):
    pytest.importorskip("streamlit")
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("FORENSICS_GENERATOR_RUNS", str(tiny_run.parent))
    st.cache_data.clear()
    app = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
    at = AppTest.from_file(app, default_timeout=300).run().switch_page("pages/models.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="models_generator").set_value(str(tiny_run)).run()
    assert not at.image  # nothing is drawn before it is asked for
    at.toggle(key="models_generator_show").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    rows = next(d.value for d in at.dataframe if list(d.value.columns) == ["item", "value"])
    shown = dict(zip(rows["item"], rows["value"], strict=True))
    assert shown["checkpoint sha256"] == hashlib.sha256((tiny_run / CHECKPOINT).read_bytes()).hexdigest()
    assert shown["trained against"] == "no detector" and "8 face crops of toy" in shown["trained on"]
    assert len(at.image) == 1 and at.get("plotly_chart")  # the grid and the loss curves
    st.cache_data.clear()
