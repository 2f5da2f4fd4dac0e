"""Weights manifest and verified loading; the Keras .h5 reader against a NumPy reference forward."""

from __future__ import annotations

import json

import numpy as np
import pytest

from forensics.detectors import DEFAULT_DETECTOR, create_detector, default_detector_names, list_detectors
from forensics.detectors.weights import (
    load_manifest,
    register_weights,
    save_weights,
    set_calibration,
    sha256_file,
)
from forensics.errors import ForensicsError, WeightsHashMismatchError, WeightsNotFoundError


@pytest.fixture()
def trained(tmp_path):
    """A 'trained' SimpleNet: random weights perturbed, saved and registered in a temporary manifest."""
    import torch

    det = create_detector("simplenet", weights="none", classes=("real", "swap", "gan"))
    with torch.no_grad():
        for p in det.model.parameters():
            p.add_(0.01)
    wdir = tmp_path / "w"
    path = save_weights(det.model, wdir / "tiny.safetensors")
    manifest = tmp_path / "manifest.json"
    entry = register_weights(
        "tiny",
        path,
        architecture="simplenet",
        classes=("real", "swap", "gan"),
        fake_indices=(1, 2),
        card={"training_data": "unit test", "licence": "CC0", "failure_modes": ["none known"]},
        manifest=manifest,
    )
    return {"det": det, "path": path, "dir": wdir, "manifest": manifest, "entry": entry}


def test_manifest_round_trip(trained):
    entry = trained["entry"]
    raw = json.loads(trained["manifest"].read_text())
    assert raw["schema"] == 1 and raw["entries"][0]["name"] == "tiny"
    assert raw["entries"][0]["file"] == "tiny.safetensors", "only the bare name is stored"
    assert raw["entries"][0]["kwargs"] == {"classes": ["real", "swap", "gan"], "fake_indices": [1, 2]}
    assert entry.sha256 == sha256_file(trained["path"])
    assert load_manifest(trained["manifest"])["tiny"] == entry


def test_loads_when_hash_matches(trained):
    import torch

    det = create_detector("tiny", weights_dirs=[trained["dir"]], manifest=trained["manifest"])
    assert det.ready and det.weights_sha256 == trained["entry"].sha256 and det.weights_file == "tiny.safetensors"
    assert det.classes == ("real", "swap", "gan") and det.config.fake_indices == (1, 2)
    assert det.card.training_data == "unit test" and det.card.failure_modes == ("none known",)
    for k, v in trained["det"].model.state_dict().items():
        assert torch.equal(det.model.state_dict()[k], v), k
    status = {s.name: s for s in list_detectors([trained["dir"]], trained["manifest"])}["tiny"]
    assert status.ready and status.weights_sha256 == trained["entry"].sha256


def test_flipped_byte_is_refused(trained):
    data = bytearray(trained["path"].read_bytes())
    data[len(data) // 2] ^= 0xFF
    trained["path"].write_bytes(bytes(data))
    with pytest.raises(WeightsHashMismatchError, match="tiny.safetensors"):
        create_detector("tiny", weights_dirs=[trained["dir"]], manifest=trained["manifest"])
    status = {s.name: s for s in list_detectors([trained["dir"]], trained["manifest"])}["tiny"]
    assert not status.ready and "sha256" in status.reason


def test_missing_file_is_refused(trained):
    trained["path"].unlink()
    with pytest.raises(WeightsNotFoundError, match="tiny.safetensors"):
        create_detector("tiny", weights_dirs=[trained["dir"]], manifest=trained["manifest"])
    status = {s.name: s for s in list_detectors([trained["dir"]], trained["manifest"])}["tiny"]
    assert not status.ready and "not found" in status.reason


def test_torch_pt_file_and_explicit_path(tmp_path, trained):
    import torch

    pt = tmp_path / "tiny.pt"
    torch.save({"state_dict": trained["det"].model.state_dict()}, pt)
    det = create_detector("simplenet", weights=str(pt), classes=("real", "swap", "gan"))
    assert det.weights_sha256 == sha256_file(pt) and "explicit file tiny.pt" in det.card.training_data
    x = det.preprocess([np.full((224, 224, 3), 90, np.uint8)])
    assert torch.allclose(det.predict(x), trained["det"].predict(x))
    with pytest.raises(ForensicsError, match="does not fit architecture"):
        create_detector("simplenet", weights=str(pt))  # two classes: the head does not match
    torch.save({"x": [1, 2]}, tmp_path / "not_weights.pt")
    with pytest.raises(ForensicsError, match="not a state dict"):
        create_detector("simplenet", weights=str(tmp_path / "not_weights.pt"))


def test_default_detector_preferred_once_ready(tmp_path, trained):
    manifest = trained["manifest"]
    assert DEFAULT_DETECTOR not in default_detector_names([trained["dir"]], manifest)
    register_weights(
        DEFAULT_DETECTOR, trained["path"], architecture="simplenet", classes=("real", "swap", "gan"), manifest=manifest
    )
    assert default_detector_names([trained["dir"]], manifest) == [DEFAULT_DETECTOR]
    assert create_detector(DEFAULT_DETECTOR, weights_dirs=[trained["dir"]], manifest=manifest).ready


def test_calibration_attached_from_manifest(trained):
    pytest.importorskip("forensics.calibration")
    from forensics.calibration import fit_calibration

    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(200, int), np.ones(200, int)]
    logits = np.c_[np.zeros(400), np.r_[rng.normal(-2, 1, 200), rng.normal(2, 1, 200)]]
    cal = fit_calibration(logits, y, fake_indices=(1,))
    two = create_detector("simplenet", weights="none")
    path = save_weights(two.model, trained["dir"] / "two.safetensors")
    register_weights("two", path, architecture="simplenet", calibration=cal, manifest=trained["manifest"])
    det = create_detector("two", weights_dirs=[trained["dir"]], manifest=trained["manifest"])
    assert det.calibration is not None and det.calibration.temperature == pytest.approx(cal.temperature)
    set_calibration("two", None, manifest=trained["manifest"])
    assert create_detector("two", weights_dirs=[trained["dir"]], manifest=trained["manifest"]).calibration is None


def test_set_card_roc_writes_the_curve_and_nothing_else(trained):
    from forensics.evaluation import compact_roc
    from forensics.training.export import evaluation_roc, set_card_roc

    y = np.r_[np.zeros(30, int), np.ones(20, int)]
    s = np.r_[np.linspace(0, 0.6, 30), np.linspace(0.4, 1, 20)]
    results = {
        "data_dir": "../shared/data/val",
        "models": {"tiny": {"weights_sha256": trained["entry"].sha256}},
        "conditions": {"as-is": {"models": {"tiny": {"roc": compact_roc(y, s)}}}},
    }
    assert evaluation_roc(results, "other", command="x") is None  # a detector that was not scored has no curve
    roc = evaluation_roc(results, "tiny", command="python -m forensics evaluate ../shared/data/val")
    set_card_roc("tiny", roc, manifest=trained["manifest"])
    entry = load_manifest(trained["manifest"])["tiny"]
    assert entry.card == {**trained["entry"].card, "roc": roc} and entry.sha256 == trained["entry"].sha256
    assert (roc["n_real"], roc["n_fake"], roc["weights_sha256"]) == (30, 20, trained["entry"].sha256)
    det = create_detector("tiny", weights_dirs=[trained["dir"]], manifest=trained["manifest"])
    assert det.info()["card"]["roc"] == roc
    assert "## ROC curve" in (trained["manifest"].parent / "tiny.card.md").read_text()


def test_register_refuses_unknown_architecture_and_missing_file(tmp_path, trained):
    with pytest.raises(ForensicsError, match="unknown architecture"):
        register_weights("x", trained["path"], architecture="alexnet", manifest=trained["manifest"])
    with pytest.raises(WeightsNotFoundError, match="does not exist"):
        register_weights("x", tmp_path / "nothing.safetensors", architecture="simplenet", manifest=trained["manifest"])


def test_shipped_manifest_lists_the_peers_with_their_hashes():
    entries = load_manifest()
    assert entries["meso4-df"].sha256 == "036ed30d04ffd9c7506f825b97c86aa64915f5818931da96817b169aad790af5"
    assert entries["meso4-f2f"].sha256 == "bcfda015d217b9f8d6557693edbdf9f4e79cfd22672541968dd0e2954462b5d7"
    assert entries["meso4-df"].architecture == "meso4" and entries["meso4-df"].file == "Meso4_DF.h5"


# --- Keras .h5 reader --------------------------------------------------------------------------------------------
def _write_keras_h5(path, layers):
    """Write ``layers`` [(name, {weight: array})] in the Keras 2 ``save_weights`` HDF5 layout."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n, _ in layers])
        f.attrs["backend"] = b"tensorflow"
        for name, weights in layers:
            g = f.create_group(name)
            g.attrs["weight_names"] = np.array([f"{name}/{w}:0".encode() for w in weights])
            for w, arr in weights.items():
                g.create_dataset(f"{name}/{w}:0", data=arr.astype(np.float32))


def _random_meso4_layers(rng, side, leaky):
    def conv(k, cin, cout):
        return {"kernel": rng.normal(0, 0.3, (k, k, cin, cout)), "bias": rng.normal(0, 0.1, cout)}

    def bn(c):
        return {
            "gamma": rng.uniform(0.5, 1.5, c),
            "beta": rng.normal(0, 0.2, c),
            "moving_mean": rng.normal(0, 0.2, c),
            "moving_variance": rng.uniform(0.5, 2.0, c),
        }

    layers = [("input_1", {})]
    for i, (k, cin, cout) in enumerate([(3, 3, 8), (5, 8, 8), (5, 8, 16), (5, 16, 16)], start=5):
        layers += [
            (f"conv2d_{i}", conv(k, cin, cout)),
            (f"batch_normalization_{i}", bn(cout)),
            (f"max_pooling2d_{i}", {}),
        ]
    layers += [
        ("flatten_1", {}),
        ("dropout_1", {}),
        ("dense_1", {"kernel": rng.normal(0, 0.3, (16 * side * side, 16)), "bias": rng.normal(0, 0.1, 16)}),
    ]
    if leaky:
        layers.append(("leaky_re_lu_1", {}))
    layers += [("dropout_2", {}), ("dense_2", {"kernel": rng.normal(0, 0.3, (16, 1)), "bias": rng.normal(0, 0.1, 1)})]
    return layers


def _np_conv_same(x, kernel, bias, dilation=1):
    """NHWC 'same' convolution, stride 1, with an HWIO kernel (float64 reference)."""
    kh, kw, _, cout = kernel.shape
    ph, pw = dilation * (kh - 1) // 2, dilation * (kw - 1) // 2
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    n, h, w, _ = x.shape
    out = np.zeros((n, h, w, cout))
    for i in range(kh):
        for j in range(kw):
            out += xp[:, i * dilation : i * dilation + h, j * dilation : j * dilation + w, :] @ kernel[i, j]
    return out + bias


def _np_bn(x, w):
    return (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + 1e-3) * w["gamma"] + w["beta"]


def _np_pool(x, k):
    n, h, w, c = x.shape
    return x.reshape(n, h // k, k, w // k, k, c).max(axis=(2, 4))


def _np_meso4(x, layers, leaky):
    w = dict(layers)
    for i, pool in zip(range(5, 9), (2, 2, 2, 4), strict=True):
        x = np.maximum(_np_conv_same(x, w[f"conv2d_{i}"]["kernel"], w[f"conv2d_{i}"]["bias"]), 0)
        x = _np_pool(_np_bn(x, w[f"batch_normalization_{i}"]), pool)
    y = x.reshape(x.shape[0], -1) @ w["dense_1"]["kernel"] + w["dense_1"]["bias"]  # NHWC flatten, like Keras
    if leaky:
        y = np.where(y > 0, y, 0.1 * y)
    return (y @ w["dense_2"]["kernel"] + w["dense_2"]["bias"])[:, 0]  # the 'real' logit z; P(real) = sigmoid(z)


@pytest.mark.parametrize("leaky", [True, False])
def test_keras_meso4_reader_matches_numpy_reference(tmp_path, leaky):
    import torch

    from forensics.detectors.keras_h5 import load_meso_h5
    from forensics.detectors.nets import Meso4

    rng = np.random.default_rng(7 + leaky)
    size, side = 64, 2  # 64 -> 32 -> 16 -> 8 -> 2
    layers = [
        (n, {k: v.astype(np.float32).astype(np.float64) for k, v in w.items()})
        for n, w in _random_meso4_layers(rng, side, leaky)
    ]
    path = tmp_path / "meso.h5"
    _write_keras_h5(path, layers)
    model = Meso4(2, input_size=size)
    load_meso_h5(model, path)
    x = rng.uniform(0, 1, (2, size, size, 3)).astype(np.float32)
    with torch.no_grad():
        logits = model(torch.from_numpy(x).permute(0, 3, 1, 2)).double()
    p_real = torch.softmax(logits, 1)[:, 0].numpy()
    z = _np_meso4(x.astype(np.float64), layers, leaky)
    assert np.abs(z).max() > 0.05, "degenerate random net: the comparison would prove nothing"
    np.testing.assert_allclose(p_real, 1 / (1 + np.exp(-z)), atol=1e-5)
    np.testing.assert_allclose(logits.numpy(), np.c_[z / 2, -z / 2], rtol=1e-4, atol=1e-4)


def test_keras_reader_refuses_wrong_architecture(tmp_path):
    from forensics.detectors.keras_h5 import load_meso_h5
    from forensics.detectors.nets import MesoInception4

    path = tmp_path / "meso.h5"
    _write_keras_h5(path, _random_meso4_layers(np.random.default_rng(0), 8, True))
    with pytest.raises(ForensicsError, match="wrong architecture"):
        load_meso_h5(MesoInception4(2), path)
    (tmp_path / "plain.h5").write_bytes(b"not hdf5")
    with pytest.raises(ForensicsError, match="cannot open Keras weight file"):
        load_meso_h5(MesoInception4(2), tmp_path / "plain.h5")


def test_mesoinception_reader_matches_numpy_reference(tmp_path):
    import torch

    from forensics.detectors.keras_h5 import load_meso_h5
    from forensics.detectors.nets import MesoInception4

    rng = np.random.default_rng(3)

    def conv(k, cin, cout):
        return {
            "kernel": rng.normal(0, 0.3, (k, k, cin, cout)).astype(np.float32).astype(np.float64),
            "bias": rng.normal(0, 0.1, cout).astype(np.float32).astype(np.float64),
        }

    def bn(c):
        return {
            "gamma": rng.uniform(0.5, 1.5, c),
            "beta": rng.normal(0, 0.2, c),
            "moving_mean": rng.normal(0, 0.2, c),
            "moving_variance": rng.uniform(0.5, 2.0, c),
        }

    n = iter(range(1, 100))
    layers: list = [("input_1", {})]
    inc_specs = []
    for cin, (a, b, c, d) in ((3, (1, 4, 4, 2)), (11, (2, 4, 4, 2))):
        names = {}
        for branch, k, ci, co in (
            ("1", 1, cin, a),
            ("2a", 1, cin, b),
            ("2b", 3, b, b),
            ("3a", 1, cin, c),
            ("3b", 3, c, c),
            ("4a", 1, cin, d),
            ("4b", 3, d, d),
        ):
            name = f"conv2d_{next(n)}"
            names[branch] = name
            layers.append((name, conv(k, ci, co)))
        inc_specs.append(names)
        layers.append((f"concatenate_{len(inc_specs)}", {}))
        layers.append((f"batch_normalization_{len(inc_specs)}", bn(a + b + c + d)))
    for j, cin in ((3, 12), (4, 16)):
        layers.append((f"conv2d_{next(n)}", conv(5, cin, 16)))
        layers.append((f"batch_normalization_{j}", bn(16)))
    layers += [
        ("flatten_1", {}),
        ("dense_1", {"kernel": rng.normal(0, 0.05, (16 * 2 * 2, 16)), "bias": rng.normal(0, 0.1, 16)}),
        ("leaky_re_lu_1", {}),
        ("dense_2", {"kernel": rng.normal(0, 0.3, (16, 1)), "bias": np.zeros(1)}),
    ]
    path = tmp_path / "inc.h5"
    _write_keras_h5(path, layers)
    model = MesoInception4(2, input_size=64)
    load_meso_h5(model, path)

    w = {k: {a: np.asarray(b, np.float32).astype(np.float64) for a, b in v.items()} for k, v in layers}
    relu = lambda t: np.maximum(t, 0)  # noqa: E731

    def inception(x, names):
        c = lambda key, t, dil=1: relu(_np_conv_same(t, w[names[key]]["kernel"], w[names[key]]["bias"], dil))  # noqa: E731
        return np.concatenate([c("1", x), c("2b", c("2a", x)), c("3b", c("3a", x), 2), c("4b", c("4a", x), 3)], -1)

    x0 = rng.uniform(0, 1, (2, 64, 64, 3)).astype(np.float32)
    x = _np_pool(_np_bn(inception(x0.astype(np.float64), inc_specs[0]), w["batch_normalization_1"]), 2)
    x = _np_pool(_np_bn(inception(x, inc_specs[1]), w["batch_normalization_2"]), 2)
    convs = [name for name, _ in layers if name.startswith("conv2d_")][-2:]
    for name, j, pool in ((convs[0], 3, 2), (convs[1], 4, 4)):
        x = _np_pool(
            _np_bn(relu(_np_conv_same(x, w[name]["kernel"], w[name]["bias"])), w[f"batch_normalization_{j}"]), pool
        )
    y = x.reshape(2, -1) @ w["dense_1"]["kernel"] + w["dense_1"]["bias"]
    y = np.where(y > 0, y, 0.1 * y)
    z = (y @ w["dense_2"]["kernel"] + w["dense_2"]["bias"])[:, 0]
    with torch.no_grad():
        logits = model(torch.from_numpy(x0).permute(0, 3, 1, 2)).double()
    assert 0.05 < np.abs(z).max() < 8, "keep the random net out of sigmoid saturation so probabilities differ"
    np.testing.assert_allclose(logits.numpy(), np.c_[z / 2, -z / 2], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(torch.softmax(logits, 1)[:, 0].numpy(), 1 / (1 + np.exp(-z)), atol=1e-5)
