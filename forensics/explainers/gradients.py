"""Input-gradient methods through captum: saliency (absolute gradient) and integrated gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from forensics.errors import ForensicsError
from forensics.explainers import EXPLAINERS, Explainer
from forensics.explainers._common import ClassTarget


def _scalar_forward(detector: Any, target: ClassTarget):
    """Model -> explained logit (N,), so captum needs no target index and uses the same target as CAM and LRP."""

    def forward(inp):
        return target(detector.model(inp))

    return forward


@EXPLAINERS.register(
    "saliency", family="gradient", title="Gradient saliency", description="absolute input gradient (max over channels)"
)
class SaliencyExplainer(Explainer):
    name = "saliency"
    family = "gradient"
    defaults: dict[str, Any] = {}
    heatmap_mode = "positive"

    def attribute(self, detector: Any, x: Any, target: ClassTarget, params: dict[str, Any]):
        from captum.attr import Saliency

        grad = Saliency(_scalar_forward(detector, target)).attribute(
            x.detach().clone().requires_grad_(True), abs=False
        )[0]
        g = grad.detach().double().cpu().numpy()
        return g.sum(0), np.abs(g).max(0), {}


def _baseline(detector: Any, x: Any, kind: str):
    import torch

    pp = detector.config.preprocess
    mean = torch.tensor(pp.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(pp.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    if kind == "black":
        return ((torch.zeros_like(x) - mean) / std).detach()
    if kind == "mean":  # the training mean colour: zero after normalisation
        return torch.zeros_like(x)
    if kind == "blur":
        import torchvision.transforms.functional as TF

        k = max(3, (int(x.shape[-1]) // 8) | 1)
        return TF.gaussian_blur(x.detach(), kernel_size=[k, k], sigma=[k / 3.0, k / 3.0])
    raise ForensicsError(f"unknown integrated-gradients baseline {kind!r}: use black, mean or blur")


@EXPLAINERS.register(
    "integrated-gradients",
    family="gradient",
    title="Integrated gradients",
    description="integrated gradients from a baseline (completeness: sums to f(x) - f(baseline))",
)
class IntegratedGradientsExplainer(Explainer):
    name = "integrated-gradients"
    family = "gradient"
    additive = True
    heatmap_mode = "positive"
    defaults: dict[str, Any] = {"steps": 32, "baseline": "black", "batch_size": 16}

    def attribute(self, detector: Any, x: Any, target: ClassTarget, params: dict[str, Any]):
        from captum.attr import IntegratedGradients

        steps = int(params["steps"])
        if steps < 2:
            raise ForensicsError(f"integrated-gradients needs steps >= 2, got {steps}")
        base = _baseline(detector, x, str(params["baseline"]))
        ig = IntegratedGradients(_scalar_forward(detector, target))
        attr, delta = ig.attribute(
            x.detach().clone().requires_grad_(True),
            baselines=base,
            n_steps=steps,
            internal_batch_size=int(params["batch_size"]),
            return_convergence_delta=True,
        )
        a = attr[0].detach().double().cpu().numpy()
        return a.sum(0), None, {"convergence_delta": float(delta.detach().abs().max())}
