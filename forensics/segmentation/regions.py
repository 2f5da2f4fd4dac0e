"""Per-region relevance: which face regions does an explanation point at, and does blurring them change the score?

Given a heatmap (a signed raw map, a [0, 1] map or an explainer ``Heatmap``) and ``RegionMasks`` of the same crop:

- ``share``: positive relevance mass inside the region / total positive mass. Shares over all found regions
  (background included) plus the "unassigned" row sum to one.
- ``pixel_share``: counts pixels instead of relevance. The map is binarised (its top ``top_fraction`` of pixels by
  value, or every pixel whose [0, 1]-normalised value reaches ``threshold``); the share of those pixels inside the
  region.
- ``area_share``: region pixels / crop pixels (what a map spread uniformly would give).
- ``density``: share / area_share (1 = no preference; > 1 = relevance concentrated there).
- ``occlusion_delta`` (optional): calibrated probability of the explained class with the region blurred out, minus
  the unblurred probability (negative = the region supported the class). One batch for all regions.

Example:
    >>> from forensics.segmentation.regions import region_relevance                         # doctest: +SKIP
    >>> table = region_relevance(hm, segment(crop), detector=det, crop=crop)     # doctest: +SKIP
    >>> table.to_rows()[0]["region"], table.row("eyes").density                 # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from forensics.errors import BadImageError, NotApplicableError

UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class RegionStat:
    """One row of the table. ``absent`` rows carry zeros and the reason."""

    region: str
    share: float
    pixel_share: float
    area_share: float
    density: float | None
    approximate: bool
    absent: bool = False
    reason: str = ""
    occlusion_delta: float | None = None
    pixels: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RegionTable:
    """Per-region statistics of one heatmap on one segmented crop."""

    rows: tuple[RegionStat, ...]
    segmenter: str
    positive_mass: float
    binarisation: dict[str, Any]
    method: str = ""
    target_name: str = ""
    baseline_probability: float | None = None
    occlusion: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def row(self, region: str) -> RegionStat:
        for r in self.rows:
            if r.region == region:
                return r
        raise KeyError(f"no row {region!r}; rows: {[r.region for r in self.rows]}")

    @property
    def present(self) -> tuple[RegionStat, ...]:
        """Rows of found regions plus "unassigned" (their shares sum to one)."""
        return tuple(r for r in self.rows if not r.absent)

    @property
    def absent(self) -> dict[str, str]:
        return {r.region: r.reason for r in self.rows if r.absent}

    def to_rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per row (found regions, "unassigned", then absent regions)."""
        return [r.to_dict() for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "segmenter": self.segmenter,
            "method": self.method,
            "target_name": self.target_name,
            "positive_mass": self.positive_mass,
            "binarisation": dict(self.binarisation),
            "baseline_probability": self.baseline_probability,
            "occlusion": self.occlusion,
            "notes": list(self.notes),
            "rows": self.to_rows(),
        }


def _as_map(heatmap: Any) -> tuple[np.ndarray, str, str, int | None]:
    """(map, method, target_name, target_index) from an explainer Heatmap (its signed raw map) or an array."""
    if hasattr(heatmap, "raw") and hasattr(heatmap, "heatmap"):
        raw = np.asarray(heatmap.raw, dtype=np.float64)
        if not (raw > 0).any():  # e.g. a method whose raw map is all negative: fall back to the [0, 1] map
            raw = np.asarray(heatmap.heatmap, dtype=np.float64)
        return (
            raw,
            str(getattr(heatmap, "method", "")),
            str(getattr(heatmap, "target_name", "")),
            getattr(heatmap, "target_index", None),
        )
    arr = np.asarray(heatmap, dtype=np.float64)
    return arr, "", "", None


def _resize(arr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(arr.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR).astype(np.float64)


def binarise(values: np.ndarray, *, top_fraction: float | None = 0.2, threshold: float | None = None) -> np.ndarray:
    """Pixels counted by the pixel share: ``threshold`` on the [0, 1]-normalised positive map, else the top
    ``top_fraction`` of pixels by value (ties at the cut are all included; only positive values ever count)."""
    pos = np.clip(values, 0.0, None)
    if not (pos > 0).any():
        return np.zeros(values.shape, dtype=bool)
    if threshold is not None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        return pos / pos.max() >= threshold
    if top_fraction is None or not 0.0 < top_fraction <= 1.0:
        raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction}")
    k = max(1, int(round(top_fraction * pos.size)))
    cut = np.partition(pos.ravel(), pos.size - k)[pos.size - k]
    return (pos >= cut) & (pos > 0)


def region_relevance(
    heatmap: Any,
    regions: Any,
    *,
    top_fraction: float | None = 0.2,
    threshold: float | None = None,
    detector: Any = None,
    crop: np.ndarray | None = None,
    target: int | None = None,
    blur_sigma: float | None = None,
) -> RegionTable:
    """Per-region relevance table of ``heatmap`` over ``regions`` (a RegionMasks of the same crop).

    Pass ``detector`` and ``crop`` to add the occlusion column. Raises NotApplicableError when the map holds no
    positive relevance (nothing to distribute).
    """
    values, method, target_name, target_index = _as_map(heatmap)
    if values.ndim != 2:
        raise BadImageError(f"a heatmap must be 2-D (HxW), got shape {values.shape}")
    notes: list[str] = []
    shape = tuple(regions.shape)
    if values.shape != shape:
        notes.append(
            f"heatmap {values.shape[0]}x{values.shape[1]} resized bilinearly to the masks' {shape[0]}x{shape[1]}"
        )
        values = _resize(values, shape)
    if not np.isfinite(values).all():
        raise NotApplicableError("the heatmap holds NaN or infinite values: re-run the explainer")
    pos = np.clip(values, 0.0, None)
    total = float(pos.sum())
    if total <= 0.0:
        raise NotApplicableError(
            "the heatmap holds no positive relevance, so there is nothing to share out "
            "between regions: try another explainer or target class"
        )
    selected = binarise(values, top_fraction=top_fraction, threshold=threshold)
    n_sel = int(selected.sum())
    n_all = float(shape[0] * shape[1])

    names = list(regions.regions())
    masks = {r: regions.masks[r] for r in names}
    masks[UNASSIGNED] = regions.unassigned()
    occ: dict[str, float] = {}
    occ_info: dict[str, Any] | None = None
    baseline = None
    if detector is not None and crop is not None:
        occ, baseline, occ_info = region_occlusion(
            detector, crop, masks, target=target if target is not None else target_index, blur_sigma=blur_sigma
        )
    rows = []
    for r in [*names, UNASSIGNED]:
        m = masks[r]
        area = float(m.sum()) / n_all
        share = float(pos[m].sum()) / total
        rows.append(
            RegionStat(
                region=r,
                share=share,
                pixel_share=float((selected & m).sum()) / n_sel if n_sel else 0.0,
                area_share=area,
                density=share / area if area > 0 else None,
                approximate=bool(regions.approximate.get(r, False)) if r != UNASSIGNED else False,
                occlusion_delta=occ.get(r),
                pixels=int(m.sum()),
            )
        )
    for r, reason in regions.absent.items():
        if r not in masks:
            rows.append(
                RegionStat(
                    region=r,
                    share=0.0,
                    pixel_share=0.0,
                    area_share=0.0,
                    density=None,
                    approximate=False,
                    absent=True,
                    reason=reason,
                )
            )
    bin_info = {"threshold": threshold} if threshold is not None else {"top_fraction": top_fraction}
    bin_info["pixels"] = n_sel
    return RegionTable(
        rows=tuple(rows),
        segmenter=str(regions.segmenter),
        positive_mass=total,
        binarisation=bin_info,
        method=method,
        target_name=target_name,
        baseline_probability=baseline,
        occlusion=occ_info,
        notes=tuple(notes),
    )


def _default_blur_sigma(shape: tuple[int, ...]) -> float:
    """Gaussian sigma that wipes out a region's texture: 4% of the crop's longer side, at least 2 px."""
    return max(2.0, 0.04 * max(shape[:2]))


def blur_regions(
    crop: np.ndarray, masks: dict[str, np.ndarray], *, blur_sigma: float | None = None
) -> tuple[list[str], list[np.ndarray]]:
    """One copy of ``crop`` per non-empty mask with that region replaced by a strong Gaussian blur of the crop."""
    import cv2

    arr = np.asarray(crop)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise BadImageError(f"occlusion needs the uint8 HxWx3 RGB crop, got {arr.dtype} {arr.shape}")
    sigma = blur_sigma if blur_sigma is not None else _default_blur_sigma(arr.shape)
    blurred = cv2.GaussianBlur(arr, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    names, images = [], []
    for r, m in masks.items():
        if m.shape != arr.shape[:2]:
            raise BadImageError(f"mask {r!r} is {m.shape}, the crop {arr.shape[:2]}: segment this crop")
        if not m.any():
            continue
        img = arr.copy()
        img[m] = blurred[m]
        names.append(r)
        images.append(img)
    return names, images


def region_occlusion(
    detector: Any,
    crop: np.ndarray,
    masks: dict[str, np.ndarray],
    *,
    target: int | None = None,
    blur_sigma: float | None = None,
) -> tuple[dict[str, float], float, dict[str, Any]]:
    """Change of the calibrated probability of class ``target`` (default: the most probable fake class) when each
    region is blurred out. Returns ({region: delta}, baseline probability, info). One forward batch."""
    names, images = blur_regions(crop, masks, blur_sigma=blur_sigma)
    proba = detector.predict_proba(detector.preprocess([np.asarray(crop), *images]))
    if target is None:
        from forensics.explainers._common import resolve_target

        target = resolve_target(detector, proba[0], None)
    base = float(proba[0, target])
    deltas = {r: float(proba[i + 1, target]) - base for i, r in enumerate(names)}
    info = {
        "target_index": int(target),
        "target_name": detector.classes[target],
        "baseline": base,
        "calibrated": getattr(detector, "calibration", None) is not None,
        "blur_sigma": blur_sigma if blur_sigma is not None else _default_blur_sigma(np.shape(crop)),
    }
    return deltas, base, info


def aggregate(tables: Iterable[RegionTable], regions: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Dataset-level summary (the per-region share across many faces): per region the number of faces
    where it was found, the mean share / pixel share (absent = 0) and the mean density where found."""
    acc: dict[str, dict[str, list[float]]] = {}
    n = 0
    for t in tables:
        n += 1
        for r in t.rows:
            d = acc.setdefault(r.region, {"share": [], "pixel_share": [], "density": [], "found": []})
            d["found"].append(0.0 if r.absent else 1.0)
            if not r.absent and r.density is not None:
                d["density"].append(r.density)
            d["share"].append(r.share)
            d["pixel_share"].append(r.pixel_share)
    order = list(regions) if regions is not None else sorted(acc)
    out: list[dict[str, Any]] = []
    for name in order:
        lists = acc.get(name)
        if lists is None:
            continue
        out.append(
            {
                "region": name,
                "faces": n,
                "found": int(sum(lists["found"])),
                "mean_share": float(np.sum(lists["share"]) / n),
                "mean_pixel_share": float(np.sum(lists["pixel_share"]) / n),
                "mean_density": float(np.mean(lists["density"])) if lists["density"] else None,
            }
        )
    return out
