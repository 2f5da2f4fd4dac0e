"""Folder scans on Dask distributed: batches of images run on the cluster's workers, records come back to one store.

``scan_folder(..., dask=DaskSetup(address="tcp://host:8786"))`` (CLI: ``scan DIR --out STORE --dask ADDRESS``) or
``DaskSetup(local_workers=N)`` (``--dask-local N``: a LocalCluster of N one-thread worker processes on this machine).

- Work is handed out in batches (``scan_folder``'s ``batch_size`` images per task), at most ``in_flight`` at a time,
  so worker memory and the records waiting to be written stay bounded.
- Every worker reads the evidence itself (the folder must be at the same path on every worker: shared storage), loads
  the detectors by name from its own weights folders and checks that each file's SHA-256 equals the one this process
  loaded; a worker with other weights fails the scan with ``WeightsHashMismatchError``.
- Records come back to this process, which alone writes the store (one SQLite writer, no locking over a network file
  system), skips what is already there and notes duplicates: a batch that runs twice adds nothing twice.
- A worker that dies (killed, out of memory, machine lost) has its batch re-run by the scheduler on another worker
  (up to ``distributed.scheduler.allowed-failures`` times, default 3). A batch that still fails is split into single
  images; an image that alone keeps killing workers is recorded as an error and the scan goes on.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forensics.errors import ForensicsError, UnavailableError, WeightsHashMismatchError
from forensics.scan.store import ImageRecord


@dataclass(frozen=True)
class DaskSetup:
    """Where the batches run: a running scheduler (``address``) or a local cluster of ``local_workers`` processes."""

    address: str | None = None
    local_workers: int = 0
    in_flight: int | None = None  # batches submitted ahead of the results written; default 2 per worker thread
    wait_for_workers_s: float = 120.0

    def __post_init__(self) -> None:
        if (self.address is None) == (self.local_workers <= 0):
            raise ForensicsError("give either a Dask scheduler address or a number of local workers (not both)")


def _distributed():
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise UnavailableError("Dask is not installed: pip install 'dask[distributed]' (see requirements.txt)") from exc
    return distributed


@contextmanager
def local_cluster(n_workers: int, **kwargs: Any) -> Iterator[Any]:
    """A ``distributed.LocalCluster`` of ``n_workers`` one-thread worker processes, closed on exit.

    One thread per worker process: the detectors' forward passes hold a per-model lock, so threads of one process
    would queue on it; OMP_NUM_THREADS=1 is Dask's default worker environment, FORENSICS_THREADS=1 keeps torch at one
    thread even when this process runs with more. While the cluster lives, a ``__main__`` that is a script file is
    hidden from the processes it spawns (see ``_no_script_main``)."""
    distributed = _distributed()
    opts: dict[str, Any] = {"threads_per_worker": 1, "processes": True, "dashboard_address": None}
    opts.update(kwargs)
    opts["env"] = {"FORENSICS_THREADS": "1", **(kwargs.get("env") or {})}
    with _no_script_main(), distributed.LocalCluster(n_workers=n_workers, **opts) as cluster:
        yield cluster


@contextmanager
def _no_script_main() -> Iterator[None]:
    """Spawned processes (Dask's nannies start workers so, also when one is restarted) first re-run the parent's
    ``__main__`` when it is a script file. Under Streamlit that script is the dashboard (Streamlit makes the running
    page script ``__main__``, and AppTest leaves it so): every worker would run the app, sign-in gate included, and
    fail to start. A ``__main__`` imported by module name (``python -m ...``) is left as it is."""
    import sys
    import types

    main = sys.modules.get("__main__")
    by_name = getattr(getattr(main, "__spec__", None), "name", None)
    if main is None or by_name is not None or not getattr(main, "__file__", None):
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


@contextmanager
def dask_client(setup: DaskSetup) -> Iterator[Any]:
    """A connected ``distributed.Client`` with at least one worker; a local cluster is shut down on exit."""
    from contextlib import ExitStack

    distributed = _distributed()
    with ExitStack() as stack:
        cluster = stack.enter_context(local_cluster(setup.local_workers)) if setup.address is None else None
        try:
            client = distributed.Client(cluster or setup.address, timeout=setup.wait_for_workers_s)
        except OSError as exc:
            raise ForensicsError(f"cannot reach the Dask scheduler at {setup.address}: {exc}") from exc
        try:
            client.wait_for_workers(setup.local_workers or 1, timeout=setup.wait_for_workers_s)
            yield client
        finally:
            client.close()


_WORKER_LOCK = threading.Lock()
_WORKER_DETS: dict[tuple, list[Any]] = {}
# glibc malloc settings for a worker process. Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which
# switches off glibc's dynamic mmap threshold: every buffer over 128 kB (MTCNN's image pyramids, activations) is then
# mmap'ed and unmapped again, page faults included. Measured (bench/bench_scan.py --cpu-per-face, 70 val images,
# 1 thread, contended): 290 CPU ms per face with that variable against 125 without it, and 136 with it set but these
# values applied at worker start. Buffers up to 32 MB (glibc's largest mmap threshold) come from the heap again, and
# the heap keeps up to 256 MB of freed memory before trimming (peak RSS of that run: 1.06 GB).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # malloc.h
_MALLOC_SETTINGS = ((_M_MMAP_THRESHOLD, 32 * 1024 * 1024), (_M_TRIM_THRESHOLD, 256 * 1024 * 1024))


def tune_worker_malloc() -> bool:
    """Undo the effect of Dask's MALLOC_TRIM_THRESHOLD_ in this process (glibc only); True when applied."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        return all(libc.mallopt(param, value) == 1 for param, value in _MALLOC_SETTINGS)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to undo there
        return False


def _worker_detectors(
    names: tuple[str, ...], allow_untrained: bool, weights_dirs: tuple[str, ...] | None, expected: dict[str, str | None]
) -> list[Any]:
    """The detectors of this worker process (loaded once), checked against the client's weight hashes."""
    from forensics.device import configure_threads
    from forensics.pipeline import resolve_detectors

    key = (names, allow_untrained, weights_dirs)
    with _WORKER_LOCK:
        if key not in _WORKER_DETS:
            tune_worker_malloc()
            configure_threads(int(os.environ.get("FORENSICS_THREADS") or 1))
            dets = resolve_detectors(list(names), allow_untrained=allow_untrained, weights_dirs=weights_dirs)
            for d in dets:
                if d.weights_sha256 != expected.get(d.name):
                    raise WeightsHashMismatchError(
                        f"worker weights for {d.name} have SHA-256 {d.weights_sha256}, the scan's are "
                        f"{expected.get(d.name)}: install the same weights file on every worker"
                    )
            _WORKER_DETS[key] = dets
        return _WORKER_DETS[key]


def run_batch_on_worker(
    paths: list[str],
    root: str,
    opts: Any,
    weights_dirs: tuple[str, ...] | None,
    expected: dict[str, str | None],
    after_batch: Callable[[], None] | None = None,
) -> list[ImageRecord]:
    """The task each Dask worker runs: one batch, start to finish (``forensics.scan.batch``), then ``after_batch``
    (see ``scan_folder``)."""
    from forensics.scan.batch import scan_batch

    dets = _worker_detectors(tuple(opts.detectors), opts.allow_untrained, weights_dirs, expected)
    records = scan_batch([Path(p) for p in paths], Path(root), opts, dets)
    if after_batch is not None:
        after_batch()
    return records


def _lost_image_record(path: str, root: Path, failures: str) -> ImageRecord:
    from forensics.scan.files import label_from_path

    try:
        sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        sha = "path:" + path
    label, kind, source = label_from_path(Path(path), root)
    return ImageRecord(
        sha256=sha,
        path=path,
        label=label,
        kind=kind,
        source=source,
        status="error",
        error=f"Dask workers died while scanning this image ({failures}): it was not scanned",
    )


def dask_records(
    batches: Sequence[Sequence[Path]],
    root: Path,
    opts: Any,
    dets: Sequence[Any],
    setup: DaskSetup,
    weights_dirs: Sequence[str | Path] | None,
    after_batch: Callable[[], None] | None = None,
) -> Iterator[list[ImageRecord]]:
    """Records of every batch, in the order of ``batches`` (so duplicates resolve as in a plain scan); each worker
    calls ``after_batch`` (picklable) after each batch.

    Batches finish in any order; finished ones wait (at most ``4 * in_flight``) until those before them are written.
    """
    if not batches:
        return
    distributed = _distributed()
    expected = {d.name: d.weights_sha256 for d in dets}
    wdirs = tuple(str(Path(w).resolve()) for w in weights_dirs) if weights_dirs else None
    # a task: (batch index, part index, paths); a batch whose task killed its workers comes back as one part per image
    queue = [(i, 0, [str(p) for p in b]) for i, b in enumerate(batches)]
    queue.reverse()  # pop() from the end hands batches out in folder order
    parts: dict[int, dict[int, list[ImageRecord]]] = {}
    n_parts = dict.fromkeys(range(len(batches)), 1)
    next_out = 0
    run = uuid.uuid4().hex[:8]
    with dask_client(setup) as client:
        pending = distributed.as_completed()
        task_of: dict[str, tuple[int, int, list[str]]] = {}

        def refill() -> None:
            limit = setup.in_flight or max(2, 2 * sum(client.nthreads().values()))
            while queue and pending.count() < limit and len(parts) < 4 * limit:
                i, j, paths = queue.pop()
                fut = client.submit(
                    run_batch_on_worker,
                    paths,
                    str(root),
                    opts,
                    wdirs,
                    expected,
                    after_batch,
                    pure=False,
                    key=f"forensics-scan-{run}-{i}-{j}-{len(paths)}",
                )
                task_of[fut.key] = (i, j, paths)
                pending.add(fut)

        refill()
        try:
            for fut in pending:
                i, j, paths = task_of.pop(fut.key)
                try:
                    parts.setdefault(i, {})[j] = fut.result()
                except distributed.KilledWorker as exc:
                    if len(paths) > 1:  # find the image that kills workers: re-run the batch one image per task
                        n_parts[i] = len(paths)
                        queue.extend((i, k, [p]) for k, p in reversed(list(enumerate(paths))))
                        parts[i] = {}
                    else:
                        parts.setdefault(i, {})[j] = [_lost_image_record(paths[0], root, str(exc))]
                fut.release()
                while next_out in parts and len(parts[next_out]) == n_parts[next_out]:
                    done = parts.pop(next_out)
                    next_out += 1
                    yield [rec for k in sorted(done) for rec in done[k]]
                refill()
        finally:
            for fut in list(pending.futures):  # an interrupted scan leaves no work queued on the cluster
                fut.cancel()
