"""Folder scans: the pipeline over every image of a folder, into a resumable store (forensics.scan.store).

Each batch of images runs start to finish (decode, batched face finding, classification; ``forensics.scan.batch``)
in one of ``workers`` DataLoader worker processes, one thread each, or on the workers of a Dask cluster
(``forensics.scan.dask_cluster``); this process only writes the records. Labels come from folder names
(``real/<source>/...``, ``fake/<kind>/<source>/...``) when present. Bad files are recorded with their error and the
scan goes on. A re-run skips finished images, so a killed scan resumes.

Example:
    >>> from forensics.scan import scan_folder
    >>> summary = scan_folder("../shared/data/val", "out/val.sqlite", detectors=["ffd-mobilenetv2"])  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forensics.errors import ForensicsError
from forensics.jsonio import plain
from forensics.scan.files import in_shard, list_images
from forensics.scan.store import ImageRecord, ScanStore

if TYPE_CHECKING:
    from forensics.scan.dask_cluster import DaskSetup


@dataclass(frozen=True)
class ScanOptions:
    detectors: tuple[str, ...] = ()
    face_method: str = "auto"
    min_face_size: int = 40
    max_faces: int = 20
    explainer: str | None = None
    segmenter: str | None = None
    embeddings: bool = True
    allow_untrained: bool = False


@dataclass(frozen=True)
class ScanSummary:
    total: int
    skipped_already_done: int
    done: int
    errors: int
    duplicates: int
    faces: int
    seconds: float
    changed: int = 0  # files re-analysed because their size, mtime or bytes changed since the last run

    @property
    def faces_per_second(self) -> float:
        return self.faces / self.seconds if self.seconds > 0 else 0.0


def default_workers() -> int:
    """Scan worker processes when none are asked for: one per CPU (each runs on one thread), at most 8 (each holds
    its own models, about 0.5-1 GB)."""
    return max(1, min(8, os.cpu_count() or 1))


def scan_folder(
    root: str | Path,
    store_path: str | Path,
    *,
    options: ScanOptions | None = None,
    detectors: Sequence[Any] | None = None,
    batch_size: int = 16,
    workers: int = 0,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    weights_dirs: Sequence[str | Path] | None = None,
    shard: tuple[int, int] | None = None,
    dask: DaskSetup | None = None,
    after_batch: Callable[[], None] | None = None,
) -> ScanSummary:
    """Scan every image under ``root`` into the store at ``store_path``; finished images are skipped.

    ``shard=(k, n)`` scans only the k-th of n disjoint parts (chosen by a hash of the relative path), so several
    machines or jobs of an existing engine (Ray, Dask, a batch queue) can each write a store, combined afterwards with
    ``ScanStore.merge_from``. ``dask`` runs the batches on a Dask cluster instead (``forensics.scan.dask_cluster``);
    either way the records reach this one store. ``after_batch`` is called after each batch (on the Dask worker that
    ran it, else here, once its records are written; it must pickle for Dask): tests slow a scan down with it to
    interrupt it mid-way.
    """
    from forensics.pipeline import resolve_detectors

    opts = options or ScanOptions()
    root = Path(root)
    dets = resolve_detectors(
        list(detectors or opts.detectors), allow_untrained=opts.allow_untrained, weights_dirs=weights_dirs
    )
    opts = ScanOptions(**{**asdict(opts), "detectors": tuple(d.name for d in dets)})
    paths = list_images(root)
    if shard is not None:
        paths = [p for p in paths if in_shard(p.relative_to(root), *shard)]
    paths = paths[:limit] if limit else paths
    t_start = time.perf_counter()
    with ScanStore(store_path) as store:
        previous = store.get_meta("options")
        if previous is not None and previous != plain(asdict(opts)):
            raise ForensicsError(
                f"{store_path} holds a scan made with other options ({previous}); use a new results file or the "
                "same options to resume"
            )
        store.set_meta("options", plain(asdict(opts)))
        store.set_meta("root", str(root))
        store.set_meta(
            "models",
            {
                d.name: {
                    "weights_sha256": d.weights_sha256,
                    "weights_file": d.weights_file,
                    "architecture": d.config.architecture,
                    "calibration": d.calibration.to_dict() if d.calibration else None,
                    "classes": list(d.classes),
                }
                for d in dets
            },
        )
        done_paths = store.finished_paths()
        changed = store.changed_paths([p for p in paths if str(p) in done_paths])
        todo = [p for p in paths if str(p) not in done_paths or str(p) in changed]
        skipped = len(paths) - len(todo)
        n_done = n_err = n_faces = n_dup = 0
        batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
        if dask is not None:
            from forensics.scan.dask_cluster import dask_records

            results = dask_records(batches, root, opts, dets, dask, weights_dirs, after_batch)
        else:
            results = _local_records(batches, root, opts, dets, workers)
        if progress:
            progress(skipped, len(paths))
        known = store.finished()
        with closing(results):  # type: ignore[type-var]  # generators close: an interrupted scan stops its workers
            for records in results:
                for rec in records:
                    if rec.sha256 in known:  # same bytes already scanned under another path
                        store.note_duplicate(rec.path, rec.sha256, rec.size, rec.mtime_ns)
                        n_dup += 1
                        continue
                    store.write(rec)
                    known.add(rec.sha256)
                    n_done += rec.status == "done"
                    n_err += rec.status == "error"
                    n_faces += len(rec.faces)
                if progress:
                    progress(skipped + n_done + n_err + n_dup, len(paths))
                if after_batch is not None and dask is None:
                    after_batch()
    return ScanSummary(
        total=len(paths),
        skipped_already_done=skipped,
        done=n_done,
        errors=n_err,
        duplicates=n_dup,
        faces=n_faces,
        seconds=time.perf_counter() - t_start,
        changed=len(changed),
    )


def _die_with_parent(_worker_id: int) -> None:
    """DataLoader worker start: ask Linux to SIGKILL this worker when the scanning process dies. Without it a worker
    outlived a ``kill -9`` of the scan by more than a minute (torch's own watchdog only looks between items)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: torch's watchdog remains
        return
    if os.getppid() == 1:  # the parent died before the call above
        os._exit(0)


def _local_records(
    batches: list[list[Path]], root: Path, opts: ScanOptions, dets, workers: int
) -> Iterator[list[ImageRecord]]:
    """Records batch by batch, in order; with ``workers`` > 0 each batch runs whole in a worker process."""
    from torch.utils.data import DataLoader

    from forensics.scan.batch import BatchDataset, keep_as_is

    yield from DataLoader(
        BatchDataset(batches, root, opts, dets),  # type: ignore[arg-type]
        batch_size=None,
        num_workers=workers,
        collate_fn=keep_as_is,
        persistent_workers=False,
        worker_init_fn=_die_with_parent if workers else None,
    )
