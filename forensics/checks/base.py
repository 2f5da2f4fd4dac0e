"""The Finding every classic check returns, the check registry, and small helpers shared by the checks.

A check is a function ``run(evidence, **params) -> Finding`` registered in ``CHECKS``. A Finding is a line of
evidence, never a verdict: it says what was measured, which way it points, how far it can be trusted and why.
Absence of a trace is never support for an original: only a positive sign moves ``direction``.

Example:
    >>> f = Finding(check="demo", title="Demo", measured={"x": 1.0}, direction=NEUTRAL,
    ...             reliability="low: example", caveats=(), images={}, summary="nothing found")
    >>> f.to_dict()["direction"]
    'neutral'
"""

from __future__ import annotations

import inspect
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forensics.errors import BadImageError
from forensics.jsonio import plain
from forensics.registry import Registry
from forensics.verdicts import Direction

SUPPORTS_MANIPULATION = Direction.SUPPORTS_MANIPULATION
SUPPORTS_ORIGINAL = Direction.SUPPORTS_ORIGINAL
NEUTRAL = Direction.NEUTRAL
DIRECTIONS = tuple(Direction)


@dataclass(frozen=True, eq=False)
class Finding:
    """One line of evidence from one check.

    ``images`` holds display arrays in the evidence's display orientation: HxWx3 uint8 RGB, or HxW float32 maps
    scaled to [0, 1] (colour them with ``forensics.viz.checks.to_rgb``). They have the evidence's resolution, except
    that arrays above ``MAX_DISPLAY_PIXELS`` are reduced by an integer factor (the measurements always use every
    pixel); ``forensics.viz.overlay.overlay`` resizes a map onto the image.
    ``series`` holds small 1-D/2-D numeric arrays for plots (curves, histograms); ``params`` the parameters used.
    ``applicable`` is False when the check cannot read anything from this file (direction is then neutral).
    """

    check: str
    title: str
    measured: dict[str, Any]
    direction: Direction
    reliability: str
    caveats: tuple[str, ...]
    images: dict[str, np.ndarray]
    summary: str
    applicable: bool = True
    series: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    elapsed_ms: float | None = None

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {[str(d) for d in DIRECTIONS]}, not {self.direction!r}")
        object.__setattr__(self, "direction", Direction(self.direction))
        if not self.applicable and self.direction != NEUTRAL:
            raise ValueError("a check that does not apply must be neutral")
        object.__setattr__(self, "caveats", tuple(self.caveats))
        object.__setattr__(self, "images", {k: reduce_for_display(v) for k, v in self.images.items()})

    def to_dict(self, *, include_series: bool = True) -> dict[str, Any]:
        """JSON-ready dict without image arrays (their names, shapes and dtypes are listed instead)."""
        d: dict[str, Any] = {
            "check": self.check,
            "title": self.title,
            "direction": str(self.direction),
            "applicable": self.applicable,
            "summary": self.summary,
            "reliability": self.reliability,
            "caveats": list(self.caveats),
            "measured": plain(self.measured, digits=6),
            "params": plain(self.params, digits=6),
            "images": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in self.images.items()},
            "elapsed_ms": None if self.elapsed_ms is None else round(float(self.elapsed_ms), 2),
        }
        if include_series:
            d["series"] = {k: plain(np.asarray(v), digits=6) for k, v in self.series.items()}
        return d


MAX_DISPLAY_PIXELS = 2048 * 2048


def reduce_for_display(arr: np.ndarray, max_pixels: int = MAX_DISPLAY_PIXELS) -> np.ndarray:
    """Shrink an image/map above ``max_pixels`` by an integer factor (mean of f x f cells; RGB kept uint8)."""
    a = np.asarray(arr)
    if a.ndim < 2 or a.shape[0] * a.shape[1] <= max_pixels:
        return a
    f = int(math.ceil(math.sqrt(a.shape[0] * a.shape[1] / max_pixels)))
    h, w = (a.shape[0] // f) * f, (a.shape[1] // f) * f
    cells = a[:h, :w].reshape(h // f, f, w // f, f, *a.shape[2:]).astype(np.float32).mean(axis=(1, 3))
    return cells.round().astype(a.dtype) if a.dtype == np.uint8 else cells.astype(a.dtype)


CheckFn = Callable[..., Finding]
CHECKS: Registry[Finding] = Registry("check")

# Order in which run_checks runs (and the UI lists) the checks: cheap, file-level ones first.
CHECK_ORDER: list[str] = []


_ORDER_KEYS: dict[str, int] = {}


def register_check(name: str, *, title: str, description: str, order: int = 100) -> Callable[[CheckFn], CheckFn]:
    """Register ``run(evidence, **params) -> Finding`` under ``name`` (title/description feed the UI).

    ``order`` places the check in ``CHECK_ORDER`` (lower runs first).
    """

    def decorator(fn: CheckFn) -> CheckFn:
        params = tuple(p for p in inspect.signature(fn).parameters if p != "evidence")
        CHECKS.register(name, title=title, description=description, params=params)(fn)
        _ORDER_KEYS[name] = order
        CHECK_ORDER.append(name)
        CHECK_ORDER.sort(key=lambda n: (_ORDER_KEYS[n], n))
        return fn

    return decorator


# ----------------------------------------------------------------------------------------------- evidence helpers
def is_jpeg(evidence: Any) -> bool:
    """True when the evidence file is a JPEG (by its bytes; the declared format is only a fallback)."""
    data = getattr(evidence, "data", b"") or b""
    if data[:3] == b"\xff\xd8\xff":
        return True
    return not data and str(getattr(evidence, "format", "")).upper() in ("JPEG", "JPG", "MPO")


def file_format(evidence: Any) -> str:
    """Format name for messages (``JPEG``, ``PNG``, ...)."""
    fmt = getattr(evidence, "format", None)
    return str(fmt).upper() if fmt else ("JPEG" if is_jpeg(evidence) else "unknown")


def display_image(evidence: Any) -> np.ndarray:
    """The evidence pixels as HxWx3 uint8 RGB (EXIF orientation applied)."""
    img = np.asarray(getattr(evidence, "image", None))
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise BadImageError(
            f"evidence image must be HxWx3 uint8 RGB, got shape {img.shape} dtype {img.dtype}; "
            "load it with forensics.evidence.load_evidence"
        )
    return img


def orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an array laid out as stored in the file (same as PIL's exif_transpose)."""
    a = arr
    if orientation == 2:
        a = a[:, ::-1]
    elif orientation == 3:
        a = a[::-1, ::-1]
    elif orientation == 4:
        a = a[::-1, :]
    elif orientation == 5:
        a = np.swapaxes(a, 0, 1)
    elif orientation == 6:
        a = np.swapaxes(a, 0, 1)[:, ::-1]
    elif orientation == 7:
        a = np.swapaxes(a, 0, 1)[::-1, ::-1]
    elif orientation == 8:
        a = np.swapaxes(a, 0, 1)[::-1, :]
    return np.ascontiguousarray(a)


def stored_rgb(evidence: Any) -> tuple[np.ndarray, int]:
    """Pixels in the file's stored orientation (the JPEG 8x8 grid is defined there) and the EXIF orientation.

    For a JPEG with an orientation the evidence's image is turned back (no second decode): ``orient`` of the result
    gives ``evidence.image`` again. Other formats return ``evidence.image`` with orientation 1.
    """
    img = display_image(evidence)
    if not is_jpeg(evidence):
        return img, 1
    o = int(getattr(evidence, "orientation", 1) or 1)
    if o == 1:
        return img, 1
    return orient(img, _INVERSE.get(o, o)), o


_INVERSE = {6: 8, 8: 6}  # the other orientations undo themselves


def decode_rgb(data: bytes) -> np.ndarray:
    """Decode image bytes to HxWx3 uint8 RGB as stored (no EXIF rotation)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BadImageError(f"cannot decode the image bytes ({exc}); check the file is a complete image") from None


def to_luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma as float64 (the Y of JPEG's YCbCr), HxW."""
    rgb = rgb.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def block_view(a: np.ndarray, block: int) -> np.ndarray:
    """Crop an HxW array to whole blocks and return it as (H//b, W//b, b, b)."""
    h, w = (a.shape[0] // block) * block, (a.shape[1] // block) * block
    return a[:h, :w].reshape(h // block, block, w // block, block).swapaxes(1, 2)


def block_mean(a: np.ndarray, block: int) -> np.ndarray:
    """Mean of every whole ``block`` x ``block`` cell of an HxW array, float64, shape (H//b, W//b) (fast path)."""
    h, w = (a.shape[0] // block) * block, (a.shape[1] // block) * block
    rows = a[:h, :w].reshape(h, w // block, block).sum(axis=2, dtype=np.float64)
    return rows.reshape(h // block, block, w // block).sum(axis=1) / float(block * block)


def upsample_blocks(m: np.ndarray, block: int, shape: tuple[int, int]) -> np.ndarray:
    """Repeat a block map back to pixel resolution ``shape`` (the cropped border repeats the last block)."""
    up = np.repeat(np.repeat(m, block, axis=0), block, axis=1)
    h, w = shape
    ph, pw = max(0, h - up.shape[0]), max(0, w - up.shape[1])
    if ph or pw:
        up = np.pad(up, ((0, ph), (0, pw)), mode="edge")
    return np.ascontiguousarray(up[:h, :w])


def unit_scale(m: np.ndarray, hi: float | None = None) -> np.ndarray:
    """Scale a non-negative map to float32 [0, 1] by ``hi`` (default: its 99.5th percentile)."""
    m = np.asarray(m, dtype=np.float64)
    top = float(np.percentile(m, 99.5)) if hi is None else float(hi)
    if not math.isfinite(top) or top <= 0:
        return np.zeros(m.shape, np.float32)
    return np.clip(m / top, 0.0, 1.0).astype(np.float32)
