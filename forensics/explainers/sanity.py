"""Sanity checks for explanations (Adebayo et al., "Sanity checks for saliency maps", NeurIPS 2018).

Cascading model-parameter randomisation: the detector's parameterised layers are re-drawn at random from the top
(the logit layer) down, cumulatively, in ``stages`` steps, and every map is recomputed for the same class. A map
that explains the decision must change once the layers that make the decision are random; a map that survives
explains the image (edges, texture), not the model. Each face is explained for the class the trained detector
predicts (its logit is the largest, so LRP's relevance is not empty). Similarity is the Spearman rank correlation of
the [0, 1] heatmaps (what the pages show); a map of the randomised network that is constant has nothing left of the
original and counts as 0; a face whose original map is constant is left out for that method.

Rule (fixed before measuring): a method **passes** when, from the stage where the top half of the layers is random
down to the fully random network, the median Spearman correlation over the faces stays below ``threshold`` (0.5).

Re-drawn weights keep each tensor's mean and standard deviation (a Gaussian of the trained tensor's moments), so the
activations keep their scale and only the learned structure is destroyed. The randomised network is a copy: the
detector itself is never changed.

Data (label) randomisation, the paper's second test, needs the detector retrained on shuffled labels: 11-20 minutes
per run of the shipped recipe on this CPU, shared with the training of the detector itself, so it is not run here.

Example:
    >>> from forensics.explainers.sanity import cascading_randomisation           # doctest: +SKIP
    >>> res = cascading_randomisation(det, crops, ["gradcam", "lrp-epsilon-plus-flat"])  # doctest: +SKIP
    >>> res["methods"]["gradcam"]["passed"]                                        # doctest: +SKIP
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from forensics.errors import ForensicsError, NotApplicableError

THRESHOLD = 0.5
RULE = (
    "passes when the median Spearman rank correlation between the original map and the map of the randomised "
    "network stays below {threshold} from the stage where the top half of the layers is random down to the "
    "fully random network"
)


def parameter_layers(model: Any) -> list[str]:
    """Names of the modules that own parameters (conv, linear, norm layers), input side first."""
    return [n for n, m in model.named_modules() if n and any(True for _ in m.parameters(recurse=False))]


def cascade_stages(model: Any, stages: int = 6) -> list[list[str]]:
    """Layer groups randomised in turn, top first: the logit layer alone, then the remaining layers from the output
    towards the input in ``stages - 1`` groups of about equal size."""
    names = parameter_layers(model)
    if not names:
        raise ForensicsError("the model has no parameterised layer to randomise")
    if stages < 2:
        raise ForensicsError(f"a cascade needs at least 2 stages, got {stages}")
    rest = names[:-1][::-1]
    groups = [[names[-1]]] + [list(g) for g in np.array_split(np.array(rest, dtype=object), stages - 1) if len(g)]
    return groups


def randomise_layers(model: Any, names: Sequence[str], generator: Any) -> None:
    """Re-draw every parameter of the named modules from a Gaussian with the tensor's own mean and std (in place)."""
    import torch

    modules = dict(model.named_modules())
    with torch.no_grad():
        for name in names:
            for p in modules[name].parameters(recurse=False):
                flat = p.detach().double().flatten()
                mean = float(flat.mean())
                std = float(flat.std()) if flat.numel() > 1 else 0.0
                if not std > 0:
                    std = abs(mean) or 1.0
                noise = torch.randn(p.shape, generator=generator, dtype=torch.float64)
                p.copy_((mean + std * noise).to(p.dtype))


def detector_copy(detector: Any) -> Any:
    """An independent copy of ``detector`` (own model, own lock); marked as not carrying the verified weights."""
    with detector.lock:
        clone = copy.copy(detector)
        clone.model = copy.deepcopy(detector.model)
    clone.lock = threading.RLock()
    clone.weights_sha256 = None
    return clone


def _spearman(a: Any, b: Any) -> float:
    from forensics.explainers.metrics import agreement

    rho = agreement(a, b, top_k=(0.1,))["spearman"]
    return 0.0 if rho is None else float(rho)


def cascading_randomisation(
    detector: Any,
    crops: Sequence[np.ndarray],
    methods: Sequence[str],
    *,
    stages: int = 6,
    seed: int = 0,
    threshold: float = THRESHOLD,
    params: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Cascading randomisation of ``detector`` for every applicable method on ``crops``.

    Returns per method the stages (layers randomised so far, per-face and median Spearman) and ``passed``; methods
    that do not apply are listed under ``not_applicable``. ``params``: per-method explainer parameters.
    """
    import torch

    from forensics.explainers import applicable, explain

    if not crops:
        raise ForensicsError("the sanity check needs at least one face crop")
    params = params or {}
    usable, not_applicable = [], {}
    for m in methods:
        ok, why = applicable(detector, m)
        if ok:
            usable.append(m)
        else:
            not_applicable[m] = why
    with detector.lock:
        predicted = [int(np.argmax(detector.predict_proba(detector.preprocess([c]))[0])) for c in crops]
    originals = {
        m: [explain(detector, c, m, target=t, **params.get(m, {})) for c, t in zip(crops, predicted, strict=True)]
        for m in usable
    }
    groups = cascade_stages(detector.model, stages)
    clone = detector_copy(detector)
    gen = torch.Generator().manual_seed(seed)
    n_layers = sum(len(g) for g in groups)
    done = 0
    curves: dict[str, list[dict[str, Any]]] = {m: [] for m in usable}
    for k, group in enumerate(groups):
        randomise_layers(clone.model, group, gen)
        done += len(group)
        for m in usable:
            rhos: list[float | None] = []
            for c, orig in zip(crops, originals[m], strict=True):
                if np.ptp(orig.heatmap) == 0:
                    rhos.append(None)
                    continue
                try:
                    hm = explain(clone, c, m, target=orig.target_index, **params.get(m, {}))
                except (NotApplicableError, ForensicsError):  # e.g. non-finite relevance of a random network
                    rhos.append(0.0)
                    continue
                rhos.append(_spearman(orig, hm))
            valid = [r for r in rhos if r is not None]
            curves[m].append(
                {
                    "stage": k,
                    "layers": [group[0], group[-1]],
                    "randomised_layers": done,
                    "randomised_fraction": done / n_layers,
                    "spearman": rhos,
                    "median_spearman": float(np.median(valid)) if valid else None,
                }
            )
        if progress:
            progress(f"stage {k + 1}/{len(groups)}: {done}/{n_layers} layers random")
    out: dict[str, Any] = {
        "detector": detector.name,
        "weights_sha256": detector.weights_sha256,
        "faces": len(crops),
        "stages": len(groups),
        "layers": n_layers,
        "seed": seed,
        "threshold": threshold,
        "rule": RULE.format(threshold=threshold),
        "methods": {},
        "not_applicable": not_applicable,
    }
    for m, curve in curves.items():
        if curve[0]["median_spearman"] is None:
            out["not_applicable"][m] = "every original map was constant: nothing to compare"
            continue
        judged = [s for s in curve if s["randomised_fraction"] >= 0.5] or curve[-1:]
        worst = max(s["median_spearman"] for s in judged)
        out["methods"][m] = {
            "passed": bool(worst < threshold),
            "worst_median_spearman": worst,
            "faces": sum(r is not None for r in curve[0]["spearman"]),
            "top_layer_median_spearman": curve[0]["median_spearman"],
            "full_median_spearman": curve[-1]["median_spearman"],
            "curve": curve,
        }
    return out
