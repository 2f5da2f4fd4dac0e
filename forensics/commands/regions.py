"""``python -m forensics regions PATH``: face regions and the share of an explanation falling in each, per face."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from forensics.commands._options import add_face_method

NAME = "regions"
HELP = "segment every face into regions and share a detector explanation out between them"


def add_arguments(p) -> None:
    p.add_argument("path", help="image file (never modified)")
    p.add_argument(
        "--segmenter", default=None, help="segmenter name (landmarks, grounded-sam; default: the registry's default)"
    )
    p.add_argument(
        "--explainer",
        default=None,
        help="explanation method (see forensics.explainers.list_explainers); 'none' = masks and areas only; "
        "default: the registry's default map (forensics.explainers.default_method()), measured best on "
        "localisation and faithfulness together",
    )
    p.add_argument("--detector", default=None, help="detector name (default: the shipped default when ready)")
    p.add_argument("--weights-dir", action="append", default=None, help="extra folder searched for weight files")
    add_face_method(p)
    p.add_argument(
        "--top-fraction",
        type=float,
        default=0.2,
        help="pixel share counts the top fraction of heatmap pixels (default 0.2)",
    )
    p.add_argument("--occlusion", action="store_true", help="add the blur-one-region probability change column")
    p.add_argument("--json", action="store_true", help="print the tables as JSON")
    p.add_argument("--out", default=None, help="folder for the overlay PNG and chart HTML per face")
    p.add_argument("--png-chart", action="store_true", help="also write the chart as PNG (kaleido; a few seconds)")


def _detector(args):
    from forensics.pipeline import resolve_detectors

    # a detector named on the command line runs even untrained (the table then notes it shows a random model)
    return resolve_detectors(
        [args.detector] if args.detector else None,
        allow_untrained=args.detector is not None,
        weights_dirs=args.weights_dir,
    )[0]


def _print_table(face_index: int, rm, table, det) -> None:
    print(
        f"face {face_index}: segmenter {rm.segmenter}"
        + (f", {table.method} on {det.name} (class {table.target_name})" if table is not None else "")
    )
    if table is None:
        total = float(rm.shape[0] * rm.shape[1])
        for r in rm.regions():
            mark = "≈" if rm.approximate.get(r) else " "
            print(f"  {mark} {r:<11} area {rm.masks[r].sum() / total:6.1%}")
    else:
        occ = any(r.occlusion_delta is not None for r in table.rows)
        head = f"    {'region':<11} {'share':>7} {'pixels':>7} {'area':>7} {'density':>8}"
        print(head + ("  blur Δp" if occ else ""))
        for r in table.present:
            mark = "≈" if r.approximate else " "
            dens = f"{r.density:8.2f}" if r.density is not None else f"{'-':>8}"
            line = f"  {mark} {r.region:<11} {r.share:7.1%} {r.pixel_share:7.1%} {r.area_share:7.1%} {dens}"
            if occ:
                line += f"  {r.occlusion_delta:+.3f}" if r.occlusion_delta is not None else "       -"
            print(line)
        if not det.ready:
            print("  note: untrained detector: the map shows a random model, not evidence")
    for r, reason in rm.absent.items():
        print(f"    absent {r}: {reason}")


def run(args) -> int:
    from forensics.evidence import load_evidence
    from forensics.explainers import default_method
    from forensics.faces import FaceOptions, detect_faces
    from forensics.pipeline import explain_face
    from forensics.segmentation import default_segmenter

    args.explainer = args.explainer or default_method()
    args.segmenter = args.segmenter or default_segmenter()
    evidence = load_evidence(args.path)
    faces = detect_faces(evidence.image, FaceOptions(method=args.face_method))
    det = None if args.explainer == "none" else _detector(args)
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for face in faces.faces:
        fx = explain_face(
            det,
            face.crop,
            [args.explainer] if det is not None else [],
            segmenter=args.segmenter,
            occlusion=args.occlusion,
            top_fraction=args.top_fraction,
            collect=False,
        )
        rm = fx.masks
        assert rm is not None  # collect=False: a segmenter that cannot run raised above
        table = next(iter(fx.tables.values()), None)
        problem = next(iter(fx.table_problems.values()), None)  # e.g. an all-zero Grad-CAM: others go on
        files = _write(out_dir, face.index, face.crop, rm, table, args.png_chart) if out_dir else {}
        results.append(
            {
                "index": face.index,
                "box": [float(v) for v in face.box],
                "segmentation": rm.to_dict(),
                "relevance": table.to_dict() if table is not None else None,
                "relevance_problem": problem,
                "files": files,
            }
        )
        if not args.json:
            _print_table(face.index, rm, table, det)
            if problem:
                print(f"    no relevance table: {problem}")
            for kind, f in files.items():
                print(f"    wrote {kind}: {f}")
    if args.json:
        doc = {
            "evidence": {"name": evidence.name, "sha256": evidence.sha256},
            "detector": det.info() if det is not None else None,
            "explainer": args.explainer,
            "segmenter": args.segmenter,
            "faces": results,
            "no_face_reason": faces.reason,
        }
        json.dump(doc, sys.stdout, indent=2)
        print()
    elif not faces.faces:
        print(f"no face analysed: {faces.reason}")
    return 0


def _write(out_dir: Path, index: int, crop, rm, table, png_chart: bool) -> dict[str, str]:
    from PIL import Image

    from forensics.viz.regions import mask_overlay, region_bar_chart

    files = {}
    png = out_dir / f"face{index}_regions.png"
    Image.fromarray(mask_overlay(crop, rm, include_background=True)).save(png)
    files["overlay"] = str(png)
    if table is not None:
        fig = region_bar_chart(table)
        html = out_dir / f"face{index}_regions.html"
        fig.write_html(html, include_plotlyjs=True, full_html=True)
        files["chart"] = str(html)
        if png_chart:
            cpng = out_dir / f"face{index}_chart.png"
            fig.write_image(cpng)
            files["chart_png"] = str(cpng)
    return files
