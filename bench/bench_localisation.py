"""Localisation, faithfulness and sanity checks of every explainer on the ciplab edits; writes measured.json.

Usage (one thread, under nice: the machine is shared with a training):
    FORENSICS_THREADS=1 OMP_WAIT_POLICY=PASSIVE nice -n 15 .venv/bin/python bench/bench_localisation.py \\
        --splits val,train --cache out/localisation.jsonl [--faithfulness-splits val] [--sanity-faces 8]

Per face (the largest face of each ``../shared/data/<split>/fake/edit/ciplab_photoshop`` image): the default
detector's p(fake), the landmark regions, every applicable method's map, its pointing game and relevance share on
the edited parts (``forensics.explainers.localisation``) and, on ``--faithfulness-splits``, its deletion / insertion
AUCs. Per-face results go to ``--cache`` (JSON lines), so a run can be resumed or extended to another split. Then
the cascading randomisation check (``forensics.explainers.sanity``) on ``--sanity-faces`` val edits for the default
detector and the Meso-4 peer when its weights are present. Prints markdown tables; writes ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Score-CAM is left out by default: one forward pass per channel of MobileNetV2's last layer (1280) took 4-5 minutes
# per face here under contention (25 val faces: about 2 hours). lrp-captum does not apply to residual networks.
METHODS = (
    "gradcam",
    "gradcam++",
    "hirescam",
    "layercam",
    "eigencam",
    "saliency",
    "integrated-gradients",
    "lrp-epsilon",
    "lrp-epsilon-plus-flat",
    "lrp-epsilon-gamma-box",
    "lrp-hse-mix",
    "lrp-captum",
)
EDITS = Path("fake") / "edit" / "ciplab_photoshop"


def _face_crop(path: Path):
    import numpy as np
    from PIL import Image

    from forensics.faces import detect_faces

    with Image.open(path) as im:
        img = np.asarray(im.convert("RGB"))
    faces = detect_faces(img).faces
    if not faces:
        return None
    return max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1])).crop


def measure_face(det, path: Path, split: str, methods: list[str], faith: bool, params: dict) -> dict:
    from forensics.errors import NotApplicableError
    from forensics.explainers import explain, faithfulness
    from forensics.explainers.localisation import ciplab_edited_parts, localise
    from forensics.segmentation import segment

    rec = {"file": path.name, "split": split, "edited": list(ciplab_edited_parts(path.name)), "methods": {}}
    crop = _face_crop(path)
    if crop is None:
        rec["skipped"] = "no face found"
        return rec
    proba = det.predict_proba(det.preprocess([crop]))[0]
    rec["p_fake"] = float(1.0 - proba[0])
    regions = segment(crop)
    rec["area"] = {
        p: float(regions.masks[p].mean()) for p in ("left eye", "right eye", "nose", "mouth") if p in regions.masks
    }
    for m in methods:
        t0 = time.perf_counter()
        hm = explain(det, crop, m, **params.get(m, {}))
        entry = {"ms": (time.perf_counter() - t0) * 1000}
        try:
            entry.update(localise(hm, regions, rec["edited"]).to_dict())
        except NotApplicableError as exc:
            entry["skipped"] = str(exc)
        if faith:
            f = faithfulness(det, crop, hm, road=False)
            entry.update({k: f[k] for k in ("deletion_auc", "insertion_auc", "difference")})
        rec["methods"][m] = entry
    return rec


def summarise(records: list[dict], methods: list[str]) -> dict:
    import numpy as np

    from forensics.explainers.localisation import FaceLocalisation, summarise

    fields = set(FaceLocalisation.__dataclass_fields__)
    out = {}
    for m in methods:
        rows = [(r, r["methods"][m]) for r in records if m in r.get("methods", {}) and "hit" in r["methods"][m]]
        faces = [
            FaceLocalisation(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in e.items() if k in fields})
            for _, e in rows
        ]
        if not faces:
            continue
        s = summarise(faces)
        s["splits"] = {
            sp: summarise([f for (r, _), f in zip(rows, faces, strict=True) if r["split"] == sp])
            for sp in sorted({r["split"] for r, _ in rows})
        }
        s["detected"] = summarise([f for (r, _), f in zip(rows, faces, strict=True) if r.get("p_fake", 0) >= 0.5])
        faith = [e for _, e in rows if "difference" in e]
        if faith:
            s["faithfulness"] = {
                "faces": len(faith),
                **{k: float(np.mean([e[k] for e in faith])) for k in ("deletion_auc", "insertion_auc", "difference")},
            }
        s["ms_median"] = float(np.median([e["ms"] for _, e in rows]))
        out[m] = s
    return out


def _pct(v) -> str:
    return "-" if v is None else f"{v:.0%}"


def print_tables(loc: dict, sanity: dict) -> None:
    print(
        "\n| method | faces | pointing [95% CI] | chance | p | informative: faces, pointing / chance | detected "
        "(p_fake >= 0.5): faces, pointing / chance | share / area | ins - del AUC | ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m, s in sorted(loc.items(), key=lambda kv: -kv[1]["pointing"]):
        ci = s["pointing_ci"]
        inf, det = s["informative"], s["detected"]
        f = s.get("faithfulness")
        print(
            f"| {m} | {s['faces']} | {_pct(s['pointing'])} [{_pct(ci[0])}, {_pct(ci[1])}] | {_pct(s['chance'])} | "
            f"{s['p_value']:.3f} | {inf['faces']}, {_pct(inf['pointing'])} / {_pct(inf['chance'])} | "
            f"{det['faces']}, {_pct(det['pointing'])} / {_pct(det['chance'])} | "
            f"{_pct(s['share'])} / {_pct(s['area_share'])} | "
            f"{'-' if not f else format(f['difference'], '+.3f')} | {s['ms_median']:.0f} |"
        )
    for name, res in sanity.items():
        print(
            f"\nSanity ({name}, {res['faces']} faces, {res['stages']} stages over {res['layers']} layers): "
            f"{res['rule']}"
        )
        print(
            "| method | passed | median Spearman after: "
            + " | ".join(f"{c['randomised_fraction']:.0%}" for c in next(iter(res["methods"].values()))["curve"])
            + " |"
        )
        print("|---|---|" + "---|" * len(next(iter(res["methods"].values()))["curve"]))
        for m, r in res["methods"].items():
            print(
                f"| {m} | {'yes' if r['passed'] else 'NO'} | "
                + " | ".join(f"{c['median_spearman']:+.2f}" for c in r["curve"])
                + " |"
            )
        for m, why in res["not_applicable"].items():
            print(f"n/a {m}: {why[:100]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="shared data folder (default ../shared/data)")
    ap.add_argument("--splits", default="val,train")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--detector", default="ffd-mobilenetv2")
    ap.add_argument(
        "--cache",
        default="out/localisation.jsonl",
        help="per-face results (JSON lines), resumable; comma-separated: all are read, the first written",
    )
    ap.add_argument("--sanity-cache", default=None, help="JSON file: reuse a finished randomisation check / keep it")
    ap.add_argument("--faithfulness-splits", default="val", help="splits on which faithfulness is measured too")
    ap.add_argument("--slow-splits", default="val,train", help="splits on which Score-CAM and IG run (slow methods)")
    ap.add_argument("--sanity-faces", type=int, default=8, help="val edits for the randomisation check (0 = skip)")
    ap.add_argument("--sanity-stages", type=int, default=6)
    ap.add_argument("--sanity-ig-steps", type=int, default=16, help="integrated-gradients steps in the sanity check")
    ap.add_argument("--limit", type=int, default=None, help="at most this many images per split")
    ap.add_argument(
        "--summary-only",
        action="store_true",
        help="measure nothing new: summarise the faces already in --cache (e.g. when time ran out)",
    )
    ap.add_argument(
        "--conditions",
        default="one torch thread under nice, other work sharing the 2 cores",
        help="how the machine was loaded while measuring (goes into measured.json)",
    )
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parent.parent / "forensics" / "explainers" / "measured.json")
    )
    args = ap.parse_args()

    import torch

    from forensics.detectors import PEER_DETECTORS, create_detector
    from forensics.explainers import applicable
    from forensics.explainers.sanity import cascading_randomisation
    from forensics.paths import PEER_WEIGHTS_DIR, SHARED_DATA_DIR

    torch.set_num_threads(int(os.environ.get("FORENSICS_THREADS", "1")))
    data = Path(args.data) if args.data else SHARED_DATA_DIR
    det = create_detector(args.detector)
    if not det.ready:
        print(f"{args.detector} has no verified trained weights: nothing to measure", file=sys.stderr)
        return 4
    methods = [m for m in args.methods.split(",") if m and applicable(det, m)[0]]
    skipped = [m for m in args.methods.split(",") if m and m not in methods]
    params = {"integrated-gradients": {"steps": 32}}
    slow = {"scorecam", "integrated-gradients"}
    print(
        f"detector {det.name} weights {det.weights_sha256[:16]}..., threads {torch.get_num_threads()}, methods "
        f"{', '.join(methods)}; not applicable: {', '.join(skipped) or 'none'}"
    )
    caches = [Path(c) for c in args.cache.split(",") if c]
    cache = caches[0]
    cache.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    for c in caches:
        for line in c.read_text().splitlines() if c.is_file() else []:
            r = json.loads(line)
            if r.get("weights_sha256") == det.weights_sha256:
                done[(r["split"], r["file"])] = r
    t_start = time.perf_counter()
    for split in [s for s in args.splits.split(",") if s]:
        files = sorted((data / split / EDITS).glob("*.jpg"))[: args.limit]
        use = [m for m in methods if m not in slow or split in args.slow_splits.split(",")]
        for i, path in enumerate(files):
            if (split, path.name) in done or args.summary_only:
                continue
            t0 = time.perf_counter()
            rec = measure_face(det, path, split, use, split in args.faithfulness_splits.split(","), params)
            rec["weights_sha256"] = det.weights_sha256
            done[(split, path.name)] = rec
            with cache.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(
                f"{split} {i + 1}/{len(files)} {path.name} p_fake {rec.get('p_fake', float('nan')):.3f} "
                f"{time.perf_counter() - t0:.1f} s",
                flush=True,
            )
    records = [r for r in done.values() if r["split"] in args.splits.split(",")]
    loc = summarise(records, methods)
    print(f"localisation: {len(records)} faces, {time.perf_counter() - t_start:.0f} s")

    sanity = {}
    sanity_cache = Path(args.sanity_cache) if args.sanity_cache else None
    if sanity_cache is not None and sanity_cache.is_file():
        sanity = json.loads(sanity_cache.read_text())
        if sanity.get(det.name, {}).get("weights_sha256") != det.weights_sha256:
            sanity = {}
    dets = [det] + [
        p for p in (create_detector(n, weights_dirs=[PEER_WEIGHTS_DIR]) for n in PEER_DETECTORS) if p.ready
    ]  # the Meso-4 peers whose weights are present
    todo = [d for d in dets if sanity.get(d.name, {}).get("weights_sha256") != d.weights_sha256]
    if args.sanity_faces > 0 and todo and not args.summary_only:
        crops = [
            c
            for c in (_face_crop(p) for p in sorted((data / "val" / EDITS).glob("*.jpg"))[: args.sanity_faces])
            if c is not None
        ]
        for d in todo:
            t0 = time.perf_counter()
            every = [m for m in args.methods.split(",") if m]  # Meso-4 is a plain CNN: lrp-captum applies there
            sanity[d.name] = cascading_randomisation(
                d,
                crops,
                every,
                stages=args.sanity_stages,
                params={"integrated-gradients": {"steps": args.sanity_ig_steps}},
                progress=lambda s, n=d.name: print(f"  {n} {s}", flush=True),
            )
            print(f"sanity {d.name}: {time.perf_counter() - t0:.0f} s")
        if sanity_cache is not None:
            sanity_cache.write_text(json.dumps(sanity))

    doc = {
        "schema": "forensics.explainer-measurements/1",
        "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "command": "bench/bench_localisation.py " + " ".join(sys.argv[1:]),
        "conditions": args.conditions,
        "data": "ciplab_photoshop edits of ../shared/data (" + args.splits + "); parts from the 4-digit name mask "
        "(left eye, right eye, nose, mouth; image sides); regions: landmark segmenter",
        "detectors": {},
    }
    doc["detectors"][det.name] = {
        "weights_sha256": det.weights_sha256,
        "localisation": {"segmenter": "landmarks", "methods": loc},
    }
    for name, res in sanity.items():
        entry = doc["detectors"].setdefault(name, {"weights_sha256": res["weights_sha256"]})
        for r in res["methods"].values():
            for c in r["curve"]:
                c["spearman"] = [None if v is None else round(v, 4) for v in c["spearman"]]
        entry["sanity"] = res
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print_tables(loc, sanity)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
