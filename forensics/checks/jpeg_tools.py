"""JPEG helpers shared by the checks: encoding and re-saving, the file's own tables, its luma plane and 8x8 block DCT.

Example:
    >>> import numpy as np
    >>> img = np.full((16, 16, 3), 128, np.uint8)
    >>> resave(img, 90).shape
    (16, 16, 3)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from forensics.checks.base import decode_rgb
from forensics.errors import BadImageError, NotApplicableError
from forensics.evidence.jpeg_tables import estimate_quality


@dataclass(frozen=True)
class JpegInfo:
    """What a JPEG file's header tells: quantisation tables (natural order, 8x8), chroma subsampling, quality."""

    tables: dict[int, np.ndarray]
    subsampling: int | None  # PIL code: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0, None = unknown/other
    quality: int | None  # nearest IJG quality
    quality_exact: bool  # True when the tables are exactly IJG-scaled ones
    mode: str
    progressive: bool

    @property
    def luma_table(self) -> np.ndarray:
        return self.tables[0]


def jpeg_info(data: bytes) -> JpegInfo:
    """Read the quantisation tables and sampling of JPEG bytes (raises BadImageError if not a readable JPEG)."""
    from PIL import Image, JpegImagePlugin, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format not in ("JPEG", "MPO"):
                raise BadImageError(f"expected a JPEG file, got {im.format}; this analysis needs JPEG bytes")
            q = {int(k): np.asarray(v, dtype=np.float64).reshape(8, 8) for k, v in im.quantization.items()}
            sampling = JpegImagePlugin.get_sampling(im)
            mode = im.mode
            progressive = bool(im.info.get("progressive") or im.info.get("progression"))
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BadImageError(f"cannot read the JPEG header ({exc}); is the file a complete JPEG?") from None
    if 0 not in q:
        raise BadImageError("the JPEG has no luminance quantisation table (table 0); it cannot be analysed")
    est = estimate_quality({k: [int(x) for x in v.ravel()] for k, v in q.items()})
    return JpegInfo(
        tables=q,
        subsampling=sampling if sampling in (0, 1, 2) else None,
        quality=est["quality"],
        quality_exact=bool(est["exact"]),
        mode=mode,
        progressive=progressive,
    )


def encode_jpeg(image: np.ndarray, quality: int, **save_kw: Any) -> bytes:
    """Encode HxWx3 uint8 RGB as JPEG bytes (libjpeg via Pillow); ``save_kw`` go to ``Image.save`` (exif, ...)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, "JPEG", quality=int(quality), **save_kw)
    return buf.getvalue()


def resave(image: np.ndarray, quality: int, subsampling: int | None = None) -> np.ndarray:
    """Encode HxWx3 uint8 RGB as a JPEG at ``quality`` (libjpeg via Pillow) and decode it again."""
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be within 1..100, got {quality}")
    kw = {} if subsampling is None else {"subsampling": int(subsampling)}
    return decode_rgb(encode_jpeg(image, quality, **kw))


def decode_luma(data: bytes) -> np.ndarray:
    """The JPEG's decoded Y plane as uint8, in stored orientation, without an RGB round trip.

    Pillow's ``draft("YCbCr")`` asks libjpeg for YCbCr output, so Y is exactly the inverse DCT of the stored
    luminance coefficients (rounded to 8 bits). Greyscale JPEGs return their single plane.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.mode == "L":
                return np.asarray(im)
            if im.mode not in ("RGB", "YCbCr"):
                raise NotApplicableError(
                    f"JPEG colour mode {im.mode} has no YCbCr luma plane; this analysis needs a greyscale or YCbCr JPEG"
                )
            im.draft("YCbCr", im.size)
            if im.mode != "YCbCr":  # pragma: no cover - depends on the decoder honouring draft()
                return np.asarray(im.convert("YCbCr"))[..., 0]
            return np.asarray(im)[..., 0]
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BadImageError(f"cannot decode the JPEG ({exc}); is the file complete?") from None


def block_dct(plane: np.ndarray) -> np.ndarray:
    """Orthonormal 8x8 DCT-II of every whole block of a pixel plane (level-shifted by 128), shape (N, 8, 8).

    The orthonormal DCT-II equals JPEG's forward DCT, so dividing by the quantisation table gives the
    quantised coefficient values (up to the 8-bit rounding of the decoder).
    """
    from scipy.fft import dctn

    h, w = (plane.shape[0] // 8) * 8, (plane.shape[1] // 8) * 8
    if h == 0 or w == 0:
        raise BadImageError(f"image {plane.shape[1]}x{plane.shape[0]} is smaller than one 8x8 JPEG block")
    blocks = plane[:h, :w].astype(np.float64).reshape(h // 8, 8, w // 8, 8).swapaxes(1, 2).reshape(-1, 8, 8)
    return dctn(blocks - 128.0, type=2, axes=(1, 2), norm="ortho")
