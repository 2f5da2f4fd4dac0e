"""One batch of a folder scan, start to finish: read, hash, decode, find faces (batched), classify, build records.

The same function runs in the scan's DataLoader worker processes (``scan_folder(workers=N)``: each worker a whole
pipeline on one thread, the main process only writes) and on Dask workers (``forensics.scan.dask_cluster``).
Records carry everything the store needs, so whoever writes them needs neither the images nor the models.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from forensics.errors import ForensicsError
from forensics.scan.files import label_from_path
from forensics.scan.store import ImageRecord

# Crops per forward pass. On this CPU at 1 thread MobileNetV2 took 79 / 98 / 147 ms per face at batch 1 / 8 / 32
# (contended; larger batches spill the caches), so crops go through the detector in small chunks.
CLASSIFY_CHUNK = 4
HEATMAP_SIDE = 64  # stored heatmaps are downsampled to this side for mean maps
THUMB_SIDE = 64


def _read(path: Path, root: Path) -> tuple[dict[str, Any], np.ndarray | None]:
    from forensics.evidence import load_evidence

    label, kind, source = label_from_path(path, root)
    item: dict[str, Any] = {
        "path": str(path),
        "label": label,
        "kind": kind,
        "source": source,
        "crops": [],
        "faces": [],
        "error": None,
        "t0": time.perf_counter(),
    }
    try:
        st = path.stat()  # size and mtime let a re-scan find files changed since (issue 19)
        item.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
        data = path.read_bytes()
    except OSError as exc:
        item.update(sha256="path:" + str(path), error=f"cannot read file: {exc}")
        return item, None
    item["sha256"] = hashlib.sha256(data).hexdigest()
    try:
        ev = load_evidence(data, name=path.name)
    except ForensicsError as exc:
        item["error"] = f"{type(exc).__name__}: {exc}"
        return item, None
    item.update(width=ev.width, height=ev.height)
    return item, ev.image


def _find(items: list[dict[str, Any]], images: list[np.ndarray], opts) -> None:
    from forensics.faces import FaceOptions, detect_faces
    from forensics.faces.batch import find_faces_batch

    face_opts = FaceOptions(method=opts.face_method, min_size=opts.min_face_size, max_faces=opts.max_faces)
    try:
        sets: list[Any] = find_faces_batch(images, face_opts)  # a FaceSet per image, None where it failed
    except ForensicsError:  # one image spoils the stack: find faces one image at a time to name it
        sets = []
        for item, img in zip(items, images, strict=True):
            try:
                sets.append(detect_faces(img, face_opts))
            except ForensicsError as exc:
                item["error"] = f"{type(exc).__name__}: {exc}"
                sets.append(None)
    for item, fs in zip(items, sets, strict=True):
        if fs is None:
            continue
        item.update(
            face_method=fs.method,
            no_face_reason=fs.reason,
            crops=[f.crop for f in fs.faces],
            faces=[
                {"index": f.index, "box": [float(v) for v in f.box], "confidence": float(f.confidence)}
                for f in fs.faces
            ],
            elapsed_ms=(time.perf_counter() - item["t0"]) * 1000,
        )


def _score_all(dets, crops: list[np.ndarray], want_features: bool) -> dict[str, tuple[list[Any], Any]]:
    """Per detector: the scores of ``crops`` and (with ``want_features``) their penultimate features, from one
    forward pass per chunk."""
    from forensics.pipeline import crop_logits, logits_and_features, score_logits

    per_det: dict[str, tuple[list[Any], Any]] = {}
    if not crops:
        return per_det
    for det in dets:
        if want_features:
            logits, feats = logits_and_features(det, crops, batch=CLASSIFY_CHUNK)
        else:
            logits, feats = crop_logits(det, crops, batch=CLASSIFY_CHUNK), None
        per_det[det.name] = (score_logits(det, logits), feats)
    return per_det


def scan_batch(paths: Sequence[Path], root: Path, opts, dets: Sequence[Any]) -> list[ImageRecord]:
    """Records of ``paths`` (in order): errors recorded per image, faces found in one batched pass."""
    read = [_read(Path(p), root) for p in paths]
    good = [(item, img) for item, img in read if img is not None]
    if good:
        _find([g[0] for g in good], [g[1] for g in good], opts)
    items = [item for item, _ in read]
    crops = [c for item in items if not item["error"] for c in item["crops"]]
    per_det = _score_all(dets, crops, opts.embeddings)
    records, offset = [], 0
    for item in items:
        records.append(image_record(item, dets, per_det, offset, opts))
        offset += len(item["crops"])  # items with an error hold no crops
    return records


def _thumb_png(crop: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    thumb = Image.fromarray(crop).resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BILINEAR)
    thumb.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _downsample(hm: np.ndarray, side: int = HEATMAP_SIDE) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(hm.astype(np.float32), mode="F").resize((side, side), Image.Resampling.BILINEAR))


def image_record(item: dict[str, Any], dets, per_det, offset: int, opts) -> ImageRecord:
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


class BatchDataset:
    """Batches of paths as a map-style dataset: ``scan_folder`` hands it to a DataLoader with ``batch_size=None``."""

    def __init__(self, batches: list[list[Path]], root: Path, opts, dets: Sequence[Any]) -> None:
        self.batches, self.root, self.opts, self.dets = batches, root, opts, dets

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> list[ImageRecord]:
        return scan_batch(self.batches[i], self.root, self.opts, self.dets)


def keep_as_is(records: list[ImageRecord]) -> list[ImageRecord]:
    """DataLoader ``collate_fn``: records stay records (module level, so worker processes can pickle it)."""
    return records
