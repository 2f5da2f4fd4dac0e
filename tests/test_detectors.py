"""Detector registry: every architecture with random weights, ImageNet inits, LRP canonizers, Meso-4 peer answers."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.detectors import (
    DEFAULT_DETECTOR,
    architecture_names,
    create_detector,
    default_detector_names,
    detector_names,
    list_detectors,
)
from forensics.errors import UnavailableError, UnknownComponentError, WeightsNotFoundError

ARCHS = architecture_names()


def _crops(n: int, size: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]


def _hooks(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())


def test_registry_lists_the_required_architectures():
    for name in ("mobilenetv2", "efficientnet-lite0", "resnet34", "xception", "simplenet", "deit-tiny", "meso4"):
        assert name in ARCHS
    assert {"meso4-df", "meso4-f2f", DEFAULT_DETECTOR} <= set(detector_names())


@pytest.mark.parametrize("name", ARCHS)
def test_random_detector_contract(name):
    import torch

    det = create_detector(name, weights="none")
    assert not det.ready and det.weights_sha256 is None
    size = det.config.preprocess.input_size
    x = det.preprocess(_crops(2, 64))  # any crop size: resized to the input size
    assert tuple(x.shape) == (2, 3, size, size)
    params = {k: v.clone() for k, v in det.model.state_dict().items()}
    logits = det.predict(x)
    assert tuple(logits.shape) == (2, len(det.classes)) and torch.isfinite(logits).all()
    proba = det.predict_proba(x)
    assert proba.shape == (2, 2) and ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    pf = det.p_fake(proba)
    np.testing.assert_allclose(pf, proba[:, 1])
    layers = det.target_layers()
    assert layers and all(isinstance(m, torch.nn.Module) for m in layers)
    feats = det.features(x)
    assert feats.ndim == 2 and feats.shape[0] == 2 and feats.shape[1] >= 16 and np.isfinite(feats).all()
    assert _hooks(det.model) == 0, "features() left a hook behind"
    for k, v in det.model.state_dict().items():
        assert torch.equal(v, params[k]), f"{k} changed during inference"
    assert det.info()["input_size"] == size and det.info()["ready"] is False
    assert det.card.training_data.startswith("none: random")


def test_random_init_is_reproducible_and_classes_are_honoured():
    a = create_detector("simplenet", weights="none", classes=("real", "swap", "gan"), fake_indices=(1, 2))
    b = create_detector("simplenet", weights="none", classes=("real", "swap", "gan"))
    x = a.preprocess(_crops(3, 224, seed=1))
    la, lb = a.predict(x), b.predict(x)
    assert tuple(la.shape) == (3, 3)
    assert (la == lb).all(), "same name, same seeded init"
    assert b.config.fake_indices == (1, 2)
    proba = a.predict_proba(x)
    np.testing.assert_allclose(a.p_fake(proba), proba[:, 1] + proba[:, 2])
    with pytest.raises(Exception, match="class 0 must be 'real'"):
        create_detector("simplenet", weights="none", classes=("fake", "real"))


def test_unknown_names_and_unavailable_inits(tmp_path):
    with pytest.raises(UnknownComponentError, match="unknown detector 'nope'"):
        create_detector("nope")
    with pytest.raises(UnavailableError, match="no ImageNet weights"):
        create_detector("resnet34", weights="imagenet")
    with pytest.raises(WeightsNotFoundError, match="not-there.pt"):
        create_detector("simplenet", weights=str(tmp_path / "not-there.pt"))
    empty = tmp_path / "manifest.json"
    with pytest.raises(WeightsNotFoundError, match="has no weights"):
        create_detector(DEFAULT_DETECTOR, manifest=empty)


def _grace_hopper() -> np.ndarray:
    """Matplotlib's sample photo of Grace Hopper in uniform (ImageNet class 652 'military uniform')."""
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        im = Image.open(fh).convert("RGB")
        w, h = im.size
        s = min(w, h)
        return np.asarray(im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)))


@pytest.mark.parametrize("name", ["mobilenetv2", "efficientnet-lite0"])
def test_imagenet_init_recognises_a_known_photo(name):
    classes = ("real",) + tuple(f"c{i}" for i in range(1, 1000))
    det = create_detector(name, weights="imagenet", classes=classes)
    assert not det.ready and "ImageNet-1k initialisation" in det.card.training_data
    proba = det.predict_proba(det.preprocess([_grace_hopper()]), calibrated=False)[0]
    assert int(np.argmax(proba)) == 652, "ImageNet top-1 for Grace Hopper should be 'military uniform'"
    assert proba[652] > 0.1 and proba.max() > 20 * np.median(proba)


def test_imagenet_init_keeps_backbone_and_gives_a_random_head():
    import torch

    from forensics.detectors.weights import read_state_dict
    from forensics.detectors.zoo import ARCHITECTURES

    det = create_detector(
        "mobilenetv2", weights="imagenet", classes=("real", "face-manipulated", "generated"), fake_indices=(1, 2)
    )
    ref = read_state_dict(ARCHITECTURES.create("mobilenetv2").imagenet.path())
    sd = det.model.state_dict()
    assert torch.equal(sd["features.0.0.weight"], ref["features.0.0.weight"])
    assert torch.equal(sd["features.18.1.running_var"], ref["features.18.1.running_var"])
    assert tuple(sd["classifier.1.weight"].shape) == (3, 1280)
    proba = det.predict_proba(det.preprocess(_crops(2, 224)))
    assert proba.shape == (2, 3)
    np.testing.assert_allclose(det.p_fake(proba), 1 - proba[:, 0], atol=1e-12)


def _lrp_relevance_sum(det, canonizers, seed=0) -> float:
    """Relevance reaching the input for a one-hot start (1.0) with zennit EpsilonPlusFlat, biases zeroed."""
    import torch
    from zennit.attribution import Gradient
    from zennit.composites import EpsilonPlusFlat

    m = det.model
    with torch.no_grad():  # zero biases and BN shifts: LRP is then exactly conservative where rules are
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.bias.zero_()
                mod.running_mean.zero_()
            elif isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)) and mod.bias is not None:
                mod.bias.zero_()
    s = det.config.preprocess.input_size
    x = torch.randn(1, 3, s, s, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        ref = m(x)
    with Gradient(model=m, composite=EpsilonPlusFlat(canonizers=canonizers)) as attr:
        out, rel = attr(x, torch.eye(ref.shape[1])[[0]])
    assert torch.allclose(out, ref, atol=1e-4), "canonizers must not change the output"
    with torch.no_grad():
        assert torch.equal(m(x), ref), "canonizers must be removed after use"
    assert _hooks(m) == 0
    return float(rel.sum())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenetv2", "efficientnet-lite0"])
def test_residual_canonizer_conserves_relevance(name):
    from forensics.detectors.canonizers import ExactMergeBatchNorm

    det = create_detector(name, weights="imagenet")
    with_sum = _lrp_relevance_sum(det, det.canonizers())
    merge_only = _lrp_relevance_sum(det, [ExactMergeBatchNorm()])
    assert 0.7 < with_sum < 1.1, f"relevance not conserved with the residual canonizer: {with_sum}"
    assert merge_only > 50, f"without explicit Sum the skips should duplicate relevance, got {merge_only}"


def test_xception_canonizer_wraps_every_block_and_restores():
    import torch
    from timm.models.xception import Block

    det = create_detector("xception", weights="none")
    blocks = [m for m in det.model.modules() if isinstance(m, Block)]
    x = det.preprocess(_crops(1, 299))
    with torch.no_grad():
        ref = det.model(x)
    instances = []
    for c in det.canonizers():
        instances += c.apply(det.model)
    try:
        assert sum(hasattr(b, "canonizer_sum") for b in blocks) == len(blocks) == 12
        with torch.no_grad():
            assert torch.allclose(det.model(x), ref, atol=1e-4)
    finally:
        for inst in reversed(instances):
            inst.remove()
    assert not any(hasattr(b, "canonizer_sum") for b in blocks)
    with torch.no_grad():
        assert torch.equal(det.model(x), ref)


def test_deit_reshape_transform_drops_class_and_distillation_tokens():
    import torch

    det = create_detector("deit-tiny", weights="none")
    captured = []
    handle = det.target_layers()[0].register_forward_hook(lambda _m, _i, o: captured.append(o))
    try:
        det.predict(det.preprocess(_crops(2, 224)))
    finally:
        handle.remove()
    tokens = captured[0]
    assert tuple(tokens.shape) == (2, 2 + 14 * 14, 192)
    grid = det.reshape_transform(tokens)
    assert tuple(grid.shape) == (2, 192, 14, 14)
    assert torch.equal(grid[1, :, 0, 1], tokens[1, 2 + 1, :]) and torch.equal(grid[0, :, 13, 13], tokens[0, -1, :])


def test_list_detectors_says_why_not_ready():
    statuses = {s.name: s for s in list_detectors()}
    for name in ARCHS:
        assert not statuses[name].ready and "train" in statuses[name].reason
    assert statuses["xception"].input_size == 299 and statuses["meso4"].input_size == 256
    assert not statuses[DEFAULT_DETECTOR].ready or statuses[DEFAULT_DETECTOR].weights_sha256


# --- the published Meso-4 weights (../shared/peers) --------------------------------------------------------------
def test_meso4_df_answers_on_the_mesonet_examples(peer_weights):
    from PIL import Image

    folder = peer_weights.parent / "test_images"
    det = create_detector("meso4-df")
    assert det.ready and det.weights_file == "Meso4_DF.h5" and len(det.weights_sha256) == 64
    assert det.card.licence.startswith("Apache-2.0")
    for label, want_real in (("real", True), ("df", False)):
        files = sorted((folder / label).glob("*.jpg"))
        assert len(files) == 2
        crops = [np.asarray(Image.open(f).convert("RGB")) for f in files]
        proba = det.predict_proba(det.preprocess(crops))
        p_real = proba[:, 0]
        if want_real:
            assert (p_real > 0.9).all(), f"real examples scored {p_real}"
        else:
            assert (p_real < 0.1).all(), f"deepfake examples scored {p_real}"
        np.testing.assert_allclose(det.p_fake(proba), 1 - p_real)
    assert "meso4-df" in default_detector_names() or DEFAULT_DETECTOR in default_detector_names()


def test_meso_peers_listed_ready(peer_weights):
    statuses = {s.name: s for s in list_detectors()}
    for name in ("meso4-df", "meso4-f2f"):
        assert statuses[name].ready, statuses[name].reason
        assert statuses[name].weights_sha256 and statuses[name].weights_file.endswith(".h5")


def test_models_command_table_and_json(capsys):
    import json

    from forensics.cli import main

    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(ARCHS) <= set(rows) and DEFAULT_DETECTOR in rows
    assert rows["xception"]["input_size"] == 299 and rows["mobilenetv2"]["ready"] is False
    assert "train" in rows["mobilenetv2"]["reason"]
    assert main(["models"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("NAME") and "efficientnet-lite0" in table and "no trained weights" in table


def test_importing_the_registry_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, forensics.detectors as d; d.list_detectors(); "
        "print(any(m in sys.modules for m in ('torch', 'timm', 'transformers', 'h5py')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent),
    )
    assert out.stdout.strip() == "False", out.stderr
