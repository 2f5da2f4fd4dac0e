"""Benchmark evidence intake and face detection (torch capped at ONE thread).

Measures the median wall time of ``load_evidence`` on a ~1 MP JPEG (1152x864, quality 90, with EXIF) and of
``detect_faces`` with MTCNN and with the Haar cascade on a 640x480 image. The images are built here: from a real
face in ../shared/data when present (so that the detectors do find a face), else from a synthetic gradient.

Run:
    FORENSICS_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/bench_intake.py
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from bench._timing import median_min_ms  # noqa: E402
from forensics.evidence import load_evidence  # noqa: E402
from forensics.faces import FaceOptions, detect_faces  # noqa: E402
from forensics.paths import SHARED_DATA_DIR  # noqa: E402


def _source_image() -> tuple[Image.Image, str]:
    faces = sorted((SHARED_DATA_DIR / "val" / "real" / "ciplab").glob("*.jpg"))
    if faces:
        return Image.open(faces[0]).convert("RGB"), f"ciplab face {faces[0].name}"
    yy, xx = np.mgrid[0:480, 0:640]
    arr = np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=2).astype(np.uint8)
    return Image.fromarray(arr), "synthetic gradient (no shared data: detectors find no face)"


def main() -> int:
    import torch

    torch.set_num_threads(1)
    src, label = _source_image()

    canvas = Image.new("RGB", (1152, 864), (90, 100, 110))
    canvas.paste(src.resize((600, 600)), (276, 132))
    exif = Image.Exif()
    exif[271], exif[272] = "BenchCam", "B-1"
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=90, exif=exif.tobytes())
    jpeg = buf.getvalue()
    ms, best = median_min_ms(lambda: load_evidence(jpeg, name="bench.jpg"), repeats=20)
    print(f"load_evidence 1152x864 JPEG ({len(jpeg)} bytes): median {ms:.1f} ms (min {best:.1f})")

    vga = Image.new("RGB", (640, 480), (90, 100, 110))
    vga.paste(src.resize((300, 300)), (170, 90))
    img = np.array(vga)
    for method in ("mtcnn", "haar"):
        fs = detect_faces(img, FaceOptions(method=method))  # warm-up also loads the model
        ms, best = median_min_ms(lambda m=method: detect_faces(img, FaceOptions(method=m)), repeats=10, warmup=0)
        print(f"detect_faces {method} 640x480 ({len(fs.faces)} face(s)): median {ms:.1f} ms (min {best:.1f})")
    print(f"source: {label}; torch threads: {torch.get_num_threads()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
