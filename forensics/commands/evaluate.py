"""``python -m forensics evaluate --detector NAME DATA_DIR [--normalise SIDE,QUALITY] [--out DIR]``.

Scores every labelled face of DATA_DIR (``real/<source>/``, ``fake/<kind>/<source>/``) with each detector, as the
files are and, with ``--normalise``, after re-sampling every image to one shorter side and JPEG quality (both are
reported: a large drop means the detector read the file, not the face). ``--floor TRAIN_DIR`` adds the floor:
a frozen ImageNet MobileNetV2 with logistic regression fitted on TRAIN_DIR's crops. Writes results.json,
scores.csv and ROC / DET / reliability figures (HTML; PNG with --png) into --out. The evaluation itself is
``forensics.evaluation.folder``.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

NAME = "evaluate"
HELP = "evaluate detectors on a labelled folder: AUC/EER/TPR@FPR/ECE with intervals, per kind and per source"


def add_arguments(p) -> None:
    p.add_argument("data_dir", help="folder laid out as real/<source>/... and fake/<kind>/<source>/...")
    p.add_argument(
        "--detector",
        action="append",
        default=None,
        help="detector name (repeatable); default: ffd-mobilenetv2 and the Meso-4 peer meso4-df",
    )
    p.add_argument("--weights-dir", action="append", default=None, help="extra folder searched for weight files")
    p.add_argument(
        "--normalise",
        default=None,
        metavar="SIDE,QUALITY",
        help="also evaluate after re-sampling to this shorter side and JPEG quality, e.g. 256,85",
    )
    p.add_argument(
        "--floor",
        default=None,
        metavar="TRAIN_DIR",
        help="add the floor: frozen ImageNet MobileNetV2 + logistic regression fitted on TRAIN_DIR",
    )
    p.add_argument("--out", default="runs/evaluation", help="output folder (default runs/evaluation)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the intervals")
    p.add_argument("--png", action="store_true", help="also write PNG figures (kaleido; slow)")
    p.add_argument(
        "--update-card",
        default=None,
        metavar="NAME",
        help="write the results into this manifest entry's model card (e.g. ffd-mobilenetv2)",
    )
    p.add_argument("--limit", type=int, default=0, help="evaluate only every k-th file so that at most N remain")
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="FIELD:NAME",
        help="leave these files out (source:NAME, kind:NAME or family:NAME; repeatable), e.g. to compare "
        "on the files an earlier evaluation had",
    )


def _parse_normalise(text: str | None) -> tuple[int, int] | None:
    from forensics.errors import ForensicsError
    from forensics.training.crops import check_resampling

    if not text:
        return None
    try:
        side, quality = (int(v) for v in text.split(","))
    except ValueError:
        raise ForensicsError(f"--normalise wants SIDE,QUALITY like 256,85, got {text!r}") from None
    return check_resampling(side, quality, "--normalise")


def _figures(results: dict[str, Any], out: Path, png: bool) -> list[str]:
    from forensics.viz.curves import det_figure, reliability_figure, roc_figure

    written = []
    for cond, (y, scores) in results["_curves"].items():
        tag = "asis" if cond == "as-is" else "normalised"
        curves = {name: (y, s) for name, s in scores.items()}
        for kind, fn in (("roc", roc_figure), ("det", det_figure), ("reliability", reliability_figure)):
            fig = fn(curves, title=f"{kind.upper() if kind != 'reliability' else 'Reliability'} ({cond})")
            path = out / f"{kind}_{tag}.html"
            fig.write_html(str(path), include_plotlyjs="cdn")
            written.append(path.name)
            if png:
                fig.write_image(str(out / f"{kind}_{tag}.png"))
                written.append(f"{kind}_{tag}.png")
    return written


def _print_summary(results: dict[str, Any]) -> None:
    for cond, block in results["conditions"].items():
        print(f"== {cond}: {block['n_faces']} faces ==")
        for name, m in block["models"].items():
            o = m["overall"]

            def f(key: str, o=o) -> str:
                v = o[key]["value"]
                ci = o[key]["ci95"]
                return f"{v:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if v is not None else "n/a"

            print(
                f"{name}: AUC {f('auc')}  EER {f('eer')}  TPR@1%FPR {f('tpr_at_fpr_1pct')}  "
                f"TPR@5%FPR {f('tpr_at_fpr_5pct')}  ECE {f('ece')}  acc {f('accuracy')} (thr {o['threshold']:.3f})"
            )
            print(
                "   per kind AUC vs all reals / same-family reals: "
                + ", ".join(
                    f"{k} {v['auc_vs_all_real']:.3f}/" + (f"{v['paired']['auc']:.3f}" if v.get("paired") else "n/a")
                    for k, v in m["per_kind"].items()
                )
            )
            print(
                "   real flagged: "
                + ", ".join(
                    f"{k} {v['flagged']}/{v['n']} ({v['rate']:.1%})" for k, v in m["real_flagged_per_source"].items()
                )
            )
            for other, per in m.get("auc_difference_per_kind", {}).items():
                print(
                    f"   AUC minus {other} (paired 95% interval): "
                    + ", ".join(
                        f"{k} {v['difference']:+.3f} [{v['ci95'][0]:+.3f}, {v['ci95'][1]:+.3f}]" for k, v in per.items()
                    )
                )
            if "cross_fitted" in m:
                cf = m["cross_fitted"]
                print(
                    f"   cross-fitted: FPR {cf['false_positive_rate']:.3f} FNR {cf['false_negative_rate']:.3f} "
                    f"inconclusive real {cf['inconclusive_real']:.3f} fake {cf['inconclusive_fake']:.3f}"
                )


def run(args) -> int:
    from forensics.paths import PROJECT_ROOT

    normalise = _parse_normalise(args.normalise)
    names = args.detector or ["ffd-mobilenetv2", "meso4-df"]
    out = Path(args.out)
    if not out.is_absolute():
        out = PROJECT_ROOT / out
    out.mkdir(parents=True, exist_ok=True)
    from forensics.evaluation.folder import evaluate_folder

    results = evaluate_folder(
        args.data_dir,
        names,
        normalise=normalise,
        floor=args.floor,
        weights_dirs=args.weights_dir,
        n_boot=args.bootstrap,
        limit=args.limit,
        exclude=args.exclude,
    )
    results["figures"] = _figures(results, out, args.png)
    rows = results.pop("rows")
    results.pop("_curves")
    with open(out / "scores.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=float), encoding="utf-8")
    _print_summary(results)
    if args.update_card:
        from forensics.training.export import update_card_with_evaluation

        # argv[1:]: global options such as --threads come before the subcommand
        update_card_with_evaluation(args.update_card, results, command=" ".join(["python -m forensics", *sys.argv[1:]]))
    print(f"wrote {out}/results.json, scores.csv, {len(results['figures'])} figures")
    return 0
