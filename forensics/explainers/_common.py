"""Shared pieces of the explainers: targets, the model guard, resizing and normalisation helpers.

Torch is imported inside functions so that ``import forensics.explainers`` stays light.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from forensics.errors import ForensicsError


@dataclass(frozen=True)
class ClassTarget:
    """The logit of one class: the quantity every explainer attributes (pytorch-grad-cam's ClassifierOutputTarget).

    Works on a single output row (C,) and on a batch (N, C). Shared by CAM, gradient methods and LRP.
    """

    index: int

    def __call__(self, model_output):
        if model_output.ndim == 1:
            return model_output[self.index]
        return model_output[:, self.index]


@dataclass(frozen=True)
class ProbabilityTarget:
    """Calibrated probability of one class (softmax of logits / temperature + class biases); used by the
    faithfulness metrics."""

    index: int
    temperature: float = 1.0
    class_bias: tuple[float, ...] = ()

    def __call__(self, model_output):
        import torch

        z = model_output.double() / self.temperature
        if self.class_bias:
            z = z + torch.tensor(self.class_bias, dtype=torch.float64, device=z.device)
        return torch.softmax(z, dim=-1)[..., self.index]


def resize_map(arr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a 2-D float map to ``shape`` (H, W); identity when the shape already matches."""
    import cv2

    arr = np.asarray(arr, dtype=np.float32)
    if arr.shape == tuple(shape):
        return arr.copy()
    return cv2.resize(arr, (int(shape[1]), int(shape[0])), interpolation=cv2.INTER_LINEAR)


def normalize01(arr: np.ndarray, mode: str = "minmax") -> np.ndarray:
    """Map a float map to [0, 1].

    ``minmax``: (a - min) / (max - min) (grad-cam's convention); ``positive``: max(a, 0) / max;
    ``abs``: |a| / max|a|. A constant map becomes all zeros.
    """
    a = np.nan_to_num(np.asarray(arr, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if mode == "minmax":
        a = a - a.min()
    elif mode == "positive":
        a = np.maximum(a, 0.0)
    elif mode == "abs":
        a = np.abs(a)
    else:
        raise ValueError(f"unknown normalisation {mode!r}")
    top = a.max()
    if top <= 0 or not np.isfinite(top):
        return np.zeros(a.shape, dtype=np.float32)
    return np.clip(a / top, 0.0, 1.0).astype(np.float32)


def is_transformer(detector: Any) -> bool:
    """True for attention-based detectors (ViT/DeiT): they carry a reshape transform or attention modules."""
    if getattr(detector, "reshape_transform", None) is not None:
        return True
    import torch

    for m in detector.model.modules():
        if isinstance(m, torch.nn.MultiheadAttention) or type(m).__name__.endswith("Attention"):
            return True
    return False


def _hook_counts(model) -> dict[int, tuple[set, set, set, set]]:
    out = {}
    for m in model.modules():
        out[id(m)] = (
            set(m._forward_hooks),
            set(m._forward_pre_hooks),
            set(m._backward_hooks),
            set(getattr(m, "_backward_pre_hooks", {})),
        )
    return out


def _remove_new_hooks(model, before: dict[int, tuple[set, set, set, set]]) -> int:
    removed = 0
    for m in model.modules():
        old = before.get(id(m), (set(), set(), set(), set()))
        dicts = (m._forward_hooks, m._forward_pre_hooks, m._backward_hooks, getattr(m, "_backward_pre_hooks", {}))
        for d, keep in zip(dicts, old, strict=True):
            for key in [k for k in d if k not in keep]:
                del d[key]
                removed += 1
    return removed


@contextlib.contextmanager
def guarded(detector: Any) -> Iterator[None]:
    """Hold the detector's lock and undo every side effect an attribution library may leave on the model.

    Inside: eval mode, parameters do not require grad (so no ``.grad`` is accumulated), in-place activations are
    switched to out-of-place (LRP hooks cannot wrap in-place ops). On exit the requires_grad flags, ``.grad``
    tensors, ``inplace`` flags and training mode are restored, and any hook a library forgot is removed.
    """
    model = detector.model
    with detector.lock:
        params = list(model.parameters())
        flags = [p.requires_grad for p in params]
        grads = [p.grad for p in params]
        training = {id(m): m.training for m in model.modules()}
        inplace = [m for m in model.modules() if getattr(m, "inplace", False) is True]
        hooks_before = _hook_counts(model)
        try:
            for p in params:
                p.requires_grad_(False)
            for m in inplace:
                m.inplace = False
            model.eval()
            yield
        finally:
            for p, f, g in zip(params, flags, grads, strict=True):
                p.requires_grad_(f)
                p.grad = g
            for m in inplace:
                m.inplace = True
            for m in model.modules():
                m.training = training.get(id(m), m.training)
            _remove_new_hooks(model, hooks_before)


def resolve_target(detector: Any, proba: np.ndarray, target: int | str | None) -> int:
    """Class index to explain: ``None`` = the fake class with the highest probability ("why fake")."""
    classes = list(detector.classes)
    if target is None:
        fakes = list(detector.config.fake_indices)
        return int(fakes[int(np.argmax(proba[fakes]))])
    if isinstance(target, str):
        if target not in classes:
            raise ForensicsError(f"unknown target class {target!r} for {detector.name}; classes: {classes}")
        return classes.index(target)
    idx = int(target)
    if not 0 <= idx < len(classes):
        raise ForensicsError(f"target index {idx} out of range for {detector.name} ({len(classes)} classes)")
    return idx
