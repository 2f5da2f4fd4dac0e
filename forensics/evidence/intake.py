"""Safe intake of one evidence file: exact bytes, hashes, a decoded 8-bit RGB image and JSON-ready metadata.

The evidence file is opened read-only and never written to. Decoding uses Pillow restricted to a list of formats,
checks the pixel count from the header before decoding, applies the EXIF orientation and converts every mode to
8-bit RGB, recording each conversion in ``Evidence.notes``.

Example:
    >>> from forensics.evidence import load_evidence
    >>> ev = load_evidence("photo.jpg")                                   # doctest: +SKIP
    >>> ev.image.shape, ev.sha256[:8], ev.metadata["jpeg"]["estimated_quality"]   # doctest: +SKIP
    ((480, 640, 3), '3f1c0a9e', 92)
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forensics.errors import BadImageError
from forensics.evidence.jpeg_tables import iter_jpeg_segments, iter_png_chunks
from forensics.evidence.metadata import read_metadata

DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
TINY_SIDE = 32
# Below this side nothing here can run: face finders, ELA's 8x8 blocks and the noise filters need a few blocks per
# side, and `checks` / `report` crashed on such images (numpy padding of an empty axis) before this limit existed.
MIN_SIDE = 16
# Pillow format names we decode. MPO is how Pillow names camera JPEGs that carry a multi-picture index.
ACCEPTED_FORMATS: tuple[str, ...] = ("JPEG", "MPO", "PNG", "WEBP", "TIFF", "BMP", "GIF", "AVIF", "PPM")
ACCEPTED_TEXT = "JPEG, PNG, WebP, TIFF, BMP, GIF (first frame), AVIF, PPM/PGM"
# the file endings a folder listing picks up (scan, explain, training data): every one of them decodes here
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})

_MAGIC_NAMES: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF", 0, "a PDF document"),
    (b"ftypheic", 4, "HEIC (convert it to JPEG or PNG first; the original file stays the evidence)"),
    (b"ftypheix", 4, "HEIC (convert it to JPEG or PNG first; the original file stays the evidence)"),
    (b"ftypmif1", 4, "HEIF (convert it to JPEG or PNG first; the original file stays the evidence)"),
    (b"8BPS", 0, "a Photoshop PSD document"),
    (b"PK\x03\x04", 0, "a ZIP archive"),
    (b"\x00\x00\x01\x00", 0, "a Windows icon"),
    (b"<svg", 0, "an SVG vector drawing"),
    (b"<?xml", 0, "an XML/SVG document"),
    (b"ftyp", 4, "a video or ISO media file"),
)


@dataclass(frozen=True, eq=False)
class Evidence:
    """One loaded evidence file. ``image`` is a read-only HxWx3 uint8 RGB array (EXIF orientation applied).

    ``width``/``height`` describe ``image`` (after orientation); ``data`` holds the exact file bytes;
    ``format`` and ``mode`` are Pillow's names for the file as stored; ``notes`` lists every conversion applied.
    """

    name: str
    size: int
    sha256: str
    md5: str
    format: str
    mode: str
    width: int
    height: int
    image: np.ndarray = field(repr=False)
    data: bytes = field(repr=False)
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description without pixels or bytes."""
        return {
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "md5": self.md5,
            "format": self.format,
            "mode": self.mode,
            "width": self.width,
            "height": self.height,
            "metadata": self.metadata,
            "notes": list(self.notes),
        }


def _read_bytes(src: str | Path | bytes | bytearray | memoryview, max_bytes: int) -> tuple[bytes, str | None]:
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        if len(data) > max_bytes:
            raise BadImageError(
                f"evidence is {len(data)} bytes, above the {max_bytes}-byte limit; "
                "pass a larger max_bytes if the file is genuine"
            )
        return data, None
    path = Path(src)
    if not path.is_file():
        raise BadImageError(f"{path} is not a readable file: check the path")
    try:
        with path.open("rb") as fh:  # read-only: the evidence is never modified
            size = path.stat().st_size
            if size > max_bytes:
                raise BadImageError(
                    f"{path.name} is {size} bytes, above the {max_bytes}-byte limit; "
                    "pass a larger max_bytes if the file is genuine"
                )
            data = fh.read()
    except OSError as exc:
        raise BadImageError(f"cannot read {path}: {exc}; check the path and its permissions") from exc
    return data, path.name


def _what_is_it(data: bytes) -> str | None:
    for magic, offset, label in _MAGIC_NAMES:
        if data[offset : offset + len(magic)] == magic:
            return label
    head = data[:512]
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "plain text"
    return None


def _open_image(data: bytes, label: str, max_pixels: int) -> Any:
    """Pillow's lazy image of ``data`` (header read, pixels not yet decoded); BadImageError with the reason when the
    header is too large, not an accepted format or corrupt."""
    from PIL import Image, UnidentifiedImageError

    try:
        Image.init()  # registers every plugin so that the format filter below sees them all
        img = Image.open(io.BytesIO(data), formats=[f for f in ACCEPTED_FORMATS if f in Image.OPEN])
    except Image.DecompressionBombError as exc:
        raise BadImageError(
            f"{label}: the header claims an image too large to decode safely ({exc}); the limit here is "
            f"{max_pixels} pixels (max_pixels). Check the file; raise max_pixels only for a genuine large scan."
        ) from exc
    except UnidentifiedImageError as exc:
        what = _what_is_it(data)
        raise BadImageError(
            f"{label} is not an image format this tool decodes"
            + (f" (it looks like {what})" if what else " (unknown or corrupt header)")
            + f"; accepted formats: {ACCEPTED_TEXT}"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImageError(f"{label}: corrupt image header ({exc}); accepted formats: {ACCEPTED_TEXT}") from exc
    return img


def load_evidence(
    src: str | Path | bytes | bytearray | memoryview,
    *,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    background: tuple[int, int, int] = (255, 255, 255),
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Evidence:
    """Read, hash, decode and describe an evidence file (a path or its bytes).

    Raises BadImageError for unreadable, non-image, unsupported, truncated or corrupt input, for images whose
    header claims more than ``max_pixels`` pixels and for images under ``MIN_SIDE`` pixels on a side. Transparent
    pixels are composited on ``background``.
    """
    from PIL import ImageOps

    data, file_name = _read_bytes(src, max_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    md5 = hashlib.md5(data).hexdigest()
    label = name or file_name or f"bytes-{sha256[:12]}"
    if not data:
        raise BadImageError(f"{label} is empty (0 bytes); accepted formats: {ACCEPTED_TEXT}")

    notes: list[str] = []
    img = _open_image(data, label, max_pixels)

    with img:
        fmt = img.format or "unknown"
        stored_mode = img.mode
        w0, h0 = img.size
        if w0 <= 0 or h0 <= 0:
            raise BadImageError(f"{label}: the header gives an empty size {w0}x{h0}; the file is corrupt")
        if w0 * h0 > max_pixels:
            raise BadImageError(
                f"{label}: the header claims {w0}x{h0} = {w0 * h0} pixels, above the limit of {max_pixels} "
                "(max_pixels); this protects against decompression bombs. Raise max_pixels only for a genuine "
                "large image."
            )
        n_frames = int(getattr(img, "n_frames", 1) or 1)
        try:
            img.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise BadImageError(
                f"{label}: the {fmt} data cannot be decoded ({exc}): the file is truncated or corrupt. "
                "Ask for the original file; accepted formats: " + ACCEPTED_TEXT
            ) from exc
        truncation = _truncation(data, fmt)  # also holds when ImageFile.LOAD_TRUNCATED_IMAGES was set elsewhere
        if truncation:
            raise BadImageError(f"{label}: {truncation}: the file is truncated. Ask for the complete original file.")
        if n_frames > 1:
            notes.append(f"{fmt} holds {n_frames} frames: the first frame was analysed")

        metadata = read_metadata(img, data, fmt)
        orientation = metadata.get("exif", {}).get("orientation")
        try:
            oriented = ImageOps.exif_transpose(img)
        except (OSError, SyntaxError, ValueError, KeyError, TypeError) as exc:
            notes.append(f"EXIF orientation could not be applied ({exc}); pixels used as stored")
            oriented = img
        if oriented is None:  # pragma: no cover - only with in_place=True
            oriented = img
        if isinstance(orientation, int) and 2 <= orientation <= 8:
            notes.append(
                f"EXIF orientation {orientation} applied: stored {w0}x{h0}, shown {oriented.size[0]}x{oriented.size[1]}"
            )
        rgb = _to_rgb(oriented, background, notes)
        png = metadata.get("png") or {}
        if png.get("bit_depth") == 16 and png.get("colour_type") in (2, 6):
            notes.append("16-bit-per-channel colour PNG reduced to 8 bits per channel by the decoder")

    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    rgb.flags.writeable = False
    h, w = rgb.shape[:2]
    if min(w, h) < MIN_SIDE:
        raise BadImageError(
            f"{label} is {w}x{h} pixels: below the {MIN_SIDE}-pixel minimum side that face finding, "
            "the detectors and the classic checks need. Ask for a larger original of the image."
        )
    if min(w, h) < TINY_SIDE:
        notes.append(f"tiny image ({w}x{h} px): too small for reliable face analysis")
    return Evidence(
        name=label,
        size=len(data),
        sha256=sha256,
        md5=md5,
        format=fmt,
        mode=stored_mode,
        width=w,
        height=h,
        image=rgb,
        data=data,
        metadata=metadata,
        notes=tuple(notes),
    )


def exif_thumbnail(data: bytes) -> bytes | None:
    """The JPEG thumbnail embedded in the EXIF block (IFD1) of an image file, or None.

    A thumbnail that disagrees with the main image is a classic sign of later editing.
    """
    from PIL import ExifTags, Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            raw = img.info.get("exif")
            ifd1 = img.getexif().get_ifd(ExifTags.IFD.IFD1)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, KeyError, TypeError):
        return None
    if not raw or not ifd1 or 513 not in ifd1 or 514 not in ifd1:
        return None
    tiff = raw[6:] if raw[:6] == b"Exif\x00\x00" else raw
    start, length = int(ifd1[513]), int(ifd1[514])
    blob = tiff[start : start + length]
    return blob if len(blob) == length and blob[:2] == b"\xff\xd8" else None


def _truncation(data: bytes, fmt: str) -> str | None:
    """Why the container is incomplete, or None. Independent of Pillow's LOAD_TRUNCATED_IMAGES switch."""
    if fmt in ("JPEG", "MPO"):
        sos = next((off for m, off, _p in iter_jpeg_segments(data) if m == 0xDA), None)
        if sos is None:
            return "JPEG has no start-of-scan segment"
        if data.rfind(b"\xff\xd9") < sos:
            return "JPEG end-of-image marker missing after the image data"
    elif fmt == "PNG":
        if not any(t == b"IEND" for t, _o, _p in iter_png_chunks(data)):
            return "PNG has no complete IEND chunk"
    return None


# ---------------------------------------------------------------------------------------------- mode conversion
def _to_rgb(img, background: tuple[int, int, int], notes: list[str]) -> np.ndarray:
    """Convert any Pillow mode to HxWx3 uint8, appending what was done to ``notes``."""
    mode = img.mode
    if mode == "RGB":
        return np.asarray(img)
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _gray_high_depth(img, notes)
    if mode == "CMYK":
        notes.append("CMYK converted to RGB with Pillow's plain formula (no colour management): colours approximate")
        return np.asarray(img.convert("RGB"))
    has_alpha = (
        mode in ("RGBA", "LA", "PA", "La", "RGBa")
        or (mode == "P" and "transparency" in img.info)
        or (mode in ("L", "RGB", "1") and "transparency" in img.info)
    )
    if has_alpha:
        rgba = np.asarray(img.convert("RGBA")).astype(np.float32)
        alpha = rgba[..., 3:4] / 255.0
        bg = np.asarray(background, dtype=np.float32).reshape(1, 1, 3)
        out = rgba[..., :3] * alpha + bg * (1.0 - alpha)
        n_transparent = int((rgba[..., 3] < 255).sum())
        notes.append(
            f"{mode} with transparency: alpha composited on background {tuple(background)} "
            f"({n_transparent} of {alpha.size} pixels not fully opaque)"
        )
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if mode == "1":
        notes.append("1-bit image converted to RGB")
    elif mode == "P":
        notes.append("palette image converted to RGB")
    elif mode == "L":
        notes.append("greyscale image replicated to three RGB channels")
    else:
        notes.append(f"{mode} image converted to RGB by Pillow")
    return np.asarray(img.convert("RGB"))


def _gray_high_depth(img, notes: list[str]) -> np.ndarray:
    mode = img.mode
    arr = np.asarray(img)
    if mode.startswith("I;16"):
        a = arr.astype(np.float64)
        out = np.rint(a / 257.0)
        notes.append(f"16-bit greyscale ({mode}) scaled to 8 bits (value / 257, 65535 -> 255)")
    elif mode == "I":
        a = arr.astype(np.float64)
        lo, hi = float(a.min()), float(a.max())
        if lo >= 0 and hi <= 65535:
            out = np.rint(a / 257.0)
            notes.append("32-bit integer greyscale in 0..65535 treated as 16-bit and scaled to 8 bits (value / 257)")
        else:
            out = np.rint((a - lo) / max(hi - lo, 1.0) * 255.0)
            notes.append(
                f"32-bit integer greyscale outside 0..65535 stretched linearly from [{lo:g}, {hi:g}] to 0..255"
            )
    else:  # "F"
        a = np.nan_to_num(arr.astype(np.float64))
        lo, hi = float(a.min()), float(a.max())
        if lo >= 0 and hi <= 1.0:
            out = np.rint(a * 255.0)
            notes.append("floating-point greyscale in [0, 1] scaled to 8 bits")
        else:
            out = np.rint((a - lo) / max(hi - lo, 1e-12) * 255.0)
            notes.append(f"floating-point greyscale stretched linearly from [{lo:g}, {hi:g}] to 0..255")
    g = np.clip(out, 0, 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)
