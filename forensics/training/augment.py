"""Augmentations (applied to every class alike) and self-blended images (SBI).

Augmentations fight the data's shortcuts: JPEG re-compression at a random quality and random down/up-scaling make
file quality and resolution useless as cues; colour jitter, blur, noise, random resized crop and flip do the rest.

Self-blended images (Shiohara & Yamasaki, "Detecting Deepfakes with Self-Blended Images", CVPR 2022): a real face
is blended with a colour- and geometry-perturbed copy of itself inside a soft face mask, so the only evidence left
is the blending boundary and the statistics mismatch that real face swaps also leave. The mask is the convex hull
of the crop landmarks (pushed outwards, with brow points added) or a face-oval ellipse when there are no landmarks;
it is randomly eroded or dilated and blurred.

Example:
    >>> import numpy as np
    >>> from forensics.training.augment import self_blend
    >>> face = np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    >>> blended, mask = self_blend(face, None, np.random.default_rng(1))
    >>> bool((blended[mask == 0] == face[mask == 0]).all())
    True
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of every augmentation (all classes)."""

    input_size: int = 224
    rescale_p: float = 0.5  # down to a random side in [rescale_min, crop side], back up
    rescale_min: int = 64
    jpeg_p: float = 0.8
    jpeg_quality: tuple[int, int] = (40, 95)
    crop_scale: tuple[float, float] = (0.75, 1.0)
    crop_ratio: tuple[float, float] = (0.9, 1.1)
    flip_p: float = 0.5
    jitter_p: float = 0.8
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    hue: float = 0.03
    blur_p: float = 0.2
    blur_sigma: tuple[float, float] = (0.3, 1.5)
    noise_p: float = 0.2
    noise_sigma: tuple[float, float] = (2.0, 8.0)  # in 0-255 units


def _cv2():
    import cv2

    cv2.setNumThreads(1)
    return cv2


def jpeg_recompress(img: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def rescale_roundtrip(img: np.ndarray, side: int) -> np.ndarray:
    """Down-sample to ``side`` and back to the original size (resolution is no longer a cue)."""
    cv2 = _cv2()
    h, w = img.shape[:2]
    small = cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)
    interp = [cv2.INTER_LINEAR, cv2.INTER_CUBIC][int(side) % 2]
    return cv2.resize(small, (w, h), interpolation=interp)


def random_resized_crop(img: np.ndarray, size: int, scale: tuple[float, float], ratio: tuple[float, float],
                        rng: np.random.Generator) -> np.ndarray:
    cv2 = _cv2()
    h, w = img.shape[:2]
    area = h * w * rng.uniform(*scale)
    r = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
    cw = int(min(w, round(math.sqrt(area * r))))
    ch = int(min(h, round(math.sqrt(area / r))))
    x0 = int(rng.integers(0, w - cw + 1))
    y0 = int(rng.integers(0, h - ch + 1))
    patch = img[y0:y0 + ch, x0:x0 + cw]
    interp = cv2.INTER_AREA if cw > size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interp)


def colour_jitter(img: np.ndarray, rng: np.random.Generator, brightness: float, contrast: float, saturation: float,
                  hue: float) -> np.ndarray:
    cv2 = _cv2()
    x = img.astype(np.float32)
    x *= rng.uniform(1 - brightness, 1 + brightness)
    mean = x.mean()
    x = (x - mean) * rng.uniform(1 - contrast, 1 + contrast) + mean
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    x = (x - grey[..., None]) * rng.uniform(1 - saturation, 1 + saturation) + grey[..., None]
    out = np.clip(x, 0, 255).astype(np.uint8)
    if hue > 0:
        hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)
        shift = int(round(rng.uniform(-hue, hue) * 180))
        hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 180).astype(np.uint8)
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return out


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return _cv2().GaussianBlur(img, (0, 0), sigmaX=float(sigma))


def gaussian_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def augment(img: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """The training augmentation chain on a uint8 crop; returns uint8 (input_size, input_size, 3)."""
    x = img
    if rng.random() < cfg.rescale_p:
        x = rescale_roundtrip(x, int(rng.integers(cfg.rescale_min, max(cfg.rescale_min, x.shape[0]) + 1)))
    if rng.random() < cfg.jpeg_p:
        x = jpeg_recompress(x, int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)))
    x = random_resized_crop(x, cfg.input_size, cfg.crop_scale, cfg.crop_ratio, rng)
    if rng.random() < cfg.flip_p:
        x = x[:, ::-1]
    if rng.random() < cfg.jitter_p:
        x = colour_jitter(x, rng, cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue)
    if rng.random() < cfg.blur_p:
        x = gaussian_blur(x, rng.uniform(*cfg.blur_sigma))
    if rng.random() < cfg.noise_p:
        x = gaussian_noise(x, rng.uniform(*cfg.noise_sigma), rng)
    return np.ascontiguousarray(x)


def plain_resize(img: np.ndarray, size: int) -> np.ndarray:
    """Validation / inference-like resize of a whole crop (no augmentation)."""
    cv2 = _cv2()
    if img.shape[0] == size and img.shape[1] == size:
        return img
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR)


# ------------------------------------------------------------------------------------------ self-blended images
def face_mask(shape: tuple[int, int], landmarks: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Hard uint8 {0,1} face mask: expanded landmark hull (eyes, brows, nose, mouth) or a face-oval ellipse."""
    cv2 = _cv2()
    h, w = shape
    mask = np.zeros((h, w), np.uint8)
    if landmarks is not None and np.isfinite(landmarks).all() and len(landmarks) >= 5:
        lm = np.asarray(landmarks, np.float64)
        eye_d = float(np.linalg.norm(lm[1] - lm[0])) or w * 0.3
        up = np.array([0.0, -rng.uniform(0.4, 0.8) * eye_d])
        down = np.array([0.0, rng.uniform(0.3, 0.6) * eye_d])
        side = np.array([rng.uniform(0.3, 0.6) * eye_d, 0.0])  # cheeks: outwards from eyes and mouth corners
        pts = np.vstack([lm, lm[0] + up, lm[1] + up, lm[3] + down, lm[4] + down, lm[0] - side, lm[1] + side,
                         lm[3] - side * 0.7, lm[4] + side * 0.7])
        centre = pts.mean(axis=0)
        pts = centre + (pts - centre) * rng.uniform(1.0, 1.3)
        hull = cv2.convexHull(np.round(pts).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1)
    else:
        centre = (int(w * rng.uniform(0.47, 0.53)), int(h * rng.uniform(0.5, 0.58)))
        axes = (int(w * rng.uniform(0.26, 0.34)), int(h * rng.uniform(0.34, 0.42)))
        cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, -1)
    return mask


def soften_mask(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random erode/dilate then Gaussian blur: a float32 mask in [0, 1] with a soft edge."""
    cv2 = _cv2()
    k = int(rng.integers(1, max(2, mask.shape[0] // 16)))
    kernel = np.ones((2 * k + 1, 2 * k + 1), np.uint8)
    m = cv2.erode(mask, kernel) if rng.random() < 0.5 else cv2.dilate(mask, kernel)
    if m.sum() == 0:
        m = mask
    sigma = rng.uniform(1.0, max(1.5, mask.shape[0] / 24))
    soft = cv2.GaussianBlur(m.astype(np.float32), (0, 0), sigmaX=sigma)
    soft /= max(float(soft.max()), 1e-6)
    soft[soft < 1e-3] = 0.0  # exact zeros outside: pixels there stay untouched
    return soft


def _perturb_source(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour and geometry perturbation of the source copy (slight scale and shift, colour/contrast, sharpen/blur)."""
    cv2 = _cv2()
    h, w = img.shape[:2]
    x = img.astype(np.float32)
    x = x * rng.uniform(0.9, 1.1, size=3) + rng.uniform(-12, 12, size=3)
    mean = x.mean()
    x = (x - mean) * rng.uniform(0.85, 1.15) + mean
    x = np.clip(x, 0, 255).astype(np.uint8)
    r = rng.random()
    if r < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), sigmaX=rng.uniform(0.5, 1.2))
    elif r < 0.6:
        blur = cv2.GaussianBlur(x, (0, 0), sigmaX=1.0)
        x = np.clip(x.astype(np.float32) * 1.5 - blur.astype(np.float32) * 0.5, 0, 255).astype(np.uint8)
    s = rng.uniform(0.95, 1.05)
    tx, ty = rng.uniform(-0.03, 0.03, size=2) * (w, h)
    m = np.array([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]], np.float32)
    return cv2.warpAffine(x, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def self_blend(img: np.ndarray, landmarks: np.ndarray | None, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
    """(blended uint8 image, float32 blend mask). Pixels where the mask is 0 are exactly the input's."""
    src = _perturb_source(img, rng)
    mask = soften_mask(face_mask(img.shape[:2], landmarks, rng), rng)
    mask = mask * float(rng.choice([0.5, 0.75, 1.0, 1.0, 1.0]))
    blended = src.astype(np.float32) * mask[..., None] + img.astype(np.float32) * (1 - mask[..., None])
    out = np.where(mask[..., None] > 0, np.clip(np.round(blended), 0, 255).astype(np.uint8), img)
    return out, mask
