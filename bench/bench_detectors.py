"""Forward-pass time of every registered detector architecture (random weights), batch 1 and 32, 1 and 2 threads.

torch threads are set explicitly with ``torch.set_num_threads`` for each row (1, then 2); OMP_WAIT_POLICY=PASSIVE.
Each (architecture, batch, threads) runs once to warm up, then ``--repeats`` times (batch 32: ``--repeats32``);
median and minimum wall time of ``detector.predict`` are printed (preprocessing excluded).

Run:
    FORENSICS_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/bench_detectors.py
    ... bench/bench_detectors.py --archs mobilenetv2 meso4 --threads 1 --batches 1
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._timing import median_min_ms  # noqa: E402
from forensics.detectors import architecture_names, create_detector  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", nargs="*", default=None, help="architectures (default: all registered)")
    ap.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    ap.add_argument("--batches", nargs="*", type=int, default=[1, 32])
    ap.add_argument("--repeats", type=int, default=7, help="timed runs at batch 1")
    ap.add_argument("--repeats32", type=int, default=2, help="timed runs at larger batches")
    args = ap.parse_args(argv)

    import torch

    archs = args.archs or architecture_names()
    print(f"torch {torch.__version__}, cpu count {os.cpu_count()}, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    print(
        f"{'architecture':<20} {'input':>5} {'params M':>8} {'threads':>7} {'batch':>5} {'median ms':>10} "
        f"{'min ms':>8} {'ms/img':>7}"
    )
    for name in archs:
        det = create_detector(name, weights="none")
        size = det.config.preprocess.input_size
        n_params = sum(p.numel() for p in det.model.parameters()) / 1e6
        for threads in args.threads:
            torch.set_num_threads(threads)
            for batch in args.batches:
                x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
                reps = args.repeats if batch == 1 else args.repeats32
                med, best = median_min_ms(lambda x=x, det=det: det.predict(x), reps)
                print(
                    f"{name:<20} {size:>5} {n_params:>8.2f} {threads:>7} {batch:>5} {med:>10.1f} {best:>8.1f} "
                    f"{med / batch:>7.1f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
