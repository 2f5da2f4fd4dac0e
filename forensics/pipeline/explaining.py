"""Explaining one face: its maps by several methods, its regions and the share of each map per region.

``explain_face`` is the one path the report, the scan and the ``explain`` / ``regions`` commands take; what a caller
adds on top (faithfulness curves, agreement, figures) stays with that caller.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forensics.errors import NotApplicableError, UnavailableError


@dataclass
class FaceExplanation:
    """What ``explain_face`` made of one crop. Dicts keep the order of the methods asked for."""

    maps: dict[str, Any] = field(default_factory=dict)  # method -> forensics.explainers.Heatmap
    not_applicable: dict[str, str] = field(default_factory=dict)  # method -> why it made no map
    masks: Any = None  # forensics.segmentation.RegionMasks, None when not segmented
    segment_problem: str | None = None  # why the segmenter made no masks
    tables: dict[str, Any] = field(default_factory=dict)  # method -> forensics.segmentation.regions.RegionTable
    table_problems: dict[str, str] = field(default_factory=dict)  # method -> why it has no table
    timings_ms: dict[str, float] = field(default_factory=dict)  # "explanations", "regions"


def explain_face(
    detector: Any,
    crop: np.ndarray,
    methods: Sequence[str],
    *,
    segmenter: str | None = None,
    occlusion: bool = False,
    top_fraction: float | None = 0.2,
    collect: bool = True,
) -> FaceExplanation:
    """Explain ``crop`` with each of ``methods`` and, with ``segmenter``, share every map out over the face regions.

    With ``collect`` a method or segmenter that does not apply or cannot run here is noted (``not_applicable``,
    ``segment_problem``) and the rest go on; without it the error propagates. A map without positive relevance has
    no region table either way (``table_problems``). The crop is segmented when a map was made or when no method was
    asked for (masks and areas only). ``occlusion`` adds the blur-one-region probability change to the tables.
    """
    from forensics.explainers import explain
    from forensics.segmentation import segment
    from forensics.segmentation.regions import region_relevance

    out = FaceExplanation()
    t0 = time.perf_counter()
    for m in methods:
        try:
            out.maps[m] = explain(detector, crop, m)
        except (NotApplicableError, UnavailableError) as exc:
            if not collect:
                raise
            out.not_applicable[m] = str(exc)
    out.timings_ms["explanations"] = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    if segmenter and (out.maps or not methods):
        try:
            out.masks = segment(crop, segmenter=segmenter)
        except (NotApplicableError, UnavailableError) as exc:
            if not collect:
                raise
            out.segment_problem = str(exc)
        for m, hm in out.maps.items() if out.masks is not None else ():
            try:
                out.tables[m] = region_relevance(
                    hm,
                    out.masks,
                    top_fraction=top_fraction,
                    detector=detector if occlusion else None,
                    crop=crop if occlusion else None,
                )
            except NotApplicableError as exc:  # a map without positive relevance has nothing to distribute
                out.table_problems[m] = str(exc)
    out.timings_ms["regions"] = (time.perf_counter() - t0) * 1000
    return out
