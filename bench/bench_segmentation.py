"""Milliseconds per face for each segmenter and for the region statistics.

    FORENSICS_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/bench_segmentation.py

Threads: torch capped to 1 (``--threads``); mediapipe runs its own TFLite/XNNPACK graph. Faces: 256x256 crops of the
shared data's ciplab and lfw photos (``--n`` of them); without ../shared/data a generated image is used and the
landmark figure then measures the no-face path. grounded-SAM runs on the tiny random-initialised models of the tests
(the pipeline's cost without real weights); real ViT-B SAM + Grounding DINO cost about 15 s + 10 s per image here
(DESIGN.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _crops(n: int) -> list[np.ndarray]:
    import cv2
    from PIL import Image

    from forensics.paths import SHARED_DATA_DIR

    files = (
        sorted((SHARED_DATA_DIR / "val" / "real" / "ciplab").glob("*.jpg"))[: n // 2]
        + sorted((SHARED_DATA_DIR / "val" / "real" / "lfw").glob("*.jpg"))[: n - n // 2]
    )
    out = []
    for f in files:
        img = np.asarray(Image.open(f).convert("RGB"))
        h, w = img.shape[:2]
        s = int(min(h, w) * (0.7 if "lfw" in f.parts else 1.0))
        y0, x0 = (h - s) // 2, (w - s) // 2
        out.append(
            np.ascontiguousarray(cv2.resize(img[y0 : y0 + s, x0 : x0 + s], (256, 256), interpolation=cv2.INTER_AREA))
        )
    if not out:
        print("../shared/data absent: using a generated image (landmark figure = no-face path)")
        out = [np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)]
    return out


def _timed(fn, reps: int) -> list[float]:
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return ts


def _report(name: str, ts: list[float]) -> None:
    print(f"{name:<44} median {statistics.median(ts):8.1f} ms   min {min(ts):8.1f}   n={len(ts)}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10, help="faces")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-gsam", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from forensics.segmentation import segment
    from forensics.segmentation.regions import region_occlusion, region_relevance

    crops = _crops(args.n)
    segment(crops[0])  # warm-up: builds the mediapipe graphs
    ts, tables = [], []
    for c in crops:
        t = time.perf_counter()
        rm = segment(c)
        ts.append((time.perf_counter() - t) * 1e3)
        tables.append((c, rm))
    _report("landmarks segmenter, 256 crop (per face)", ts)

    rng = np.random.default_rng(0)
    heat = rng.normal(size=(256, 256)).astype(np.float32)
    stats = []
    for _c, rm in tables:
        stats += _timed(lambda rm=rm: region_relevance(heat, rm), 3)
    _report("region statistics (share/pixel/area/density)", stats)

    from forensics.detectors import create_detector

    det = create_detector("mobilenetv2", weights="none")
    c, rm = tables[0]
    masks = {r: rm.masks[r] for r in rm.regions()}
    occ = _timed(lambda: region_occlusion(det, c, masks), 3)
    _report(f"region occlusion, mobilenetv2, {len(masks) + 1} images 1 batch", occ)

    if not args.skip_gsam:
        from test_segmentation_grounded_sam import build_tiny_folder

        from forensics.segmentation.grounded_sam import GroundedSamSegmenter

        with tempfile.TemporaryDirectory() as d:
            seg = GroundedSamSegmenter(
                root=build_tiny_folder(Path(d)), box_threshold=0.0, text_threshold=0.0, clip_min=0.0, max_boxes=2
            )
            seg.segment(crops[0])  # loads the models
            g = _timed(lambda: seg.segment(crops[0]), 5)
            _report(f"grounded-sam tiny config, 256 crop, {len(seg.prompts)} prompts", g)
    print(f"torch threads {torch.get_num_threads()}; load average {Path('/proc/loadavg').read_text().split()[:3]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
