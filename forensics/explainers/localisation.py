"""Does an explanation point at what was changed? Localisation on edits whose edited parts are known.

The ciplab Photoshop composites (``../shared/data/*/fake/edit/ciplab_photoshop``) end their file names in a 4-digit
mask, one digit per part in the order left eye, right eye, nose, mouth (``easy_176_1000.jpg``: only the left eye).
Left and right are the image's (viewer's) sides: in the single-eye edits looked at (easy_176_1000, easy_49_1000,
mid_118_1000, easy_223_0100) the pasted eye is the one on that side of the picture, the convention of the landmark
segmenter's "left eye" / "right eye".

Two measures per face, from the region table the Segment page and the reports show (``forensics.segmentation.regions``):

- **pointing game**: among the candidate parts (left eye, right eye, nose, mouth) the one with the highest relevance
  density (share of positive relevance / share of area) is an edited one. Chance is computed per face: a pointer
  that picks a candidate at random hits with probability (edited candidates) / (candidates), so chance is the mean of
  that over the faces (ties at the top count as such a random pick among the tied parts, so a map without positive
  relevance, e.g. LRP of a class whose logit is negative, scores exactly chance). Faces whose four parts were all
  edited always score a hit; the summary also gives the figures without them ("informative" faces).
- **relevance share**: positive relevance inside the edited parts / all positive relevance in the crop, against
  the edited parts' share of the crop's area (a map spread evenly gets share = area share).

Example:
    >>> from forensics.explainers.localisation import ciplab_edited_parts
    >>> ciplab_edited_parts("easy_176_1000.jpg")
    ('left eye',)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from forensics.errors import ForensicsError, NotApplicableError

EDIT_PARTS: tuple[str, ...] = ("left eye", "right eye", "nose", "mouth")  # the digit order of the ciplab masks
_MASK = re.compile(r"_([01]{4})\.[A-Za-z0-9]+$")


def ciplab_edited_parts(name: str) -> tuple[str, ...]:
    """Edited parts encoded in a ciplab edit's file name (``..._LRNM.jpg``: left eye, right eye, nose, mouth)."""
    m = _MASK.search(str(name))
    if not m:
        raise ForensicsError(f"{name!r} does not end in a 4-digit edit mask (e.g. easy_176_1000.jpg)")
    parts = tuple(p for p, d in zip(EDIT_PARTS, m.group(1), strict=True) if d == "1")
    if not parts:
        raise ForensicsError(f"{name!r} has the edit mask 0000: no part is marked as edited")
    return parts


@dataclass(frozen=True)
class FaceLocalisation:
    """Localisation of one map on one edited face."""

    edited: tuple[str, ...]
    candidates: tuple[str, ...]
    top: tuple[str, ...]  # candidate(s) with the highest density (more than one on a tie)
    hit: float  # 1 / 0, or the share of edited parts among tied tops
    chance: float  # edited candidates / candidates
    share: float  # positive relevance in the edited parts / all positive relevance
    area_share: float  # edited parts' pixels / crop pixels
    density: dict[str, float]
    empty: bool = False  # the map held no positive relevance: no part is picked

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def localise(
    heatmap: Any, regions: Any, edited: Sequence[str], *, candidates: Sequence[str] = EDIT_PARTS
) -> FaceLocalisation:
    """Pointing game and relevance share of one map (a Heatmap or 2-D array) on one segmented, edited face.

    Raises NotApplicableError when a candidate part was not segmented (no fair pick among the parts).
    """
    from forensics.segmentation.regions import _as_map, region_relevance

    edited = tuple(edited)
    unknown = [p for p in edited if p not in candidates]
    if unknown or not edited:
        raise ForensicsError(f"edited parts {edited} must be a non-empty subset of the candidates {tuple(candidates)}")
    missing = [p for p in candidates if p not in regions.masks]
    if missing:
        raise NotApplicableError(
            f"the segmenter did not find {', '.join(missing)}: "
            + "; ".join(f"{p}: {regions.absent.get(p, 'not reported')}" for p in missing)
        )
    area = {p: float(regions.masks[p].mean()) for p in candidates}
    values = _as_map(heatmap)[0]
    if not (values > 0).any():
        return FaceLocalisation(
            edited=edited,
            candidates=tuple(candidates),
            top=tuple(candidates),
            hit=len(edited) / len(candidates),
            chance=len(edited) / len(candidates),
            share=0.0,
            area_share=float(sum(area[p] for p in edited)),
            density=dict.fromkeys(candidates, 0.0),
            empty=True,
        )
    rows = {r.region: r for r in region_relevance(heatmap, regions).present}
    density = {p: float(rows[p].density or 0.0) for p in candidates}
    best = max(density.values())
    top = tuple(p for p in candidates if density[p] == best)
    hit = sum(p in edited for p in top) / len(top)
    return FaceLocalisation(
        edited=edited,
        candidates=tuple(candidates),
        top=top,
        hit=float(hit),
        chance=len(edited) / len(candidates),
        share=float(sum(rows[p].share for p in edited)),
        area_share=float(sum(rows[p].area_share for p in edited)),
        density=density,
    )


def _poisson_binomial_tail(probs: Sequence[float], k: float) -> float:
    """P(sum of independent Bernoulli(p_i) >= k): how often random pointing does at least as well."""
    dist = np.zeros(len(probs) + 1)
    dist[0] = 1.0
    for p in probs:
        dist[1:] = dist[1:] * (1 - p) + dist[:-1] * p
        dist[0] *= 1 - p
    return float(dist[int(math.ceil(k - 1e-9)) :].sum())


def wilson(hits: float, n: int, z: float = 1.959963984540054) -> tuple[float, float] | None:
    """Wilson score 95% interval of a proportion (None for n = 0)."""
    if n == 0:
        return None
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def summarise(faces: Sequence[FaceLocalisation]) -> dict[str, Any]:
    """Pointing rate with its Wilson interval against chance (and the probability that random pointing does as well),
    on all faces and on the informative ones (not every candidate edited); mean relevance share against area share."""

    def block(group: Sequence[FaceLocalisation]) -> dict[str, Any]:
        n = len(group)
        hits = float(sum(f.hit for f in group))
        chances = [f.chance for f in group]
        ci = wilson(hits, n)
        return {
            "faces": n,
            "pointing": hits / n if n else None,
            "pointing_ci": list(ci) if ci else None,
            "chance": float(np.mean(chances)) if n else None,
            "p_value": _poisson_binomial_tail(chances, hits) if n else None,
        }

    out = {
        **block(faces),
        "informative": block([f for f in faces if f.chance < 1.0]),
        "empty_maps": int(sum(f.empty for f in faces)),
    }
    if faces:
        share = np.array([f.share for f in faces])
        area = np.array([f.area_share for f in faces])
        out.update(
            {
                "share": float(share.mean()),
                "area_share": float(area.mean()),
                "share_over_area": float(share.mean() / area.mean()) if area.mean() > 0 else None,
                "faces_share_above_area": float(np.mean(share > area)),
            }
        )
    return out


def statement(n: int, pointing: float, chance: float) -> str:
    """The sentence the pages and reports show for a measured method."""
    return (
        f"on {n} edits with known regions, this method pointed at an edited part in {pointing:.0%} "
        f"(chance {chance:.0%})"
    )
