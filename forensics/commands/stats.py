"""``python -m forensics stats RESULTS``: statistics of a scan (tables on stdout, figures as HTML with --out)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

NAME = "stats"
HELP = "statistics of a scan results store: metrics, per-kind/per-source tables, region relevance, figures"


def add_arguments(p) -> None:
    p.add_argument("results", help="SQLite results store written by `scan`")
    p.add_argument("--detector", default=None, help="default: every detector in the store")
    p.add_argument("--out", default=None, help="folder for figures (HTML) and stats.json")
    p.add_argument("--json", action="store_true", help="print the statistics as JSON")
    p.add_argument("--bootstrap", type=int, default=500, help="bootstrap resamples for intervals")


def _fmt(m: dict) -> str:
    if m.get("value") is None:
        return "n/a"
    lo, hi = m["ci95"]
    return f"{m['value']:.3f} [{lo:.3f}, {hi:.3f}]"


def _entry(store, stats: dict, det: str, out: Path | None) -> dict:
    """One detector's part of the report (metrics, regions, embedding note); its figures written into ``out``."""
    from forensics.scan.stats import embedding_map

    entry: dict = {}
    m = stats["metrics"][det]
    if "error" in m:
        entry["metrics"] = {"unavailable": m["error"]}
    else:
        y, s = m.pop("curves")
        entry["metrics"] = m
        if out:
            from forensics.viz.curves import det_figure, roc_figure

            roc_figure({det: (y, s)}, f"ROC: {det}").write_html(out / f"roc_{det}.html")
            det_figure({det: (y, s)}, f"DET: {det}").write_html(out / f"det_{det}.html")
    for (d, ex), rows in stats["regions"].items():
        if d != det:
            continue
        entry.setdefault("regions", {})[ex] = rows
        if out:
            from forensics.viz.scan import mean_heatmaps_figure, region_stats_figure

            region_stats_figure(rows, f"Relevance per region: {det} / {ex}").write_html(
                out / f"regions_{det}_{ex}.html"
            )
            mean_heatmaps_figure(stats["mean_heatmaps"][(d, ex)], f"Mean {ex} heatmap: {det}").write_html(
                out / f"mean_heatmaps_{det}_{ex}.html"
            )
    if out:
        try:
            from forensics.viz.scan import embedding_figure

            embedding_figure(embedding_map(store, det)).write_html(out / f"tsne_{det}.html")
        except ValueError as exc:
            entry["embedding"] = str(exc)
    return entry


def _print_detector(det: str, entry: dict) -> None:
    m = entry["metrics"]
    print(f"\n== {det}")
    if "unavailable" in m:
        print(f"  metrics: {m['unavailable']}")
    else:
        o = m["overall"]
        print(f"  decision: {m['decision']}   n_real {o['n_real']}  n_fake {o['n_fake']}")
        for k in ("auc", "eer", "accuracy", "tpr_at_fpr_1pct", "tpr_at_fpr_5pct", "ece"):
            print(f"  {k:<16} {_fmt(o[k])}")
        print(f"  confusion: {m['confusion']}")
        print("  flagged as manipulated/generated, per source (real sources: false alarms):")
        for src, r in m["per_source"].items():
            print(
                f"    {src:<32} {r['flagged']:>5}/{r['n']:<5} {r['rate']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]"
            )
    for ex, rows in entry.get("regions", {}).items():
        print(f"  region relevance ({ex}):")
        for r in rows:
            print(
                f"    {r['group']:<10} {r['region']:<11} mean {r['mean_share']:.3f} "
                f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}] median {r['median_share']:.3f} n {r['n']}"
            )


def run(args) -> int:
    from forensics.errors import ForensicsError
    from forensics.scan.stats import store_statistics
    from forensics.scan.store import ScanStore

    if not Path(args.results).is_file():
        raise ForensicsError(f"{args.results} does not exist: run `python -m forensics scan DIR --out RESULTS` first")
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    report: dict = {}
    with ScanStore(args.results) as store:
        stats = store_statistics(
            store, detectors=[args.detector] if args.detector else None, n_boot=args.bootstrap, heatmaps=out is not None
        )
        report.update(counts=stats["counts"], options=stats["options"], models=stats["models"])
        for det in stats["metrics"]:
            report.setdefault("detectors", {})[det] = _entry(store, stats, det, out)
    if out:
        (out / "stats.json").write_text(json.dumps(report, indent=2, default=str))
    if args.json:
        json.dump(report, sys.stdout, indent=2, default=str)
        print()
        return 0
    c = report["counts"]
    print(f"{args.results}: {c.get('done', 0)} images done, {c.get('error', 0)} errors, {c.get('faces', 0)} faces")
    for det, entry in report.get("detectors", {}).items():
        _print_detector(det, entry)
    if out:
        print(f"\nfigures and stats.json in {out}")
    return 0
