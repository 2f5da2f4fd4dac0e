"""Explaining one face: its maps by several methods, how faithful each map is and how the maps agree, its regions
and the share of each map per region.

``explain_face`` is the one path the dashboard, the report, the scan and the ``explain`` / ``regions`` commands take,
faithfulness included (one number of deletion / insertion steps, ``FAITHFULNESS_STEPS``); figures stay with the
caller.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from forensics.errors import ForensicsError, NotApplicableError, UnavailableError

if TYPE_CHECKING:
    from forensics.detectors.base import Detector
    from forensics.explainers import Heatmap
    from forensics.segmentation import RegionMasks
    from forensics.segmentation.regions import RegionTable

# deletion / insertion steps of every faithfulness figure the workbench shows (32 forward passes per map, about 1 s
# for MobileNetV2 on one CPU thread): the dashboard, the report and the explain command read the same curves
FAITHFULNESS_STEPS = 16
ROAD_PERCENTILES = (20, 50, 80)


@dataclass
class FaceExplanation:
    """What ``explain_face`` made of one crop. Dicts keep the order of the methods asked for."""

    maps: dict[str, Heatmap] = field(default_factory=dict)
    not_applicable: dict[str, str] = field(default_factory=dict)  # method -> why it made no map
    masks: RegionMasks | None = None  # None when not segmented
    segment_problem: str | None = None  # why the segmenter made no masks
    tables: dict[str, RegionTable] = field(default_factory=dict)
    table_problems: dict[str, str] = field(default_factory=dict)  # method -> why it has no table
    # method -> deletion / insertion (and ROAD) figures of its map, or {"not_computed": why}; only when asked for
    faithfulness: dict[str, dict[str, Any]] = field(default_factory=dict)
    agreement: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # method -> earlier method -> figures
    timings_ms: dict[str, float] = field(default_factory=dict)  # "explanations", "faithfulness", "regions"


def explain_face(
    detector: Detector | None,
    crop: np.ndarray,
    methods: Sequence[str],
    *,
    target: int | str | None = None,
    segmenter: str | None = None,
    occlusion: bool = False,
    top_fraction: float | None = 0.2,
    collect: bool = True,
    faithfulness: bool = False,
    road_percentiles: Sequence[int] = (),
    steps: int = FAITHFULNESS_STEPS,
) -> FaceExplanation:
    """Explain ``crop`` with each of ``methods`` (for class ``target``; default the most probable fake class), with
    ``faithfulness`` the deletion / insertion curves of each map (and ROAD at ``road_percentiles``), the agreement of
    every pair of maps, and, with ``segmenter``, share every map out over the face regions.

    With ``collect`` a method, faithfulness or segmenter that does not apply or cannot run here is noted
    (``not_applicable``, ``faithfulness[m]["not_computed"]``, ``segment_problem``) and the rest go on; without it the
    error propagates. A map without positive relevance has no region table either way (``table_problems``). The crop
    is segmented when a map was made or when no method was asked for (masks and areas only). ``occlusion`` adds the
    blur-one-region probability change to the tables.
    """
    from forensics.explainers import agreement, explain
    from forensics.explainers import faithfulness as faithfulness_of
    from forensics.segmentation import segment
    from forensics.segmentation.regions import region_relevance

    out = FaceExplanation()
    t0 = time.perf_counter()
    for m in methods:
        try:
            out.maps[m] = explain(detector, crop, m, target=target)
        except (NotApplicableError, UnavailableError) as exc:
            if not collect:
                raise
            out.not_applicable[m] = str(exc)
    out.timings_ms["explanations"] = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    earlier: dict[str, Heatmap] = {}
    for m, hm in out.maps.items():
        out.agreement[m] = {o: agreement(hm, other) for o, other in earlier.items()}
        earlier[m] = hm
        if not faithfulness:
            continue
        try:
            out.faithfulness[m] = faithfulness_of(
                detector,
                crop,
                hm,
                steps=steps,
                road=bool(road_percentiles),
                road_percentiles=tuple(road_percentiles) or ROAD_PERCENTILES,
            )
        except (NotApplicableError, UnavailableError, ForensicsError) as exc:
            if not collect:
                raise
            out.faithfulness[m] = {"not_computed": str(exc)}
    out.timings_ms["faithfulness"] = (time.perf_counter() - t0) * 1000
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
