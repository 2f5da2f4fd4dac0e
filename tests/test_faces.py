"""Face detection and aligned crops. Synthetic images are generated here; real faces come from ../shared/data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from forensics.errors import BadImageError, UnknownComponentError
from forensics.evidence import load_evidence
from forensics.faces import FaceOptions, detect_faces, reading_order
from forensics.faces.crop import DEFAULT_CROP_SIZE, DEFAULT_MARGIN, aligned_crop, crop_matrix, eye_angle


def _rgb(path) -> np.ndarray:
    return np.array(load_evidence(path).image)


def _check_face(face, crop_size=DEFAULT_CROP_SIZE):
    assert face.crop.shape == (crop_size, crop_size, 3) and face.crop.dtype == np.uint8
    x0, y0, x1, y1 = face.box
    lm = face.landmarks
    assert lm is not None and lm.shape == (5, 2)
    assert ((lm[:, 0] > x0) & (lm[:, 0] < x1) & (lm[:, 1] > y0) & (lm[:, 1] < y1)).all()
    assert lm[0, 0] < lm[1, 0]  # left eye is on the image left
    c = face.crop_landmarks
    eyes_y, mouth_y = c[:2, 1].max(), c[3:, 1].min()
    assert eyes_y < c[2, 1] < mouth_y  # eyes above nose above mouth in the crop
    assert abs(c[0, 1] - c[1, 1]) < 1e-6  # the crop is rotated so that the eyes are level
    assert (c >= 0).all() and (c <= crop_size).all()
    # the crop matrix maps the box centre to the crop centre
    centre = face.crop_matrix[:, :2] @ np.array([(x0 + x1) / 2, (y0 + y1) / 2]) + face.crop_matrix[:, 2]
    assert np.allclose(centre, crop_size / 2)


# ------------------------------------------------------------------------------------------- geometry, no model
def test_constants():
    assert DEFAULT_CROP_SIZE == 256 and 0 < DEFAULT_MARGIN < 0.5


def test_reading_order_rows_then_columns():
    boxes = [(200, 105, 260, 165), (10, 100, 70, 160), (100, 300, 160, 360), (110, 95, 170, 155), (5, 310, 65, 370)]
    # row 1 (y ~ 130): x 10, 110, 200 -> indices 1, 3, 0; row 2 (y ~ 335): x 5, 100 -> 4, 2
    assert reading_order(boxes) == [1, 3, 0, 4, 2]
    assert reading_order([]) == []


def test_crop_at_unit_scale_is_exact_subimage():
    img = np.random.default_rng(0).integers(0, 256, (100, 120, 3), dtype=np.uint8)
    crop, m, angle, padded = aligned_crop(img, (20, 10, 84, 74), None, margin=0.0, crop_size=64)
    assert angle == 0.0 and padded == 0.0
    assert np.array_equal(crop, img[10:74, 20:84])
    assert np.allclose(m, [[1, 0, -20], [0, 1, -10]])


def test_crop_downscale_is_area_average():
    img = np.random.default_rng(1).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    crop, m, _, _ = aligned_crop(img, (0, 0, 128, 128), None, margin=0.0, crop_size=64)
    ref = img.astype(float).reshape(64, 2, 64, 2, 3).mean(axis=(1, 3))
    assert np.abs(crop.astype(float) - ref).max() <= 1.0
    assert np.allclose(m[:, :2], 0.5 * np.eye(2))


def test_black_padding_and_padded_fraction():
    img = np.full((100, 100, 3), 200, np.uint8)
    crop, _, _, padded = aligned_crop(img, (-32, -32, 32, 32), None, margin=0.0, crop_size=64, pad="black")
    assert padded == pytest.approx(0.75, abs=0.02)
    assert (crop[:30, :30] == 0).all() and (crop[34:, 34:] == 200).all()
    refl, _, _, _ = aligned_crop(img, (-32, -32, 32, 32), None, margin=0.0, crop_size=64, pad="reflect")
    assert (refl == 200).all()  # reflection of a flat image stays flat


def test_rotation_levels_the_eyes():
    lm = np.array([[40.0, 60.0], [80.0, 60.0 + 40.0 * np.tan(np.radians(25))], [60, 80], [45, 100], [75, 100]])
    assert eye_angle(lm) == pytest.approx(25.0)
    m = crop_matrix((60.0, 75.0), 100.0, 200, eye_angle(lm))
    c = lm @ m[:, :2].T + m[:, 2]
    assert c[0, 1] == pytest.approx(c[1, 1]) and c[0, 0] < c[1, 0]
    assert np.linalg.norm(c[1] - c[0]) == pytest.approx(2.0 * np.linalg.norm(lm[1] - lm[0]))


def test_whole_returns_one_face_padded_to_square():
    img = np.random.default_rng(2).integers(0, 256, (100, 200, 3), dtype=np.uint8)
    fs = detect_faces(img, FaceOptions(method="whole", crop_size=128, pad="black"))
    assert len(fs.faces) == 1 and fs.method == "whole" and fs.reason is None
    f = fs.faces[0]
    assert f.box == (0.0, 0.0, 200.0, 100.0) and f.crop.shape == (128, 128, 3)
    assert (f.crop[:30] == 0).all() and f.padded_fraction == pytest.approx(0.5, abs=0.03)
    assert fs.notes and "non-square" in fs.notes[0]
    json.dumps(fs.to_dict(), allow_nan=False)


def test_bad_inputs():
    img = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(UnknownComponentError):
        detect_faces(img, FaceOptions(method="yolo"))
    with pytest.raises(UnknownComponentError):
        detect_faces(img, FaceOptions(method="whole", pad="wrap"))
    with pytest.raises(BadImageError, match="uint8"):
        detect_faces(img.astype(np.float32))


def test_image_smaller_than_min_size_gives_reason():
    fs = detect_faces(np.zeros((20, 30, 3), np.uint8), FaceOptions(min_size=40))
    assert fs.faces == () and "smaller than min_size" in fs.reason


@pytest.mark.parametrize("kind", ["noise", "flat"])
def test_no_face_gives_reason_not_exception(kind):
    rng = np.random.default_rng(3)
    img = (
        rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
        if kind == "noise"
        else np.full((240, 320, 3), 128, np.uint8)
    )
    fs = detect_faces(img, FaceOptions(method="auto"))
    assert fs.faces == () and fs.reason and "no face found" in fs.reason
    assert fs.tried == ("mtcnn", "haar")
    json.dumps(fs.to_dict(), allow_nan=False)


# ------------------------------------------------------------------------------------------- real faces
@pytest.mark.parametrize("which", ["real_face_path", "large_face_path"])
def test_one_face_on_real_photo(which, request):
    path = request.getfixturevalue(which)
    fs = detect_faces(load_evidence(path))
    assert fs.method == "mtcnn" and fs.reason is None and len(fs.faces) == 1
    assert fs.faces[0].index == 0 and fs.faces[0].confidence > 0.9
    _check_face(fs.faces[0])
    d = json.loads(json.dumps(fs.to_dict(), allow_nan=False))
    assert len(d["faces"][0]["landmarks"]) == 5


def test_haar_on_real_photo(real_face_path):
    fs = detect_faces(_rgb(real_face_path), FaceOptions(method="haar", crop_size=128))
    assert fs.method == "haar" and len(fs.faces) == 1
    f = fs.faces[0]
    assert f.landmarks is None and f.crop.shape == (128, 128, 3) and 0 < f.confidence < 1
    # the Haar box overlaps the MTCNN box
    m = detect_faces(_rgb(real_face_path)).faces[0].box
    ix = max(0, min(m[2], f.box[2]) - max(m[0], f.box[0])) * max(0, min(m[3], f.box[3]) - max(m[1], f.box[1]))
    assert ix / ((m[2] - m[0]) * (m[3] - m[1])) > 0.5


def test_face_below_min_size_is_skipped(real_face_path):
    img = _rgb(real_face_path)
    fs = detect_faces(img, FaceOptions(min_size=220))  # LFW faces are about 100-130 px in a 250 px photo
    assert fs.faces == () and len(fs.skipped) == 1
    assert "smaller than min_size=220" in fs.skipped[0].reason and fs.reason
    # and a genuinely small face: the photo shrunk to 70 px inside a larger canvas
    small = np.array(Image.fromarray(img).resize((70, 70), Image.Resampling.LANCZOS))
    canvas = np.full((200, 200, 3), 120, np.uint8)
    canvas[60:130, 60:130] = small
    fs = detect_faces(canvas, FaceOptions(min_size=40))
    assert fs.faces == () and fs.skipped and all("smaller than min_size=40" in s.reason for s in fs.skipped)
    assert max(fs.skipped[0].box[2] - fs.skipped[0].box[0], fs.skipped[0].box[3] - fs.skipped[0].box[1]) < 40


def test_two_faces_in_reading_order(real_face_path, large_face_path):
    a = _rgb(real_face_path)
    b = np.array(Image.fromarray(_rgb(large_face_path)).resize(a.shape[1::-1], Image.Resampling.LANCZOS))
    for pair in ((a, b), (b, a)):
        img = np.concatenate(pair, axis=1)
        fs = detect_faces(img)
        assert len(fs.faces) == 2, fs.to_dict()
        f0, f1 = fs.faces
        assert (f0.index, f1.index) == (0, 1)
        assert (f0.box[0] + f0.box[2]) / 2 < a.shape[1] < (f1.box[0] + f1.box[2]) / 2
        for f in fs.faces:
            _check_face(f)


def test_rotated_face_is_levelled(real_face_path):
    img = Image.fromarray(_rgb(real_face_path)).rotate(20, resample=Image.Resampling.BICUBIC, expand=True)
    fs = detect_faces(np.array(img))
    assert len(fs.faces) == 1
    f = fs.faces[0]
    assert f.angle_deg == pytest.approx(-20, abs=6)  # counter-clockwise turn: the right eye rises
    _check_face(f)


def test_detection_on_reduced_copy_maps_back_to_full_resolution(real_face_path):
    img = _rgb(real_face_path)
    big = np.array(Image.fromarray(img).resize((img.shape[1] * 4, img.shape[0] * 4), Image.Resampling.BICUBIC))
    ref = detect_faces(img).faces[0]
    fs = detect_faces(big, FaceOptions(detect_max_side=img.shape[1], crop_size=64))
    assert len(fs.faces) == 1
    f = fs.faces[0]
    assert np.allclose(np.array(f.box), 4 * np.array(ref.box), atol=8)
    assert np.allclose(f.landmarks, 4 * ref.landmarks, atol=8)
    assert f.crop.shape == (64, 64, 3)
