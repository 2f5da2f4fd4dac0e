"""Landmark segmenter on real faces (shared data; skipped when absent) and on generated inputs with known answers.

Also guards the mediapipe + protobuf pin: Face Mesh must find a face in a real photo.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from forensics.errors import BadImageError, UnknownComponentError
from forensics.segmentation import REGIONS, RegionMasks, get_segmenter, list_segmenters, segment

EXACT = {"left eye", "right eye", "left eyebrow", "right eyebrow", "nose", "mouth", "skin"}
HEURISTIC = {"ears", "neck", "hair", "glasses"}


def _load(path, size=256, centre: float = 1.0) -> np.ndarray:
    import cv2
    from PIL import Image

    img = np.asarray(Image.open(path).convert("RGB"))
    h, w = img.shape[:2]
    s = int(min(h, w) * centre)
    y0, x0 = (h - s) // 2, (w - s) // 2
    return np.ascontiguousarray(cv2.resize(img[y0 : y0 + s, x0 : x0 + s], (size, size), interpolation=cv2.INTER_AREA))


@pytest.fixture(scope="module")
def large_crop(large_face_path) -> np.ndarray:
    return _load(large_face_path)


@pytest.fixture(scope="module")
def lfw_crop(real_face_path) -> np.ndarray:
    return _load(real_face_path, centre=0.7)  # LFW: the face sits in the middle of a 250 px photo


def _centroid(m: np.ndarray) -> np.ndarray:
    return np.argwhere(m).mean(0)  # (y, x)


def _check_anatomy(rm: RegionMasks) -> None:
    for r in EXACT:
        assert r in rm.masks, f"{r} missing: {rm.absent.get(r)}"
        assert rm.approximate[r] is False
    # disjoint, and every pixel is in at most one region
    stack = np.stack([rm.masks[r] for r in rm.regions()])
    assert stack.sum(0).max() == 1
    assert (stack.any(0) | rm.unassigned()).all()
    for r in rm.masks:
        assert r in REGIONS
        if r in HEURISTIC:
            assert rm.approximate[r] is True
    # inside the face: bounding box of the face parts (oval = skin plus the parts)
    face = np.zeros(rm.shape, bool)
    for r in EXACT:
        face |= rm.masks[r]
    ys, xs = np.nonzero(face)
    for r in ("left eye", "right eye", "nose", "mouth"):
        cy, cx = _centroid(rm.masks[r])
        assert ys.min() <= cy <= ys.max() and xs.min() <= cx <= xs.max()
    le, re_, lb, rb, nose, mouth = (
        _centroid(rm.masks[r]) for r in ("left eye", "right eye", "left eyebrow", "right eyebrow", "nose", "mouth")
    )
    for brow, eye in ((lb, le), (rb, re_)):
        assert brow[0] < eye[0] < nose[0] < mouth[0], (brow, eye, nose, mouth)
    # the left eye and brow (image side) lie left of the nose, the right ones right of it
    assert le[1] < nose[1] < re_[1] and lb[1] < nose[1] < rb[1]
    assert abs(le[1] - lb[1]) < abs(le[1] - rb[1])  # each brow sits over its own eye
    if "hair" in rm.masks:
        assert np.nonzero(rm.masks["hair"])[0].min() < min(le[0], re_[0])  # hair reaches above the eyes
    for r, reason in rm.absent.items():
        assert reason and r not in rm.masks


def test_registry_lists_both():
    names = {s["name"]: s for s in list_segmenters()}
    assert set(names) >= {"landmarks", "grounded-sam"}
    assert names["landmarks"]["available"] is True
    with pytest.raises(UnknownComponentError):
        get_segmenter("no-such-segmenter")


def test_large_face_regions(large_crop):
    rm = segment(large_crop)
    assert rm.segmenter == "landmarks" and rm.shape == (256, 256)
    assert rm.landmarks is not None and rm.landmarks.shape == (478, 2)
    _check_anatomy(rm)
    assert "hair" in rm.masks  # the ciplab photo shows hair above the forehead
    d = rm.to_dict()
    assert d["regions"]["left eye"]["approximate"] is False and 0 < d["regions"]["skin"]["area_share"] < 1
    assert "eyes" not in rm.masks and "eyebrows" not in rm.masks  # sides only: no pixel counted twice


def test_lfw_face_regions(lfw_crop):
    _check_anatomy(segment(lfw_crop))


def test_non_square_crop_keeps_shape(large_crop):
    import cv2

    crop = cv2.resize(large_crop, (200, 240))
    rm = segment(crop)
    assert rm.shape == (240, 200) and all(m.shape == (240, 200) for m in rm.masks.values())
    _check_anatomy(rm)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_mirrored_face_swaps_left_and_right(large_crop):
    """Segmenting the mirror image gives the mirrored masks with the sides swapped (Face Mesh re-run on the mirror)."""
    rm = segment(large_crop)
    mirrored = segment(np.ascontiguousarray(large_crop[:, ::-1]))
    for part in ("eye", "eyebrow"):
        left, right = f"left {part}", f"right {part}"
        assert _iou(mirrored.masks[left], rm.masks[right][:, ::-1]) > 0.6
        assert _iou(mirrored.masks[right], rm.masks[left][:, ::-1]) > 0.6
        assert _iou(mirrored.masks[left], rm.masks[left][:, ::-1]) < 0.1  # not the same side


def test_part_masks_follow_landmark_geometry(large_crop):
    """The same landmarks mirrored in x (indices kept, so Face Mesh's own left-eye points now lie on the image's right)
    give the mirrored masks under the swapped names: sides come from where the parts are, not from their labels."""
    from forensics.segmentation.landmarks import part_masks

    pts = segment(large_crop).landmarks
    shape = large_crop.shape[:2]
    a = part_masks(shape, pts)
    flipped = pts.copy()
    flipped[:, 0] = (shape[1] - 1) - flipped[:, 0]
    b = part_masks(shape, flipped)
    for left, right in (("left eye", "right eye"), ("left eyebrow", "right eyebrow")):
        assert _iou(b[left], a[right][:, ::-1]) > 0.9 and _iou(b[right], a[left][:, ::-1]) > 0.9
        assert np.argwhere(a[left])[:, 1].mean() < np.argwhere(a[right])[:, 1].mean()
    for part in ("nose", "mouth"):
        assert _iou(b[part], a[part][:, ::-1]) > 0.9
    # a face turned upside down keeps its sides by x position: the eye further left is still "left eye"
    upside = pts.copy()
    upside[:, 1] = (shape[0] - 1) - upside[:, 1]
    c = part_masks(shape, upside)
    assert _iou(c["left eye"], a["left eye"][::-1]) > 0.9


def test_glasses_drawn_are_found_and_absent_without(large_crop):
    import cv2

    rm = segment(large_crop)
    assert "glasses" not in rm.masks and "glasses" in rm.absent and "heuristic" in rm.absent["glasses"]
    pts = rm.landmarks
    img = large_crop.copy()
    eye_ix = [[33, 133, 159, 145], [362, 263, 386, 374]]  # corners + lids of each eye (Face Mesh indices)
    centres = []
    for ix in eye_ix:
        p = pts[ix]
        c = p.mean(0)
        half_w = (p[:, 0].max() - p[:, 0].min()) * 0.85
        centres.append(c)
        cv2.ellipse(img, (int(c[0]), int(c[1])), (int(half_w), int(half_w * 0.7)), 0, 0, 360, (10, 10, 10), 4)
    left, right = sorted(centres, key=lambda c: c[0])
    hw_l = (pts[eye_ix[0]][:, 0].max() - pts[eye_ix[0]][:, 0].min()) * 0.85
    cv2.line(img, (int(left[0] + hw_l), int(left[1] - 4)), (int(right[0] - hw_l), int(right[1] - 4)), (10, 10, 10), 4)
    rg = segment(img)
    assert "glasses" in rg.masks, rg.absent.get("glasses")
    assert rg.approximate["glasses"] is True
    drawn = np.abs(img.astype(int) - large_crop.astype(int)).sum(2) > 60
    frame = rg.masks["glasses"]
    near = cv2.dilate(drawn.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert (frame & drawn).sum() / drawn.sum() > 0.6  # most of the drawn frame is covered ...
    assert (frame & near).sum() / frame.sum() > 0.6  # ... and most of the mask lies on or beside it
    _check_anatomy(rg)


def test_no_face_reports_every_region_absent():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size=(128, 128, 3), dtype=np.uint8)
    rm = segment(noise)
    for r in (
        "left eye",
        "right eye",
        "left eyebrow",
        "right eyebrow",
        "nose",
        "mouth",
        "skin",
        "hair",
        "ears",
        "neck",
        "glasses",
    ):
        assert r not in rm.masks and "Face Mesh found no face" in rm.absent[r]
    assert "eyes" not in rm.absent  # the landmark segmenter never reports the pair
    assert rm.landmarks is None


def test_import_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, forensics.segmentation, forensics.segmentation.regions, forensics.viz.regions; "
        "heavy = [m for m in ('torch', 'mediapipe', 'cv2', 'transformers', 'plotly') if m in sys.modules]; "
        "sys.exit(1 if heavy else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_bad_input():
    with pytest.raises(BadImageError):
        segment(np.zeros((64, 64), np.uint8))
    with pytest.raises(BadImageError):
        segment(np.zeros((64, 64, 3), np.float32))


def test_threads_share_the_graph_safely(large_crop):
    ref = segment(large_crop)
    out: list[RegionMasks] = []
    errors: list[BaseException] = []

    def work():
        try:
            out.append(segment(large_crop))
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(out) == 3
    for rm in out:
        assert set(rm.masks) == set(ref.masks)
        for r in ref.masks:
            assert np.array_equal(rm.masks[r], ref.masks[r])


def test_cli_regions_json_and_files(large_face_path, tmp_path, capsys):
    import json

    from forensics.cli import main

    code = main(["regions", str(large_face_path), "--explainer", "none", "--json", "--out", str(tmp_path)])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["segmenter"] == "landmarks" and len(doc["faces"]) >= 1
    f0 = doc["faces"][0]
    assert "left eye" in f0["segmentation"]["regions"] and f0["relevance"] is None
    assert (tmp_path / "face0_regions.png").is_file()


@pytest.mark.slow
def test_cli_regions_with_untrained_detector(large_face_path, tmp_path, capsys):
    from forensics.cli import main

    code = main(
        [
            "regions",
            str(large_face_path),
            "--detector",
            "simplenet",
            "--explainer",
            "saliency",
            "--occlusion",
            "--out",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "share" in out and "untrained detector" in out and "unassigned" in out
    assert (tmp_path / "face0_regions.html").is_file()
