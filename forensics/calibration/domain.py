"""How a piece of evidence compares with a detector's training and validation images: a caveat when it lies where the
detector saw few camera originals (``size_caveat``), and one when a "camera original" verdict falls on a file as small
or as compressed as a re-sampling under which the detector's calibration measured too many misses
(``degradation_caveat``); ``face_caveats`` gathers both for one face.

The shipped detector learnt from small real photos and large generated ones, so a large photo of a real person is at
risk of being called "generated" (see its model card). The model card keeps a histogram of the shorter image side
of its training images per kind (``training_image_sides``); ``size_caveat`` reads it for one face crop.

    >>> hist = side_histogram({"real": [200, 250, 250], "gan": [512, 512]})
    >>> size_caveat(hist, 600) is not None, size_caveat(hist, 240)
    (True, None)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forensics.verdicts import Verdict

if TYPE_CHECKING:
    from forensics.pipeline.results import Analysis, FaceAnalysis

SIDE_EDGES = (0, 128, 192, 256, 384, 512, 768, 1024)  # bin lower edges, px of the shorter image side
GENERATED_KINDS = ("gan", "diffusion")


def shorter_side(path: str | Path) -> float:
    """Shorter side of an image file in px, from its header (0 when unreadable). For face-crop datasets it is about
    the span of the face crop; for wider shots it over-states it."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return float(min(im.size))
    except OSError:
        return 0.0


def side_histogram(sides_by_kind: Mapping[str, Iterable[float]], *, source: str = "") -> dict[str, Any]:
    """Counts of training images per kind in the bins of ``SIDE_EDGES`` (the last bin is open-ended)."""
    counts: dict[str, list[int]] = {}
    for kind, sides in sides_by_kind.items():
        c = [0] * len(SIDE_EDGES)
        for s in sides:
            if s and s > 0:
                c[_bin(float(s), SIDE_EDGES)] += 1
        counts[str(kind)] = c
    return {"measure": "shorter image side (px)", "edges": list(SIDE_EDGES), "counts": counts, "source": source}


def _bin(side: float, edges: Iterable[float]) -> int:
    return max(i for i, e in enumerate(edges) if side >= e)


def share_at_least(hist: Mapping[str, Any], kinds: Iterable[str], side: float) -> tuple[float | None, int]:
    """Share of the training images of ``kinds`` whose shorter side falls in the bin of ``side`` or above, and that
    bin's lower edge. None when the histogram holds no image of those kinds."""
    edges = list(hist["edges"])
    i = _bin(side, edges)
    rows = [hist["counts"][k] for k in kinds if k in hist["counts"]]
    total = sum(sum(r) for r in rows)
    if total == 0:
        return None, int(edges[i])
    return sum(sum(r[i:]) for r in rows) / total, int(edges[i])


def face_span_px(box: Iterable[float], margin: float) -> float:
    """Source pixels spanned by a face crop's side, as ``forensics.faces.crop.aligned_crop`` cuts it."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return max(x1 - x0, y1 - y0, 1.0) * (1.0 + 2.0 * margin)


def size_caveat(
    hist: Mapping[str, Any] | None, span_px: float, *, min_real_share: float = 0.10, verdict: Verdict | None = None
) -> str | None:
    """A sentence for the analyst when camera originals at least as large as this face crop (``span_px`` source
    pixels) were rare among the detector's training images (under ``min_real_share``); None when they were common
    or the card holds no histogram. The training images of face datasets are about one face crop each, so their
    shorter side stands in for the crop's span. The last clause speaks of the ``verdict`` actually given (a
    "manipulated or generated" call is the one large real photos are known to draw; None: not known)."""
    if not hist or not hist.get("counts") or not span_px:
        return None
    real, edge = share_at_least(hist, ["real"], span_px)
    if real is None or real >= min_real_share:
        return None
    seen, _ = share_at_least(hist, list(hist["counts"]), span_px)
    if not seen:
        return (
            f"This face crop spans about {int(round(span_px))} source pixels; none of the images this detector "
            f"was trained on were {edge} px or larger, so its score here is an extrapolation: weigh any verdict on "
            "this face with particular care."
        )
    gen, _ = share_at_least(hist, GENERATED_KINDS, span_px)
    gen_text = f", against {gen:.0%} of its fully generated ones" if gen is not None else ""
    share = "None" if real == 0 else "Under 1%" if real < 0.01 else f"Only {real:.0%}"
    return (
        f"This face crop spans about {int(round(span_px))} source pixels. {share} of the camera originals "
        f"this detector was trained on were {edge} px or larger{gen_text}. Large, sharp photos of real people from "
        "sources it has not seen have been called 'generated' (see its known failure modes): "
        + (
            "weigh a 'manipulated or generated' verdict on this face with particular care."
            if verdict is None
            else "weigh this 'manipulated or generated' verdict with particular care."
            if verdict == Verdict.FAKE
            else f"the verdict here is '{verdict}'; a 'manipulated or generated' one would need particular care."
        )
    )


def face_size_caveat(analysis: Analysis, face: FaceAnalysis, detector: str) -> str | None:
    """``size_caveat`` for one face of an Analysis and one of its detectors."""
    from forensics.faces.crop import DEFAULT_MARGIN

    margin = analysis.options.margin
    card = (analysis.models.get(detector) or {}).get("card") or {}
    span = face_span_px(face.box, DEFAULT_MARGIN if margin is None else float(margin))
    score = face.scores.get(detector)
    verdict = None if score is None or score.assessment is None else score.assessment.verdict
    return size_caveat(card.get("training_image_sides"), span, verdict=verdict)


def degradation_caveat(
    calibration: Mapping[str, Any] | None, verdict: Verdict | None, side_px: float, jpeg_quality: float | None
) -> str | None:
    """A sentence for a "camera original" verdict on a file that is at least as small (shorter side ``side_px``) or
    as compressed (estimated JPEG quality) as one of the re-samplings the detector's calibration measured, when
    under that re-sampling the share of manipulated or generated validation faces below the band is above the
    target error beyond doubt (the lower end of its 95% Wilson interval exceeds the target); the re-sampling with the
    highest such miss rate is quoted. None otherwise."""
    from forensics.calibration import parse_condition_name
    from forensics.evaluation import wilson_interval

    if verdict != Verdict.REAL or not calibration:
        return None
    target = float(calibration.get("target_error", 0.05))
    worst: tuple[float, int, int, int, int, tuple[float, float]] | None = None
    for name, r in ((calibration.get("error_rates") or {}).get("conditions") or {}).items():
        side, quality = parse_condition_name(name)
        as_small = bool(side_px) and side_px <= side
        as_compressed = jpeg_quality is not None and jpeg_quality <= quality
        n, missed = int(r.get("n_fake") or 0), int(r.get("false_negatives") or 0)
        if not (as_small or as_compressed) or not n:
            continue
        ci = wilson_interval(missed, n)
        if ci[0] > target and (worst is None or missed / n > worst[0]):
            worst = (missed / n, side, quality, missed, n, ci)
    if worst is None:
        return None
    rate, side, quality, missed, n, ci = worst
    quality_text = f", JPEG quality about {int(round(jpeg_quality))}" if jpeg_quality is not None else ""
    return (
        f"This file is {int(round(side_px))} px on its shorter side{quality_text}: as small or as compressed as "
        f"the validation files re-sampled to {side} px / JPEG {quality}, of whose manipulated or generated faces "
        f"this detector called {missed} of {n} ({rate:.0%}, 95% interval {ci[0]:.0%}-{ci[1]:.0%}) camera "
        f"originals, against a target of {target:.0%}. A 'camera original' verdict on this file is weak evidence."
    )


def face_caveats(analysis: Analysis, face: FaceAnalysis, detector: str) -> list[str]:
    """Every caveat for one face of an Analysis and one of its detectors: the size caveat (face crop larger than the
    camera originals it was trained on) and the degradation caveat (small or compressed file, "camera original"
    verdict)."""
    model = analysis.models.get(detector) or {}
    score = face.scores.get(detector)
    verdict = None if score is None or score.assessment is None else score.assessment.verdict
    ev = analysis.evidence
    side = float(min(ev.get("width") or 0, ev.get("height") or 0))
    quality = ((ev.get("metadata") or {}).get("jpeg") or {}).get("estimated_quality")
    found = [
        face_size_caveat(analysis, face, detector),
        degradation_caveat(model.get("calibration"), verdict, side, None if quality is None else float(quality)),
    ]
    return [c for c in found if c]
