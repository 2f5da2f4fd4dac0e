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

import io
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from forensics.errors import ForensicsError
from forensics.evidence import IMAGE_SUFFIXES
from forensics.jsonio import plain
from forensics.scan.store import ImageRecord, ScanStore

if TYPE_CHECKING:
    from forensics.scan.dask_cluster import DaskSetup

HEATMAP_SIDE = 64  # stored heatmaps are downsampled to this side for mean maps
THUMB_SIDE = 64
_TEST_DELAY = float(os.environ.get("FORENSICS_SCAN_TEST_DELAY", "0") or 0)


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


def label_from_path(path: Path, root: Path) -> tuple[str | None, str | None, str | None]:
    """(label, kind, source) from ``real/<source>/..`` or ``fake/<kind>/<source>/..`` anywhere under root."""
    parts = list(path.relative_to(root).parts[:-1])
    for i, p in enumerate(parts):
        if p == "real":
            return "real", "real", parts[i + 1] if i + 1 < len(parts) else None
        if p == "fake":
            kind = parts[i + 1] if i + 1 < len(parts) else None
            source = parts[i + 2] if i + 2 < len(parts) else kind
            return "fake", kind, source
    return None, None, None


def in_shard(relative_path: Path, k: int, n: int) -> bool:
    """Stable assignment of a file to one of ``n`` shards (same answer on every machine and run)."""
    import hashlib

    if not (n >= 1 and 0 <= k < n):
        raise ForensicsError(f"shard {k}/{n} is impossible: use K/N with 0 <= K < N")
    digest = hashlib.sha1(relative_path.as_posix().encode()).digest()
    return int.from_bytes(digest[:8], "big") % n == k


def list_images(root: str | Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        raise ForensicsError(f"{root} is not a folder: give a folder of images to scan")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _thumb_png(crop: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    thumb = Image.fromarray(crop).resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BILINEAR)
    thumb.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _downsample(hm: np.ndarray, side: int = HEATMAP_SIDE) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(hm.astype(np.float32), mode="F").resize((side, side), Image.Resampling.BILINEAR))


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
) -> ScanSummary:
    """Scan every image under ``root`` into the store at ``store_path``; finished images are skipped.

    ``shard=(k, n)`` scans only the k-th of n disjoint parts (chosen by a hash of the relative path), so several
    machines or jobs of an existing engine (Ray, Dask, a batch queue) can each write a store, combined afterwards with
    ``ScanStore.merge_from``. ``dask`` runs the batches on a Dask cluster instead (``forensics.scan.dask_cluster``);
    either way the records reach this one store.
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

            results = dask_records(batches, root, opts, dets, dask, weights_dirs)
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
                if _TEST_DELAY:  # lets the kill-and-resume test interrupt a scan of tiny images mid-way
                    time.sleep(_TEST_DELAY)
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


def _record(item: dict[str, Any], dets, per_det, offset: int, opts: ScanOptions) -> ImageRecord:
    """The store record of one image; ``per_det`` maps a detector name to (its scores of the batch's crops, their
    features or None), the image's crops starting at ``offset``."""
    from forensics.pipeline import explain_face

    base = dict(
        sha256=item["sha256"],
        path=item["path"],
        label=item["label"],
        kind=item["kind"],
        source=item["source"],
        size=item.get("size"),
        mtime_ns=item.get("mtime_ns"),
    )
    if item["error"]:
        return ImageRecord(status="error", error=item["error"], **base)
    crops = item["crops"]
    faces: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    regions: list[dict[str, Any]] = []
    heatmaps: list[tuple[int, str, str, np.ndarray]] = []
    embeddings: list[tuple[int, str, Any]] = []
    for j, (face, crop) in enumerate(zip(item["faces"], crops, strict=True)):
        faces.append({**face, "thumb": _thumb_png(crop)})
        for det in dets:
            det_scores, feats = per_det[det.name]
            s, a = det_scores[offset + j], det_scores[offset + j].assessment
            scores.append(
                {
                    "face_index": face["index"],
                    "detector": det.name,
                    "p_fake": s.p_fake,
                    "probabilities": s.probabilities,
                    "verdict": getattr(a, "verdict", None),
                    "inconclusive": getattr(a, "inconclusive", None),
                    "log10_lr": getattr(a, "log10_lr", None),
                }
            )
            if feats is not None:
                embeddings.append((face["index"], det.name, feats[offset + j]))
            if opts.explainer:
                fx = explain_face(det, crop, [opts.explainer], segmenter=opts.segmenter, collect=False)
                heatmaps.append((face["index"], det.name, opts.explainer, _downsample(fx.maps[opts.explainer].heatmap)))
                for table in fx.tables.values():
                    regions.extend(
                        {"face_index": face["index"], "detector": det.name, "explainer": opts.explainer, **r}
                        for r in table.to_rows()
                    )
    return ImageRecord(
        status="done",
        width=item.get("width"),
        height=item.get("height"),
        face_method=item.get("face_method"),
        no_face_reason=item.get("no_face_reason"),
        elapsed_ms=item.get("elapsed_ms"),
        faces=tuple(faces),
        scores=tuple(scores),
        regions=tuple(regions),
        heatmaps=tuple(heatmaps),
        embeddings=tuple(embeddings),
        **base,
    )
