"""Face detection, five landmarks and aligned square crops, with reasons for every face left out.

Methods: ``"mtcnn"`` (facenet-pytorch; weights ship inside the wheel), ``"haar"`` (OpenCV's frontal-face cascade,
no landmarks), ``"mediapipe"`` (BlazeFace from the mediapipe wheel, about 20x faster than MTCNN; eyes and nose
only, see ``forensics.faces_mediapipe``), ``"mediapipe+mtcnn"`` (BlazeFace, and MTCNN on the images where BlazeFace
is unreliable: ``faces_mediapipe.needs_mtcnn``), ``"auto"`` (the default, as in ``AnalyzeOptions``: MTCNN, then Haar
when MTCNN finds nothing) and ``"whole"`` (the image already is a face crop: it is padded to a square and resized).
"No face found" is a FaceSet with ``reason`` set, never an exception.

Coordinates are continuous image coordinates: pixel (col i, row j) covers [i, i+1) x [j, j+1). Boxes are
(x0, y0, x1, y1) as the detector gives them (they may reach outside the image). ``crop_matrix`` maps image
coordinates to crop coordinates: ``crop_xy = M[:, :2] @ xy + M[:, 2]``.

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

import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forensics.errors import BadImageError, UnavailableError, UnknownComponentError

DEFAULT_CROP_SIZE = 256
DEFAULT_MARGIN = 0.15
DEFAULT_MIN_SIZE = 40
DEFAULT_MIN_CONFIDENCE = 0.9
DEFAULT_MAX_FACES = 20
DEFAULT_DETECT_MAX_SIDE = 1600
FACE_METHODS: tuple[str, ...] = ("mtcnn", "haar", "mediapipe", "mediapipe+mtcnn", "auto", "whole")
PAD_MODES: tuple[str, ...] = ("reflect", "edge", "black")
LANDMARK_NAMES: tuple[str, ...] = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
_MTCNN_MIN_FACE = 20  # pixels at detection scale; smaller faces are not found at all
_HAAR_MIN_NEIGHBORS = 5


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


# ---------------------------------------------------------------------------------------------- cropping
def crop_matrix(center: tuple[float, float], side: float, crop_size: int, angle_deg: float = 0.0) -> np.ndarray:
    """2x3 affine (continuous coordinates) mapping the rotated square of ``side`` around ``center`` onto the crop.

    ``angle_deg`` is the direction of the eye line in the image (positive: the right eye is lower, y grows down);
    the crop is rotated by the opposite angle so that the eye line becomes horizontal.
    """
    s = crop_size / float(side)
    a = math.radians(angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    rot = np.array([[ca, sa], [-sa, ca]]) * s  # R(-angle) scaled
    c = np.asarray(center, dtype=np.float64)
    t = -rot @ c + crop_size / 2.0
    return np.hstack([rot, t[:, None]])


def _border(pad: str) -> int:
    import cv2

    try:
        return {"reflect": cv2.BORDER_REFLECT_101, "edge": cv2.BORDER_REPLICATE, "black": cv2.BORDER_CONSTANT}[pad]
    except KeyError:
        raise UnknownComponentError(f"unknown pad mode {pad!r}; known: {', '.join(PAD_MODES)}") from None


def warp_crop(image: np.ndarray, matrix: np.ndarray, crop_size: int, *, pad: str = "reflect") -> np.ndarray:
    """Resample ``image`` through the continuous-coordinate affine ``matrix`` into a crop_size square.

    When the crop shrinks the image (scale < 1) the square is first warped at (at most) full resolution and then
    reduced with area averaging, which avoids the aliasing of a direct bilinear warp.
    """
    import cv2

    border = _border(pad)
    m = np.asarray(matrix, dtype=np.float64)
    scale = math.hypot(m[0, 0], m[0, 1])
    if scale < 1.0:
        inter = min(int(math.ceil(crop_size / scale)), 4096)
        m_inter = m * (inter / crop_size)  # continuous coordinates: resizing is a plain scaling
        big = _warp(image, m_inter, inter, border, cv2.INTER_LINEAR)
        if inter == crop_size:
            return big
        return cv2.resize(big, (crop_size, crop_size), interpolation=cv2.INTER_AREA)
    return _warp(image, m, crop_size, border, cv2.INTER_LINEAR)


def _warp(image: np.ndarray, m_cont: np.ndarray, size: int, border: int, interp: int) -> np.ndarray:
    import cv2

    # cv2 works on pixel-centre indices: q_idx = A (p_idx + 0.5) + t - 0.5
    m_idx = m_cont.copy()
    m_idx[:, 2] = m_cont[:, :2] @ np.array([0.5, 0.5]) + m_cont[:, 2] - 0.5
    return cv2.warpAffine(
        np.ascontiguousarray(image), m_idx, (size, size), flags=interp, borderMode=border, borderValue=(0, 0, 0)
    )


def _padded_fraction(matrix: np.ndarray, crop_size: int, width: int, height: int) -> float:
    """Share of crop pixels whose source point lies outside the image (filled by padding)."""
    n = 32
    g = (np.arange(n) + 0.5) * crop_size / n
    xx, yy = np.meshgrid(g, g)
    a, t = matrix[:, :2], matrix[:, 2]
    src = np.linalg.solve(a, np.stack([xx.ravel() - t[0], yy.ravel() - t[1]]))
    inside = (src[0] >= 0) & (src[0] <= width) & (src[1] >= 0) & (src[1] <= height)
    return float(1.0 - inside.mean())


def eye_angle(landmarks: np.ndarray | None) -> float:
    """Angle in degrees of the line from the left eye to the right eye (0 when level or unknown)."""
    if landmarks is None:
        return 0.0
    (lx, ly), (rx, ry) = landmarks[0], landmarks[1]
    if not np.isfinite([lx, ly, rx, ry]).all() or (rx == lx and ry == ly):
        return 0.0
    return math.degrees(math.atan2(ry - ly, rx - lx))


def face_matrix(
    box: tuple[float, float, float, float],
    landmarks: np.ndarray | None = None,
    *,
    margin: float = DEFAULT_MARGIN,
    crop_size: int = DEFAULT_CROP_SIZE,
) -> tuple[np.ndarray, float]:
    """``(crop_matrix, angle_deg)`` of the aligned crop of one face (see ``aligned_crop``)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0, 1.0) * (1.0 + 2.0 * margin)
    angle = eye_angle(landmarks)
    return crop_matrix(((x0 + x1) / 2.0, (y0 + y1) / 2.0), side, crop_size, angle), angle


def aligned_crop(
    image: np.ndarray,
    box: tuple[float, float, float, float],
    landmarks: np.ndarray | None = None,
    *,
    margin: float = DEFAULT_MARGIN,
    crop_size: int = DEFAULT_CROP_SIZE,
    pad: str = "reflect",
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Crop one face the way ``detect_faces`` does. Returns ``(crop, matrix, angle_deg, padded_fraction)``."""
    m, angle = face_matrix(box, landmarks, margin=margin, crop_size=crop_size)
    crop = warp_crop(image, m, crop_size, pad=pad)
    return crop, m, angle, _padded_fraction(m, crop_size, image.shape[1], image.shape[0])


# ---------------------------------------------------------------------------------------------- detectors
_MTCNN_LOCK = threading.Lock()
_MTCNN: dict[str, Any] = {}
_HAAR_LOCK = threading.Lock()
_HAAR: dict[str, Any] = {}


def _mtcnn():
    """The process-wide MTCNN (weights from the facenet-pytorch wheel) on ``get_device()``."""
    from forensics.device import get_device

    device = get_device()
    key = str(device)
    with _MTCNN_LOCK:
        if key not in _MTCNN:
            try:
                from facenet_pytorch import MTCNN
            except ImportError as exc:
                raise UnavailableError(
                    "MTCNN needs the facenet-pytorch package (pip install facenet-pytorch --no-deps); "
                    "use method='haar' meanwhile"
                ) from exc
            _MTCNN[key] = MTCNN(
                keep_all=True, device=device, min_face_size=_MTCNN_MIN_FACE, post_process=False, select_largest=False
            )
        return _MTCNN[key]


def _haar():
    import cv2

    with _HAAR_LOCK:
        if "face" not in _HAAR:
            folder = getattr(getattr(cv2, "data", None), "haarcascades", "") or ""
            path = folder + "haarcascade_frontalface_default.xml"
            clf = cv2.CascadeClassifier(path)
            if clf.empty():
                raise UnavailableError(
                    f"OpenCV Haar cascade not found at {path!r}: install opencv-python-headless 4.x "
                    "(OpenCV 5 dropped the cascade files)"
                )
            _HAAR["face"] = clf
        return _HAAR["face"]


Detection = tuple[tuple[float, float, float, float], float, np.ndarray | None]


def _downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    import cv2

    h, w = image.shape[:2]
    f = max_side / max(h, w)
    if f >= 1.0:
        return image, 1.0
    small = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return small, f


def _detect_mtcnn(image: np.ndarray, max_side: int) -> list[Detection]:
    import torch

    model = _mtcnn()
    small, f = _downscale(image, max_side)
    small = np.array(small, dtype=np.uint8, copy=True)  # writable and contiguous for torch
    with torch.no_grad():
        boxes, probs, points = model.detect(small, landmarks=True)
    if boxes is None:
        return []
    out: list[Detection] = []
    for b, p, pts in zip(boxes, probs, points, strict=True):
        x0, y0, x1, y1 = (float(v) / f for v in b)
        out.append(((x0, y0, x1, y1), float(p), np.asarray(pts, dtype=np.float64) / f))
    return out


def _detect_haar(image: np.ndarray, max_side: int) -> list[Detection]:
    """Haar boxes; confidence = n / (n + 5) from the number n of merged neighbour windows (a heuristic score)."""
    import cv2

    small, f = _downscale(image, max_side)
    gray = cv2.equalizeHist(cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2GRAY))
    clf = _haar()
    with _HAAR_LOCK:
        rects, counts = clf.detectMultiScale2(
            gray, scaleFactor=1.1, minNeighbors=_HAAR_MIN_NEIGHBORS, minSize=(_MTCNN_MIN_FACE, _MTCNN_MIN_FACE)
        )
    out: list[Detection] = []
    for (x, y, w, h), n in zip(np.asarray(rects).reshape(-1, 4), np.asarray(counts).reshape(-1), strict=True):
        box = (float(x / f), float(y / f), float((x + w) / f), float((y + h) / f))
        out.append((box, float(n) / (float(n) + _HAAR_MIN_NEIGHBORS), None))
    return out


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


def _as_rgb(image: Any) -> np.ndarray:
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
        from forensics.faces_mediapipe import detect_mediapipe, needs_mtcnn

        dets = found["mediapipe"] if "mediapipe" in found else detect_mediapipe(img, detect_max_side)
        tried.append("mediapipe")
        used = "mediapipe"
        if method == "mediapipe+mtcnn" and needs_mtcnn(dets, img.shape[:2]):
            dets = found["mtcnn"] if "mtcnn" in found else _detect_mtcnn(img, detect_max_side)
            tried.append("mtcnn")
            used = "mtcnn"
    if method in ("mtcnn", "auto"):
        try:
            dets = found["mtcnn"] if "mtcnn" in found else _detect_mtcnn(img, detect_max_side)
            tried.append("mtcnn")
        except UnavailableError as exc:
            if method == "mtcnn":
                raise
            notes.append(f"MTCNN unavailable ({exc}); Haar cascade used")
        used = "mtcnn"
    if method == "haar" or (method == "auto" and not dets):
        dets = _detect_haar(img, detect_max_side)
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


def detect_faces(
    image: Any,
    *,
    method: str = "auto",
    min_size: int = DEFAULT_MIN_SIZE,
    margin: float = DEFAULT_MARGIN,
    crop_size: int = DEFAULT_CROP_SIZE,
    max_faces: int = DEFAULT_MAX_FACES,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    pad: str = "reflect",
    detect_max_side: int = DEFAULT_DETECT_MAX_SIDE,
    detections: dict[str, list[Detection]] | None = None,
) -> FaceSet:
    """Find faces in an HxWx3 uint8 RGB image (or an Evidence) and return aligned crops in reading order.

    Faces whose box is smaller than ``min_size`` px (longer side), below ``min_confidence`` (MTCNN) or beyond the
    ``max_faces`` largest are listed in ``skipped`` with the reason. Detection runs on a copy reduced to
    ``detect_max_side`` (faces under about 20 px at that scale are not found); crops come from the full image.
    ``detections`` holds raw detections already made per method (``forensics.face_batch`` runs MTCNN on many images
    at once); a method not in it runs here.
    """
    if method not in FACE_METHODS:
        raise UnknownComponentError(f"unknown face method {method!r}; known: {', '.join(FACE_METHODS)}")
    _border(pad)
    if crop_size < 8:
        raise BadImageError(f"crop_size {crop_size} is too small: use at least 8 (default {DEFAULT_CROP_SIZE})")
    img = _as_rgb(image)
    h, w = img.shape[:2]
    params = {
        "method": method,
        "min_size": min_size,
        "margin": margin,
        "crop_size": crop_size,
        "max_faces": max_faces,
        "min_confidence": min_confidence,
        "pad": pad,
        "detect_max_side": detect_max_side,
    }
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
            padded_fraction=_padded_fraction(m, crop_size, w, h),
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
