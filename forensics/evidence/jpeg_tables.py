"""JPEG helpers: the IJG standard quantisation tables, a quality estimate, and a marker-segment walker.

Only numpy is needed: usable from any module without cost.

Example:
    >>> tables = {0: ijg_table(75, chroma=False), 1: ijg_table(75, chroma=True)}
    >>> estimate_quality(tables)["quality"]
    75
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

# ITU-T T.81 Annex K tables (natural row-major order, as Pillow's ``Image.quantization`` reports them).
STD_LUMINANCE: tuple[int, ...] = (
    16,
    11,
    10,
    16,
    24,
    40,
    51,
    61,
    12,
    12,
    14,
    19,
    26,
    58,
    60,
    55,
    14,
    13,
    16,
    24,
    40,
    57,
    69,
    56,
    14,
    17,
    22,
    29,
    51,
    87,
    80,
    62,
    18,
    22,
    37,
    56,
    68,
    109,
    103,
    77,
    24,
    35,
    55,
    64,
    81,
    104,
    113,
    92,
    49,
    64,
    78,
    87,
    103,
    121,
    120,
    101,
    72,
    92,
    95,
    98,
    112,
    100,
    103,
    99,
)
STD_CHROMINANCE: tuple[int, ...] = (
    17,
    18,
    24,
    47,
    99,
    99,
    99,
    99,
    18,
    21,
    26,
    66,
    99,
    99,
    99,
    99,
    24,
    26,
    56,
    99,
    99,
    99,
    99,
    99,
    47,
    66,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
    99,
)


def ijg_table(quality: int, *, chroma: bool = False) -> list[int]:
    """The table libjpeg's ``jpeg_set_quality(quality, force_baseline=TRUE)`` writes (natural order)."""
    q = min(100, max(1, int(quality)))
    scale = 5000 // q if q < 50 else 200 - 2 * q
    base = STD_CHROMINANCE if chroma else STD_LUMINANCE
    return [min(255, max(1, (v * scale + 50) // 100)) for v in base]


def estimate_quality(tables: Mapping[int, Sequence[int]]) -> dict[str, Any]:
    """Fit the IJG quality (1-100) whose scaled standard tables are closest to ``tables``.

    How: for every quality q the IJG library scales the Annex K tables by ``5000/q`` (q < 50) or ``200 - 2q`` and
    clamps to 1..255; table 0 is compared with the scaled luminance table and table 1 (when present) with the
    scaled chrominance table. The q with the smallest mean absolute difference wins (ties: the higher q).
    ``exact`` says whether the tables are exactly IJG's (then the quality is what the encoder was given);
    otherwise the encoder used its own tables (cameras, Photoshop, some phones) and the figure is only the nearest
    IJG equivalent, with ``mean_abs_error`` telling how far off it is.
    """
    if not tables or 0 not in tables:
        return {"quality": None, "exact": False, "mean_abs_error": None, "method": "no luminance table"}
    luma = [int(v) for v in tables[0]]
    chroma = [int(v) for v in tables[1]] if 1 in tables else None
    if len(luma) != 64 or (chroma is not None and len(chroma) != 64):
        return {"quality": None, "exact": False, "mean_abs_error": None, "method": "table is not 8x8"}
    luma_all, chroma_all = _all_ijg_tables()
    err = np.abs(luma_all - np.asarray(luma)).sum(axis=1)
    n = 64
    if chroma is not None:
        err = err + np.abs(chroma_all - np.asarray(chroma)).sum(axis=1)
        n = 128
    err = err / n
    best = int(np.flatnonzero(err == err.min())[-1])  # ties: the higher quality
    best_q, best_err = best + 1, float(err[best])
    return {
        "quality": best_q,
        "exact": best_err == 0.0,
        "mean_abs_error": round(best_err, 3),
        "method": "nearest IJG-scaled Annex K tables (mean absolute difference)",
    }


@functools.lru_cache(maxsize=1)
def _all_ijg_tables() -> tuple[np.ndarray, np.ndarray]:
    """(100, 64) luminance and chrominance tables for qualities 1..100 (row q-1)."""
    luma = np.array([ijg_table(q) for q in range(1, 101)], dtype=np.int64)
    chroma = np.array([ijg_table(q, chroma=True) for q in range(1, 101)], dtype=np.int64)
    luma.flags.writeable = False
    chroma.flags.writeable = False
    return luma, chroma


def iter_jpeg_segments(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Yield ``(marker, offset, payload)`` for the header segments of a JPEG, up to the first SOS.

    ``marker`` is the second marker byte (0xE0 = APP0, 0xEB = APP11, ...); the payload excludes the length field.
    Stops silently at malformed data (the decoder reports corruption; this walker only reads metadata).
    """
    if data[:2] != b"\xff\xd8":
        return
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # standalone markers
            i += 2
            continue
        if marker == 0xD9:
            return
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2 or i + 2 + length > n:
            return
        yield marker, i, data[i + 4 : i + 2 + length]
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return
        i += 2 + length


def iter_png_chunks(data: bytes) -> Iterator[tuple[bytes, int, bytes]]:
    """Yield ``(chunk_type, offset, payload)`` for every PNG chunk (CRC not checked; the decoder does that)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return
    i, n = 8, len(data)
    while i + 8 <= n:
        length = int.from_bytes(data[i : i + 4], "big")
        ctype = data[i + 4 : i + 8]
        if i + 12 + length > n:
            return
        yield ctype, i, data[i + 8 : i + 8 + length]
        if ctype == b"IEND":
            return
        i += 12 + length


def iter_riff_chunks(data: bytes) -> Iterator[tuple[bytes, int, bytes]]:
    """Yield ``(fourcc, offset, payload)`` for the top-level chunks of a RIFF/WebP file."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return
    i, n = 12, len(data)
    while i + 8 <= n:
        fourcc = data[i : i + 4]
        length = int.from_bytes(data[i + 4 : i + 8], "little")
        if i + 8 + length > n:
            return
        yield fourcc, i, data[i + 8 : i + 8 + length]
        i += 8 + length + (length & 1)
