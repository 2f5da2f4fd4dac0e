"""Augmentations, applied to every class alike (the blended fakes are in ``blending.py``).

Augmentations fight the data's shortcuts: JPEG re-compression at a random quality and random down/up-scaling make
file quality and resolution useless as cues; a mirrored border makes the padding of crops that reach past the image
edge useless as a cue (tight source crops such as utkface are mostly padding, wide photos almost none); colour
jitter, blur, noise, random resized crop and flip do the rest.

Example:
    >>> import numpy as np
    >>> from forensics.training.augment import border_reflect
    >>> face = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    >>> out = border_reflect(face, (8, 0, 0, 0))                 # the top 8 rows mirror rows 9..16
    >>> bool((out[7] == face[9]).all() and (out[8:] == face[8:]).all())
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
    border_p: float = 0.0  # mirror a random border strip, as the face pipeline pads crops past the image edge
    border_max: float = 0.24  # widest strip, as a share of the crop side (at most 0.24)
    match_resolution_p: float = 0.0  # bring a crop's source resolution down to one drawn for every class alike
    match_resolution_range: tuple[int, int] = (100, 256)  # range of the drawn resolution (source px per crop side)
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


def random_resized_crop(
    img: np.ndarray, size: int, scale: tuple[float, float], ratio: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    cv2 = _cv2()
    h, w = img.shape[:2]
    area = h * w * rng.uniform(*scale)
    r = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
    cw = int(min(w, round(math.sqrt(area * r))))
    ch = int(min(h, round(math.sqrt(area / r))))
    x0 = int(rng.integers(0, w - cw + 1))
    y0 = int(rng.integers(0, h - ch + 1))
    patch = img[y0 : y0 + ch, x0 : x0 + cw]
    interp = cv2.INTER_AREA if cw > size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interp)


def colour_jitter(
    img: np.ndarray, rng: np.random.Generator, brightness: float, contrast: float, saturation: float, hue: float
) -> np.ndarray:
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


def border_reflect(img: np.ndarray, widths: tuple[int, int, int, int]) -> np.ndarray:
    """Replace strips of (top, bottom, left, right) widths by the reflection of what is inside them, exactly as
    ``forensics.faces`` pads a crop that reaches past the image edge (BORDER_REFLECT_101)."""
    cv2 = _cv2()
    h, w = img.shape[:2]
    t, b, left, r = (int(v) for v in widths)
    if t + b >= h // 2 + 1 or left + r >= w // 2 + 1 or min(t, b, left, r) < 0:
        raise ValueError(f"border widths {widths} leave too little of a {w}x{h} image")
    inner = img[t : h - b, left : w - r]
    return cv2.copyMakeBorder(np.ascontiguousarray(inner), t, b, left, r, cv2.BORDER_REFLECT_101)


def random_border(img: np.ndarray, rng: np.random.Generator, max_share: float) -> np.ndarray:
    """``border_reflect`` on a random non-empty set of sides, each strip up to ``max_share`` of the side."""
    h, w = img.shape[:2]
    sides = rng.random(4) < 0.4
    if not sides.any():
        sides[int(rng.integers(0, 4))] = True
    share = rng.uniform(0.03, min(0.24, max(0.04, max_share)), 4) * sides
    t, b, left, r = (int(share[0] * h), int(share[1] * h), int(share[2] * w), int(share[3] * w))
    return border_reflect(img, (t, b, left, r))


def match_resolution(img: np.ndarray, source_side: float, target_side: float) -> np.ndarray:
    """A crop that was cut from ``source_side`` source pixels, re-sampled as if cut from ``target_side`` (only ever
    down): sharp crops of large images no longer differ from soft crops of small ones."""
    if not source_side or target_side >= source_side:
        return img
    side = max(8, int(round(img.shape[0] * target_side / source_side)))
    return rescale_roundtrip(img, side) if side < img.shape[0] else img


def augment(img: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator, *, source_side: float = 0.0) -> np.ndarray:
    """The training augmentation chain on a uint8 crop; returns uint8 (input_size, input_size, 3).

    ``source_side``: how many source pixels the crop's side spans (0 = unknown; no resolution matching).
    """
    x = img
    if cfg.match_resolution_p > 0 and source_side and rng.random() < cfg.match_resolution_p:
        x = match_resolution(x, source_side, rng.uniform(*cfg.match_resolution_range))
    if rng.random() < cfg.border_p:
        x = random_border(x, rng, cfg.border_max)
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
