"""Blended training fakes (self-blends, donor blends, part composites) and the mirrored-border augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.training.augment import AugmentConfig, augment, border_reflect, random_border
from forensics.training.blending import (
    PARTS,
    align_donor,
    face_mask,
    match_colour,
    part_mask,
    random_blend,
    self_blend,
)

LM = np.array([[45, 55], [83, 55], [64, 75], [50, 95], [78, 95]], np.float32)


def _face_like(size: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    base = np.stack([(xx * 2) % 255, (yy * 2) % 255, (xx + yy) % 255], -1).astype(np.float64)
    return np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("with_landmarks", [True, False])
def test_self_blend_changes_only_inside_mask(with_landmarks):
    import cv2

    img = _face_like()
    lm = LM if with_landmarks else None
    for seed in range(5):
        out, mask = self_blend(img, lm, np.random.default_rng(seed))
        assert out.shape == img.shape and out.dtype == np.uint8
        inside = mask > 0
        assert inside.any() and not inside.all()
        assert (out[~inside] == img[~inside]).all()  # untouched outside the soft mask
        assert (out[inside] != img[inside]).any()  # and really changed inside
        # the soft mask stays within a dilation of the largest possible hard mask
        hard = np.zeros(img.shape[:2], np.uint8)
        for s in range(50):
            hard |= face_mask(img.shape[:2], lm, np.random.default_rng(1000 + s))
        grown = cv2.dilate(hard, np.ones((61, 61), np.uint8)) > 0
        assert not (inside & ~grown).any()


@pytest.mark.parametrize("part", PARTS)
def test_part_mask_sits_on_its_landmarks(part):
    mask = part_mask((128, 128), LM, part, np.random.default_rng(0))
    covers = [bool(mask[int(y), int(x)]) for x, y in LM]
    expected = {
        "left eye": [True, False, False, False, False],
        "right eye": [False, True, False, False, False],
        "eyes": [True, True, False, False, False],
        "nose": [False, False, True, False, False],
        "mouth": [False, False, False, True, True],
    }[part]
    assert covers == expected
    assert 0.01 < mask.mean() < 0.2  # a part, not the face
    with pytest.raises(ValueError, match="unknown part"):
        part_mask((128, 128), LM, "chin", np.random.default_rng(0))


def test_part_blend_changes_only_the_part():
    img = _face_like()
    for seed, part in enumerate(PARTS):
        out, mask = self_blend(img, LM, np.random.default_rng(seed), part=part)
        changed = (out != img).any(axis=2)
        assert changed.any() and not changed[mask == 0].any()
        assert (mask > 0).mean() < 0.3


def test_align_donor_maps_landmarks_onto_the_target():
    donor_lm = LM * 0.8 + np.float32([10, 6])  # a smaller, shifted face
    donor = np.zeros((128, 128, 3), np.uint8)
    for x, y in donor_lm:
        donor[int(round(y)) - 1 : int(round(y)) + 2, int(round(x)) - 1 : int(round(x)) + 2] = 255
    warped = align_donor(donor, donor_lm, LM, (128, 128))
    for x, y in LM:  # every donor dot lands on the target's landmark
        assert warped[int(round(y)), int(round(x))].min() > 100
    plain = align_donor(donor[:64, :64], None, LM, (128, 128))  # no landmarks: a resize
    assert plain.shape == (128, 128, 3)


def test_match_colour_matches_statistics_inside_mask():
    rng = np.random.default_rng(0)
    src = rng.integers(0, 120, (64, 64, 3)).astype(np.uint8)
    ref = rng.integers(100, 250, (64, 64, 3)).astype(np.uint8)
    mask = np.zeros((64, 64), np.float32)
    mask[16:48, 16:48] = 1
    out = match_colour(src, ref, mask)
    sel = mask > 0.5
    assert np.allclose(out[sel].mean(0), ref[sel].astype(float).mean(0), atol=2.0)
    assert np.allclose(out[sel].std(0), ref[sel].astype(float).std(0), rtol=0.05)


def test_random_blend_uses_donors_and_parts():
    img = _face_like(seed=1)
    donor = (np.full((128, 128, 3), 200, np.uint8), LM)
    rng = np.random.default_rng(3)
    areas, donor_used = [], 0
    for _ in range(40):
        out, mask = random_blend(img, LM, rng, part_p=0.5, donor_p=1.0, donors=[donor])
        areas.append((mask > 0).mean())
        donor_used += int((out[mask >= 0.9 * mask.max()] > 150).mean() > 0.5)
    areas = np.array(areas)
    assert (areas < 0.12).any() and (areas > 0.2).any()  # both part and whole-face masks occur
    assert donor_used > 10  # the bright donor shows through
    out, _ = random_blend(img, LM, np.random.default_rng(0), part_p=0.0, donor_p=1.0, donors=None)
    assert out.shape == img.shape  # no donors given: a self-blend


def test_border_reflect_reproduces_the_crop_padding():
    """A crop that reaches past the image edge (face_crop.warp_crop, reflect) is a fixed point of border_reflect with
    the same strip widths: the augmentation makes exactly the padding the face pipeline makes."""
    from forensics.faces.crop import crop_matrix, warp_crop

    img = _face_like(64, seed=2)
    m = crop_matrix((32.0 + 6, 32.0 - 8), 64, 64)  # 8 rows above and 6 columns right of the image
    crop = warp_crop(img, m, 64, pad="reflect")
    assert (crop[8:, :58] == img[:56, 6:]).all()
    assert (border_reflect(crop, (8, 0, 0, 6)) == crop).all()
    assert not (border_reflect(img, (8, 0, 0, 6)) == img).all()
    with pytest.raises(ValueError):
        border_reflect(img, (40, 0, 0, 0))


def test_random_border_keeps_the_centre_and_size():
    img = _face_like(96, seed=3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        out = random_border(img, rng, 0.24)
        assert out.shape == img.shape
        assert (out[24:72, 24:72] == img[24:72, 24:72]).all()
    cfg = AugmentConfig(input_size=64, border_p=1.0)
    assert augment(img, cfg, np.random.default_rng(1)).shape == (64, 64, 3)


def test_match_resolution_only_ever_lowers_detail():
    from forensics.training.augment import match_resolution

    img = _face_like(256, seed=4)
    hf = lambda x: np.abs(np.diff(x.astype(float), axis=1)).mean()  # noqa: E731
    assert (match_resolution(img, 200, 256) == img).all()  # already softer than the target: untouched
    assert (match_resolution(img, 0, 100) == img).all()  # unknown source size: untouched
    soft = match_resolution(img, 768, 128)
    assert soft.shape == img.shape and hf(soft) < 0.8 * hf(img)
    assert hf(match_resolution(img, 768, 96)) < hf(soft)  # lower target, less detail


def test_match_resolution_off_leaves_the_random_stream_alone():
    """With match_resolution_p 0 (the shipped recipe) passing source sizes must not change a single draw."""
    img = _face_like(128, seed=5)
    cfg = AugmentConfig(input_size=64)
    a = augment(img, cfg, np.random.default_rng(3))
    b = augment(img, cfg, np.random.default_rng(3), source_side=768)
    assert (a == b).all()
    on = AugmentConfig(input_size=64, match_resolution_p=1.0, match_resolution_range=(100, 101))
    c = augment(img, on, np.random.default_rng(3), source_side=768)
    assert not (a == c).all()
