"""Layer-wise relevance propagation: zennit composites with the detector's canonizers, and captum's LRP as a
cross-check on plain CNNs.

Composites (zennit rule names in brackets):
- ``lrp-epsilon``: epsilon rule on every conv / linear layer.
- ``lrp-epsilon-plus-flat``: flat on the first layer, z-plus (alpha1-beta0) on convs, epsilon on dense layers.
- ``lrp-epsilon-gamma-box``: z-box on the first layer (pixel bounds from the detector's normalisation), gamma on
  convs, epsilon on dense layers.
- ``lrp-gamma-epsilon-zero``: rules by depth thirds of the conv/linear layers (in module order), as Montavon et al.
  (2019) recommend: gamma on the lower third (near the input), epsilon on the middle, LRP-0 (epsilon 1e-9) on the
  upper third (near the output). ``lrp-hse-mix`` is its former name (it resolves, with a warning).
Activations and batch norms pass relevance through, sums and average pools use the Norm rule (zennit's base map).

The relevance of the explained logit is conserved up to the stabilisers and biases: ``relevance_sum`` and
``explained_logit`` are recorded in the Heatmap's params so an analyst can see it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forensics.errors import ForensicsError, NotApplicableError
from forensics.explainers import EXPLAINERS, Explainer
from forensics.explainers._common import ClassTarget, is_transformer

DEPTH_THIRDS = "lrp-gamma-epsilon-zero"
FORMER_NAMES = ("lrp-hse-mix",)  # earlier names of DEPTH_THIRDS: resolve with a warning, never listed
LRP_METHODS = ("lrp-epsilon", "lrp-epsilon-plus-flat", "lrp-epsilon-gamma-box", DEPTH_THIRDS)


def conv_linear_names(model: Any) -> list[str]:
    """Names of the conv and linear layers of ``model`` in module (definition) order."""
    import torch

    kinds = (torch.nn.modules.conv._ConvNd, torch.nn.Linear)
    return [name for name, m in model.named_modules() if isinstance(m, kinds)]


def depth_thirds(names: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Split layer names into (lower, middle, upper) thirds; lower = nearest the input."""
    parts = np.array_split(np.arange(len(names)), 3)
    return tuple([names[i] for i in part] for part in parts)  # type: ignore[return-value]


def make_composite(
    method: str,
    model: Any,
    *,
    canonizers: list[Any] | None = None,
    low: Any = None,
    high: Any = None,
    epsilon: float = 1e-6,
    gamma: float = 0.25,
    stabilizer: float = 1e-6,
):
    """Build a fresh zennit composite for ``method`` (one of LRP_METHODS). ``low``/``high``: input bounds (z-box)."""
    import torch
    from zennit.composites import (
        EpsilonGammaBox,
        EpsilonPlusFlat,
        LayerMapComposite,
        NameLayerMapComposite,
        layer_map_base,
    )
    from zennit.rules import Epsilon, Gamma
    from zennit.types import Convolution

    canonizers = list(canonizers or [])
    if method == "lrp-epsilon":
        layer_map = layer_map_base(stabilizer) + [(Convolution, Epsilon(epsilon)), (torch.nn.Linear, Epsilon(epsilon))]
        return LayerMapComposite(layer_map=layer_map, canonizers=canonizers)
    if method == "lrp-epsilon-plus-flat":
        return EpsilonPlusFlat(epsilon=epsilon, stabilizer=stabilizer, canonizers=canonizers)
    if method == "lrp-epsilon-gamma-box":
        if low is None or high is None:
            raise ForensicsError("lrp-epsilon-gamma-box needs the input bounds low/high")
        return EpsilonGammaBox(
            low=low, high=high, epsilon=epsilon, gamma=gamma, stabilizer=stabilizer, canonizers=canonizers
        )
    if method == DEPTH_THIRDS:
        lower, middle, upper = depth_thirds(conv_linear_names(model))
        name_map = [
            (tuple(lower), Gamma(gamma=gamma, stabilizer=stabilizer)),
            (tuple(middle), Epsilon(epsilon=epsilon)),
            (tuple(upper), Epsilon(epsilon=1e-9)),
        ]
        name_map = [(names, rule) for names, rule in name_map if names]
        return NameLayerMapComposite(name_map=name_map, layer_map=layer_map_base(stabilizer), canonizers=canonizers)
    raise ForensicsError(f"unknown LRP composite {method!r}; known: {', '.join(LRP_METHODS)}")


def lrp_relevance(model: Any, x: Any, target: Any, method: str, **composite_kwargs: Any):
    """Run zennit LRP on any torch model: returns (output, relevance with the shape of ``x``).

    ``target``: class index or a callable on the output (e.g. :class:`ClassTarget`). Works in float64 too (tests).
    The caller is responsible for the model guard (``_common.guarded``) when the model is shared.
    """
    import torch
    from zennit.attribution import Gradient

    tgt = ClassTarget(int(target)) if isinstance(target, int | np.integer) else target

    def output_relevance(out):
        # Initial relevance = output x d target / d output: the explained logit itself for a ClassTarget, so the
        # input relevance sums to the logit (up to stabilisers and biases) rather than to 1.
        o = out.detach().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(tgt(o).sum(), o)
        return g * o.detach()

    composite = make_composite(method, model, **composite_kwargs)
    xin = x.detach().clone().requires_grad_(True)
    with torch.enable_grad(), Gradient(model=model, composite=composite) as attributor:
        out, rel = attributor(xin, output_relevance)
    return out.detach(), rel.detach()


class ZennitExplainer(Explainer):
    family = "lrp"
    additive = True
    heatmap_mode = "positive"
    defaults: dict[str, Any] = {"epsilon": 1e-6, "stabilizer": 1e-6}

    def applicable(self, detector: Any) -> tuple[bool, str]:
        if is_transformer(detector):
            return False, (
                "LRP rules here cover conv/linear/pooling layers; attention (softmax, matmul of two "
                "activations) needs its own rules (e.g. AttnLRP), which are not implemented: use a CAM "
                "method with the ViT reshape transform"
            )
        return True, ""

    def composite_kwargs(self, detector: Any, x: Any, params: dict[str, Any]) -> dict[str, Any]:
        kw = {
            "canonizers": detector.canonizers(),
            "epsilon": float(params["epsilon"]),
            "stabilizer": float(params["stabilizer"]),
        }
        if "gamma" in params:
            kw["gamma"] = float(params["gamma"])
        return kw

    def attribute(self, detector: Any, x: Any, target: ClassTarget, params: dict[str, Any]):
        kw = self.composite_kwargs(detector, x, params)
        out, rel = lrp_relevance(detector.model, x, target, self.name, **kw)
        r = rel[0].double().cpu().numpy()
        logit = float(target(out)[0])
        info: dict[str, Any] = {
            "relevance_sum": float(r.sum()),
            "explained_logit": logit,
            "canonizers": [type(c).__name__ for c in kw["canonizers"]],
        }
        return r.sum(0), None, info


def _register(name: str, title: str, description: str, default: str | None = None, **defaults: Any) -> None:
    cls = type(
        name.replace("-", "_"),
        (ZennitExplainer,),
        {"name": name, "description": description, "defaults": {**ZennitExplainer.defaults, **defaults}},
    )
    EXPLAINERS.register(name, family="lrp", title=title, description=description, default=default)(cls)


class _BoxMixin:
    def composite_kwargs(self, detector: Any, x: Any, params: dict[str, Any]) -> dict[str, Any]:
        import torch

        kw = ZennitExplainer.composite_kwargs(self, detector, x, params)  # type: ignore[arg-type]
        pp = detector.config.preprocess
        mean = torch.tensor(pp.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(pp.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        kw["low"] = ((0.0 - mean) / std).expand_as(x).contiguous()
        kw["high"] = ((1.0 - mean) / std).expand_as(x).contiguous()
        return kw


# lrp-epsilon is the default LRP (default="lrp": shown beside Grad-CAM on the Explain page and in reports): lrp-epsilon
# passes the cascading randomisation check on the shipped weights (lrp-epsilon-plus-flat does not, see
# forensics.explainers.cam) and is the more faithful of the passing LRP rules (insertion - deletion AUC +0.14 on the 25
# val edits); it points at an edited part in 76% of 155 edits (chance 73%).
_register("lrp-epsilon", "LRP (epsilon rule)", "LRP epsilon rule on all conv/linear layers", default="lrp", epsilon=0.1)
_register(
    "lrp-epsilon-plus-flat",
    "LRP (epsilon-plus-flat rule)",
    "LRP: flat first layer, z-plus convs, epsilon dense (zennit EpsilonPlusFlat)",
)
_register(
    DEPTH_THIRDS,
    "LRP (mixed rules by depth)",
    "LRP by depth thirds: gamma lower, epsilon middle, LRP-0 upper (Montavon et al. 2019)",
    epsilon=0.25,
    gamma=0.25,
)
for _former in FORMER_NAMES:
    EXPLAINERS.deprecate(_former, DEPTH_THIRDS)
EXPLAINERS.register(
    "lrp-epsilon-gamma-box",
    family="lrp",
    title="LRP (epsilon-gamma-box rule)",
    description="LRP: z-box first layer, gamma convs, epsilon dense (zennit EpsilonGammaBox)",
)(
    type(
        "lrp_epsilon_gamma_box",
        (_BoxMixin, ZennitExplainer),
        {
            "name": "lrp-epsilon-gamma-box",
            "description": "zennit EpsilonGammaBox",
            "defaults": {**ZennitExplainer.defaults, "gamma": 0.25},
        },
    )
)


# --- captum LRP on plain CNNs ---------------------------------------------------------------------------------------
# Parameter-free leaves left to autograd: shape-only or linear ops (Meso-4's Keras-order flatten and its map from the
# single "real" score to two logits), and LeakyReLU (its gradient is used; captum has no rule for it).
_TRANSPARENT = ("Flatten", "KerasFlatten", "Unflatten", "Identity", "LeakyReLU", "Dropout2d", "RealScoreToLogits")


def _captum_layer_problem(model: Any) -> str | None:
    import torch
    from captum.attr._core.lrp import SUPPORTED_LAYERS_WITH_RULES, SUPPORTED_NON_LINEAR_LAYERS

    for name, m in model.named_modules():
        if list(m.children()):
            continue
        if type(m) in SUPPORTED_LAYERS_WITH_RULES or type(m) in SUPPORTED_NON_LINEAR_LAYERS:
            continue
        if type(m).__name__ in _TRANSPARENT and not any(True for _ in m.parameters()):
            continue
        return f"layer {name or '<model>'} is a {type(m).__name__}, which captum's LRP has no rule for"
    if not any(isinstance(m, torch.nn.modules.conv._ConvNd | torch.nn.Linear) for m in model.modules()):
        return "the model has no conv/linear layer"
    return None


def _captum_structure_problem(model: Any) -> str | None:
    """Refuse graphs with skip connections / concatenations: captum's LRP then multiplies relevance."""
    import operator

    import torch
    import torch.fx

    try:
        graph = torch.fx.symbolic_trace(model).graph
    except (torch.fx.proxy.TraceError, TypeError, RuntimeError, AttributeError, NotImplementedError) as exc:
        return f"its graph cannot be traced to rule out skip connections ({type(exc).__name__}: {exc})"
    joins = {operator.add, operator.iadd, operator.mul, torch.add, torch.cat, torch.stack, torch.mul}
    modules = dict(model.named_modules())
    memo: dict[str, frozenset[str]] = {}

    def roots(node) -> frozenset[str]:
        """Nearest ancestors that are parameterised layers (or the input): where a branch starts."""
        if node.name not in memo:
            if node.op == "placeholder" or (
                node.op == "call_module" and any(True for _ in modules[node.target].parameters())
            ):
                memo[node.name] = frozenset([node.name])
            else:
                memo[node.name] = frozenset().union(*[roots(n) for n in node.all_input_nodes])
        return memo[node.name]

    for node in graph.nodes:
        target = node.target
        is_join = (node.op == "call_function" and target in joins) or (
            node.op == "call_method" and target in ("add", "add_", "mul", "mul_")
        )
        inputs = node.all_input_nodes
        # A join of tensors computed by different layers is a skip connection or a branch merge; a join of
        # parameter-free views of one tensor (Meso-4's [z/2, -z/2]) is not.
        if is_join and len(inputs) >= 2 and len({roots(n) for n in inputs}) > 1:
            return (
                f"it joins two activations ({node.format_node()}): a skip connection or branch, on which "
                "captum's LRP does not conserve relevance; use lrp-epsilon-plus-flat (zennit) instead"
            )
    return None


def captum_lrp(model: Any, x: Any, target_index: int):
    """captum's LRP (its default epsilon rules) with parameter-free shape/linear leaves left to autograd.

    Returns (relevance with the shape of ``x``, convergence delta). Cleans up the attributes captum leaves on layers.
    Only meaningful on plain CNNs (see ``CaptumLRPExplainer.applicable``).
    """
    from captum.attr import LRP
    from captum.attr._utils.lrp_rules import PropagationRule

    class _Transparent(PropagationRule):
        """Leaves a parameter-free layer to autograd: relevance passes with the layer's gradient."""

        def forward_hook(self, module, inputs, outputs):
            return None

        def forward_hook_weights(self, module, inputs, outputs):
            return None

        def forward_pre_hook_activations(self, module, inputs):
            return None

        def _manipulate_weights(self, module, inputs, outputs):
            return None

    leaves = [m for m in model.modules() if not list(m.children())]
    had_activations = {id(m) for m in leaves if hasattr(m, "activations")}
    for m in leaves:
        if type(m).__name__ in _TRANSPARENT:
            m.rule = _Transparent()
    try:
        attr, delta = LRP(model).attribute(
            x.detach().clone().requires_grad_(True), target=int(target_index), return_convergence_delta=True
        )
    finally:
        for m in leaves:  # captum leaves `activations` dicts (and our rules on failure) on the layers
            if hasattr(m, "rule"):
                del m.rule
            if hasattr(m, "activations") and id(m) not in had_activations:
                del m.activations
    return attr.detach(), delta.detach()


@EXPLAINERS.register(
    "lrp-captum", family="lrp", title="LRP (captum)", description="captum LRP (epsilon rules), plain CNNs only"
)
class CaptumLRPExplainer(Explainer):
    name = "lrp-captum"
    family = "lrp"
    additive = True
    heatmap_mode = "positive"
    defaults: dict[str, Any] = {}

    def applicable(self, detector: Any) -> tuple[bool, str]:
        if is_transformer(detector):
            return False, "captum's LRP has no rules for attention layers"
        problem = _captum_layer_problem(detector.model) or _captum_structure_problem(detector.model)
        if problem:
            return False, f"captum's LRP is only a cross-check on plain CNNs: {problem}"
        return True, ""

    def attribute(self, detector: Any, x: Any, target: ClassTarget, params: dict[str, Any]):
        attr, delta = captum_lrp(detector.model, x, target.index)
        leaves = [m for m in detector.model.modules() if not list(m.children())]
        r = attr[0].detach().double().cpu().numpy()
        if not np.all(np.isfinite(r)):
            raise NotApplicableError(f"captum's LRP diverged on {detector.name}: use lrp-epsilon-plus-flat")
        notes = []
        if any(type(m).__name__ == "LeakyReLU" for m in leaves):
            notes.append("LeakyReLU layers propagate relevance with their gradient (captum has no rule for them)")
        return (
            r.sum(0),
            None,
            {"relevance_sum": float(r.sum()), "convergence_delta": float(delta.detach().abs().max()), "notes": notes},
        )
