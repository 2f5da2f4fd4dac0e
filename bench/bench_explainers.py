"""Milliseconds per explainer per face for one detector, with torch threads capped (default: 2, then 1).

Usage:
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/bench_explainers.py [--detector NAME] [--weights auto|none]
        [--methods gradcam,lrp-epsilon-plus-flat,...] [--repeats 5] [--threads 2,1] [--crop 256]

The default detector is the trained default when ready, else mobilenetv2 with random weights (stated in the
output): timing does not depend on the weights' values. Prints the median and min of ``repeats`` runs after one
warm-up, plus the model's plain forward time for scale.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DEFAULT_METHODS = (
    "gradcam",
    "hirescam",
    "layercam",
    "saliency",
    "lrp-epsilon-plus-flat",
    "lrp-hse-mix",
    "lrp-epsilon-gamma-box",
    "integrated-gradients",
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detector", default=None)
    ap.add_argument("--weights", default=None, help="auto (manifest) or none (random); default picks")
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--faithfulness", action="store_true", help="also time faithfulness (16 steps, ROAD at 3 pct)")
    args = ap.parse_args()

    import numpy as np
    import torch

    from forensics.detectors import DEFAULT_DETECTOR, create_detector, default_detector_names
    from forensics.explainers import explain, faithfulness

    name, weights = args.detector, args.weights
    if name is None:
        name = DEFAULT_DETECTOR if DEFAULT_DETECTOR in default_detector_names() else "mobilenetv2"
    if weights is None:
        weights = "auto" if name == DEFAULT_DETECTOR else "none"
    det = create_detector(name, weights=weights)
    crop = (np.random.default_rng(0).random((args.crop, args.crop, 3)) * 255).astype(np.uint8)
    print(
        f"detector {name} weights={weights} ready={det.ready} input {det.config.preprocess.input_size}px, "
        f"crop {args.crop}px, torch {torch.__version__}, repeats {args.repeats} after 1 warm-up"
    )
    methods = [m for m in args.methods.split(",") if m]
    for n_threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(n_threads)
        x = det.preprocess([crop])
        det.predict(x)
        fw = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            det.predict(x)
            fw.append((time.perf_counter() - t0) * 1000)
        print(f"\nthreads={torch.get_num_threads()}  forward: median {statistics.median(fw):.0f} ms")
        print(f"{'method':<24}{'median ms':>10}{'min ms':>9}")
        results = {}
        for m in methods:
            params = {"steps": 16, "batch_size": 8} if m == "integrated-gradients" else {}
            reps = 1 if m in ("integrated-gradients", "scorecam") else args.repeats
            explain(det, crop, m, **params)  # warm-up (imports, allocator)
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                hm = explain(det, crop, m, **params)
                times.append((time.perf_counter() - t0) * 1000)
            results[m] = statistics.median(times)
            extra = " (IG 16 steps)" if m == "integrated-gradients" else ""
            print(f"{m:<24}{statistics.median(times):>10.0f}{min(times):>9.0f}{extra}")
        if "gradcam" in results and "lrp-epsilon-plus-flat" in results:
            both = results["gradcam"] + results["lrp-epsilon-plus-flat"]
            print(f"Grad-CAM + lrp-epsilon-plus-flat per face: {both:.0f} ms")
        if args.faithfulness:
            t0 = time.perf_counter()
            faithfulness(det, crop, hm, steps=16)
            print(f"faithfulness (16 steps + ROAD 20/50/80) of one map: {(time.perf_counter() - t0) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
