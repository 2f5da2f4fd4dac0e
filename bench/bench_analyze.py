"""Per-stage latency of ``analyze`` on one face image: decode, faces, each detector (median of N runs).

Run: python bench/bench_analyze.py [IMAGE] [--threads 2] [--runs 7] [--detector NAME ...]
Defaults to the first LFW image in ../shared/data/val and the default detectors (plus the Meso-4 peer).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path as _Path

sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))  # run as a script from any folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("image", nargs="?")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--detector", action="append", default=None)
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(args.threads)
    from forensics.detectors import default_detector_names
    from forensics.evidence import load_evidence
    from forensics.paths import SHARED_DATA_DIR
    from forensics.pipeline import analyze

    path = args.image or sorted((SHARED_DATA_DIR / "val" / "real" / "lfw").glob("*.jpg"))[0]
    dets = args.detector or sorted(set(default_detector_names()) | {"meso4-df"})
    t0 = time.perf_counter()
    analyze(load_evidence(path), detectors=dets)  # warm-up: model loading, first-call allocations
    first = time.perf_counter() - t0
    stages: dict[str, list[float]] = {}
    totals = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        a = analyze(path, detectors=dets)
        totals.append((time.perf_counter() - t0) * 1000)
        for k, v in a.timings_ms.items():
            stages.setdefault(k, []).append(v)
    print(
        f"image {path} ({a.evidence['width']}x{a.evidence['height']}), {len(a.faces)} face(s), "
        f"threads {args.threads}, {args.runs} runs"
    )
    print(f"first call incl. model loading: {first * 1000:.0f} ms")
    for k, v in stages.items():
        print(f"  {k:<28} median {statistics.median(v):8.1f} ms")
    print(f"  {'total analyze()':<28} median {statistics.median(totals):8.1f} ms")


if __name__ == "__main__":
    main()
