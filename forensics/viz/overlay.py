"""Heatmap overlays: numpy in, uint8 RGB out. Colour maps are matplotlib's own (``matplotlib.colormaps``), read
into small lookup tables once, so a map called "inferno" here is matplotlib's inferno; jet is not offered (its
bright bands invent edges a perceptually uniform map does not).

Example:
    >>> import numpy as np
    >>> from forensics.viz.overlay import colorize, overlay
    >>> colorize(np.array([[0.0, 1.0]]), "inferno").shape
    (1, 2, 3)
    >>> overlay(np.zeros((4, 4, 3), np.uint8), np.ones((2, 2)), alpha=0.5).dtype
    dtype('uint8')
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

# the colour maps offered (matplotlib names); the first is the default of every relevance or evidence map
COLORMAPS: tuple[str, ...] = ("inferno", "viridis", "magma", "hot", "Reds", "gray", "bwr")
DEFAULT_CMAP = COLORMAPS[0]
_LUT_SIZE = 257


@functools.lru_cache(maxsize=len(COLORMAPS))
def _lut(name: str) -> np.ndarray:
    """257x3 uint8 lookup table of matplotlib's colour map ``name`` (odd length: 0.5 falls on the middle entry)."""
    if name not in COLORMAPS:
        raise ValueError(f"unknown colour map {name!r}; known: {', '.join(COLORMAPS)}")
    import matplotlib

    rgba = matplotlib.colormaps[name](np.linspace(0.0, 1.0, _LUT_SIZE))
    lut = np.round(rgba[:, :3] * 255).astype(np.uint8)
    lut.flags.writeable = False
    return lut


def colorize(values: np.ndarray, cmap: str = DEFAULT_CMAP, *, vmin: float = 0.0, vmax: float = 1.0) -> np.ndarray:
    """Map a 2-D float array to uint8 RGB (H, W, 3); values are clipped to [vmin, vmax]. NaN maps to vmin."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=vmin)
    if v.ndim != 2:
        raise ValueError(f"colorize expects a 2-D map, got shape {v.shape}")
    if vmax <= vmin:
        raise ValueError(f"vmax ({vmax}) must exceed vmin ({vmin})")
    idx = np.round(np.clip((v - vmin) / (vmax - vmin), 0.0, 1.0) * (_LUT_SIZE - 1)).astype(np.intp)
    return _lut(cmap)[idx]


def colorize_signed(raw: np.ndarray, cmap: str = "bwr", *, percentile: float = 99.5) -> np.ndarray:
    """Colour a signed map symmetrically around zero (zero = the map's middle colour, white for bwr).

    The limit is the ``percentile`` of |raw| so a few extreme pixels do not wash out the rest.
    """
    r = np.nan_to_num(np.asarray(raw, dtype=np.float64))
    lim = float(np.percentile(np.abs(r), percentile)) if r.size else 0.0
    if lim <= 0:
        lim = float(np.abs(r).max()) or 1.0
    return colorize(r, cmap, vmin=-lim, vmax=lim)


def _resize(img: np.ndarray, shape: tuple[int, int], nearest: bool = False) -> np.ndarray:
    import cv2

    if img.shape[:2] == tuple(shape):
        return img
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.resize(img, (int(shape[1]), int(shape[0])), interpolation=interp)


def overlay(image: np.ndarray, heatmap: np.ndarray, *, alpha: float = 0.5, cmap: str = DEFAULT_CMAP) -> np.ndarray:
    """Blend a [0, 1] heatmap (resized to the image) over a uint8 RGB image: (1 - alpha) * image + alpha * colour."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"overlay expects a uint8 HxWx3 RGB image, got {img.dtype} {img.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    heat = _resize(np.asarray(heatmap, dtype=np.float32), (img.shape[0], img.shape[1]))
    col = colorize(heat, cmap).astype(np.float64)
    out = (1.0 - alpha) * img.astype(np.float64) + alpha * col
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def side_by_side(
    images: Sequence[np.ndarray],
    labels: Sequence[str] | None = None,
    *,
    height: int | None = None,
    pad: int = 4,
    background: tuple[int, int, int] = (255, 255, 255),
) -> np.ndarray:
    """Place uint8 RGB images in one row at a common height, each with an optional label strip above it."""
    import cv2

    if not images:
        raise ValueError("side_by_side needs at least one image")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"{len(labels)} labels for {len(images)} images")
    h = int(height or max(np.asarray(i).shape[0] for i in images))
    tiles = []
    for k, im in enumerate(images):
        arr = np.asarray(im)
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        if arr.dtype != np.uint8 or arr.shape[2] != 3:
            raise ValueError(f"image {k}: expected uint8 RGB, got {arr.dtype} {arr.shape}")
        w = max(1, round(arr.shape[1] * h / arr.shape[0]))
        tile = _resize(arr, (h, w))
        if labels is not None:
            strip = np.full((18, w, 3), background, dtype=np.uint8)
            cv2.putText(
                strip,
                str(labels[k])[: max(1, w // 7)],
                (2, 13),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4,
                (0, 0, 0),
                1,
                cv2.LINE_AA,
            )
            tile = np.concatenate([strip, tile], axis=0)
        tiles.append(tile)
        if k < len(images) - 1 and pad > 0:
            tiles.append(np.full((tile.shape[0], pad, 3), background, dtype=np.uint8))
    return np.concatenate(tiles, axis=1)
