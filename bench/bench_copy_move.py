"""Copy-move check: false alarms on camera photos, hits on clones pasted into the same photos, time per image.

Camera photos: every ``real`` row of ../shared/data/index.csv (train and val), a fixed random sample of ``--n``
(seed 0). False alarm = the check reports a clone on an untouched photo. Hits: for the first ``--clones`` photos of
the sample, a square patch (a fifth of the shorter side) is copied to a place at least half a patch away, and the
result saved as JPEG quality 90 (as an edit is saved) before the check runs on it.

Run (one thread; a few minutes for 1000 photos):
    FORENSICS_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/bench_copy_move.py --n 1000
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from forensics.checks.copy_move import copy_move  # noqa: E402
from forensics.evaluation import wilson_interval  # noqa: E402
from forensics.paths import SHARED_DATA_DIR  # noqa: E402


def cloned(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """``img`` with one square patch copied elsewhere, saved and re-read as JPEG quality 90."""
    h, w = img.shape[:2]
    p = max(16, min(h, w) // 5)
    while True:
        y0, x0, y1, x1 = (
            rng.randrange(0, h - p),
            rng.randrange(0, w - p),
            rng.randrange(0, h - p),
            rng.randrange(0, w - p),
        )
        if max(abs(y1 - y0), abs(x1 - x0)) >= p // 2 + p:
            break
    out = img.copy()
    out[y1 : y1 + p, x1 : x1 + p] = img[y0 : y0 + p, x0 : x0 + p]
    buf = io.BytesIO()
    Image.fromarray(out).save(buf, format="JPEG", quality=90)
    return np.asarray(Image.open(buf).convert("RGB"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="camera photos in the sample")
    ap.add_argument("--clones", type=int, default=200, help="of them, this many also get a pasted clone")
    args = ap.parse_args()
    with open(SHARED_DATA_DIR / "index.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["label"] == "real"]
    rng = random.Random(0)
    rng.shuffle(rows)
    sample = rows[: args.n]
    alarms, hits, times, by_source = [], 0, [], {}
    for i, r in enumerate(sample):
        img = np.asarray(Image.open(SHARED_DATA_DIR / r["path"]).convert("RGB"))
        t0 = time.perf_counter()
        found = copy_move(img)["detected"]
        times.append(time.perf_counter() - t0)
        n_src, k_src = by_source.get(r["source"], (0, 0))
        by_source[r["source"]] = (n_src + 1, k_src + found)
        if found:
            alarms.append(r["path"])
        if i < args.clones and min(img.shape[:2]) >= 80:
            hits += copy_move(cloned(img, rng))["detected"]
    k, n = len(alarms), len(sample)
    lo, hi = wilson_interval(k, n)
    m = min(args.clones, n)
    hlo, hhi = wilson_interval(hits, m)
    print(f"false alarms on camera photos: {k} of {n} = {k / n:.1%} (95% interval {lo:.1%} to {hi:.1%})")
    print(f"clones found: {hits} of {m} = {hits / m:.1%} (95% interval {hlo:.1%} to {hhi:.1%})")
    print(f"time per photo: median {1000 * float(np.median(times)):.0f} ms (one thread)")
    print("per source (photos, false alarms): " + ", ".join(f"{s} {v[0]}/{v[1]}" for s, v in sorted(by_source.items())))
    for p in alarms:
        print("  false alarm:", p)


if __name__ == "__main__":
    main()
