"""Explainers: why does a detector call this face fake? One registry, one ``explain`` entry point.

Methods: the CAM family through pytorch-grad-cam (``gradcam``, ``gradcam++``, ``hirescam``, ``scorecam``, ``eigencam``,
``layercam``), input gradients through captum (``saliency``, ``integrated-gradients``), LRP through zennit
(``lrp-epsilon``, ``lrp-epsilon-plus-flat``, ``lrp-epsilon-gamma-box``, ``lrp-gamma-epsilon-zero``) and captum's LRP
on plain CNNs (``lrp-captum``). Every method returns a :class:`Heatmap` at the face crop's resolution, with the signed
raw map beside the [0, 1] heatmap, the class explained and its calibrated probability.

Explaining never changes the model: it runs under the detector's lock, and hooks, ``requires_grad`` flags, ``.grad``
tensors, in-place flags and eval mode are restored afterwards (see ``_common.guarded``).

Example:
    >>> from forensics.explainers import explain, agreement                   # doctest: +SKIP
    >>> a = explain(detector, face.crop, "gradcam")                          # doctest: +SKIP
    >>> b = explain(detector, face.crop, "lrp-epsilon-plus-flat")            # doctest: +SKIP
    >>> agreement(a, b)["spearman"]                                           # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forensics.errors import BadImageError, ForensicsError, NotApplicableError
from forensics.explainers._common import ClassTarget, ProbabilityTarget, normalize01, resize_map
from forensics.jsonio import plain
from forensics.registry import Registry

__all__ = [
    "EXPLAINERS",
    "ClassTarget",
    "Explainer",
    "Heatmap",
    "ProbabilityTarget",
    "agreement",
    "applicable",
    "default_method",
    "default_methods",
    "method_title",
    "explain",
    "faithfulness",
    "feature_layer_names",
    "feature_maps",
    "list_explainers",
]


@dataclass(frozen=True)
class Heatmap:
    """One explanation of one face.

    ``raw``: signed float32 HxW map at the crop's resolution (CAM: weighted activations before the ReLU; gradients,
    IG and LRP: summed over colour channels; additive maps are rescaled on resize so that their sum is preserved).
    ``heatmap``: float32 HxW in [0, 1], large = supports the explained class. ``probability`` is the calibrated
    probability of ``target_name`` for this crop.
    """

    method: str
    raw: np.ndarray
    heatmap: np.ndarray
    target_index: int
    target_name: str
    probability: float
    params: dict[str, Any]
    detector: str
    elapsed_ms: float
    family: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.heatmap.shape[0]), int(self.heatmap.shape[1]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no pixel arrays)."""
        return {
            "method": self.method,
            "family": self.family,
            "detector": self.detector,
            "target_index": self.target_index,
            "target_name": self.target_name,
            "probability": float(self.probability),
            "params": plain(self.params),
            "elapsed_ms": float(self.elapsed_ms),
            "shape": list(self.shape),
            "raw_sum": float(self.raw.sum()),
            "raw_min": float(self.raw.min()),
            "raw_max": float(self.raw.max()),
            "notes": list(self.notes),
        }


class Explainer:
    """Base class. Subclasses set ``family``, ``defaults`` and implement ``attribute``.

    ``attribute(detector, x, target, params)`` runs inside the model guard on the preprocessed input ``x`` (1,3,S,S)
    and returns ``(raw, heat, info)`` at input resolution: ``raw`` signed (S,S), ``heat`` non-negative (S,S) or None
    (then ``raw`` is normalised with ``heatmap_mode``), ``info`` extra JSON-ready figures.
    """

    name: str = ""
    family: str = ""
    defaults: dict[str, Any] = {}
    additive: bool = False  # raw relevance sums to something meaningful (LRP, IG): preserve the sum on resize
    heatmap_mode: str = "positive"
    description: str = ""

    def applicable(self, detector: Any) -> tuple[bool, str]:
        return True, ""

    def attribute(self, detector: Any, x: Any, target: ClassTarget, params: dict[str, Any]):
        raise NotImplementedError


EXPLAINERS: Registry[Explainer] = Registry("explainer")


def _ensure_loaded() -> None:
    # The method modules import torch & co. only inside functions, so importing them here is cheap.
    from forensics.explainers import cam, gradients, lrp  # noqa: F401


def list_explainers() -> list[str]:
    """Names of every registered explanation method (former names, which still resolve, are not listed)."""
    _ensure_loaded()
    return EXPLAINERS.names()


def default_method(role: str = "map") -> str:
    """The method registered as the default for ``role``: ``"map"`` (region tables, the Segment page, first in
    reports; why in ``forensics.explainers.cam``) or ``"lrp"`` (the LRP shown beside it; ``forensics.explainers.lrp``).
    """
    _ensure_loaded()
    return EXPLAINERS.default(role)


def default_methods() -> tuple[str, ...]:
    """The methods a report explains by default: the default map, then the default LRP."""
    return (default_method("map"), default_method("lrp"))


def method_title(method: str) -> str:
    """How people read a method's name ("Grad-CAM", "LRP (epsilon rule)"), from its registry entry."""
    _ensure_loaded()
    return EXPLAINERS.title(method)


def get_explainer(method: str) -> Explainer:
    _ensure_loaded()
    return EXPLAINERS.create(method)


def applicable(detector: Any, method: str) -> tuple[bool, str]:
    """Whether ``method`` can explain ``detector``; the reason says why not (e.g. LRP on a transformer)."""
    return get_explainer(method).applicable(detector)


def _check_crop(crop: Any) -> np.ndarray:
    arr = np.asarray(crop)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8 or min(arr.shape[:2]) < 2:
        raise BadImageError(
            f"a face crop must be a uint8 HxWx3 RGB array, got {arr.dtype} {arr.shape}: "
            "pass Face.crop from forensics.faces.detect_faces"
        )
    return arr


def explain(detector: Any, crop: np.ndarray, method: str, *, target: int | str | None = None, **params: Any) -> Heatmap:
    """Explain ``detector``'s score for one face crop with ``method``.

    ``target``: class index or name to explain; default the most probable fake class ("why fake").
    ``params`` override the method's defaults (see ``get_explainer(method).defaults``); unknown names are refused.
    Raises NotApplicableError when the method does not fit the detector (reason included).
    """
    from forensics.explainers._common import guarded, resolve_target

    _ensure_loaded()
    method = EXPLAINERS.canonical(method)  # a former name resolves (with a warning) to the current one
    exp = get_explainer(method)
    ok, reason = exp.applicable(detector)
    if not ok:
        raise NotApplicableError(f"{method} cannot explain {detector.name}: {reason}")
    unknown = sorted(set(params) - set(exp.defaults))
    if unknown:
        raise ForensicsError(f"{method} has no parameter(s) {unknown}; known: {sorted(exp.defaults) or 'none'}")
    arr = _check_crop(crop)
    p = {**exp.defaults, **params}
    t0 = time.perf_counter()
    with guarded(detector):
        x = detector.preprocess([arr])
        proba = detector.predict_proba(x)[0]
        idx = resolve_target(detector, proba, target)
        raw_in, heat_in, info = exp.attribute(detector, x, ClassTarget(idx), p)
    shape = arr.shape[:2]
    raw_in = np.asarray(raw_in, dtype=np.float64)
    raw = resize_map(raw_in, shape)
    if exp.additive and raw.size:
        raw = raw * (raw_in.size / raw.size)
    if heat_in is not None:
        heat = normalize01(resize_map(heat_in, shape), exp.heatmap_mode)
    else:
        heat = normalize01(raw, exp.heatmap_mode)
    if not np.all(np.isfinite(raw)):
        raise ForensicsError(
            f"{method} produced non-finite relevance for {detector.name}: the method is unstable "
            "on this model; try another method"
        )
    elapsed = (time.perf_counter() - t0) * 1000.0
    notes = tuple(info.pop("notes", ()))
    return Heatmap(
        method=method,
        raw=raw.astype(np.float32),
        heatmap=heat,
        target_index=idx,
        target_name=detector.classes[idx],
        probability=float(proba[idx]),
        params={**p, **info},
        detector=detector.name,
        elapsed_ms=elapsed,
        family=exp.family,
        notes=notes,
    )


def agreement(a: Any, b: Any, top_k: tuple[float, ...] = (0.05, 0.1, 0.2), *, use: str = "heatmap") -> dict[str, Any]:
    """Spearman rank correlation and top-k% IoU between two maps (Heatmap or 2-D arrays). See ``metrics``."""
    from forensics.explainers.metrics import agreement as _agreement

    return _agreement(a, b, top_k=top_k, use=use)


def faithfulness(detector: Any, crop: np.ndarray, heatmap: Any, **kwargs: Any) -> dict[str, Any]:
    """Deletion / insertion curves with AUCs and ROAD scores for one map. See ``metrics.faithfulness``."""
    from forensics.explainers.metrics import faithfulness as _faithfulness

    return _faithfulness(detector, crop, heatmap, **kwargs)


def feature_maps(detector: Any, crop: np.ndarray, layer_name: str) -> np.ndarray:
    """Activations (C, h, w) of the named layer for one crop (the Meso-4 report's feature-map view)."""
    from forensics.explainers.features import feature_maps as _fm

    return _fm(detector, crop, layer_name)


def feature_layer_names(detector: Any, kinds: tuple[str, ...] = ("conv",)) -> list[str]:
    """Names of layers whose feature maps can be shown (``kinds``: conv, norm, act, pool)."""
    from forensics.explainers.features import feature_layer_names as _names

    return _names(detector, kinds)
