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
    # SAFE (Li et al. 2024): small rotations and random patch masking, after the re-sampling chain
    rotate_p: float = 0.0
    rotate_max_deg: float = 10.0
    patch_mask_p: float = 0.0
    patch_mask_range: tuple[float, float] = (0.05, 0.25)  # share of the patches of a 16 x 16 grid blanked


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


def crop_window(
    shape: tuple[int, ...], scale: tuple[float, float], ratio: tuple[float, float], rng: np.random.Generator
) -> tuple[int, int, int, int]:
    """(x0, y0, width, height) of a random window covering ``scale`` of the area with aspect ``ratio``."""
    h, w = shape[:2]
    area = h * w * rng.uniform(*scale)
    r = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
    cw = int(min(w, round(math.sqrt(area * r))))
    ch = int(min(h, round(math.sqrt(area / r))))
    x0 = int(rng.integers(0, w - cw + 1))
    y0 = int(rng.integers(0, h - ch + 1))
    return x0, y0, cw, ch


def resize_window(img: np.ndarray, window: tuple[int, int, int, int], size: int) -> np.ndarray:
    cv2 = _cv2()
    x0, y0, cw, ch = window
    patch = img[y0 : y0 + ch, x0 : x0 + cw]
    interp = cv2.INTER_AREA if cw > size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interp)


def random_resized_crop(
    img: np.ndarray, size: int, scale: tuple[float, float], ratio: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    return resize_window(img, crop_window(img.shape, scale, ratio, rng), size)


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


def random_border_widths(shape: tuple[int, ...], rng: np.random.Generator, max_share: float) -> tuple[int, ...]:
    """(top, bottom, left, right) strip widths for ``border_reflect`` on a random non-empty set of sides, each
    strip up to ``max_share`` of the side."""
    h, w = shape[:2]
    sides = rng.random(4) < 0.4
    if not sides.any():
        sides[int(rng.integers(0, 4))] = True
    share = rng.uniform(0.03, min(0.24, max(0.04, max_share)), 4) * sides
    return (int(share[0] * h), int(share[1] * h), int(share[2] * w), int(share[3] * w))


def random_border(img: np.ndarray, rng: np.random.Generator, max_share: float) -> np.ndarray:
    """``border_reflect`` on a random non-empty set of sides, each strip up to ``max_share`` of the side."""
    return border_reflect(img, random_border_widths(img.shape, rng, max_share))  # type: ignore[arg-type]


def rotate(img: np.ndarray, degrees: float, *, nearest: bool = False) -> np.ndarray:
    """Rotate about the centre, the corners filled by reflection (as crop padding is)."""
    cv2 = _cv2()
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), float(degrees), 1.0)
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.warpAffine(img, m, (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT_101)


def patch_mask(img: np.ndarray, share: float, rng: np.random.Generator, grid: int = 16) -> np.ndarray:
    """Blank a random ``share`` of the cells of a ``grid`` x ``grid`` partition (filled with the image mean):
    the detector cannot rely on any one region of the face."""
    h, w = img.shape[:2]
    out = img.copy()
    n = grid * grid
    k = int(round(share * n))
    fill = img.reshape(-1, img.shape[-1]).mean(axis=0).astype(img.dtype)
    for cell in rng.choice(n, size=k, replace=False):
        r, c = divmod(int(cell), grid)
        out[r * h // grid : (r + 1) * h // grid, c * w // grid : (c + 1) * w // grid] = fill
    return out


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
    return augment_with_mask(img, None, cfg, rng, source_side=source_side)[0]


def augment_with_mask(
    img: np.ndarray,
    mask: np.ndarray | None,
    cfg: AugmentConfig,
    rng: np.random.Generator,
    *,
    source_side: float = 0.0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`augment`, carrying a float blend mask (H x W, same size as ``img``) through every geometric step
    (border mirroring, crop window, flip, rotation), so that it still marks the blended pixels of the output."""
    x = img
    m = mask
    if cfg.match_resolution_p > 0 and source_side and rng.random() < cfg.match_resolution_p:
        x = match_resolution(x, source_side, rng.uniform(*cfg.match_resolution_range))
    if rng.random() < cfg.border_p:
        widths = random_border_widths(x.shape, rng, cfg.border_max)
        x = border_reflect(x, widths)  # type: ignore[arg-type]
        m = None if m is None else border_reflect(m, widths)  # type: ignore[arg-type]
    if rng.random() < cfg.rescale_p:
        x = rescale_roundtrip(x, int(rng.integers(cfg.rescale_min, max(cfg.rescale_min, x.shape[0]) + 1)))
    if rng.random() < cfg.jpeg_p:
        x = jpeg_recompress(x, int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)))
    if cfg.rotate_p > 0 and rng.random() < cfg.rotate_p:
        deg = rng.uniform(-cfg.rotate_max_deg, cfg.rotate_max_deg)
        x = rotate(x, deg)
        m = None if m is None else rotate(m, deg)
    window = crop_window(x.shape, cfg.crop_scale, cfg.crop_ratio, rng)
    x = resize_window(x, window, cfg.input_size)
    m = None if m is None else resize_window(m, window, cfg.input_size)
    if rng.random() < cfg.flip_p:
        x = x[:, ::-1]
        m = None if m is None else m[:, ::-1]
    if rng.random() < cfg.jitter_p:
        x = colour_jitter(x, rng, cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue)
    if rng.random() < cfg.blur_p:
        x = gaussian_blur(x, rng.uniform(*cfg.blur_sigma))
    if rng.random() < cfg.noise_p:
        x = gaussian_noise(x, rng.uniform(*cfg.noise_sigma), rng)
    if cfg.patch_mask_p > 0 and rng.random() < cfg.patch_mask_p:
        x = patch_mask(np.ascontiguousarray(x), rng.uniform(*cfg.patch_mask_range), rng)
    return np.ascontiguousarray(x), (None if m is None else np.ascontiguousarray(m, dtype=np.float32))


def plain_resize(img: np.ndarray, size: int) -> np.ndarray:
    """Validation / inference-like resize of a whole crop (no augmentation)."""
    cv2 = _cv2()
    if img.shape[0] == size and img.shape[1] == size:
        return img
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR)
