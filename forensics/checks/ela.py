"""Error level analysis (ELA): re-save at a known JPEG quality and look at what changed.

Each 8x8 block of a JPEG drifts towards a fixed point as it is re-compressed: content that has been through many
(or coarser) compressions changes less on a further re-save than content compressed once at high quality.
A pasted region with a different compression history therefore shows a different error level. The sign is not
fixed: a region taken from a more heavily compressed copy shows *lower* error than its surroundings (measured in
tests/test_checks.py), fresh uncompressed content pasted into a compressed photo shows *higher* error.
Edges, fine texture and saturated colours always show high error, so ELA is a visual aid, never a verdict.

Example:
    >>> import numpy as np
    >>> r = ela(np.full((32, 32, 3), 100, np.uint8), quality=90, scale=20)
    >>> r.scaled.shape, r.scaled.dtype.name
    ((32, 32, 3), 'uint8')
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from forensics.checks.base import (
    NEUTRAL,
    Finding,
    block_view,
    file_format,
    is_jpeg,
    orient,
    register_check,
    stored_rgb,
    unit_scale,
    upsample_blocks,
)
from forensics.checks.jpeg_tools import jpeg_info, resave
from forensics.errors import BadImageError, NotApplicableError


@dataclass(frozen=True, eq=False)
class ElaResult:
    """ELA arrays at the input's resolution.

    ``diff``: HxWx3 float32 absolute difference (0..255) per channel; ``max_channel``: HxW float32 max over channels;
    ``scaled``: HxWx3 uint8 = clip(diff * scale); ``block_energy``: mean squared max-channel error per block.
    """

    quality: int
    scale: float
    diff: np.ndarray
    max_channel: np.ndarray
    scaled: np.ndarray
    block: int
    block_energy: np.ndarray
    stats: dict[str, Any]  # floats, and the mean per colour channel as a list


def _as_rgb_and_sampling(image_or_bytes: np.ndarray | bytes) -> tuple[np.ndarray, int | None]:
    if isinstance(image_or_bytes, (bytes, bytearray, memoryview)):
        from PIL import Image, UnidentifiedImageError

        data = bytes(image_or_bytes)
        try:
            with Image.open(io.BytesIO(data)) as im:
                rgb = np.asarray(im.convert("RGB"))
                fmt = im.format
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise BadImageError(f"cannot decode the image for ELA ({exc}); pass a complete image file") from None
        sampling = jpeg_info(data).subsampling if fmt in ("JPEG", "MPO") else None
        return rgb, sampling
    arr = np.asarray(image_or_bytes)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise BadImageError(f"ELA needs an HxWx3 uint8 RGB array or image bytes, got {arr.shape} {arr.dtype}")
    return arr, None


def block_energy_stats(energy: np.ndarray) -> dict[str, float]:
    """Contrast of a block-energy map: top-5% blocks vs the median block, and the median vs the bottom 5%."""
    e = np.sort(energy.ravel())
    n = e.size
    k = max(1, int(round(0.05 * n)))
    med = float(np.median(e))
    top, bottom = float(e[-k:].mean()), float(e[:k].mean())
    eps = 1e-6
    return {
        "top5_vs_median": (top + eps) / (med + eps),
        "median_vs_bottom5": (med + eps) / (bottom + eps),
    }


def ela(
    image_or_bytes: np.ndarray | bytes,
    quality: int = 90,
    scale: float | str = 20.0,
    *,
    block: int = 16,
    subsampling: int | None = None,
) -> ElaResult:
    """Error level analysis of an RGB array or image bytes.

    ``scale``: a gain (e.g. 20) or ``"auto"`` (stretch the largest difference to 255). ``subsampling``: chroma
    subsampling of the re-save (PIL code 0/1/2); default: the file's own when bytes of a JPEG are given, otherwise
    libjpeg's default 4:2:0.
    """
    rgb, file_sampling = _as_rgb_and_sampling(image_or_bytes)
    sampling = subsampling if subsampling is not None else file_sampling
    again = resave(rgb, quality, sampling)
    diff = np.abs(rgb.astype(np.int16) - again.astype(np.int16)).astype(np.float32)
    maxc = diff.max(axis=2)
    top = float(maxc.max())
    if scale == "auto":
        gain = 255.0 / top if top > 0 else 1.0
    else:
        gain = float(scale)
        if gain <= 0:
            raise ValueError(f"ELA scale must be positive or 'auto', got {scale}")
    scaled = np.clip(diff * gain, 0, 255).round().astype(np.uint8)
    b = max(1, min(int(block), *maxc.shape))
    energy = (block_view(maxc.astype(np.float64), b) ** 2).mean(axis=(2, 3))
    stats = {
        "mean": float(maxc.mean()),
        "p99": float(np.percentile(maxc, 99)),
        "max": top,
        "mean_per_channel": [float(diff[..., c].mean()) for c in range(3)],
        **block_energy_stats(energy),
    }
    return ElaResult(
        quality=int(quality),
        scale=gain,
        diff=diff,
        max_channel=maxc,
        scaled=scaled,
        block=b,
        block_energy=energy.astype(np.float32),
        stats=stats,
    )


@register_check(
    "ela",
    title="Error level analysis (ELA)",
    description="re-save at a known JPEG quality; regions with another compression history differ",
    order=40,
)
def run(evidence: Any, *, quality: int = 90, scale: float | str = 20.0, block: int = 16) -> Finding:
    """ELA as a Finding. Direction is always neutral: ELA has no validated threshold (see the module docstring)."""
    from forensics.checks.double_jpeg import estimate_double_jpeg

    jpeg = is_jpeg(evidence)
    caveats = [
        "Edges, fine texture and saturated colours show high error in any photo; compare like with like "
        "(skin with skin), never a textured region with a flat one.",
        "The sign is not fixed: a region from a more compressed source shows LOWER error, fresh content pasted "
        "into a compressed photo shows HIGHER error; look for blocks that differ from similar surroundings.",
    ]
    measured: dict[str, Any] = {"is_jpeg": jpeg}
    sampling = None
    if jpeg:
        info = jpeg_info(evidence.data)
        sampling = info.subsampling
        measured["file_quality_estimate"] = info.quality
        try:
            dj = estimate_double_jpeg(evidence.data)
        except NotApplicableError:  # e.g. CMYK JPEG: no luma plane to read DCT histograms from
            dj = {"double_compressed": None}
        measured["double_compressed"] = dj["double_compressed"]
        if info.quality is not None and info.quality < 75:
            caveats.insert(
                0,
                f"The file's estimated JPEG quality is low (~{info.quality}): after heavy or repeated "
                "compression error levels converge and the ELA map flattens; a uniform map proves "
                "nothing.",
            )
        if dj["double_compressed"]:
            caveats.insert(
                0,
                "The file was JPEG-compressed at least twice (double-compression check): ELA "
                "differences fade with each re-save.",
            )
        if info.quality is not None and quality >= info.quality + 10:
            caveats.append(
                f"The re-save quality {quality} is well above the file's (~{info.quality}): the map "
                "shows mostly quantisation noise; try a quality near the file's."
            )
    else:
        caveats.insert(
            0,
            f"The file is {file_format(evidence)}, not JPEG: ELA reads JPEG compression history, so "
            "on this file the map mostly shows texture and edges.",
        )
    rgb, o = stored_rgb(evidence)
    r = ela(rgb, quality=quality, scale=scale, block=block, subsampling=sampling)
    measured.update({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.stats.items()})
    images = {
        "ela": orient(r.scaled, o),
        "ela_max_channel": orient(unit_scale(r.max_channel, max(r.max_channel.max(), 1e-6)), o),
        "ela_block_energy": orient(upsample_blocks(unit_scale(r.block_energy), r.block, r.max_channel.shape), o),
    }
    summary = (
        f"ELA at quality {r.quality} (gain x{r.scale:.3g}): mean error {r.stats['mean']:.2f}, 99th "
        f"percentile {r.stats['p99']:.1f}; the top 5% of {r.block}px blocks carry "
        f"{r.stats['top5_vs_median']:.1f}x the median block's energy. A visual aid: it points at regions "
        "to examine, it does not decide."
    )
    return Finding(
        check="ela",
        title="Error level analysis (ELA)",
        measured=measured,
        direction=NEUTRAL,
        reliability="low: no validated threshold; texture and edges dominate the map; useful only to direct the eye",
        caveats=tuple(caveats),
        images=images,
        summary=summary,
        params={
            "quality": r.quality,
            "scale": scale,
            "block": r.block,
            "subsampling": None if sampling is None else int(sampling),
        },
    )
