"""Face detection, five landmarks and aligned square crops, with reasons for every face left out.

Methods: ``"mtcnn"`` (facenet-pytorch; weights ship inside the wheel), ``"haar"`` (OpenCV's frontal-face cascade, no
landmarks), ``"mediapipe"`` (BlazeFace from the mediapipe wheel, about 20x faster than MTCNN; eyes and nose only, see
``forensics.faces.mediapipe_finder``), ``"mediapipe+mtcnn"`` (BlazeFace, and MTCNN on the images where BlazeFace is
unreliable: ``mediapipe_finder.needs_mtcnn``), ``"auto"`` (the default, as in ``AnalyzeOptions``: MTCNN, then Haar when
MTCNN finds nothing) and ``"whole"`` (the image already is a face crop: it is padded to a square and resized). "No face
found" is a FaceSet with ``reason`` set, never an exception.

Boxes are (x0, y0, x1, y1) in continuous image coordinates as the detector gives them (they may reach outside the
image). The finders live in ``forensics.faces.finders``, the crop geometry in ``forensics.faces.crop``.

Crop recipe (training uses the same constants, so training crops match inference crops): rotate about the box centre
so that the eyes are level, take a square of side ``max(box w, box h) * (1 + 2 * margin)`` centred on the box, fill
what falls outside the image by reflection (``pad="reflect"``), ``"edge"`` replication or ``"black"``, and resample to
``crop_size`` (bilinear when enlarging, area averaging when shrinking).

Example:
    >>> from forensics.evidence import load_evidence
    >>> fs = detect_faces(load_evidence("photo.jpg").image)            # doctest: +SKIP
    >>> [f.box for f in fs.faces], fs.reason                             # doctest: +SKIP
    ([(75.7, 63.0, 171.0, 194.5)], None)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from forensics.errors import BadImageError, UnavailableError, UnknownComponentError
from forensics.faces.crop import (
    DEFAULT_CROP_SIZE,
    DEFAULT_MARGIN,
    aligned_crop,
    border_mode,
    crop_matrix,
    padded_fraction,
    warp_crop,
)
from forensics.faces.finders import Detection, detect_haar, detect_mtcnn

DEFAULT_MIN_SIZE = 40
DEFAULT_MIN_CONFIDENCE = 0.9
DEFAULT_MAX_FACES = 20
DEFAULT_DETECT_MAX_SIDE = 1600
FACE_METHODS: tuple[str, ...] = ("mtcnn", "haar", "mediapipe", "mediapipe+mtcnn", "auto", "whole")
LANDMARK_NAMES: tuple[str, ...] = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face and its aligned crop (``crop``: crop_size x crop_size x 3 uint8 RGB)."""

    index: int
    box: tuple[float, float, float, float]
    confidence: float
    landmarks: np.ndarray | None
    crop: np.ndarray = field(repr=False)
    crop_matrix: np.ndarray = field(repr=False)
    crop_landmarks: np.ndarray | None = field(default=None, repr=False)
    angle_deg: float = 0.0
    padded_fraction: float = 0.0
    method: str = "mtcnn"

    @property
    def size(self) -> float:
        """Face size in image pixels: the longer side of the box."""
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (no pixels)."""
        return {
            "index": self.index,
            "box": [round(float(v), 2) for v in self.box],
            "confidence": round(float(self.confidence), 5),
            "landmarks": None if self.landmarks is None else np.round(self.landmarks, 2).tolist(),
            "crop_landmarks": None if self.crop_landmarks is None else np.round(self.crop_landmarks, 2).tolist(),
            "crop_matrix": np.round(self.crop_matrix, 6).tolist(),
            "crop_size": int(self.crop.shape[0]),
            "angle_deg": round(float(self.angle_deg), 3),
            "padded_fraction": round(float(self.padded_fraction), 4),
            "method": self.method,
        }


@dataclass(frozen=True)
class SkippedFace:
    """A detection left out of the analysis, with the reason."""

    box: tuple[float, float, float, float]
    confidence: float
    reason: str
    kind: str = ""  # "low confidence" | "too small" | "beyond max_faces"

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": [round(float(v), 2) for v in self.box],
            "confidence": round(float(self.confidence), 5),
            "reason": self.reason,
            "kind": self.kind,
        }


@dataclass(frozen=True, eq=False)
class FaceSet:
    """Faces in reading order (rows top to bottom, then left to right), the skipped ones, and why none if empty."""

    faces: tuple[Face, ...]
    skipped: tuple[SkippedFace, ...] = ()
    method: str = "mtcnn"
    reason: str | None = None
    tried: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    image_size: tuple[int, int] = (0, 0)  # (width, height)
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.faces)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (no pixels)."""
        return {
            "method": self.method,
            "tried": list(self.tried),
            "reason": self.reason,
            "image_size": list(self.image_size),
            "faces": [f.to_dict() for f in self.faces],
            "skipped": [s.to_dict() for s in self.skipped],
            "notes": list(self.notes),
            "params": dict(self.params),
        }


def reading_order(boxes: list[tuple[float, float, float, float]]) -> list[int]:
    """Indices of ``boxes`` in reading order: rows top to bottom, then left to right within a row.

    A box joins the current row when its centre is less than half the row's mean box height below the row's first
    centre.
    """
    if not boxes:
        return []
    cy = [(b[1] + b[3]) / 2 for b in boxes]
    hs = [max(b[3] - b[1], 1e-6) for b in boxes]
    order = sorted(range(len(boxes)), key=lambda i: cy[i])
    rows: list[list[int]] = []
    for i in order:
        if rows:
            row = rows[-1]
            mean_h = sum(hs[j] for j in row) / len(row)
            if cy[i] - cy[row[0]] < 0.5 * mean_h:
                row.append(i)
                continue
        rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda j: (boxes[j][0] + boxes[j][2]) / 2)]


def as_rgb(image: Any) -> np.ndarray:
    if hasattr(image, "image") and isinstance(image.image, np.ndarray):  # an Evidence
        image = image.image
    elif not isinstance(image, np.ndarray) and hasattr(image, "convert"):  # a PIL image
        image = np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype != np.uint8:
        raise BadImageError(
            f"detect_faces needs an HxWx3 uint8 RGB image, got shape {arr.shape} dtype {arr.dtype}: "
            "load the file with forensics.evidence.load_evidence first"
        )
    return arr[..., :3]


def _find(
    img: np.ndarray, method: str, found: dict[str, list[Detection]], detect_max_side: int
) -> tuple[list[Detection], str, list[str], list[str]]:
    """(detections, method that made them, methods tried, notes) of one face ``method`` other than "whole";
    detections already in ``found`` are used instead of running that method again."""
    tried: list[str] = []
    notes: list[str] = []
    dets: list[Detection] = []
    used = method
    if method in ("mediapipe", "mediapipe+mtcnn"):
        from forensics.faces.mediapipe_finder import detect_mediapipe, needs_mtcnn

        dets = found["mediapipe"] if "mediapipe" in found else detect_mediapipe(img, detect_max_side)
        tried.append("mediapipe")
        used = "mediapipe"
        if method == "mediapipe+mtcnn" and needs_mtcnn(dets, img.shape[:2]):
            dets = found["mtcnn"] if "mtcnn" in found else detect_mtcnn(img, detect_max_side)
            tried.append("mtcnn")
            used = "mtcnn"
    if method in ("mtcnn", "auto"):
        try:
            dets = found["mtcnn"] if "mtcnn" in found else detect_mtcnn(img, detect_max_side)
            tried.append("mtcnn")
        except UnavailableError as exc:
            if method == "mtcnn":
                raise
            notes.append(f"MTCNN unavailable ({exc}); Haar cascade used")
        used = "mtcnn"
    if method == "haar" or (method == "auto" and not dets):
        dets = detect_haar(img, detect_max_side)
        tried.append("haar")
        used = "haar"
    return dets, used, tried, notes


def _select(
    dets: list[Detection], used: str, *, min_size: int, min_confidence: float, max_faces: int
) -> tuple[list[Detection], list[SkippedFace]]:
    """The detections analysed and the ones skipped, with the reason: low MTCNN confidence, too small, or beyond the
    ``max_faces`` largest."""
    kept: list[Detection] = []
    skipped: list[SkippedFace] = []
    for box, conf, pts in dets:
        size = max(box[2] - box[0], box[3] - box[1])
        if used == "mtcnn" and conf < min_confidence:
            skipped.append(
                SkippedFace(
                    box,
                    conf,
                    f"detector confidence {conf:.3f} is below min_confidence {min_confidence:.2f}",
                    "low confidence",
                )
            )
        elif size < min_size:
            skipped.append(
                SkippedFace(
                    box,
                    conf,
                    f"face {box[2] - box[0]:.0f}x{box[3] - box[1]:.0f} px is smaller "
                    f"than min_size={min_size} px: too small to analyse reliably",
                    "too small",
                )
            )
        else:
            kept.append((box, conf, pts))
    if len(kept) > max_faces:
        kept.sort(key=lambda d: -max(d[0][2] - d[0][0], d[0][3] - d[0][1]))
        for box, conf, _ in kept[max_faces:]:
            skipped.append(
                SkippedFace(
                    box,
                    conf,
                    f"more than max_faces={max_faces} faces: only the {max_faces} largest are analysed",
                    "beyond max_faces",
                )
            )
        kept = kept[:max_faces]
    return kept, skipped


@dataclass(frozen=True)
class FaceOptions:
    """How ``detect_faces`` finds and crops faces; recorded in every FaceSet's ``params``.

    Faces whose box is smaller than ``min_size`` px (longer side), below ``min_confidence`` (MTCNN) or beyond the
    ``max_faces`` largest are skipped, with the reason. Detection runs on a copy reduced to ``detect_max_side``
    (faces under about 20 px at that scale are not found); crops come from the full image (``margin``,
    ``crop_size``, ``pad``: ``forensics.faces.crop``).
    """

    method: str = "auto"
    min_size: int = DEFAULT_MIN_SIZE
    margin: float = DEFAULT_MARGIN
    crop_size: int = DEFAULT_CROP_SIZE
    max_faces: int = DEFAULT_MAX_FACES
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    pad: str = "reflect"
    detect_max_side: int = DEFAULT_DETECT_MAX_SIDE


def detect_faces(
    image: Any, options: FaceOptions | None = None, *, detections: dict[str, list[Detection]] | None = None
) -> FaceSet:
    """Find faces in an HxWx3 uint8 RGB image (or an Evidence) with ``options`` (default ``FaceOptions()``) and return
    aligned crops in reading order, the faces left out listed in ``skipped`` with the reason.
    ``detections`` holds raw detections already made per method (``forensics.faces.batch`` runs MTCNN on many images
    at once); a method not in it runs here.
    """
    o = options or FaceOptions()
    method, min_size, margin, crop_size = o.method, o.min_size, o.margin, o.crop_size
    max_faces, min_confidence, pad, detect_max_side = o.max_faces, o.min_confidence, o.pad, o.detect_max_side
    if method not in FACE_METHODS:
        raise UnknownComponentError(f"unknown face method {method!r}; known: {', '.join(FACE_METHODS)}")
    border_mode(pad)
    if crop_size < 8:
        raise BadImageError(f"crop_size {crop_size} is too small: use at least 8 (default {DEFAULT_CROP_SIZE})")
    img = as_rgb(image)
    h, w = img.shape[:2]
    params = asdict(o)
    base: dict[str, Any] = {"image_size": (w, h), "params": params}
    if min(w, h) < min_size:
        return FaceSet(
            faces=(),
            method=method,
            reason=f"image {w}x{h} px is smaller than min_size={min_size} px: no face large enough to analyse",
            **base,
        )

    if method == "whole":
        side = float(max(w, h))
        m = crop_matrix((w / 2.0, h / 2.0), side, crop_size, 0.0)
        crop = warp_crop(img, m, crop_size, pad=pad)
        whole_notes = () if w == h else (f"non-square image {w}x{h} padded ({pad}) to a square before resizing",)
        face = Face(
            index=0,
            box=(0.0, 0.0, float(w), float(h)),
            confidence=1.0,
            landmarks=None,
            crop=crop,
            crop_matrix=m,
            crop_landmarks=None,
            angle_deg=0.0,
            padded_fraction=padded_fraction(m, crop_size, w, h),
            method="whole",
        )
        return FaceSet(faces=(face,), method="whole", tried=("whole",), notes=whole_notes, **base)

    dets, used, tried, notes = _find(img, method, detections or {}, detect_max_side)
    kept, skipped = _select(dets, used, min_size=min_size, min_confidence=min_confidence, max_faces=max_faces)

    faces = []
    for new_index, i in enumerate(reading_order([d[0] for d in kept])):
        box, conf, pts = kept[i]
        crop, m, angle, padded = aligned_crop(img, box, pts, margin=margin, crop_size=crop_size, pad=pad)
        crop_pts = None if pts is None else pts @ m[:, :2].T + m[:, 2]
        faces.append(
            Face(
                index=new_index,
                box=box,
                confidence=conf,
                landmarks=pts,
                crop=crop,
                crop_matrix=m,
                crop_landmarks=crop_pts,
                angle_deg=angle,
                padded_fraction=padded,
                method=used,
            )
        )

    reason = None
    if not faces:
        by = " then ".join(tried) or used
        reason = (
            f"no face found by {by}"
            if not skipped
            else f"no usable face: {len(skipped)} detection(s) skipped (see skipped_faces)"
        )
    return FaceSet(
        faces=tuple(faces),
        skipped=tuple(skipped),
        method=used,
        reason=reason,
        tried=tuple(tried),
        notes=tuple(notes),
        **base,
    )
