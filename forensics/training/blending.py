"""Blended training fakes made from real faces only: self-blended images, cross-face blends and part composites.

Self-blended images (Shiohara & Yamasaki, "Detecting Deepfakes with Self-Blended Images", CVPR 2022): a real face
is blended with a colour- and geometry-perturbed copy of itself inside a soft face mask, so the only evidence left
is the blending boundary and the statistics mismatch that real face swaps also leave.

Two variants widen what the detector learns from the same real faces:

- a *donor* face: the pasted pixels come from another real face, aligned to this one by a similarity transform on
  the five landmarks and colour-matched inside the mask (the "face X-ray" idea, Li et al., CVPR 2020): identity and
  texture mismatch as in a face swap;
- a *part* mask: only an eye, both eyes, the nose or the mouth is replaced (an ellipse per part around its
  landmark), the way a Photoshop composite of facial features is made.

Masks are the convex hull of the crop landmarks (pushed outwards, with brow points added), part ellipses, or a
face-oval ellipse when there are no landmarks; they are randomly eroded or dilated and blurred. Pixels where the
soft mask is 0 are exactly the input's.

Example:
    >>> import numpy as np
    >>> from forensics.training.blending import self_blend
    >>> face = np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    >>> blended, mask = self_blend(face, None, np.random.default_rng(1))
    >>> bool((blended[mask == 0] == face[mask == 0]).all())
    True
"""

from __future__ import annotations

import math

import numpy as np

PARTS: tuple[str, ...] = ("left eye", "right eye", "eyes", "nose", "mouth")


def _cv2():
    import cv2

    cv2.setNumThreads(1)
    return cv2


def _usable(landmarks: np.ndarray | None) -> bool:
    return landmarks is not None and len(landmarks) >= 5 and bool(np.isfinite(landmarks).all())


def face_mask(shape: tuple[int, int], landmarks: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Hard uint8 {0,1} face mask: expanded landmark hull (eyes, brows, nose, mouth) or a face-oval ellipse."""
    cv2 = _cv2()
    h, w = shape
    mask = np.zeros((h, w), np.uint8)
    if _usable(landmarks):
        lm = np.asarray(landmarks, np.float64)
        eye_d = float(np.linalg.norm(lm[1] - lm[0])) or w * 0.3
        up = np.array([0.0, -rng.uniform(0.4, 0.8) * eye_d])
        down = np.array([0.0, rng.uniform(0.3, 0.6) * eye_d])
        side = np.array([rng.uniform(0.3, 0.6) * eye_d, 0.0])  # cheeks: outwards from eyes and mouth corners
        pts = np.vstack(
            [
                lm,
                lm[0] + up,
                lm[1] + up,
                lm[3] + down,
                lm[4] + down,
                lm[0] - side,
                lm[1] + side,
                lm[3] - side * 0.7,
                lm[4] + side * 0.7,
            ]
        )
        centre = pts.mean(axis=0)
        pts = centre + (pts - centre) * rng.uniform(1.0, 1.3)
        hull = cv2.convexHull(np.round(pts).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1)
    else:
        centre = (int(w * rng.uniform(0.47, 0.53)), int(h * rng.uniform(0.5, 0.58)))
        axes = (int(w * rng.uniform(0.26, 0.34)), int(h * rng.uniform(0.34, 0.42)))
        cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, -1)
    return mask


def part_mask(shape: tuple[int, int], landmarks: np.ndarray | None, part: str, rng: np.random.Generator) -> np.ndarray:
    """Hard uint8 {0,1} mask of one facial part (see ``PARTS``): an ellipse sized by the eye distance and turned
    with the eye line. Without landmarks the parts sit where an aligned crop has them."""
    cv2 = _cv2()
    h, w = shape
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; known: {', '.join(PARTS)}")
    if _usable(landmarks):
        lm = np.asarray(landmarks, np.float64)
    else:  # typical positions in a 256 crop with margin 0.15, scaled to this shape
        lm = np.array([[0.36, 0.42], [0.64, 0.42], [0.5, 0.56], [0.39, 0.7], [0.61, 0.7]]) * (w, h)
    eye_d = float(np.linalg.norm(lm[1] - lm[0])) or w * 0.28
    angle = math.degrees(math.atan2(lm[1, 1] - lm[0, 1], lm[1, 0] - lm[0, 0]))
    s = rng.uniform(0.85, 1.25)
    ellipses = []  # (centre, (half-width, half-height))
    if part in ("left eye", "eyes"):
        ellipses.append((lm[0] + (0, -0.08 * eye_d), (0.38 * eye_d * s, 0.24 * eye_d * s)))
    if part in ("right eye", "eyes"):
        ellipses.append((lm[1] + (0, -0.08 * eye_d), (0.38 * eye_d * s, 0.24 * eye_d * s)))
    if part == "nose":
        ellipses.append((lm[2] + (0, -0.2 * eye_d), (0.3 * eye_d * s, 0.5 * eye_d * s)))
    if part == "mouth":
        half = 0.5 * float(np.linalg.norm(lm[4] - lm[3])) + 0.18 * eye_d
        ellipses.append(((lm[3] + lm[4]) / 2 + (0, 0.04 * eye_d), (half * s, 0.26 * eye_d * s)))
    mask = np.zeros((h, w), np.uint8)
    for (cx, cy), (ax, ay) in ellipses:
        cv2.ellipse(
            mask,
            (int(round(cx)), int(round(cy))),
            (max(2, int(round(ax))), max(2, int(round(ay)))),
            angle,
            0,
            360,
            1,
            -1,
        )
    return mask


def soften_mask(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random erode/dilate then Gaussian blur: a float32 mask in [0, 1] with a soft edge.

    Erosion and blur scale with the masked area, so a small part mask is not eroded away.
    """
    cv2 = _cv2()
    extent = max(4, int(math.sqrt(float(mask.sum()))))
    k = int(rng.integers(1, max(2, extent // 12)))
    kernel = np.ones((2 * k + 1, 2 * k + 1), np.uint8)
    m = cv2.erode(mask, kernel) if rng.random() < 0.5 else cv2.dilate(mask, kernel)
    if m.sum() == 0:
        m = mask
    sigma = rng.uniform(1.0, max(1.5, extent / 16))
    soft = cv2.GaussianBlur(m.astype(np.float32), (0, 0), sigmaX=sigma)
    soft /= max(float(soft.max()), 1e-6)
    soft[soft < 1e-3] = 0.0  # exact zeros outside: pixels there stay untouched
    return soft


def perturb(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour and geometry perturbation of the pasted copy (slight scale and shift, colour/contrast, blur, lower
    resolution or sharpening)."""
    cv2 = _cv2()
    h, w = img.shape[:2]
    x: np.ndarray = img.astype(np.float32)
    x = x * rng.uniform(0.9, 1.1, size=3) + rng.uniform(-12, 12, size=3)
    mean = x.mean()
    x = (x - mean) * rng.uniform(0.85, 1.15) + mean
    x = np.clip(x, 0, 255).astype(np.uint8)
    r = rng.random()
    if r < 0.2:
        x = cv2.GaussianBlur(x, (0, 0), sigmaX=rng.uniform(0.5, 1.2))
    elif r < 0.4:  # made at a lower resolution and scaled up, as a face-swap network's output is
        side = max(8, int(min(h, w) * rng.uniform(0.3, 0.7)))
        x = cv2.resize(
            cv2.resize(x, (side, side), interpolation=cv2.INTER_AREA), (w, h), interpolation=cv2.INTER_LINEAR
        )
    elif r < 0.6:
        blur = cv2.GaussianBlur(x, (0, 0), sigmaX=1.0)
        x = np.clip(x.astype(np.float32) * 1.5 - blur.astype(np.float32) * 0.5, 0, 255).astype(np.uint8)
    s = rng.uniform(0.95, 1.05)
    tx, ty = rng.uniform(-0.03, 0.03, size=2) * (w, h)
    m = np.array([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]], np.float32)
    return cv2.warpAffine(x, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def align_donor(
    donor: np.ndarray, donor_landmarks: np.ndarray | None, landmarks: np.ndarray | None, shape: tuple[int, int]
) -> np.ndarray:
    """The donor face warped onto the target's geometry: similarity transform fitted on the five landmarks
    (a plain resize when either side has none)."""
    cv2 = _cv2()
    h, w = shape
    if _usable(donor_landmarks) and _usable(landmarks):
        m, _ = cv2.estimateAffinePartial2D(np.asarray(donor_landmarks, np.float32), np.asarray(landmarks, np.float32))
        if m is not None and np.isfinite(m).all():
            return cv2.warpAffine(donor, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return cv2.resize(donor, (w, h), interpolation=cv2.INTER_AREA)


def match_colour(src: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shift ``src`` so that its per-channel mean and spread inside ``mask`` match ``ref``'s (Reinhard-style)."""
    sel = mask > 0.5
    if sel.sum() < 16:
        return src
    s = src.astype(np.float32)
    r = ref.astype(np.float32)
    ms, ss = s[sel].mean(0), s[sel].std(0) + 1e-3
    mr, sr = r[sel].mean(0), r[sel].std(0) + 1e-3
    return np.clip((s - ms) * (sr / ss) + mr, 0, 255).astype(np.uint8)


def blend(img: np.ndarray, src: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``src`` pasted into ``img`` through the soft ``mask``; pixels where the mask is 0 are ``img``'s exactly."""
    blended = src.astype(np.float32) * mask[..., None] + img.astype(np.float32) * (1 - mask[..., None])
    return np.where(mask[..., None] > 0, np.clip(np.round(blended), 0, 255).astype(np.uint8), img)


def self_blend(
    img: np.ndarray,
    landmarks: np.ndarray | None,
    rng: np.random.Generator,
    *,
    part: str | None = None,
    donor: tuple[np.ndarray, np.ndarray | None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(blended uint8 image, float32 blend mask).

    ``part`` None blends the whole inner face, otherwise one of ``PARTS``; ``donor`` = (crop, landmarks) of another
    real face pastes that face (aligned and colour-matched) instead of a perturbed copy of ``img``.
    """
    hard = face_mask(img.shape[:2], landmarks, rng) if part is None else part_mask(img.shape[:2], landmarks, part, rng)
    mask = soften_mask(hard, rng)
    if donor is None:
        src = perturb(img, rng)
    else:
        src = align_donor(donor[0], donor[1], landmarks, img.shape[:2])
        if rng.random() < 0.7:
            src = match_colour(src, img, mask)
        src = perturb(src, rng) if rng.random() < 0.5 else src
    mask = mask * float(rng.choice([0.5, 0.75, 1.0, 1.0, 1.0]))
    return blend(img, src, mask), mask


def random_blend(
    img: np.ndarray,
    landmarks: np.ndarray | None,
    rng: np.random.Generator,
    *,
    part_p: float,
    donor_p: float,
    donors: list[tuple[np.ndarray, np.ndarray | None]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One training fake: a part composite with probability ``part_p`` (else the whole inner face), from a donor
    face with probability ``donor_p`` when ``donors`` are given (else from a perturbed copy of ``img``)."""
    part = str(rng.choice(PARTS)) if rng.random() < part_p else None
    donor = None
    if donors and rng.random() < donor_p:
        donor = donors[int(rng.integers(0, len(donors)))]
    return self_blend(img, landmarks, rng, part=part, donor=donor)
