"""Scan throughput: faces/s classify-only and classify + explanation + regions; peak memory; time to resume.

Run: python bench/bench_scan.py [--folder ../shared/data/val] [--limit 200] [--threads 2] [--workers 2]
         [--detector NAME] [--explainer lrp-epsilon-plus-flat] [--face-method auto] [--explain-limit 0]
         [--dask-local 1,2]
Each scan goes to a fresh store in a temp folder; the resume figure is a re-run of the finished classify-only scan.
``--dask-local 1,2`` also scans classify-only on a Dask LocalCluster of 1, then 2 one-thread workers (started
before the clock runs) and reports the workers' CPU time per face and each worker's peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from pathlib import Path as _Path

sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))  # run as a script from any folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", default=None)
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--explain-limit", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dask-local", default="", help="comma-separated worker counts, e.g. 1,2")
    ap.add_argument(
        "--cpu-per-face",
        action="store_true",
        help="only: CPU time per face of a classify-only scan run in this process on 1 thread",
    )
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--detector", default=None)
    ap.add_argument("--explainer", default="lrp-epsilon-plus-flat")
    ap.add_argument("--face-method", default="auto")
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(args.threads)
    from forensics.detectors import default_detector_names
    from forensics.paths import SHARED_DATA_DIR
    from forensics.scan import ScanOptions, scan_folder

    folder = Path(args.folder) if args.folder else SHARED_DATA_DIR / "val"
    det = args.detector or default_detector_names()[0]
    if args.cpu_per_face:
        _cpu_per_face(folder, ScanOptions(detectors=(det,), face_method=args.face_method), args.batch_size, args.limit)
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = dict(detectors=(det,), face_method=args.face_method)
        runs = [("classify-only", ScanOptions(**base), args.limit)]
        if args.explain_limit:
            runs.append(
                (
                    f"classify + {args.explainer} + regions",
                    ScanOptions(**base, explainer=args.explainer, segmenter="landmarks"),
                    args.explain_limit,
                )
            )
        for label, opts, limit in runs:
            store = Path(tmp) / f"{len(label)}.sqlite"
            s = scan_folder(folder, store, options=opts, batch_size=args.batch_size, workers=args.workers, limit=limit)
            print(
                f"{label:<45} {s.done} images, {s.faces} faces in {s.seconds:6.1f} s: "
                f"{s.faces_per_second:5.1f} faces/s ({s.done / s.seconds:5.1f} images/s)"
            )
            if label == "classify-only":
                t0 = time.perf_counter()
                r = scan_folder(
                    folder, store, options=opts, batch_size=args.batch_size, workers=args.workers, limit=limit
                )
                print(
                    f"{'resume of the finished scan (nothing to do)':<45} {time.perf_counter() - t0:6.2f} s "
                    f"({r.skipped_already_done} skipped)"
                )
        for n in [int(v) for v in args.dask_local.split(",") if v]:
            _dask_run(n, folder, Path(tmp) / f"dask{n}.sqlite", ScanOptions(**base), args.batch_size, args.limit)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"detector {det}, face method {args.face_method}, threads {args.threads}, workers {args.workers}, "
        f"batch {args.batch_size}, folder {folder}"
    )
    print(f"peak RSS: main process {peak:.0f} MB, largest worker {child:.0f} MB")


def _cpu_per_face(folder: Path, opts, batch_size: int, limit: int) -> None:
    """CPU time per face of the whole pipeline in this process (robust to other load on the machine, unlike wall
    time): with both cores busy and no other load, a scan reaches about 2000 / (CPU ms per face) faces/s."""
    import torch

    from forensics.scan import scan_folder

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        scan_folder(folder, Path(tmp) / "warm.sqlite", options=opts, workers=0, limit=2)  # models loaded
        c0 = time.process_time()
        s = scan_folder(folder, Path(tmp) / "cpu.sqlite", options=opts, workers=0, limit=limit, batch_size=batch_size)
        ms = (time.process_time() - c0) * 1000 / max(1, s.faces)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # what one scan worker holds: models + a batch
    print(
        f"face method {opts.face_method}, batch {batch_size}: {s.done} images, {s.faces} faces, {ms:.0f} CPU ms per "
        f"face on 1 thread; both cores busy: about {2000 / ms:.1f} faces/s; peak RSS {peak:.0f} MB"
    )


def _dask_run(n: int, folder: Path, store: Path, opts, batch_size: int, limit: int) -> None:
    import distributed

    from forensics.scan import scan_folder
    from forensics.scan.dask_cluster import DaskSetup

    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def cpu_s() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    # one torch thread per worker whatever this process uses (FORENSICS_THREADS is read by each worker)
    with (
        distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, env={"FORENSICS_THREADS": "1"}
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(n)
        cpu0 = client.run(cpu_s)
        s = scan_folder(
            folder,
            store,
            options=opts,
            batch_size=batch_size,
            limit=limit,
            dask=DaskSetup(address=cluster.scheduler_address),
        )
        cpu = sum(v - cpu0[k] for k, v in client.run(cpu_s).items())
        peaks = sorted(client.run(peak_mb).values())
    ms = cpu * 1000 / max(1, s.faces)  # CPU time of the workers (robust to other load): what n free cores would do
    print(
        f"{f'Dask LocalCluster, {n} worker(s) x 1 thread':<45} {s.done} images, {s.faces} faces in "
        f"{s.seconds:6.1f} s: {s.faces_per_second:5.1f} faces/s; workers' CPU {ms:.0f} ms per face (n free cores: "
        f"about {n * 1000 / ms:.1f} faces/s); peak RSS per worker {', '.join(f'{p:.0f}' for p in peaks)} MB"
    )


if __name__ == "__main__":
    main()
