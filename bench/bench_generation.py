"""Recorded generator runs (issue 30): train each architecture for a wall-clock budget on the lab's real faces, write
its sample grid (and the grid's provenance) into docs/, and print the figures for BENCHMARKS.md.

Run on an idle machine (nothing else running; the figures are the run's throughput):
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/bench_generation.py --minutes 30
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/bench_generation.py --arch wgan-gp --minutes 30 --size 128

Face crops are made (or read from the crop cache, ``FORENSICS_CROP_CACHE``) before the clock starts; their time is
printed apart. Each run folder (``runs/gen-<arch><size>``) is resumable and can be sampled afterwards with
``python -m forensics generate sample --run runs/gen-dcgan64 --n 1000 --out DIR --labelled``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _final(records: list[dict], n: int = 10) -> dict[str, float]:
    """Mean of each logged loss over the last ``n`` log records (one record is a window of steps)."""
    tail = records[-n:]
    keys = sorted({k for r in tail for k in r if k.startswith(("loss", "gp", "wasserstein", "p_fake"))})
    return {k: round(sum(r[k] for r in tail if k in r) / sum(1 for r in tail if k in r), 4) for k in keys}


def run_one(arch: str, args, faces) -> dict:
    from PIL import Image

    from forensics.generation import runs, sampling
    from forensics.generation.trainer import Budget, GanConfig, train_gan

    out = Path(args.runs) / f"gen-{arch.replace('-', '')}{args.size}"
    cfg = GanConfig(arch=arch, size=args.size, width=args.width, batch_size=args.batch_size, seed=args.seed)
    load_before = os.getloadavg()[0]
    res = train_gan(
        cfg,
        faces,
        out,
        budget=Budget(faces=args.faces, max_minutes=args.minutes, checkpoint_every=50_000),
        resume=args.resume,
        progress=not args.quiet,
    )
    gen = sampling.load_generator(out)
    images = sampling.generate(gen, 64, seed=0)
    docs = Path(args.docs)
    stem = f"generation_{arch.replace('-', '')}_{args.size}"
    Image.fromarray(sampling.grid(images, columns=8)).save(docs / f"{stem}.png")
    (docs / f"{stem}.json").write_text(
        json.dumps(sampling.provenance(gen, 0, 64), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return {
        "arch": arch,
        "size": args.size,
        "width": args.width,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "run": str(out),
        "minutes": round(res.seconds / 60, 2),
        "steps": res.steps,
        "faces_seen": res.faces_seen,
        "faces_per_second": round(res.faces_per_second, 1),
        "final_losses": _final(runs.loss_records(out)),
        "checkpoint_sha256": res.checkpoint_sha256,
        "grid": str(docs / f"{stem}.png"),
        "load_average_1min": {"start": round(load_before, 2), "end": round(os.getloadavg()[0], 2)},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", action="append", choices=["dcgan", "wgan-gp"], help="default: both, one after another")
    ap.add_argument("--size", type=int, default=64, choices=[64, 128])
    ap.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget per architecture")
    ap.add_argument("--faces", type=int, default=100_000_000, help="face budget (default: only the minutes count)")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "train" / "real"))
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="use this many files of --data (quick checks only)")
    ap.add_argument("--docs", default=str(ROOT / "docs"), help="where the grids go (default docs/)")
    ap.add_argument("--runs", default=str(ROOT / "runs"), help="where the run folders go (default runs/)")
    ap.add_argument("--resume", action="store_true", help="continue earlier runs (the minutes count again)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from forensics.generation.data import load_faces

    t0 = time.monotonic()
    faces = load_faces(args.data, args.size, limit=args.limit, seed=args.seed, progress=not args.quiet)
    crops = {"faces": len(faces.files), "crop_methods": faces.methods, "dropped": faces.dropped}
    print(json.dumps({"face_crops": {**crops, "seconds": round(time.monotonic() - t0, 1)}}), flush=True)
    for arch in args.arch or ["dcgan", "wgan-gp"]:
        print(json.dumps(run_one(arch, args, faces), indent=2), flush=True)


if __name__ == "__main__":
    main()
