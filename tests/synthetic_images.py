"""Generated test images with known history, for tests, benchmarks and doc examples (no data files needed; kept
with the tests because the library itself never uses them).

``camera_like_image`` mimics a photo's statistics: a 1/f (pink) random field correlated across channels, a few
sharp-edged discs, and sensor-like Gaussian noise.

Example:
    >>> img = camera_like_image(64, 64, seed=0)
    >>> img.shape, img.dtype.name
    ((64, 64, 3), 'uint8')
"""

from __future__ import annotations

import io

import numpy as np

from forensics.checks.base import decode_rgb as decode  # bytes -> RGB as stored (no EXIF rotation)
from forensics.checks.jpeg_tools import encode_jpeg as jpeg_bytes  # RGB -> JPEG bytes


def camera_like_image(height: int = 512, width: int = 512, *, seed: int = 0, noise_sigma: float = 2.0) -> np.ndarray:
    """A textured HxWx3 uint8 RGB image with photo-like 1/f spectrum, edges and sensor noise."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    f = np.sqrt(fx**2 + fy**2)
    f[0, 0] = 1.0
    out: np.ndarray = np.empty((height, width, 3))
    shared = None
    for c in range(3):
        spec = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f
        spec[0, 0] = 0.0
        fieldc = np.fft.irfft2(spec, s=(height, width))
        fieldc /= fieldc.std() + 1e-12
        shared = fieldc if shared is None else shared
        out[..., c] = 0.7 * shared + 0.3 * fieldc
    out = np.asarray(128.0 + 40.0 * out)
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(12):
        cy, cx = rng.integers(0, height), rng.integers(0, width)
        r = rng.integers(max(2, min(height, width) // 50), max(3, min(height, width) // 6))
        out[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] += rng.uniform(-60, 60, 3)
    out += rng.normal(0.0, noise_sigma, out.shape)
    return np.clip(out, 0, 255).round().astype(np.uint8)


def png_bytes(image: np.ndarray, text: dict[str, str] | None = None) -> bytes:
    """Encode an RGB uint8 array as PNG bytes, with optional tEXt chunks."""
    from PIL import Image, PngImagePlugin

    info = None
    if text:
        info = PngImagePlugin.PngInfo()
        for k, v in text.items():
            info.add_text(k, v)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def splice_jpeg(
    image: np.ndarray,
    box: tuple[int, int, int, int],
    *,
    base_quality: int = 95,
    region_quality: int = 60,
    final_quality: int = 95,
) -> bytes:
    """A JPEG whose ``box`` (y0, x0, y1, x1) comes from a copy saved at ``region_quality``; all re-saved at the end."""
    base = decode(jpeg_bytes(image, base_quality))
    low = decode(jpeg_bytes(base, region_quality))
    y0, x0, y1, x1 = box
    comp = base.copy()
    comp[y0:y1, x0:x1] = low[y0:y1, x0:x1]
    return jpeg_bytes(comp, final_quality)


def zero_insertion_upsample(image: np.ndarray, factor: int = 2, blur_sigma: float = 0.7) -> np.ndarray:
    """Up-sample like a transposed convolution: insert zeros between pixels, light Gaussian blur, restore gain."""
    from scipy.ndimage import gaussian_filter

    img = image.astype(np.float64)
    h, w = img.shape[:2]
    up = np.zeros((h * factor, w * factor) + img.shape[2:])
    up[::factor, ::factor] = img * factor * factor
    sig = (blur_sigma, blur_sigma) + (0,) * (img.ndim - 2)
    return np.clip(gaussian_filter(up, sig), 0, 255).round().astype(np.uint8)


def bilinear_upsample(image: np.ndarray, factor: int = 2) -> np.ndarray:
    """Control for ``zero_insertion_upsample``: Pillow's bilinear resize by the same factor."""
    from PIL import Image

    h, w = image.shape[:2]
    return np.asarray(Image.fromarray(image).resize((w * factor, h * factor), Image.Resampling.BILINEAR))


def _ifd(entries: list[tuple[int, int, int, bytes]], offset: int, next_ifd: int) -> bytes:
    """One little-endian TIFF IFD at ``offset`` with its out-of-line values appended after it."""
    import struct

    entries = sorted(entries)
    data_start = offset + 2 + 12 * len(entries) + 4
    head, data = [struct.pack("<H", len(entries))], b""
    for tag, typ, count, value in entries:
        if len(value) <= 4:
            head.append(struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\x00"))
        else:
            head.append(struct.pack("<HHII", tag, typ, count, data_start + len(data)))
            data += value + (b"\x00" if len(value) % 2 else b"")
    head.append(struct.pack("<I", next_ifd))
    return b"".join(head) + data


def exif_bytes(
    *,
    make: str | None = None,
    model: str | None = None,
    software: str | None = None,
    orientation: int | None = None,
    thumbnail: bytes | None = None,
) -> bytes:
    """A minimal EXIF block (``Exif\\0\\0`` + TIFF) with IFD0 tags and an optional IFD1 JPEG thumbnail.

    Pass it as ``exif=`` to ``jpeg_bytes``; Pillow cannot write IFD1 thumbnails itself.
    """
    import struct

    def ascii_(s: str) -> bytes:
        return s.encode("ascii") + b"\x00"

    entries = []
    for tag, val in ((0x010F, make), (0x0110, model), (0x0131, software)):
        if val is not None:
            b = ascii_(val)
            entries.append((tag, 2, len(b), b))
    if orientation is not None:
        entries.append((0x0112, 3, 1, struct.pack("<H", orientation)))
    ifd0_len = len(_ifd(entries, 8, 0))
    ifd1_off = 8 + ifd0_len if thumbnail else 0
    tiff = b"II*\x00" + struct.pack("<I", 8) + _ifd(entries, 8, ifd1_off)
    if thumbnail:
        ifd1_size = 2 + 12 * 3 + 4
        thumb_off = ifd1_off + ifd1_size
        ifd1 = [
            (0x0103, 3, 1, struct.pack("<H", 6)),
            (0x0201, 4, 1, struct.pack("<I", thumb_off)),
            (0x0202, 4, 1, struct.pack("<I", len(thumbnail))),
        ]
        tiff += _ifd(ifd1, ifd1_off, 0) + thumbnail
    return b"Exif\x00\x00" + tiff
