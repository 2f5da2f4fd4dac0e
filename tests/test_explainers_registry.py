"""Registry-driven: every registered detector (random weights) x every explainer where applicable.

Invariants: parameters unchanged, no hooks or attributes left, finite maps at the crop's shape, heatmap in [0, 1],
deterministic. To keep CI short every architecture runs the core methods (Grad-CAM, saliency, one LRP composite)
and the full method list runs on Meso-4 (small, 256 px); Score-CAM and IG run there only, with few steps.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
detectors = pytest.importorskip("forensics.detectors")

from forensics.errors import NotApplicableError  # noqa: E402
from forensics.explainers import applicable, explain, list_explainers  # noqa: E402
from forensics.explainers._common import is_transformer  # noqa: E402


def _one_name_per_architecture() -> list[str]:
    """Names from list_detectors(), one per architecture (same model class = same explainer behaviour)."""
    seen: dict[str, str] = {}
    for status in detectors.list_detectors():
        if status.name in detectors.architecture_names():
            seen.setdefault(status.architecture, status.name)
    return sorted(seen.values())


NAMES = _one_name_per_architecture()
CORE = ("gradcam", "saliency", "lrp-epsilon-plus-flat")
_cache: dict[str, object] = {}


def _det(name: str):
    if name not in _cache:
        _cache[name] = detectors.create_detector(name, weights="none")
    return _cache[name]


def _crop(size: int = 64) -> np.ndarray:
    return (np.random.default_rng(42).random((size, size, 3)) * 255).astype(np.uint8)


def _state(det):
    return (
        {k: v.detach().clone() for k, v in det.model.state_dict().items()},
        [p.requires_grad for p in det.model.parameters()],
        [m.training for m in det.model.modules()],
        [sorted(vars(m)) for m in det.model.modules()],
    )


def _check(det, hm, before, shape):
    state, flags, training, attrs = before
    for k, v in det.model.state_dict().items():
        assert torch.equal(v, state[k]), f"{det.name}: parameter {k} changed"
    assert [p.requires_grad for p in det.model.parameters()] == flags
    assert [m.training for m in det.model.modules()] == training
    assert [sorted(vars(m)) for m in det.model.modules()] == attrs
    for m in det.model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks, type(m).__name__
    assert hm.heatmap.shape == hm.raw.shape == shape
    assert np.isfinite(hm.raw).all() and np.isfinite(hm.heatmap).all()
    assert 0.0 <= hm.heatmap.min() and hm.heatmap.max() <= 1.0
    assert 0.0 <= hm.probability <= 1.0 and hm.target_name in det.classes


def test_registry_is_not_empty():
    assert {"meso4", "mobilenetv2", "resnet34"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_applicability_is_explained(name):
    det = _det(name)
    for method in list_explainers():
        ok, why = applicable(det, method)
        assert isinstance(ok, bool) and (ok or why), (name, method)
        if is_transformer(det) and method.startswith("lrp"):
            assert not ok
    assert applicable(det, "lrp-captum")[0] == (name in ("meso4", "simplenet"))  # the plain CNNs only


SLOW = {"xception"}  # 299 px input: several seconds per LRP pass on 2 cores


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in NAMES])
def test_core_methods_on_every_detector(name):
    det = _det(name)
    crop = _crop()
    ran = 0
    for method in CORE:
        ok, why = applicable(det, method)
        if not ok:
            with pytest.raises(NotApplicableError):
                explain(det, crop, method)
            continue
        before = _state(det)
        hm = explain(det, crop, method)
        _check(det, hm, before, crop.shape[:2])
        if method == "gradcam":
            np.testing.assert_array_equal(hm.heatmap, explain(det, crop, method).heatmap)
        ran += 1
    assert ran >= 2, f"{name}: fewer than two core methods apply"


@pytest.mark.parametrize("method", list_explainers())
def test_every_method_on_meso4(method):
    det = _det("meso4")
    crop = _crop(48)
    params = {"steps": 4, "batch_size": 4} if method == "integrated-gradients" else {}
    if method == "scorecam":
        params = {"batch_size": 16}
    before = _state(det)
    hm = explain(det, crop, method, **params)
    _check(det, hm, before, (48, 48))
    np.testing.assert_array_equal(hm.raw, explain(det, crop, method, **params).raw)
