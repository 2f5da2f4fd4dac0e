"""Face-region segmentation: one registry of segmenters, each mapping a face crop to disjoint boolean region masks.

Segmenters: ``landmarks`` (default; mediapipe Face Mesh + selfie segmentation, ships in the mediapipe wheel) and
``grounded-sam`` (Grounding DINO + SAM + CLIP, needs local weights). Heavy imports happen inside the segmenters.

Example:
    >>> from forensics.segmentation import segment                      # doctest: +SKIP
    >>> rm = segment(crop)                                              # doctest: +SKIP
    >>> rm.masks["left eye"].sum(), rm.approximate["hair"], rm.absent   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forensics.errors import BadImageError, UnavailableError
from forensics.registry import Registry

# Every region a segmenter may report, in priority order: where two candidate masks overlap the earlier one wins.
# "left" and "right" are as seen in the image (the viewer's side: the subject's right eye is the "left eye"), the
# convention of the ciplab edit masks and of forensics.training.blending. A segmenter reports either the two sides
# (landmarks) or the pair as one region ("eyes", "eyebrows": grounded-SAM), never both, so shares never count a
# pixel twice.
REGIONS: tuple[str, ...] = (
    "left eye",
    "right eye",
    "eyes",
    "left eyebrow",
    "right eyebrow",
    "eyebrows",
    "mouth",
    "glasses",
    "nose",
    "skin",
    "ears",
    "neck",
    "hair",
    "background",
)


@dataclass(frozen=True)
class RegionMasks:
    """Disjoint boolean masks (HxW, the crop's resolution) per region, plus how each was obtained.

    ``masks`` holds only regions that were found; a region that could not be found is in ``absent`` with the reason.
    ``approximate[r]`` is True when ``r`` comes from a heuristic rather than from landmarks or a trained model.
    Pixels in no mask are "unassigned" (e.g. clothes, or skin of a bald scalp).
    """

    masks: dict[str, np.ndarray]
    approximate: dict[str, bool]
    absent: dict[str, str]
    segmenter: str
    shape: tuple[int, int]
    notes: tuple[str, ...] = ()
    landmarks: np.ndarray | None = None  # (478, 2) crop pixel coordinates when the landmark segmenter found a face
    elapsed_ms: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)  # e.g. CLIP score per grounded-SAM region

    def __post_init__(self) -> None:
        h, w = self.shape
        for name, m in self.masks.items():
            if m.dtype != bool or m.shape != (h, w):
                raise ValueError(f"mask {name!r} must be bool {h}x{w}, got {m.dtype} {m.shape}")

    def regions(self) -> list[str]:
        """Found regions in priority order."""
        return [r for r in REGIONS if r in self.masks] + sorted(r for r in self.masks if r not in REGIONS)

    def unassigned(self) -> np.ndarray:
        """Pixels that belong to no region."""
        covered = np.zeros(self.shape, dtype=bool)
        for m in self.masks.values():
            covered |= m
        return ~covered

    def label_map(self) -> tuple[np.ndarray, list[str]]:
        """An int16 HxW map: -1 unassigned, i for ``names[i]``."""
        names = self.regions()
        lab = np.full(self.shape, -1, dtype=np.int16)
        for i, r in enumerate(names):
            lab[self.masks[r]] = i
        return lab, names

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (areas, flags, reasons), without the masks."""
        total = float(self.shape[0] * self.shape[1])
        return {
            "segmenter": self.segmenter,
            "shape": list(self.shape),
            "regions": {
                r: {"area_share": float(self.masks[r].sum()) / total, "approximate": bool(self.approximate.get(r))}
                for r in self.regions()
            },
            "absent": dict(self.absent),
            "notes": list(self.notes),
            "scores": {k: float(v) for k, v in self.scores.items()},
            "elapsed_ms": float(self.elapsed_ms),
        }


def resolve_overlaps(candidates: dict[str, np.ndarray], order: tuple[str, ...] = REGIONS) -> dict[str, np.ndarray]:
    """Make masks disjoint: a pixel goes to the first region in ``order`` that claims it (unknown names go last)."""
    taken: np.ndarray | None = None
    out: dict[str, np.ndarray] = {}
    names = [r for r in order if r in candidates] + [r for r in candidates if r not in order]
    for r in names:
        m = np.asarray(candidates[r], dtype=bool)
        if taken is None:
            taken = np.zeros_like(m)
        out[r] = m & ~taken
        taken |= m
    return out


class Segmenter:
    """Base class: ``segment(crop) -> RegionMasks``; ``available() -> (ok, reason)``."""

    name: str = ""

    def available(self) -> tuple[bool, str]:
        return True, ""

    def segment(self, crop: np.ndarray) -> RegionMasks:
        raise NotImplementedError


SEGMENTERS: Registry[Segmenter] = Registry("segmenter")
_INSTANCES: dict[str, Segmenter] = {}


def _ensure_registered() -> None:
    # Importing the modules registers their factories (they import heavy packages only when used).
    from forensics.segmentation import grounded_sam, landmarks  # noqa: F401


def list_segmenters() -> list[dict[str, Any]]:
    """Every registered segmenter with ``name``, ``available`` and ``reason`` (why it cannot run here)."""
    _ensure_registered()
    out = []
    for name in SEGMENTERS.names():
        ok, reason = get_segmenter(name).available()
        out.append({"name": name, "available": ok, "reason": reason, **SEGMENTERS.meta(name)})
    return out


def default_segmenter() -> str:
    """The segmenter registered as the default (``default="regions"``): region shares of reports, commands, pages."""
    _ensure_registered()
    return SEGMENTERS.default("regions")


def segmenter_title(name: str) -> str:
    """How people read a segmenter's name (its ``title`` metadata)."""
    _ensure_registered()
    return SEGMENTERS.title(name)


def get_segmenter(name: str | None = None, **kwargs: Any) -> Segmenter:
    """The (process-wide cached, when created without arguments) segmenter registered under ``name`` (default:
    ``default_segmenter()``)."""
    _ensure_registered()
    name = name or default_segmenter()
    if kwargs:
        return SEGMENTERS.create(name, **kwargs)
    if name not in _INSTANCES:
        _INSTANCES[name] = SEGMENTERS.create(name)
    return _INSTANCES[name]


def check_crop(crop: Any) -> np.ndarray:
    """Validate a uint8 HxWx3 RGB crop (raises BadImageError)."""
    arr = np.asarray(crop)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8 or min(arr.shape[:2]) < 16:
        raise BadImageError(
            f"segmentation needs a uint8 HxWx3 RGB crop of at least 16x16 pixels, got "
            f"{arr.dtype} {arr.shape}: pass Face.crop from forensics.faces.detect_faces"
        )
    return np.ascontiguousarray(arr)


def segment(crop: np.ndarray, segmenter: str | Segmenter | None = None) -> RegionMasks:
    """Segment a face crop (uint8 HxWx3 RGB) into disjoint regions. Raises UnavailableError if it cannot run here."""
    seg = segmenter if isinstance(segmenter, Segmenter) else get_segmenter(segmenter)
    ok, reason = seg.available()
    if not ok:
        raise UnavailableError(f"segmenter {seg.name!r} cannot run here: {reason}")
    return seg.segment(check_crop(crop))


def register_segmenter(name: str, **meta: Any) -> Callable[[Callable[..., Segmenter]], Callable[..., Segmenter]]:
    """Decorator registering a segmenter factory under ``name``."""
    return SEGMENTERS.register(name, **meta)


__all__ = [
    "REGIONS",
    "RegionMasks",
    "Segmenter",
    "SEGMENTERS",
    "default_segmenter",
    "get_segmenter",
    "list_segmenters",
    "register_segmenter",
    "resolve_overlaps",
    "segment",
    "segmenter_title",
    "check_crop",
]
