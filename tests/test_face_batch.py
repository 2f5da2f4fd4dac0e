"""Batched MTCNN finds what MTCNN finds one image at a time; MediaPipe's boxes follow MTCNN's convention."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics.evidence import load_evidence
from forensics.faces import FaceOptions, detect_faces
from forensics.faces.batch import _stacks, find_faces_batch

EXAMPLE = Path(__file__).resolve().parent.parent / "ui" / "examples" / "astronaut.jpg"


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_evidence(EXAMPLE.read_bytes(), name=EXAMPLE.name).image


def _group(photo: np.ndarray) -> np.ndarray:
    canvas = np.full((600, 900, 3), 128, np.uint8)
    for x, side in ((20, 180), (300, 260), (640, 220)):
        canvas[100 : 100 + side, x : x + side] = np.asarray(Image.fromarray(photo).resize((side, side)))
    return canvas


def test_stacks_group_equal_shapes_and_respect_the_pixel_budget():
    shapes = [(200, 200), (250, 250), (200, 200), (3000, 2000), (3000, 2000)]
    stacks = _stacks(shapes)
    assert sorted(i for s in stacks for i in s) == list(range(5))
    assert all(len({shapes[i] for i in s}) == 1 for s in stacks)
    assert [0, 2] in stacks and [3] in stacks and [4] in stacks  # 6 MP each: one per MTCNN call


def test_batched_mtcnn_finds_the_same_faces(photo):
    tiny = np.zeros((10, 10, 3), np.uint8)  # under min_size: no face, and MTCNN never sees it
    images = [photo, _group(photo), tiny, photo[::-1].copy(), _group(photo)]
    one = [detect_faces(im, FaceOptions(method="auto")) for im in images]
    many = find_faces_batch(images, FaceOptions(method="auto"))
    assert [len(s) for s in one] == [len(s) for s in many]
    assert len(one[1]) >= 2  # the group photo: several faces (the smallest tile's face is near min_size)
    assert many[2].reason and "smaller than min_size" in many[2].reason
    for a, b in zip(one, many, strict=True):
        assert b.method == a.method
        for fa, fb in zip(a.faces, b.faces, strict=True):
            assert _iou(fa.box, fb.box) > 0.9


def test_mediapipe_boxes_follow_mtcnn_convention(photo):
    ref = detect_faces(photo, FaceOptions(method="mtcnn"))
    fs = detect_faces(photo, FaceOptions(method="mediapipe"))
    assert fs.method == "mediapipe" and len(fs) == len(ref) == 1
    face, mt = fs.faces[0], ref.faces[0]
    assert _iou(face.box, mt.box) > 0.6
    assert face.landmarks.shape == (3, 2)  # eyes and nose tip: the first three of LANDMARK_NAMES
    size = mt.box[3] - mt.box[1]
    assert np.abs(face.landmarks - mt.landmarks[:3]).max() < 0.1 * size
    assert face.crop.shape == mt.crop.shape


def test_needs_mtcnn_when_blazeface_finds_nothing_or_a_small_face():
    from forensics.faces.mediapipe_finder import CASCADE_MIN_FACE_SHARE, needs_mtcnn

    big = ((10.0, 10.0, 90.0, 10.0 + CASCADE_MIN_FACE_SHARE * 200 + 1), 0.9, None)
    small = ((10.0, 10.0, 40.0, 10.0 + CASCADE_MIN_FACE_SHARE * 200 - 1), 0.9, None)
    assert needs_mtcnn([], (200, 300, 3))
    assert not needs_mtcnn([big], (200, 300, 3))
    assert needs_mtcnn([big, small], (200, 300, 3))  # one small face is enough: small faces come in groups


def test_cascade_keeps_blazeface_on_portraits_and_runs_mtcnn_on_groups(photo):
    x0, y0, x1, y1 = (int(v) for v in detect_faces(photo, FaceOptions(method="mtcnn")).faces[0].box)
    pad = (y1 - y0) // 2  # a head-and-shoulders portrait: the face is half the height
    head = np.ascontiguousarray(photo[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad])
    images = [head, _group(photo)]
    one = [detect_faces(im, FaceOptions(method="mediapipe+mtcnn")) for im in images]
    many = find_faces_batch(images, FaceOptions(method="mediapipe+mtcnn"))
    portrait, group = one
    assert portrait.method == "mediapipe" and portrait.tried == ("mediapipe",)
    assert group.tried == ("mediapipe", "mtcnn") and group.method == "mtcnn"
    assert len(group) == len(detect_faces(images[1], FaceOptions(method="mtcnn")))
    for a, b in zip(one, many, strict=True):
        assert (b.method, b.tried, len(b)) == (a.method, a.tried, len(a))
        for fa, fb in zip(a.faces, b.faces, strict=True):
            assert _iou(fa.box, fb.box) > 0.9
