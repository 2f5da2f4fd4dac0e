"""``python -m forensics explain PATH --methods gradcam,lrp-epsilon --out DIR``.

For every face: one PNG with the crop and an overlay per method side by side, and one JSON with each map's
summary, its faithfulness (deletion / insertion AUCs, ROAD), what was measured about the method on this detector
(``measured``: localisation on edits with known parts, the randomisation sanity check, and whether on these weights)
and the pairwise agreement of the maps. Over a folder,
``summary.json`` holds the means with 95% t-intervals.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from forensics.commands._options import add_face_method

NAME = "explain"
HELP = "explain a detector's scores per face with several methods; overlays, agreement and faithfulness"


def add_arguments(p) -> None:
    p.add_argument("path", help="image file or folder of images (never modified)")
    p.add_argument(
        "--methods",
        default=None,
        help="comma-separated explanation methods (see forensics.explainers.list_explainers()); default: the "
        "registry's default map and default LRP (forensics.explainers.default_methods())",
    )
    p.add_argument("--out", required=True, help="output folder for PNG overlays and JSON metrics")
    p.add_argument("--detector", default=None, help="detector name; default: the first ready default detector")
    p.add_argument("--weights-dir", action="append", default=None, help="extra folder searched for weight files")
    add_face_method(p)
    p.add_argument(
        "--allow-untrained",
        action="store_true",
        help="explain an untrained detector (labelled as such: says nothing about the evidence)",
    )
    p.add_argument("--steps", type=int, default=16, help="steps of the deletion / insertion curves")
    p.add_argument("--road-percentiles", default="20,50,80", help="ROAD percentiles; empty string = skip ROAD")
    p.add_argument("--max-images", type=int, default=None, help="process at most this many images of a folder")


def _images(path: Path, limit: int | None) -> list[Path]:
    from forensics.evidence import IMAGE_SUFFIXES

    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        return files[:limit] if limit else files
    return [path]


def _choose_detector(args) -> Any:
    from forensics.pipeline import resolve_detectors

    # with --allow-untrained and no ready detector, a random MobileNetV2 shows what the maps of a random model are
    return resolve_detectors(
        [args.detector] if args.detector else None,
        allow_untrained=args.allow_untrained,
        weights_dirs=args.weights_dir,
        untrained_fallback="mobilenetv2",
    )[0]


def _write_png(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(rgb).save(path, format="PNG")


def _face_record(
    det: Any, crop: np.ndarray, methods: list[str], *, steps: int, road_percentiles: tuple[int, ...]
) -> tuple[dict[str, Any], list[Any]]:
    """Explain one crop with every method (maps, faithfulness, agreement: ``explain_face``); returns (JSON-ready
    record, list of Heatmaps)."""
    from forensics.explainers.measured import method_note
    from forensics.pipeline import explain_face

    fx = explain_face(det, crop, methods, faithfulness=True, steps=steps, road_percentiles=road_percentiles)
    record: dict[str, Any] = {"maps": {}, "not_applicable": dict(fx.not_applicable), "agreement": {}}
    for m, hm in fx.maps.items():
        entry = hm.to_dict()
        entry["measured"] = method_note(det.name, det.weights_sha256, m)  # localisation on known edits, sanity check
        entry["faithfulness"] = fx.faithfulness[m]
        record["maps"][m] = entry
        for earlier, ag in fx.agreement[m].items():
            record["agreement"][f"{earlier}|{m}"] = ag
    return record, list(fx.maps.values())


def _summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    from forensics.evaluation import mean_ci

    per_method: dict[str, dict[str, list[float]]] = {}
    per_pair: dict[str, dict[str, list[float]]] = {}
    for rec in records:
        for m, e in rec["maps"].items():
            f = e["faithfulness"]
            if "not_computed" in f:
                continue
            d = per_method.setdefault(m, {})
            for key in ("deletion_auc", "insertion_auc", "difference"):
                d.setdefault(key, []).append(f[key])
            if "road" in f:
                d.setdefault("road_combined", []).append(f["road"]["combined"])
            d.setdefault("elapsed_ms", []).append(e["elapsed_ms"])
        for pair, ag in rec["agreement"].items():
            d = per_pair.setdefault(pair, {})
            d.setdefault("spearman", []).append(ag["spearman"])
            for k, v in ag["iou"].items():
                d.setdefault(f"iou_top{k}", []).append(v)
    return {
        "faces": len(records),
        "methods": {m: {k: mean_ci(v) for k, v in d.items()} for m, d in per_method.items()},
        "agreement": {p: {k: mean_ci(v) for k, v in d.items()} for p, d in per_pair.items()},
    }


def _write_summary(out: Path, summary: dict[str, Any], det: Any, images: list[Path], errors: dict[str, str]) -> None:
    """``summary.json`` of a folder and its means with intervals on stdout."""
    summary.update({"detector": det.name, "untrained": not det.ready, "images": len(images), "errors": errors})
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    for m, d in summary["methods"].items():
        s = d["difference"]
        ci = f" [{s['ci_low']:+.3f}, {s['ci_high']:+.3f}]" if s["ci_low"] is not None else ""
        print(f"{m}: mean insertion-deletion AUC {s['mean']:+.3f}{ci} over {s['n']} faces")
    for p, d in summary["agreement"].items():
        s = d["spearman"]
        if s["mean"] is not None:
            ci = f" [{s['ci_low']:+.3f}, {s['ci_high']:+.3f}]" if s["ci_low"] is not None else ""
            print(f"{p}: mean Spearman {s['mean']:+.3f}{ci}")


def run(args) -> int:
    from forensics.errors import BadImageError, UnknownComponentError
    from forensics.evidence import load_evidence
    from forensics.explainers import EXPLAINERS, default_methods, list_explainers
    from forensics.faces import FaceOptions, detect_faces
    from forensics.viz.overlay import colorize_signed, overlay, side_by_side

    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else list(default_methods())
    known = list_explainers()
    bad = [m for m in methods if m not in EXPLAINERS]  # a former name resolves, with a warning
    if not methods or bad:
        raise UnknownComponentError(f"unknown explanation method(s) {bad or '(none given)'}; known: {', '.join(known)}")
    if args.steps < 1:
        print("error: --steps must be at least 1", file=sys.stderr)
        return 2
    try:
        road = tuple(int(p) for p in args.road_percentiles.split(",") if p.strip())
    except ValueError:
        print(f"error: --road-percentiles must be integers, got {args.road_percentiles!r}", file=sys.stderr)
        return 2
    src = Path(args.path)
    if not src.exists():
        raise BadImageError(f"{src} does not exist")
    images = _images(src, args.max_images)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    det = _choose_detector(args)
    label = "" if det.ready else "  [UNTRAINED detector: maps describe a random model, not the evidence]"
    print(f"detector {det.name} ({det.config.architecture}){label}")
    records: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for img_path in images:
        try:
            ev = load_evidence(img_path)
        except BadImageError as exc:
            if not src.is_dir():
                raise
            errors[img_path.name] = str(exc)
            print(f"skipped {img_path.name}: {exc}", file=sys.stderr)
            continue
        faces = detect_faces(ev.image, FaceOptions(method=args.face_method))
        if not faces.faces:
            print(f"{img_path.name}: no face analysed: {faces.reason}")
        for face in faces.faces:
            rec, maps = _face_record(det, face.crop, methods, steps=args.steps, road_percentiles=road)
            rec.update(
                {
                    "image": str(img_path.name),
                    "sha256": ev.sha256,
                    "face_index": face.index,
                    "box": [float(v) for v in face.box],
                    "face_confidence": float(face.confidence),
                    "face_method": faces.method,
                    "detector": det.info(),
                    "untrained": not det.ready,
                }
            )
            stem = f"{img_path.stem}_{ev.sha256[:8]}_face{face.index}"
            tiles = [face.crop] + [overlay(face.crop, h.heatmap, alpha=0.5) for h in maps]
            tiles += [colorize_signed(h.raw) for h in maps]
            names = (
                ["crop"] + [f"{h.method} p={h.probability:.2f}" for h in maps] + [f"{h.method} signed" for h in maps]
            )
            _write_png(out / f"{stem}.png", side_by_side(tiles, names))
            (out / f"{stem}.json").write_text(json.dumps(rec, indent=2))
            records.append(rec)
            line = ", ".join(
                f"{m}: ins-del "
                + (
                    f"{e['faithfulness']['difference']:+.3f}"
                    if "difference" in e["faithfulness"]
                    else f"not computed ({e['faithfulness']['not_computed']})"
                )
                + (" [FAILED the randomisation sanity check]" if e["measured"]["sanity_passed"] is False else "")
                for m, e in rec["maps"].items()
            )
            na = "; ".join(f"{m} n/a ({why})" for m, why in rec["not_applicable"].items())
            print(f"{img_path.name} face {face.index}: {line}{'; ' + na if na else ''}")
    if src.is_dir():
        _write_summary(out, _summary(records), det, images, errors)
        if images and len(errors) == len(images):
            raise BadImageError(f"none of the {len(images)} images in {src} could be read")
    return 0
