"""Does the blend artefact survive a re-share? Self-blended fakes made at the photo's own resolution, scored by a
detector as the files are and after the whole photo is re-sampled to a shorter side and re-encoded as JPEG.

For each camera original of a labelled folder (``real/<source>/...``), the largest face is found, a self-blended
image (Shiohara & Yamasaki 2022: the face blended with a perturbed copy of itself inside a soft mask) or a part
composite (one eye, both eyes, the nose or the mouth) is made in a square around the face at the photo's native
resolution and pasted back. The original and the blended photo then go through the same chain (lossless as-is, or
re-sampled to SIDE px / JPEG Q) and through the analysis pipeline's face crop and detector. If the blended photos
score like their originals after the chain (AUC near 0.5), no lever that teaches blending boundaries can help with
live swaps shared at that resolution.

    FORENSICS_THREADS=2 OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/bench_blend_survival.py --per-source 25
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _png(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def blended_photo(img: np.ndarray, rng: np.random.Generator, part: str | None) -> np.ndarray | None:
    """The photo with its largest face self-blended (or one part composited) at native resolution; None when no
    face with landmarks is found."""
    from forensics.faces import FaceOptions, detect_faces
    from forensics.training.blending import self_blend

    fs = detect_faces(img, FaceOptions(method="mtcnn"))
    faces = [f for f in fs.faces if f.landmarks is not None]
    if not faces:
        return None
    face = max(faces, key=lambda f: f.size)
    x0, y0, x1, y1 = face.box
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, face.size
    h, w = img.shape[:2]
    a, b = int(max(0, cx - half)), int(max(0, cy - half))
    c, d = int(min(w, cx + half)), int(min(h, cy + half))
    region = np.ascontiguousarray(img[b:d, a:c])
    lm = np.asarray(face.landmarks, np.float64) - (a, b)
    out, _mask = self_blend(region, lm, rng, part=part)
    res = img.copy()
    res[b:d, a:c] = out
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "val"))
    ap.add_argument("--detector", default="ffd-mobilenetv2")
    ap.add_argument("--per-source", type=int, default=25, help="camera originals per real source at most")
    ap.add_argument("--side", type=int, default=320)
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from forensics.detectors import create_detector
    from forensics.evaluation import auc, bootstrap_ci
    from forensics.evidence import load_evidence
    from forensics.training.crops import CropSettings, face_crop_for_bytes, normalise_bytes
    from forensics.training.data import list_samples

    det = create_detector(args.detector)
    cal = det.calibration
    lo, hi = cal.band
    rng = np.random.default_rng(args.seed)
    reals = [s for s in list_samples(args.data) if s.label == "real"]
    by_src: dict[str, list] = {}
    for s in reals:
        by_src.setdefault(s.source, []).append(s)
    chosen = []
    for src in sorted(by_src):
        items = by_src[src]
        idx = rng.permutation(len(items))[: args.per_source]
        chosen += [items[i] for i in sorted(idx)]
    settings = CropSettings(method="auto")
    conditions = {"as-is": None, f"{args.side}px-q{args.quality}": (args.side, args.quality)}
    kinds = ("original", "self-blend", "part")
    scores: dict[tuple[str, str], list[float]] = {(k, c): [] for k in kinds for c in conditions}
    kept = 0
    for s in chosen:
        img = load_evidence(Path(s.path).read_bytes(), name=Path(s.path).name).image
        sbi = blended_photo(img, rng, None)
        part = blended_photo(img, rng, str(rng.choice(["left eye", "right eye", "eyes", "nose", "mouth"])))
        if sbi is None or part is None:
            continue
        row = {}
        try:
            for kind, pic in zip(kinds, (img, sbi, part), strict=True):
                data = _png(pic)
                for cname, cond in conditions.items():
                    b = data if cond is None else normalise_bytes(data, cond[0], cond[1])
                    crop = face_crop_for_bytes(b, settings, use_cache=False).crop
                    row[(kind, cname)] = crop
        except Exception as exc:  # a face lost after re-sampling: drop the photo from every cell alike
            print(f"skip {s.rel}: {exc}", file=sys.stderr)
            continue
        keys = list(row)
        p = det.p_fake(det.predict_proba(det.preprocess([row[k] for k in keys])))
        for k, v in zip(keys, p, strict=True):
            scores[k].append(float(v))
        kept += 1
    print(
        f"detector {det.name} weights {det.weights_sha256[:12] if det.weights_sha256 else '?'}; band [{lo:.3f}, "
        f"{hi:.3f}); {kept} camera originals from {len(by_src)} sources, one self-blend and one part composite each"
    )
    print(
        "| condition | fakes | AUC vs their originals [95% CI] | mean p_fake (originals / fakes) | fakes called "
        "manipulated | fakes below the band |"
    )
    print("|---|---|---|---|---|---|")
    for cname in conditions:
        orig = np.array(scores[("original", cname)])
        for kind in kinds[1:]:
            fake = np.array(scores[(kind, cname)])
            y = np.r_[np.zeros(len(orig), bool), np.ones(len(fake), bool)]
            pp = np.r_[orig, fake]
            a, alo, ahi = bootstrap_ci(auc, y, pp, n_boot=500)
            print(
                f"| {cname} | {kind} | {a:.3f} [{alo:.3f}, {ahi:.3f}] | {orig.mean():.3f} / {fake.mean():.3f} | "
                f"{(fake >= hi).mean():.0%} | {(fake < lo).mean():.0%} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
