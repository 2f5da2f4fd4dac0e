"""How stable a face's score and verdict are when the evidence is re-compressed or re-scaled.

Evidence reaches an analyst re-shared: re-saved as JPEG, shrunk. :func:`variant_crops` re-creates one face's crop
after the evidence is saved as JPEG 90 / 75 / 50 and scaled to 0.75 / 0.5 of its size, with the face box and
landmarks carried over (scaled), never re-detected, so only the pixels change. Only the neighbourhood of the face is
re-encoded: the crop's source square plus a border, snapped to the 8-pixel JPEG grid of the whole image, so that the
blocks are those a re-save of the whole file would make and the cost does not grow with the photo's size.
:func:`stability` turns the re-scored p_fake into the spread and whether the calibrated verdict changes.

Example:
    >>> crops = variant_crops(image, face.box, face.landmarks, margin=0.15, crop_size=256)   # doctest: +SKIP
    >>> [name for name, _ in crops]                                                           # doctest: +SKIP
    ['JPEG 90', 'JPEG 75', 'JPEG 50', 'scale 0.75', 'scale 0.5']
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

JPEG_QUALITIES: tuple[int, ...] = (90, 75, 50)
SCALES: tuple[float, ...] = (0.75, 0.5)
_BORDER = 16  # px of context kept around the crop's source square (JPEG blocks and resampling kernels reach in)


@dataclass(frozen=True)
class Rescored:
    """The face's score after one re-compression or re-scaling of the evidence."""

    condition: str  # "JPEG 75", "scale 0.5"
    p_fake: float
    verdict: str | None  # the calibrated verdict at this score; None without a calibration

    def to_dict(self) -> dict[str, Any]:
        return {"condition": self.condition, "p_fake": self.p_fake, "verdict": self.verdict}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Rescored:
        return cls(str(d["condition"]), float(d["p_fake"]), d.get("verdict"))


@dataclass(frozen=True)
class Stability:
    """Scores of one face under every condition, their spread (with the evidence as it is) and whether the
    calibrated verdict changes under any of them (None without a calibration)."""

    conditions: tuple[Rescored, ...]
    p_fake_min: float
    p_fake_max: float
    verdict: str | None  # the calibrated verdict on the evidence as it is (before any withholding)
    verdict_changes: bool | None

    @property
    def spread(self) -> float:
        return self.p_fake_max - self.p_fake_min

    @property
    def unstable(self) -> bool:
        return bool(self.verdict_changes)

    def changed(self) -> tuple[Rescored, ...]:
        """The conditions under which the calibrated verdict differs from the one on the evidence as it is."""
        return tuple(c for c in self.conditions if c.verdict is not None and c.verdict != self.verdict)

    def score_summary(self) -> str:
        """The spread of the score alone (for a face given no verdict)."""
        names = ", ".join(c.condition for c in self.conditions)
        return (
            f"p_fake {self.p_fake_min:.3f} to {self.p_fake_max:.3f} (spread {self.spread:.3f}) over the file "
            f"as it is and re-saved as {names}"
        )

    def summary(self) -> str:
        """One sentence for the analyst: whether the verdict holds, and the spread of the score."""
        text = self.score_summary()
        if self.verdict_changes is None:
            return text
        moved = self.changed()
        if not moved:
            return f"stable: the verdict stays '{self.verdict}'; {text}"
        return (
            f"unstable: the verdict '{self.verdict}' becomes "
            + ", ".join(f"'{c.verdict}' under {c.condition}" for c in moved)
            + f"; {text}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "conditions": [c.to_dict() for c in self.conditions],
            "p_fake_min": self.p_fake_min,
            "p_fake_max": self.p_fake_max,
            "spread": self.spread,
            "verdict": self.verdict,
            "verdict_changes": self.verdict_changes,
            "unstable": self.unstable,
            "summary": self.summary(),
            "score_summary": self.score_summary(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Stability:
        """The Stability of ``to_dict()`` (its summaries are derived, so they are not read)."""
        return cls(
            tuple(Rescored.from_dict(c) for c in d.get("conditions") or ()),
            float(d["p_fake_min"]),
            float(d["p_fake_max"]),
            d.get("verdict"),
            d.get("verdict_changes"),
        )


def conditions() -> tuple[str, ...]:
    """Names of the conditions, in the order of :func:`variant_crops`."""
    return tuple(f"JPEG {q}" for q in JPEG_QUALITIES) + tuple(f"scale {s:g}" for s in SCALES)


def _region(matrix: np.ndarray, crop_size: int, width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel box (x0, y0, x1, y1) holding the crop's source square plus a border, on the 8-px grid, in the image."""
    corners = np.array([[0, 0], [crop_size, 0], [0, crop_size], [crop_size, crop_size]], dtype=np.float64)
    src = np.linalg.solve(matrix[:, :2], (corners - matrix[:, 2]).T).T
    x0 = max(0, int(math.floor(src[:, 0].min())) - _BORDER) // 8 * 8
    y0 = max(0, int(math.floor(src[:, 1].min())) - _BORDER) // 8 * 8
    x1 = min(width, -(-(int(math.ceil(src[:, 0].max())) + _BORDER) // 8) * 8)
    y1 = min(height, -(-(int(math.ceil(src[:, 1].max())) + _BORDER) // 8) * 8)
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def _jpeg(region: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(region).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


def variant_crops(
    image: np.ndarray,
    box: Sequence[float],
    landmarks: np.ndarray | None,
    *,
    margin: float,
    crop_size: int,
    pad: str = "reflect",
) -> list[tuple[str, np.ndarray]]:
    """(condition, crop) for every condition of :func:`conditions`: the face re-cropped, with the same box and
    landmarks, from the evidence re-saved as JPEG or re-scaled."""
    import cv2

    from forensics.faces.crop import aligned_crop, face_matrix

    h, w = image.shape[:2]
    x0_, y0_, x1_, y1_ = (float(v) for v in box)
    m, _ = face_matrix((x0_, y0_, x1_, y1_), landmarks, margin=margin, crop_size=crop_size)
    x0, y0, x1, y1 = _region(m, crop_size, w, h)
    region = np.ascontiguousarray(image[y0:y1, x0:x1, :3])
    bx: Any = np.asarray(box, dtype=np.float64) - (x0, y0, x0, y0)  # aligned_crop takes any 4 numbers
    pts = None if landmarks is None else np.asarray(landmarks, dtype=np.float64) - (x0, y0)
    out: list[tuple[str, np.ndarray]] = []
    # aligned_crop pads beyond the region's edge; it equals the image's edge wherever the square reaches past it
    for q in JPEG_QUALITIES:
        crop, *_ = aligned_crop(_jpeg(region, q), bx, pts, margin=margin, crop_size=crop_size, pad=pad)
        out.append((f"JPEG {q}", crop))
    rh, rw = region.shape[:2]
    for s in SCALES:
        nw, nh = max(1, round(rw * s)), max(1, round(rh * s))
        small = cv2.resize(region, (nw, nh), interpolation=cv2.INTER_AREA)
        sx, sy = nw / rw, nh / rh
        sbox = bx * (sx, sy, sx, sy)
        spts = None if pts is None else pts * (sx, sy)
        crop, *_ = aligned_crop(small, sbox, spts, margin=margin, crop_size=crop_size, pad=pad)
        out.append((f"scale {s:g}", crop))
    return out


def stability(p_fake: float, rescored: Sequence[tuple[str, float]], calibration: Any | None) -> Stability:
    """Spread of ``p_fake`` (the evidence as it is) and the re-scored values, and whether the verdict of
    ``calibration`` (None: no verdicts) changes under any condition."""
    values = [float(p_fake)] + [float(p) for _, p in rescored]
    verdict = calibration.assess(float(p_fake)).verdict if calibration is not None else None
    conds = tuple(
        Rescored(name, float(p), calibration.assess(float(p)).verdict if calibration is not None else None)
        for name, p in rescored
    )
    changes = None if calibration is None else any(c.verdict != verdict for c in conds)
    return Stability(
        conditions=conds, p_fake_min=min(values), p_fake_max=max(values), verdict=verdict, verdict_changes=changes
    )
