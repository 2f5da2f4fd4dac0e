"""Face finders compared: recall, false detections and time, on ../shared/data/val and on made-up group photos.

Run: python bench/bench_face_finders.py [--folder ../shared/data/val] [--limit 300] [--groups 12] [--fit-box]

- val: nearly every image holds exactly one face, so per finder the images with 0, 1 and 2+ usable faces (after the
  same size and confidence filters as ``detect_faces``) are counted; and against MTCNN (the reference the detector
  was trained with) the share of MTCNN's faces also found (box IoU >= 0.3) and the faces MTCNN did not find.
- group photos: ``--groups`` canvases of 1280x960, each tiled with 6-12 faces from single-face val sources
  (utkface, stylegan_basemax, sdfd_sd21, ffpp) resized to 50-260 px: ground truth is the tile. A tile is found when a
  face's centre lies in it and the face is at least a quarter of the tile; false detections are faces in no tile or
  a second face in one tile.
- ``--fit-box`` prints the medians that map BlazeFace's boxes onto MTCNN's (``forensics.faces.mediapipe_finder``).
Times are per image on one thread (CPU time of this process, robust to other load, and wall time).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from any folder

SINGLE_FACE_SOURCES = ("utkface", "stylegan_basemax", "sdfd_sd21", "ffpp")


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _finders():
    from forensics.faces import FaceOptions, detect_faces
    from forensics.faces.batch import find_faces_batch
    from forensics.faces.mediapipe_finder import detect_mediapipe

    def one(method):
        return lambda imgs: [detect_faces(im, FaceOptions(method=method)) for im in imgs]

    def mediapipe_full(imgs):
        return [
            detect_faces(im, FaceOptions(method="mediapipe"), detections={"mediapipe": detect_mediapipe(im, 1600, 1)})
            for im in imgs
        ]

    return {
        "mtcnn": one("mtcnn"),
        "mtcnn batched": lambda imgs: find_faces_batch(imgs, FaceOptions(method="mtcnn")),
        "haar": one("haar"),
        "mediapipe (short range)": one("mediapipe"),
        "mediapipe+mtcnn (batched)": lambda imgs: find_faces_batch(imgs, FaceOptions(method="mediapipe+mtcnn")),
        "mediapipe (full range)": mediapipe_full,
    }


def _run(finders, images, chunk: int = 16):
    """{finder: (list of boxes per image, cpu ms per image, wall ms per image)}."""
    out = {}
    for name, fn in finders.items():
        fn(images[:1])  # load the model
        boxes, c0, w0 = [], time.process_time(), time.perf_counter()
        for i in range(0, len(images), chunk):
            boxes += [[f.box for f in fs.faces] for fs in fn(images[i : i + chunk])]
        out[name] = (
            boxes,
            (time.process_time() - c0) * 1000 / len(images),
            (time.perf_counter() - w0) * 1000 / len(images),
        )
    return out


def _versus(ref: list[list], boxes: list[list]) -> tuple[int, int, int]:
    """(reference faces, of them found, faces not in the reference)."""
    n_ref = n_found = n_extra = 0
    for r, b in zip(ref, boxes, strict=True):
        n_ref += len(r)
        n_found += sum(any(_iou(x, y) >= 0.3 for y in b) for x in r)
        n_extra += sum(not any(_iou(x, y) >= 0.3 for y in r) for x in b)
    return n_ref, n_found, n_extra


def _group_photos(folder: Path, n: int, seed: int = 0):
    from PIL import Image

    from forensics.evidence import load_evidence

    rng = random.Random(seed)
    pool = sorted(p for s in SINGLE_FACE_SOURCES for p in folder.glob(f"real/{s}/*")) + sorted(
        p for s in SINGLE_FACE_SOURCES for p in folder.glob(f"fake/*/{s}/*")
    )
    canvases, truths = [], []
    for _ in range(n):
        w, h = 1280, 960
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack(
            [
                (xx * rng.uniform(0.05, 0.2) + yy * rng.uniform(0.05, 0.2) + rng.uniform(40, 160)) % 255
                for _ in range(3)
            ],
            axis=2,
        )
        canvas = np.clip(base + np.random.default_rng(rng.randrange(1 << 30)).normal(0, 6, base.shape), 0, 255)
        canvas = canvas.astype(np.uint8)
        tiles = []
        cols, rows = 4, 3
        for k in rng.sample(range(cols * rows), rng.randint(6, 12)):
            side = rng.randint(50, 260)
            cx, cy = (k % cols + 0.5) * w / cols, (k // cols + 0.5) * h / rows
            x0 = int(np.clip(cx - side / 2 + rng.uniform(-20, 20), 0, w - side))
            y0 = int(np.clip(cy - side / 2 + rng.uniform(-20, 20), 0, h - side))
            face = load_evidence(rng.choice(pool).read_bytes(), name="tile").image
            canvas[y0 : y0 + side, x0 : x0 + side] = np.asarray(Image.fromarray(face).resize((side, side)))
            tiles.append((x0, y0, x0 + side, y0 + side))
        canvases.append(canvas)
        truths.append(tiles)
    return canvases, truths


def _tile_score(truths, boxes) -> tuple[int, int, int]:
    """(tiles, tiles found, false detections)."""
    n = found = false = 0
    for tiles, bs in zip(truths, boxes, strict=True):
        hits = [0] * len(tiles)
        for b in bs:
            cx, cy, s = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, max(b[2] - b[0], b[3] - b[1])
            t = [
                k
                for k, (x0, y0, x1, y1) in enumerate(tiles)
                if x0 <= cx <= x1 and y0 <= cy <= y1 and s >= 0.25 * (x1 - x0)
            ]
            if t:
                hits[t[0]] += 1
            else:
                false += 1
        n += len(tiles)
        found += sum(h > 0 for h in hits)
        false += sum(max(0, h - 1) for h in hits)
    return n, found, false


def _fit_box(images) -> None:
    from forensics.faces.finders import detect_mtcnn
    from forensics.faces.mediapipe_finder import raw_detections

    rows = []
    for im in images:
        ref = [d for d in detect_mtcnn(im, 1600) if d[1] >= 0.9]
        for box, _, _ in raw_detections(im):
            for m, _, _ in ref:
                mh = m[3] - m[1]
                if _iou(box, m) >= 0.3:
                    rows.append(
                        [
                            (box[3] - box[1]) / mh,
                            (box[2] - box[0]) / (m[2] - m[0]),
                            ((box[0] + box[2]) - (m[0] + m[2])) / 2 / mh,
                            ((box[1] + box[3]) - (m[1] + m[3])) / 2 / mh,
                        ]
                    )
    a = np.median(np.asarray(rows), axis=0)
    print(
        f"BlazeFace vs MTCNN on {len(rows)} matched faces (medians): height ratio {a[0]:.3f}, width ratio "
        f"{a[1]:.3f}, centre shift x {a[2]:.3f}, y {a[3]:.3f} (of the MTCNN box height)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", default=None)
    ap.add_argument("--limit", type=int, default=300, help="val images, spread evenly over the sorted list")
    ap.add_argument("--groups", type=int, default=12)
    ap.add_argument("--fit-box", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(1)
    from forensics.evidence import load_evidence
    from forensics.paths import SHARED_DATA_DIR
    from forensics.scan import list_images

    folder = Path(args.folder) if args.folder else SHARED_DATA_DIR / "val"
    paths = list_images(folder)
    step = max(1, len(paths) // args.limit) if args.limit else 1
    paths = paths[::step][: args.limit or None]
    images = []
    for p in paths:
        try:
            images.append(load_evidence(p.read_bytes(), name=p.name).image)
        except Exception:  # noqa: BLE001 - an unreadable file is simply not part of the comparison
            continue
    if args.fit_box:
        _fit_box(images)
    finders = _finders()
    res = _run(finders, images)
    ref = res["mtcnn"][0]
    print(f"\n{len(images)} val images ({folder}); counts of usable faces per image; against MTCNN (IoU >= 0.3)")
    print(
        "| finder | 0 faces | 1 face | 2+ faces | MTCNN's faces found | faces MTCNN did not find | CPU ms / image "
        "| wall ms / image |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, (boxes, cpu, wall) in res.items():
        counts = [len(b) for b in boxes]
        n_ref, n_found, n_extra = _versus(ref, boxes)
        print(
            f"| {name} | {counts.count(0)} | {counts.count(1)} | {sum(c >= 2 for c in counts)} | "
            f"{n_found}/{n_ref} ({100 * n_found / max(1, n_ref):.1f}%) | {n_extra} | {cpu:.1f} | {wall:.1f} |"
        )
    if args.groups:
        canvases, truths = _group_photos(folder, args.groups)
        res = _run(finders, canvases, chunk=4)
        print(f"\n{args.groups} group photos (1280x960), {sum(map(len, truths))} tiled faces of 50-260 px")
        print("| finder | faces found | false detections | CPU ms / image | wall ms / image |")
        print("|---|---|---|---|---|")
        for name, (boxes, cpu, wall) in res.items():
            n, found, false = _tile_score(truths, boxes)
            print(f"| {name} | {found}/{n} ({100 * found / n:.1f}%) | {false} | {cpu:.1f} | {wall:.1f} |")


if __name__ == "__main__":
    main()
