"""Explainers on tiny hand-built detectors: hand-computed Grad-CAM, saliency and IG references, the model guard,
thread safety, targets, applicability, agreement, faithfulness, feature maps and overlays."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

torch = pytest.importorskip("torch")
cv2 = pytest.importorskip("cv2")

from forensics.detectors.base import Detector, DetectorConfig, ModelCard, PreprocessConfig  # noqa: E402
from forensics.errors import BadImageError, ForensicsError, NotApplicableError  # noqa: E402
from forensics.explainers import (  # noqa: E402
    agreement,
    applicable,
    explain,
    faithfulness,
    feature_layer_names,
    feature_maps,
    list_explainers,
)
from forensics.explainers._common import normalize01, resize_map  # noqa: E402

nn = torch.nn
FAST = [
    "gradcam",
    "gradcam++",
    "hirescam",
    "eigencam",
    "layercam",
    "saliency",
    "lrp-epsilon",
    "lrp-epsilon-plus-flat",
    "lrp-epsilon-gamma-box",
    "lrp-gamma-epsilon-zero",
    "lrp-hse-mix",
    "lrp-captum",
]


class Tiny(nn.Module):
    def __init__(self, classes: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.relu2 = nn.ReLU(inplace=True)  # the guard must switch it off for LRP and back on afterwards
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(8, classes)

    def forward(self, x):
        return self.fc(self.flat(self.gap(self.relu2(self.conv2(self.pool(self.relu1(self.conv1(x))))))))


class Residual(Tiny):
    def forward(self, x):
        h = self.pool(self.relu1(self.conv1(x)))
        return self.fc(self.flat(self.gap(self.relu2(self.conv2(h) + h))))


class ResidualInplace(Tiny):
    def forward(self, x):
        h = self.pool(self.relu1(self.conv1(x)))
        y = self.conv2(h)
        y += h  # an in-place op right after the CAM target layer (like torchvision's BasicBlock)
        return self.fc(self.flat(self.gap(self.relu2(y))))


def tiny_detector(seed: int = 0, classes=("real", "fake"), model_cls=Tiny, **kw) -> Detector:
    torch.manual_seed(seed)
    cfg = DetectorConfig(
        name="tiny",
        architecture="tiny-cnn",
        classes=tuple(classes),
        fake_indices=tuple(range(1, len(classes))),
        preprocess=PreprocessConfig(input_size=32),
    )
    kw.setdefault("target_layers", lambda m: [m.conv2])
    return Detector(cfg, model_cls(len(classes)), card=ModelCard("tiny"), **kw)


def crop_of(size: int = 48, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((size, size, 3)) * 255).astype(np.uint8)


def snapshot(det: Detector):
    m = det.model
    return {
        "state": {k: v.detach().clone() for k, v in m.state_dict().items()},
        "flags": [p.requires_grad for p in m.parameters()],
        "grads": [p.grad for p in m.parameters()],
        "training": [x.training for x in m.modules()],
        "inplace": [getattr(x, "inplace", None) for x in m.modules()],
        "attrs": [sorted(vars(x)) for x in m.modules()],
    }


def assert_untouched(det: Detector, before) -> None:
    after = snapshot(det)
    for k, v in before["state"].items():
        assert torch.equal(v, after["state"][k]), f"parameter {k} changed"
    assert before["flags"] == after["flags"]
    assert all(a is b for a, b in zip(before["grads"], after["grads"], strict=True))
    assert before["training"] == after["training"]
    assert before["inplace"] == after["inplace"]
    assert before["attrs"] == after["attrs"], "an attribution library left attributes on a module"
    for mod in det.model.modules():
        assert not mod._forward_hooks and not mod._forward_pre_hooks and not mod._backward_hooks
        assert not getattr(mod, "_backward_pre_hooks", {})


# --- hand-computed references ---------------------------------------------------------------------------------------
def _hand_gradcam(det: Detector, crop: np.ndarray, idx: int):
    x = det.preprocess([crop])
    acts = {}
    h = det.model.conv2.register_forward_hook(lambda _m, _i, o: acts.setdefault("a", o))
    det.model.relu2.inplace = False  # else the in-place ReLU overwrites the captured conv2 output
    try:
        out = det.model(x.clone().requires_grad_(True))
    finally:
        h.remove()
        det.model.relu2.inplace = True
    a = acts["a"]
    (g,) = torch.autograd.grad(out[0, idx], a)
    a, g = a[0].detach().double().numpy(), g[0].double().numpy()
    weights = g.mean(axis=(1, 2))  # Grad-CAM: spatial mean of the gradients
    signed = np.tensordot(weights, a, axes=1)
    cam = np.maximum(signed, 0)
    cam = cam - cam.min()
    cam = cam / (1e-7 + cam.max())
    cam = cv2.resize(cam.astype(np.float32), (32, 32))  # grad-cam upsamples to the input size with cv2
    cam = np.maximum(cam, 0)
    cam = (cam - cam.min()) / (1e-7 + cam.max() - cam.min())
    return signed, cam


def test_gradcam_equals_hand_computation():
    det = tiny_detector(seed=1)
    crop = crop_of(32)
    hm = explain(det, crop, "gradcam")
    signed, cam = _hand_gradcam(det, crop, hm.target_index)
    assert cam.max() > 0.5  # a non-degenerate map for this seed
    np.testing.assert_allclose(hm.heatmap, normalize01(cam), atol=1e-5)
    np.testing.assert_allclose(hm.raw, resize_map(signed, (32, 32)), rtol=1e-4, atol=1e-6)
    # On a larger crop the same input-resolution map is upsampled to the crop
    big = cv2.resize(crop, (48, 48), interpolation=cv2.INTER_AREA)
    hm48 = explain(det, big, "gradcam")
    _, cam48 = _hand_gradcam(det, big, hm48.target_index)
    np.testing.assert_allclose(hm48.heatmap, normalize01(resize_map(cam48, (48, 48))), atol=1e-5)
    assert hm48.heatmap.shape == (48, 48)


def test_cam_survives_inplace_op_after_target_layer():
    det = tiny_detector(seed=2, model_cls=ResidualInplace)
    before = snapshot(det)
    for method in ("gradcam", "layercam", "lrp-epsilon-plus-flat"):
        hm = explain(det, crop_of(32), method)
        assert np.isfinite(hm.raw).all() and hm.heatmap.max() <= 1.0
    assert_untouched(det, before)


def test_saliency_and_integrated_gradients_references():
    det = tiny_detector(seed=2)
    crop = crop_of(32, seed=3)
    x = det.preprocess([crop]).requires_grad_(True)
    out = det.model(x)
    idx = explain(det, crop, "saliency").target_index
    (g,) = torch.autograd.grad(out[0, idx], x)
    g = g[0].double().numpy()
    sal = explain(det, crop, "saliency")
    np.testing.assert_allclose(sal.raw, g.sum(0), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(sal.heatmap, normalize01(np.abs(g).max(0), "positive"), atol=1e-5)
    # IG completeness: attributions sum to f(x) - f(baseline); black baseline
    ig = explain(det, crop, "integrated-gradients", steps=64)
    black = det.preprocess([np.zeros_like(crop)])
    with torch.no_grad():
        diff = float(det.model(det.preprocess([crop]))[0, idx] - det.model(black)[0, idx])
    assert float(ig.raw.sum()) == pytest.approx(diff, abs=1e-3 + 0.02 * abs(diff))


def test_lrp_relevance_recorded_and_sum_preserved_on_resize():
    det = tiny_detector(seed=4)
    hm = explain(det, crop_of(48), "lrp-epsilon-plus-flat")
    assert hm.params["relevance_sum"] == pytest.approx(float(hm.raw.sum()), rel=1e-3, abs=1e-6)
    assert np.isfinite(hm.params["explained_logit"])


# --- the guard: explaining never changes the model ------------------------------------------------------------------
@pytest.mark.parametrize("method", FAST + ["scorecam", "integrated-gradients"])
def test_explain_leaves_model_untouched(method):
    det = tiny_detector(seed=5)
    det.model.conv1.weight.requires_grad_(False)  # mixed flags must come back as they were
    det.model.fc.weight.grad = torch.ones_like(det.model.fc.weight)  # an existing .grad must survive
    before = snapshot(det)
    params = {"steps": 4} if method == "integrated-gradients" else {}
    hm = explain(det, crop_of(40), method, **params)
    assert_untouched(det, before)
    assert hm.heatmap.shape == hm.raw.shape == (40, 40)
    assert hm.heatmap.dtype == np.float32 and hm.raw.dtype == np.float32
    assert np.isfinite(hm.raw).all() and hm.heatmap.min() >= 0.0 and hm.heatmap.max() <= 1.0
    assert hm.detector == "tiny" and hm.method == method and hm.elapsed_ms > 0
    json.dumps(hm.to_dict())
    again = explain(det, crop_of(40), method, **params)
    np.testing.assert_array_equal(hm.heatmap, again.heatmap)  # deterministic
    np.testing.assert_array_equal(hm.raw, again.raw)


def test_guard_restores_state_after_an_error():
    det = tiny_detector(seed=6)
    before = snapshot(det)
    with pytest.raises(ForensicsError):
        explain(det, crop_of(32), "integrated-gradients", steps=1)
    assert_untouched(det, before)
    assert det.lock.acquire(blocking=False)  # the lock was released
    det.lock.release()


def test_threads_share_one_model_safely():
    det = tiny_detector(seed=7)
    jobs = [(m, crop_of(40, seed=s)) for s in range(3) for m in ("gradcam", "lrp-epsilon-plus-flat", "saliency")]
    sequential = [explain(det, c, m).heatmap for m, c in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda job: explain(det, job[1], job[0]).heatmap, jobs))
    for a, b in zip(sequential, parallel, strict=True):
        np.testing.assert_array_equal(a, b)
    for mod in det.model.modules():
        assert not mod._forward_hooks and not mod._forward_pre_hooks


# --- targets, parameters, applicability -----------------------------------------------------------------------------
def test_default_target_is_most_probable_fake_class_and_override():
    det = tiny_detector(seed=8, classes=("real", "swap", "generated"))
    crop = crop_of(32)
    proba = det.predict_proba(det.preprocess([crop]))[0]
    hm = explain(det, crop, "gradcam")
    assert hm.target_index == 1 + int(np.argmax(proba[1:]))
    assert hm.probability == pytest.approx(proba[hm.target_index])
    assert explain(det, crop, "gradcam", target="real").target_index == 0
    assert explain(det, crop, "gradcam", target=2).target_name == "generated"
    with pytest.raises(ForensicsError, match="unknown target class"):
        explain(det, crop, "gradcam", target="cat")
    with pytest.raises(ForensicsError, match="no parameter"):
        explain(det, crop, "gradcam", bogus=1)
    with pytest.raises(BadImageError):
        explain(det, crop.astype(np.float32), "gradcam")


def test_probability_is_the_calibrated_one():
    from forensics.calibration import Calibration
    from forensics.calibration.likelihood_ratio import LikelihoodRatioModel

    lr = LikelihoodRatioModel(
        knots=(-1.0, 1.0), log10_lr=(0.0, 0.0), cap_high=1.0, cap_low=-1.0, n_real=10, n_fake=10, bins=2
    )
    cal = Calibration(temperature=3.0, band=(0.3, 0.7), target_error=0.05, lr_model=lr, class_bias=(0.0, -0.8))
    det = tiny_detector(seed=9, calibration=cal)
    crop = crop_of(32)
    hm = explain(det, crop, "gradcam", target="fake")
    logits = det.predict(det.preprocess([crop])).double().numpy()[0] / 3.0 + np.array([0.0, -0.8])
    p = np.exp(logits - logits.max())
    assert hm.probability == pytest.approx(p[1] / p.sum(), rel=1e-9)


def test_not_applicable_reasons():
    vit_like = tiny_detector(seed=0, reshape_transform=lambda t: t)
    for method in ("lrp-epsilon-plus-flat", "lrp-hse-mix", "lrp-captum"):
        ok, why = applicable(vit_like, method)
        assert not ok and "attention" in why
        with pytest.raises(NotApplicableError, match="cannot explain"):
            explain(vit_like, crop_of(32), method)
    res = tiny_detector(seed=0, model_cls=Residual)
    ok, why = applicable(res, "lrp-captum")
    assert not ok and "skip connection" in why
    assert applicable(res, "lrp-epsilon-plus-flat") == (True, "")
    no_layers = tiny_detector(seed=0, target_layers=None)
    ok, why = applicable(no_layers, "gradcam")
    assert not ok and "target layers" in why
    assert applicable(tiny_detector(), "lrp-captum") == (True, "")
    assert set(FAST) | {"scorecam", "integrated-gradients"} == set(list_explainers())


# --- agreement ------------------------------------------------------------------------------------------------------
def test_agreement_identity_negation_and_hand_iou():
    a = np.arange(100, dtype=np.float64).reshape(10, 10)
    same = agreement(a, a.copy())
    assert same["spearman"] == pytest.approx(1.0) and all(v == 1.0 for v in same["iou"].values())
    assert agreement(a, -a)["spearman"] == pytest.approx(-1.0)
    b = a.copy()
    b.ravel()[85:95] += 100  # b's top 10% = pixels 85..94; a's = 90..99: 5 shared of 15
    assert agreement(a, b, top_k=(0.1,))["iou"]["0.1"] == pytest.approx(5 / 15)
    assert agreement(a, np.ones_like(a))["spearman"] is None  # undefined for a constant map
    up = agreement(a, cv2.resize(a.astype(np.float32), (20, 20), interpolation=cv2.INTER_LINEAR))
    assert up["spearman"] > 0.99


def test_agreement_on_heatmaps():
    det = tiny_detector(seed=10)
    hm = explain(det, crop_of(40), "gradcam")
    res = agreement(hm, hm)
    assert res["spearman"] == pytest.approx(1.0) and res["iou"]["0.05"] == 1.0
    raw = agreement(hm, hm, use="raw")
    assert raw["use"] == "raw" and raw["spearman"] == pytest.approx(1.0)


# --- faithfulness ---------------------------------------------------------------------------------------------------
class QuadrantNet(nn.Module):
    """fake logit = 4 x mean brightness of the top-left quadrant: a map marking that quadrant is the faithful one."""

    def __init__(self, classes: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.fill_(1.0)

    def forward(self, x):
        q = self.conv(x)[:, :, :16, :16].mean(dim=(1, 2, 3))
        return torch.stack([torch.zeros_like(q), 4.0 * q], dim=1)


def test_faithfulness_prefers_the_faithful_map():
    det = tiny_detector(model_cls=QuadrantNet, target_layers=lambda m: [m.conv])
    crop = np.full((32, 32, 3), 40, np.uint8)
    crop[:16, :16] = 230  # bright evidence in the top-left quadrant; the blur baseline dims it
    good = np.zeros((32, 32))
    good[:16, :16] = 1.0
    good += np.linspace(0, 0.01, 32 * 32).reshape(32, 32)  # break ties deterministically
    bad = good.max() - good
    fg = faithfulness(det, crop, good, steps=8, target=1, road_percentiles=(50,))
    fb = faithfulness(det, crop, bad, steps=8, target=1, road_percentiles=(50,))
    assert fg["deletion_auc"] < fb["deletion_auc"] and fg["insertion_auc"] > fb["insertion_auc"]
    assert fg["difference"] > 0 > fb["difference"]
    assert fg["road"]["combined"] > fb["road"]["combined"]
    f = np.asarray(fg["fractions"])
    assert len(f) == 9 and f[0] == 0 and f[-1] == 1
    d, i = np.asarray(fg["deletion"]), np.asarray(fg["insertion"])
    assert d[0] == pytest.approx(fg["original_probability"]) and i[-1] == pytest.approx(fg["original_probability"])
    assert d[-1] == pytest.approx(i[0])  # both are the fully blurred crop
    assert fg["deletion_auc"] == pytest.approx(float(np.sum((d[1:] + d[:-1]) / 2 * np.diff(f))))


def test_faithfulness_of_a_heatmap_is_deterministic_and_json():
    det = tiny_detector(seed=11)
    crop = crop_of(40)
    hm = explain(det, crop, "gradcam")
    a = faithfulness(det, crop, hm, steps=4, road_percentiles=(30, 70))
    b = faithfulness(det, crop, hm, steps=4, road_percentiles=(30, 70))
    assert a == b and a["target_index"] == hm.target_index
    assert a["road"]["percentiles"] == [30, 70] and np.isfinite(a["road"]["combined"])
    json.dumps(a)
    assert "road" not in faithfulness(det, crop, hm, steps=2, road=False)


# --- feature maps ---------------------------------------------------------------------------------------------------
def test_feature_maps_match_the_layer_output():
    det = tiny_detector(seed=12)
    crop = crop_of(32)
    assert feature_layer_names(det) == ["conv1", "conv2"]
    assert "relu1" in feature_layer_names(det, ("act",))
    fm = feature_maps(det, crop, "conv1")
    with torch.no_grad():
        ref = det.model.conv1(det.preprocess([crop]))[0].numpy()
    assert fm.shape == (8, 32, 32)
    np.testing.assert_allclose(fm, ref, rtol=1e-6, atol=1e-6)
    with pytest.raises(ForensicsError, match="no layer"):
        feature_maps(det, crop, "conv9")
    with pytest.raises(ForensicsError, match="no 2-D feature maps"):
        feature_maps(det, crop, "fc")
    assert not det.model.conv1._forward_hooks


# --- overlays -------------------------------------------------------------------------------------------------------
def test_overlay_colours():
    from forensics.viz.overlay import COLORMAPS, colorize, colorize_signed, overlay, side_by_side

    jet = colorize(np.array([[0.0, 0.5, 1.0]]), "jet")
    assert jet.dtype == np.uint8 and tuple(jet[0, 0]) == (0, 0, 128) and tuple(jet[0, 2]) == (128, 0, 0)
    assert tuple(colorize(np.array([[0.0, 1.0]]), "viridis")[0, 1]) == (253, 231, 37)
    signed = colorize_signed(np.array([[-1.0, 0.0, 1.0]]), percentile=100)
    assert [tuple(c) for c in signed[0]] == [(0, 0, 255), (255, 255, 255), (255, 0, 0)]
    img = np.full((4, 4, 3), 100, np.uint8)
    out = overlay(img, np.zeros((2, 2)), alpha=0.5, cmap="gray")
    assert out.shape == (4, 4, 3) and int(out[0, 0, 0]) == 50
    assert (overlay(img, np.ones((4, 4)), alpha=0.0) == img).all()
    row = side_by_side([img, np.zeros((8, 8, 3), np.uint8)], ["a", "b"], pad=2)
    assert row.shape == (8 + 18, 8 + 2 + 8, 3)
    assert set(COLORMAPS) >= {"jet", "viridis", "bwr"}
    with pytest.raises(ValueError):
        colorize(np.zeros((2, 2)), "nope")


def test_import_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, forensics.explainers as e, forensics.viz.overlay, forensics.commands.explain; "
        "e.list_explainers(); print([m for m in ('torch', 'cv2', 'captum', 'zennit', 'pytorch_grad_cam') "
        "if m in sys.modules])"
    )
    from forensics.paths import PROJECT_ROOT

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
    assert out.stdout.strip() == "[]"
