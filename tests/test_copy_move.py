"""Copy-move check: a pasted patch is found where it was pasted, a clean image and the shipped photo are not
flagged, and the check is registered like the others."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from forensics.checks import SUPPORTS_MANIPULATION, list_checks, run_check  # noqa: E402
from forensics.checks.copy_move import MIN_INLIERS, copy_move  # noqa: E402
from forensics.evidence import load_evidence  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "ui" / "examples"


def _texture(seed: int = 1) -> np.ndarray:
    """Smoothed noise: blob-like structure everywhere, no two areas alike."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur((rng.random((400, 600, 3)) * 255).astype(np.uint8), (0, 0), 2)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)


def _jpeg(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def test_clean_texture_and_shipped_photo_are_not_flagged():
    assert not copy_move(_texture())["detected"]
    f = run_check("copy-move", load_evidence(EXAMPLES / "astronaut.jpg"))
    assert f.direction != SUPPORTS_MANIPULATION and "No cloned area found" in f.summary
    assert float(f.images["copy_move_map"].max()) == 0.0  # nothing marked


def test_a_pasted_patch_is_found_with_its_shift_and_place():
    img = _texture()
    forged = img.copy()
    forged[250:330, 400:480] = img[50:130, 80:160]  # shift (320, 200): 377 px
    ev = load_evidence(_jpeg(forged), name="forged.jpg")
    f = run_check("copy-move", ev)
    assert f.direction == SUPPORTS_MANIPULATION and f.measured["inliers"] >= MIN_INLIERS
    assert f.measured["shift_px"] == pytest.approx(np.hypot(320, 200), abs=3)
    m = f.images["copy_move_map"]
    assert m[90, 120] == 1.0 and m[290, 440] == 0.5  # source and copy marked where they are
    assert m[:, 200:380].max() == 0.0 and m[350:, :300].max() == 0.0  # and nowhere else


def test_registered_with_the_other_checks():
    names = [c.name for c in list_checks()]
    assert "copy-move" in names and names.index("copy-move") > names.index("noise")
