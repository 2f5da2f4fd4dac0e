"""Face finding over many images at once: MTCNN runs on stacks of same-sized images.

facenet-pytorch's MTCNN accepts a stack of equal-sized images and runs each of its three networks once per stack
instead of once per image; on 200 px val images that took 22 ms per image against 53 ms one at a time (1 thread,
contended; ``bench/bench_face_finders.py``). The detections are the same as one image at a time (a test checks it);
everything after detection (filters, reading order, crops, skipped faces) is ``faces.detect_faces``'s own.

Example:
    >>> sets = find_faces_batch([img_a, img_b], FaceOptions(method="auto"))          # doctest: +SKIP
    >>> [len(s) for s in sets]                                          # doctest: +SKIP
    [1, 3]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from forensics.errors import UnavailableError
from forensics.faces.detect import DEFAULT_DETECT_MAX_SIDE, FaceOptions, FaceSet, as_rgb, detect_faces
from forensics.faces.finders import downscale, mtcnn_model

MAX_STACK_PIXELS = 4_000_000  # per MTCNN call: its first pyramid level in float32 is 12 bytes per pixel
MAX_STACK = 32


def _stacks(shapes: list[tuple[int, int]]) -> list[list[int]]:
    """Indices grouped by image shape, each group cut to at most MAX_STACK images and MAX_STACK_PIXELS pixels."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, shape in enumerate(shapes):
        groups.setdefault(shape, []).append(i)
    out = []
    for (h, w), idx in groups.items():
        per = max(1, min(MAX_STACK, MAX_STACK_PIXELS // max(1, h * w)))
        out += [idx[k : k + per] for k in range(0, len(idx), per)]
    return out


def mtcnn_batch(images: Sequence[np.ndarray], max_side: int = DEFAULT_DETECT_MAX_SIDE) -> list[list[Any]]:
    """MTCNN detections (``face_finders.Detection``: box, probability, five landmarks; image pixels) for every image."""
    import torch

    model = mtcnn_model()
    small = [downscale(as_rgb(im), max_side) for im in images]
    out: list[list[Any]] = [[] for _ in images]
    for idx in _stacks([s[0].shape[:2] for s, _ in zip(small, images, strict=True)]):
        stack = np.stack([small[i][0] for i in idx]).astype(np.uint8, copy=False)
        with torch.no_grad():
            boxes, probs, points = model.detect(stack, landmarks=True)
        for k, i in enumerate(idx):
            if boxes[k] is None:
                continue
            f = small[i][1]
            out[i] = [
                (tuple(float(v) / f for v in b), float(p), np.asarray(pts, dtype=np.float64) / f)
                for b, p, pts in zip(boxes[k], probs[k], points[k], strict=True)
            ]
    return out


def find_faces_batch(images: Sequence[np.ndarray], options: FaceOptions | None = None) -> list[FaceSet]:
    """``detect_faces(image, options)`` for every image, with MTCNN run on stacks of images."""
    o = options or FaceOptions()
    if o.method not in ("mtcnn", "auto", "mediapipe+mtcnn") or not images:
        return [detect_faces(im, o) for im in images]
    # images below min_size get no face from detect_faces anyway, and MTCNN fails on images under 12 px
    big = [i for i, im in enumerate(images) if min(np.shape(im)[:2]) >= o.min_size]
    blaze: dict[int, list[Any]] = {}
    if o.method == "mediapipe+mtcnn":  # BlazeFace on every image, MTCNN (batched) only where it is needed
        from forensics.faces.mediapipe_finder import detect_mediapipe, needs_mtcnn

        blaze = {i: detect_mediapipe(as_rgb(images[i]), o.detect_max_side) for i in big}
        big = [i for i in big if needs_mtcnn(blaze[i], np.shape(images[i]))]
    try:
        found = dict(zip(big, mtcnn_batch([images[i] for i in big], o.detect_max_side), strict=True))
    except UnavailableError:  # detect_faces says so (method "mtcnn") or falls back to Haar (method "auto")
        return [detect_faces(im, o) for im in images]
    return [detect_faces(im, o, detections=_made(i, found, blaze)) for i, im in enumerate(images)]


def _made(i: int, mtcnn: dict[int, list[Any]], blaze: dict[int, list[Any]]) -> dict[str, list[Any]] | None:
    """The raw detections already made for image ``i``, per face method."""
    made = {name: found[i] for name, found in (("mtcnn", mtcnn), ("mediapipe", blaze)) if i in found}
    return made or None
