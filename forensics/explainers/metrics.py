"""Comparing explanations: agreement between two maps, and faithfulness of one map to the model.

- ``agreement``: Spearman rank correlation of the pixel values and IoU of the top-k% pixels.
- ``faithfulness``: deletion and insertion curves (most relevant pixels first, replaced by / taken from a blurred
  copy of the crop), their areas under the curve, and ROAD (remove-and-debias, pytorch-grad-cam's noisy linear
  imputation) at a few percentiles. All probabilities are the detector's calibrated probability of the explained
  class. A faithful map has a low deletion AUC, a high insertion AUC, and a positive ROAD combined score.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forensics.errors import ForensicsError
from forensics.explainers._common import ProbabilityTarget, resize_map


def _as_map(m: Any, use: str) -> np.ndarray:
    if hasattr(m, "heatmap") and hasattr(m, "raw"):
        m = m.heatmap if use == "heatmap" else m.raw
    arr = np.asarray(m, dtype=np.float64)
    if arr.ndim != 2:
        raise ForensicsError(f"expected a 2-D map, got shape {arr.shape}")
    return np.nan_to_num(arr)


def top_k_mask(values: np.ndarray, fraction: float) -> np.ndarray:
    """Boolean mask of the ``fraction`` highest pixels (at least one; ties broken by position, deterministically)."""
    flat = values.ravel()
    k = int(np.clip(round(fraction * flat.size), 1, flat.size))
    order = np.argsort(-flat, kind="stable")
    mask = np.zeros(flat.size, dtype=bool)
    mask[order[:k]] = True
    return mask.reshape(values.shape)


def agreement(a: Any, b: Any, top_k: tuple[float, ...] = (0.05, 0.1, 0.2), *, use: str = "heatmap") -> dict[str, Any]:
    """Spearman rank correlation and top-k% IoU of two maps (Heatmap objects or 2-D arrays).

    ``b`` is resized to ``a``'s shape when they differ. ``spearman`` is None when a map is constant (undefined).
    ``iou`` maps each fraction (as a string, e.g. "0.05") to the IoU of the two top-k% pixel sets.
    """
    from scipy.stats import spearmanr

    ma, mb = _as_map(a, use), _as_map(b, use)
    if mb.shape != ma.shape:
        mb = resize_map(mb, ma.shape).astype(np.float64)
    if np.ptp(ma) == 0 or np.ptp(mb) == 0:
        rho: float | None = None
    else:
        rho = float(spearmanr(ma.ravel(), mb.ravel()).statistic)
    iou = {}
    for frac in top_k:
        if not 0 < frac <= 1:
            raise ForensicsError(f"top-k fraction must be in (0, 1], got {frac}")
        ta, tb = top_k_mask(ma, frac), top_k_mask(mb, frac)
        iou[f"{frac:g}"] = float((ta & tb).sum() / max(1, (ta | tb).sum()))
    return {"spearman": rho, "iou": iou, "top_k": [float(f) for f in top_k], "use": use}


def _probabilities(detector: Any, crops: list[np.ndarray], index: int, chunk: int = 17) -> np.ndarray:
    out = []
    for i in range(0, len(crops), chunk):
        proba = detector.predict_proba(detector.preprocess(crops[i : i + chunk]))
        out.append(proba[:, index])
    return np.concatenate(out)


def perturbation_curves(
    detector: Any, crop: np.ndarray, heat: np.ndarray, index: int, *, steps: int = 16, blur_sigma: float | None = None
) -> dict[str, Any]:
    """Deletion and insertion curves at ``steps + 1`` fractions 0, 1/steps, ..., 1 (most relevant pixels first)."""
    import cv2

    h, w = crop.shape[:2]
    sigma = float(blur_sigma) if blur_sigma is not None else max(h, w) / 10.0
    blurred = cv2.GaussianBlur(crop, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    rank = np.empty(h * w, dtype=np.int64)
    rank[np.argsort(-heat.ravel(), kind="stable")] = np.arange(h * w)
    rank = rank.reshape(h, w)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    deletion, insertion = [], []
    for f in fractions:
        mask = (rank < int(round(f * h * w)))[:, :, None]
        deletion.append(np.where(mask, blurred, crop).astype(np.uint8))
        insertion.append(np.where(mask, crop, blurred).astype(np.uint8))
    probs = _probabilities(detector, deletion + insertion, index)
    d, i = probs[: steps + 1], probs[steps + 1 :]
    return {
        "fractions": fractions.tolist(),
        "deletion": d.tolist(),
        "insertion": i.tolist(),
        "deletion_auc": float(np.trapezoid(d, fractions)),
        "insertion_auc": float(np.trapezoid(i, fractions)),
        "blur_sigma": sigma,
    }


def road_scores(
    detector: Any,
    crop: np.ndarray,
    heat: np.ndarray,
    index: int,
    percentiles: tuple[int, ...] = (20, 50, 80),
    seed: int = 0,
) -> dict[str, Any]:
    """ROAD with pytorch-grad-cam's imputer: calibrated probability after removing pixels.

    At percentile p, ``morf`` removes the (100 - p)% most relevant pixels and ``lerf`` the (100 - p)% least
    relevant; ``combined`` = mean over percentiles of (lerf - morf) / 2 (pytorch-grad-cam's ROADCombined).
    """
    import torch
    from pytorch_grad_cam.metrics.road import ROADLeastRelevantFirst, ROADMostRelevantFirst

    x = detector.preprocess([crop])
    size = (int(x.shape[-2]), int(x.shape[-1]))
    cams = resize_map(heat, size)[None].astype(np.float32)
    cal = detector.calibration
    targets = [
        ProbabilityTarget(index, float(cal.temperature), tuple(cal.class_bias))
        if cal is not None
        else ProbabilityTarget(index)
    ]

    def model(batch):
        with detector.lock, torch.no_grad():
            return detector.model(batch)

    morf, lerf = [], []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for p in percentiles:
            morf.append(float(ROADMostRelevantFirst(p)(x, cams, targets, model, return_diff=False)[0]))
            lerf.append(float(ROADLeastRelevantFirst(p)(x, cams, targets, model, return_diff=False)[0]))
    combined = float(np.mean([(b - a) / 2.0 for a, b in zip(morf, lerf, strict=True)]))
    return {"percentiles": [int(p) for p in percentiles], "morf": morf, "lerf": lerf, "combined": combined}


def faithfulness(
    detector: Any,
    crop: np.ndarray,
    heatmap: Any,
    *,
    steps: int = 16,
    target: int | None = None,
    blur_sigma: float | None = None,
    road: bool = True,
    road_percentiles: tuple[int, ...] = (20, 50, 80),
    seed: int = 0,
) -> dict[str, Any]:
    """Deletion / insertion curves with AUCs and ROAD scores for one map of one face.

    ``heatmap``: a Heatmap (its target class is used) or a 2-D array (then ``target`` or the most probable fake
    class). Returns JSON-ready figures; ``original_probability`` is the calibrated probability of the unperturbed
    crop and ``difference`` = insertion AUC - deletion AUC (higher = more faithful).
    """
    from forensics.explainers import _check_crop
    from forensics.explainers._common import resolve_target

    if steps < 1:
        raise ForensicsError(f"faithfulness needs steps >= 1, got {steps}")
    arr = _check_crop(crop)
    heat = _as_map(heatmap, "heatmap")
    if heat.shape != arr.shape[:2]:
        heat = resize_map(heat, arr.shape[:2]).astype(np.float64)
    if target is None and hasattr(heatmap, "target_index"):
        target = int(heatmap.target_index)
    with detector.lock:
        base = detector.predict_proba(detector.preprocess([arr]))[0]
        index = resolve_target(detector, base, target)
        out: dict[str, Any] = {
            "target_index": index,
            "target_name": detector.classes[index],
            "steps": int(steps),
            "original_probability": float(base[index]),
        }
        out.update(perturbation_curves(detector, arr, heat, index, steps=steps, blur_sigma=blur_sigma))
        out["difference"] = out["insertion_auc"] - out["deletion_auc"]
        if road:
            out["road"] = road_scores(detector, arr, heat, index, tuple(road_percentiles), seed)
    return out
