"""How a detector's verdicts degrade when a face is cut by the image border (the measurement behind the thresholds
of ``forensics.faces.whole_face``).

Each sampled validation image is cut at one border (left, right, top, bottom) so that a share ``c`` of its largest
face's box lies beyond the new edge; the face is cropped with its original box and landmarks moved into the cut
image (as MTCNN does, whose boxes reach past the border), so the part beyond the edge is filled by reflection as in
an analysis. Every crop is scored with the detector and its calibration; the tables bin the crops by the padded
share of the crop and by the share of the box outside the image and give, per bin: faces, verdict errors (a camera
original called manipulated, or a fake called a camera original, among all faces of the bin), inconclusive share,
how often the verdict differs from the uncut face's, the mean absolute p_fake shift, and how often Face Mesh
confirms a face in the crop. Re-run it on every new model (the thresholds are named constants in face_checks.py).

Run: python bench/bench_border_cut.py [--detector ffd-mobilenetv2] [--per-class 120] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from pathlib import Path as _Path

sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))  # run as a script from any folder

CUTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45)
BORDERS = ("left", "right", "top", "bottom")
BINS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 1.01)


def cut_image(image, box, landmarks, border: str, c: float):
    """The image cut at ``border`` so that a share ``c`` of the box's extent lies beyond the edge, with box and
    landmarks moved into it; None when the cut would not leave the face's far side inside."""
    import numpy as np

    h, w = image.shape[:2]
    x0, y0, x1, y1 = box
    pts = None if landmarks is None else np.asarray(landmarks, dtype=np.float64).copy()
    if border == "left":
        e = int(round(x0 + c * (x1 - x0)))
        if e <= 0 or e >= x1:
            return None
        sub, dx, dy = image[:, e:], -e, 0
    elif border == "right":
        e = int(round(x1 - c * (x1 - x0)))
        if e >= w or e <= x0:
            return None
        sub, dx, dy = image[:, :e], 0, 0
    elif border == "top":
        e = int(round(y0 + c * (y1 - y0)))
        if e <= 0 or e >= y1:
            return None
        sub, dx, dy = image[e:], 0, -e
    else:
        e = int(round(y1 - c * (y1 - y0)))
        if e >= h or e <= y0:
            return None
        sub, dx, dy = image[:e], 0, 0
    if pts is not None:
        pts += (dx, dy)
    return np.ascontiguousarray(sub), (x0 + dx, y0 + dy, x1 + dx, y1 + dy), pts


def sample(data: _Path, per_class: int, seed: int) -> list[tuple[_Path, str, str]]:
    rows = list(csv.DictReader(open(data.parent / "index.csv", encoding="utf-8")))
    split = data.name
    rows = [r for r in rows if r["path"].startswith(split + "/") and (data.parent / r["path"]).is_file()]
    rng = random.Random(seed)
    out = []
    for label in ("real", "fake"):
        sel = [r for r in rows if r["label"] == label]
        rng.shuffle(sel)
        out += [(data.parent / r["path"], label, r["source"]) for r in sel[:per_class]]
    return out


def table(rows: list[dict], key: str) -> list[str]:
    lines = [
        f"| {key.replace('_', ' ')} | faces | verdict errors | inconclusive | verdict differs from uncut | "
        "mean abs p_fake shift | Face Mesh confirms |",
        "|---|---|---|---|---|---|---|",
    ]
    for lo, hi in zip(BINS[:-1], BINS[1:], strict=True):
        sel = [r for r in rows if lo <= r[key] < hi]
        if not sel:
            continue
        n = len(sel)
        err = sum(r["wrong"] for r in sel)
        inc = sum(r["verdict"] == "inconclusive" for r in sel)
        changed = sum(r["verdict"] != r["verdict_uncut"] for r in sel)
        shift = sum(abs(r["p_fake"] - r["p_fake_uncut"]) for r in sel) / n
        mesh = sum(bool(r["mesh"]) for r in sel)
        lines.append(
            f"| [{lo:.2f}, {min(hi, 1.0):.2f}) | {n} | {err} ({err / n:.1%}) | {inc / n:.1%} | "
            f"{changed / n:.1%} | {shift:.3f} | {mesh / n:.1%} |"
        )
    return lines


def report(rows: list[dict], what: str) -> None:
    import numpy as np

    uncut = [r for r in rows if r["border"] == "none"]
    print(f"{what}: {len(uncut)} faces ({sum(r['label'] == 'real' for r in uncut)} real), {len(rows)} crops\n")
    print("Uncut faces by padded share of their crop (the faces as the validation files hold them):\n")
    print("\n".join(table(uncut, "padded_fraction")))
    whole = {r["path"] for r in uncut if r["outside_fraction"] < 0.02}
    clean = [r for r in rows if r["path"] in whole]
    print(
        f"\nThe {len(whole)} faces whole in their file (under 2% of the box outside), cut, by share of the face "
        "box outside the image (the thresholds come from these two tables):\n"
    )
    print("\n".join(table(clean, "outside_fraction")))
    print("\nThe same crops by padded share of the crop:\n")
    print("\n".join(table(clean, "padded_fraction")))
    print("\nAll crops by share of the face box outside the image:\n")
    print("\n".join(table(rows, "outside_fraction")))
    print("\nUncut faces by share of the face box outside the image:\n")
    print("\n".join(table(uncut, "outside_fraction")))
    for key in ("padded_fraction", "outside_fraction"):
        q = np.quantile([r[key] for r in uncut], [0.5, 0.9, 0.95, 0.99])
        print(f"\n{key} of uncut faces: median {q[0]:.3f}, 90% {q[1]:.3f}, 95% {q[2]:.3f}, 99% {q[3]:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--detector", default="ffd-mobilenetv2")
    ap.add_argument("--weights-dir", action="append", default=None)
    ap.add_argument("--data", default=None, help="validation folder (default ../shared/data/val)")
    ap.add_argument("--per-class", type=int, default=120, help="images sampled per label (real, fake)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="write every row here")
    ap.add_argument("--rows", default=None, help="print the tables of the rows a previous run wrote with --json")
    args = ap.parse_args()
    if args.rows:
        report(json.loads(_Path(args.rows).read_text(encoding="utf-8")), f"rows of {args.rows}")
        return
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(args.threads)
    from forensics.evidence import load_evidence
    from forensics.faces import FaceOptions, detect_faces
    from forensics.faces.crop import aligned_crop
    from forensics.faces.whole_face import confirm_face, outside_fraction
    from forensics.paths import SHARED_DATA_DIR
    from forensics.pipeline import get_detector
    from forensics.verdicts import Verdict

    det = get_detector(args.detector, args.weights_dir)
    if det.calibration is None:
        raise SystemExit(f"{args.detector} has no calibration: verdict errors cannot be measured")
    data = _Path(args.data) if args.data else SHARED_DATA_DIR / "val"
    items = sample(data, args.per_class, args.seed)
    rows: list[dict] = []
    t0 = time.perf_counter()
    for n, (path, label, source) in enumerate(items):
        try:
            img = load_evidence(path).image
        except Exception as exc:  # noqa: BLE001 - an unreadable file is left out and named
            print(f"skip {path}: {exc}", file=sys.stderr)
            continue
        fs = detect_faces(img, FaceOptions(method="mtcnn"))
        if not fs.faces:
            continue
        face = max(fs.faces, key=lambda f: f.size)
        variants = [("none", 0.0, img, face.box, face.landmarks)]
        for border in BORDERS:
            for c in CUTS[1:]:
                cut = cut_image(img, face.box, face.landmarks, border, c)
                if cut is not None:
                    variants.append((border, c, *cut))
        crops, meta = [], []
        for border, c, im, box, pts in variants:
            crop, _, _, padded = aligned_crop(im, box, pts)
            crops.append(crop)
            meta.append((border, c, outside_fraction(box, im.shape[1], im.shape[0]), padded, confirm_face(crop)[0]))
        logits = det.predict(det.preprocess(crops)).double().cpu().numpy()
        p = det.p_fake(det.logits_to_proba(logits))
        verdicts = [det.calibration.assess(float(v)).verdict for v in p]
        for (border, c, outside, padded, mesh), pf, v in zip(meta, p, verdicts, strict=True):
            wrong = (label == "real" and v == Verdict.FAKE) or (label == "fake" and v == Verdict.REAL)
            rows.append(
                {
                    "path": str(path.relative_to(data.parent)),
                    "label": label,
                    "source": source,
                    "border": border,
                    "cut": c,
                    "outside_fraction": outside,
                    "padded_fraction": padded,
                    "p_fake": float(pf),
                    "verdict": v,
                    "wrong": bool(wrong),
                    "mesh": mesh,
                    "p_fake_uncut": float(p[0]),
                    "verdict_uncut": verdicts[0],
                }
            )
        if (n + 1) % 40 == 0:
            print(f"{n + 1}/{len(items)} images, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.json:
        _Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    report(
        rows,
        f"detector {args.detector} (weights sha256 {det.weights_sha256}), {data}, {time.perf_counter() - t0:.0f} s",
    )


if __name__ == "__main__":
    main()
