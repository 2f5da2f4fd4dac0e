"""Benchmark the classic checks on a 1024x1024 image (ONE thread: OMP/BLAS capped; torch is not used).

The image is generated (``camera_like_image``, seed 0) and saved as JPEG quality 90, and as PNG for the
non-JPEG path. Each check runs once to warm up, then ``--repeats`` times; median and minimum wall time are printed.
The double-JPEG cache is cleared before every run, so the ELA row includes its double-compression caveat check.

``--survey N`` instead runs the checks that can point to manipulation on the first N validation images of every
source in ../shared/data and prints how many each check flagged (false alarms on the real sources): the figures
quoted in the checks' reliability notes come from ``--survey 25`` (spectrum: ``--survey 60`` plus utkface 300).

Run:
    FORENSICS_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/bench_checks.py
    FORENSICS_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/bench_checks.py --survey 25
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._timing import median_min_ms  # noqa: E402
from forensics.checks import list_checks, run_check, run_checks  # noqa: E402
from forensics.checks.double_jpeg import _estimate_cached  # noqa: E402
from forensics.checks.ela import ela  # noqa: E402
from forensics.evidence import load_evidence  # noqa: E402
from tests.synthetic_images import camera_like_image, jpeg_bytes, png_bytes  # noqa: E402


def survey(n: int) -> None:
    """Flag counts per source and check on ../shared/data validation images."""
    import collections
    import csv

    from forensics.paths import SHARED_DATA_DIR

    index = SHARED_DATA_DIR / "index.csv"
    if not index.is_file():
        raise SystemExit(f"{index} is absent: the survey needs ../shared/data")
    by: dict[str, list[str]] = collections.defaultdict(list)
    with index.open() as fh:
        for row in csv.DictReader(fh):
            if row["path"].startswith("val/"):
                by[f"{row['label']}/{row['source']}"].append(row["path"])
    names = ["metadata", "thumbnail", "double-jpeg", "jpeg-ghost", "spectrum"]
    print(f"{'label/source':<26}{'n':>4}" + "".join(f"{c:>13}" for c in names) + f"{'dj-region':>11}")
    for key in sorted(by):
        counts: collections.Counter[str] = collections.Counter()
        paths = by[key][:n]
        for p in paths:
            for f in run_checks(load_evidence(SHARED_DATA_DIR / p), names=names):
                counts[f.check] += f.direction == "supports manipulation"
                counts["dj-region"] += bool(f.check == "double-jpeg" and f.measured.get("inconsistent_region"))
        print(
            f"{key:<26}{len(paths):>4}" + "".join(f"{counts[c]:>13}" for c in names) + f"{counts['dj-region']:>11}",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--survey", type=int, default=0, metavar="N", help="flag counts on N shared-data images/source")
    args = ap.parse_args()
    if args.survey:
        survey(args.survey)
        return
    img = camera_like_image(args.size, args.size, seed=0)
    jpeg = load_evidence(jpeg_bytes(img, 90), name="bench.jpg")
    png = load_evidence(png_bytes(img), name="bench.png")
    print(f"classic checks on {args.size}x{args.size}, 1 thread, median/min of {args.repeats} runs")
    print(f"{'check':<14}{'JPEG median ms':>16}{'min':>8}{'PNG median ms':>16}{'min':>8}")
    total_j = total_p = 0.0

    def fresh(name: str, ev) -> None:
        _estimate_cached.cache_clear()  # time the double-JPEG estimate every run (ELA reuses it when cached)
        run_check(name, ev)

    for info in list_checks():
        mj, nj = median_min_ms(lambda n=info.name: fresh(n, jpeg), args.repeats)
        mp, np_ = median_min_ms(lambda n=info.name: fresh(n, png), args.repeats)
        total_j, total_p = total_j + mj, total_p + mp
        print(f"{info.name:<14}{mj:>16.1f}{nj:>8.1f}{mp:>16.1f}{np_:>8.1f}")
    print(f"{'all (sum)':<14}{total_j:>16.1f}{'':>8}{total_p:>16.1f}")
    m, n = median_min_ms(lambda: ela(jpeg.image, quality=90, scale=20), args.repeats)
    print(f"{'ela() arrays':<14}{m:>16.1f}{n:>8.1f}   (the dashboard slider path: one re-save + difference)")


if __name__ == "__main__":
    main()
