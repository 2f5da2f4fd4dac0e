"""The MTCNN and Haar face finders of ``forensics.faces.detect_faces``: one process-wide model each (locked), run on
a copy reduced to ``max_side``, detections returned in image pixels as ``Detection`` (box, confidence, landmarks).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from forensics.errors import UnavailableError

_MTCNN_MIN_FACE = 20  # pixels at detection scale; smaller faces are not found at all
_HAAR_MIN_NEIGHBORS = 5
_MTCNN_LOCK = threading.Lock()
_MTCNN: dict[str, Any] = {}
_HAAR_LOCK = threading.Lock()
_HAAR: dict[str, Any] = {}


def mtcnn_model():
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


def downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    import cv2

    h, w = image.shape[:2]
    f = max_side / max(h, w)
    if f >= 1.0:
        return image, 1.0
    small = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return small, f


def detect_mtcnn(image: np.ndarray, max_side: int) -> list[Detection]:
    import torch

    model = mtcnn_model()
    small, f = downscale(image, max_side)
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


def detect_haar(image: np.ndarray, max_side: int) -> list[Detection]:
    """Haar boxes; confidence = n / (n + 5) from the number n of merged neighbour windows (a heuristic score)."""
    import cv2

    small, f = downscale(image, max_side)
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
