"""``python -m forensics scan DIR --out RESULTS``: resumable folder scan."""

from __future__ import annotations

from forensics.commands._options import add_face_method

NAME = "scan"
HELP = "scan every image under a folder into a resumable SQLite results store (re-run to resume)"


def add_arguments(p) -> None:
    p.add_argument("folder")
    p.add_argument("--out", required=True, help="results store (SQLite file); re-running resumes it")
    p.add_argument("--detector", action="append", default=None, help="detector name (repeatable)")
    p.add_argument("--weights-dir", action="append", default=None, help="extra folder searched for weight files")
    add_face_method(p, triage=True)
    p.add_argument("--explainer", default=None, help="also explain every face with this method (e.g. gradcam)")
    p.add_argument("--segmenter", default=None, help="with --explainer: region relevance with this segmenter")
    p.add_argument("--no-embeddings", action="store_true", help="do not store penultimate features")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes, each running whole batches on one thread (default: one per CPU, at most "
        "8; 0 = in this process)",
    )
    p.add_argument("--limit", type=int, default=None, help="scan only the first N images (sorted by path)")
    p.add_argument("--allow-untrained", action="store_true")
    p.add_argument(
        "--shard",
        default=None,
        metavar="K/N",
        help="scan only part K of N (0-based) for distributed runs; combine with `merge-scans`",
    )
    engine = p.add_mutually_exclusive_group()
    engine.add_argument(
        "--dask",
        default=None,
        metavar="SCHEDULER_ADDRESS",
        help="run the batches on a Dask cluster (e.g. tcp://10.0.0.5:8786); results come to --out",
    )
    engine.add_argument(
        "--dask-local",
        type=int,
        default=None,
        metavar="N",
        help="run the batches on a local Dask cluster of N one-thread worker processes",
    )


def run(args) -> int:
    from tqdm import tqdm

    from forensics.scan import ScanOptions, default_workers, scan_folder
    from forensics.scan.dask_cluster import DaskSetup

    opts = ScanOptions(
        detectors=tuple(args.detector or ()),
        face_method=args.face_method,
        explainer=args.explainer,
        segmenter=args.segmenter,
        embeddings=not args.no_embeddings,
        allow_untrained=args.allow_untrained,
    )
    dask = None
    if args.dask or args.dask_local:
        dask = DaskSetup(address=args.dask, local_workers=args.dask_local or 0)
    workers = default_workers() if args.workers is None else args.workers
    bar = tqdm(unit="img", dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        s = scan_folder(
            args.folder,
            args.out,
            options=opts,
            batch_size=args.batch_size,
            workers=workers,
            limit=args.limit,
            progress=progress,
            weights_dirs=args.weights_dir,
            shard=_parse_shard(args.shard),
            dask=dask,
        )
    finally:
        bar.close()
    print(
        f"{s.total} images: {s.skipped_already_done} already done, {s.done} scanned, {s.errors} errors, "
        f"{s.duplicates} duplicates; {s.faces} faces in {s.seconds:.1f} s ({s.faces_per_second:.1f} faces/s)"
    )
    if s.changed:
        print(
            f"{s.changed} file(s) changed since the last scan (size, mtime or content) and were re-analysed; their "
            "earlier results are kept in the store's history table"
        )
    print(f"results: {args.out}   statistics: python -m forensics stats {args.out}")
    return 0


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    from forensics.errors import ForensicsError

    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ForensicsError(f"--shard {text!r}: write it as K/N, e.g. 0/4") from None
    return k, n
