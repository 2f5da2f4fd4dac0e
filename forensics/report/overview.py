"""The overview picture of the court report: the whole evidence image with a numbered box on every face analysed
(numbered from 1, as the report numbers faces) and a grey box on every face-like region left out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

MAX_SIDE = 1000  # px of the longer side: sharp enough at the 180 mm it is printed, a few hundred KB as PNG
_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
FACE_COLOUR = (255, 210, 0)
SKIPPED_COLOUR = (160, 160, 160)


def overview_image(
    image: np.ndarray, boxes: Sequence[Sequence[float]], skipped: Sequence[Sequence[float]] = ()
) -> np.ndarray:
    """uint8 RGB copy of ``image`` (shrunk to at most ``MAX_SIDE``) with box i labelled ``i + 1``."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.fromarray(np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[..., :3]))
    scale = min(1.0, MAX_SIDE / max(img.size))
    if scale < 1.0:
        new_size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(new_size, Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(img)
    size = max(12, round(max(img.size) / 28))
    font = ImageFont.truetype(str(_BOLD), size) if _BOLD.is_file() else ImageFont.load_default(size)
    line = max(2, round(max(img.size) / 300))
    for box in skipped:
        x0, y0, x1, y1 = (float(v) * scale for v in box)
        draw.rectangle((x0, y0, x1, y1), outline=SKIPPED_COLOUR, width=line)
    for i, box in enumerate(boxes):
        x0, y0, x1, y1 = (float(v) * scale for v in box)
        draw.rectangle((x0, y0, x1, y1), outline=FACE_COLOUR, width=line)
        label = str(i + 1)
        tw, th = draw.textbbox((0, 0), label, font=font)[2:]
        ty = y0 - th - 2 * line if y0 - th - 2 * line >= 0 else y1 + line
        draw.rectangle((x0, ty, x0 + tw + 2 * line, ty + th + 2 * line), fill=FACE_COLOUR)
        draw.text((x0 + line, ty), label, fill=(0, 0, 0), font=font)
    return np.asarray(img)
