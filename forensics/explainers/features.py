"""Feature maps of a chosen layer (the Meso-4 report shows what each convolution responds to)."""

from __future__ import annotations

from typing import Any

import numpy as np

from forensics.errors import ForensicsError

_KINDS = {
    "conv": ("torch.nn.modules.conv._ConvNd",),
    "norm": ("torch.nn.modules.batchnorm._BatchNorm",),
    "act": (
        "torch.nn.ReLU",
        "torch.nn.ReLU6",
        "torch.nn.LeakyReLU",
        "torch.nn.SiLU",
        "torch.nn.Hardswish",
        "torch.nn.GELU",
    ),
    "pool": ("torch.nn.MaxPool2d", "torch.nn.AvgPool2d", "torch.nn.AdaptiveAvgPool2d"),
}


def _types(kinds: tuple[str, ...]) -> tuple[type, ...]:
    import importlib

    out = []
    for kind in kinds:
        if kind not in _KINDS:
            raise ForensicsError(f"unknown layer kind {kind!r}; known: {', '.join(_KINDS)}")
        for dotted in _KINDS[kind]:
            mod, _, attr = dotted.rpartition(".")
            out.append(getattr(importlib.import_module(mod), attr))
    return tuple(out)


def feature_layer_names(detector: Any, kinds: tuple[str, ...] = ("conv",)) -> list[str]:
    """Module names (``named_modules``) of the requested kinds, in definition order."""
    types = _types(kinds)
    return [name for name, m in detector.model.named_modules() if name and isinstance(m, types)]


def feature_maps(detector: Any, crop: np.ndarray, layer_name: str) -> np.ndarray:
    """Output activations (C, h, w) float32 of ``layer_name`` for one uint8 HxWx3 crop."""
    import torch

    from forensics.explainers import _check_crop
    from forensics.explainers._common import guarded

    modules = dict(detector.model.named_modules())
    if layer_name not in modules or not layer_name:
        raise ForensicsError(f"{detector.name} has no layer {layer_name!r}; see feature_layer_names(detector)")
    captured: list[Any] = []
    arr = _check_crop(crop)
    with guarded(detector):
        handle = modules[layer_name].register_forward_hook(lambda _m, _i, out: captured.append(out))
        try:
            with torch.no_grad():
                detector.model(detector.preprocess([arr]))
        finally:
            handle.remove()
    if not captured or not hasattr(captured[0], "shape") or captured[0].dim() != 4:
        shape = getattr(captured[0], "shape", None) if captured else None
        raise ForensicsError(f"layer {layer_name!r} of {detector.name} gives no 2-D feature maps (output {shape})")
    return captured[0][0].detach().float().cpu().numpy()
