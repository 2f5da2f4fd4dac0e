"""Dataset scans: a folder scan with progress, its metrics, charts, problem faces and feature map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from forensics.verdicts import Verdict
from ui import lib
from ui.common import call, plain


def default_scan_folder() -> str:
    from forensics.paths import SHARED_DATA_DIR

    val = SHARED_DATA_DIR / "val"
    return str(val) if val.is_dir() else ""


def run_scan(
    folder: str, store: str, opts, *, limit: int | None, explainer: str | None, dask: str | None = None
) -> None:
    """Scan with a live progress bar; errors are shown, never raised."""
    import time

    bar = st.progress(0.0, text="Listing images, loading the detectors")
    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        rate = done / max(time.perf_counter() - t0, 1e-6)
        left = f", about {(total - done) / rate:.0f} s left" if 0 < done < total else ""
        bar.progress(done / total if total else 1.0, text=f"{done} / {total} images{left}")

    summary = call(
        lib.scan,
        folder,
        store,
        opts.detectors,
        face_method=opts.face_method,
        explainer=explainer,
        segmenter=lib.default_segmenter() if explainer else None,
        limit=limit,
        allow_untrained=opts.allow_untrained,
        progress=progress,
        dask=dask,
        stop=False,
    )
    if summary is not None:
        bar.progress(1.0, text="done")
        st.success(
            f"{summary.done} image(s) scanned, {summary.skipped_already_done} already in the store "
            f"({summary.changed} changed since the last scan, re-analysed), "
            f"{summary.errors} unreadable, {summary.duplicates} duplicate(s); {summary.faces} face(s) in "
            f"{summary.seconds:.1f} s ({summary.faces_per_second:.1f} faces/s)."
        )


METRIC_NAMES = {
    "auc": "AUC",
    "eer": "equal error rate",
    "accuracy": "accuracy",
    "tpr_at_fpr_5pct": "detection rate at 5 % false alarms",
    "ece": "calibration error (ECE)",
}


def confusion_rows(c: dict[str, int]) -> list[dict[str, Any]]:
    """The confusion counts as a 2 x 3 table: true class by what the detector said."""
    return [
        {
            "true class": cls,
            f"called {Verdict.REAL}": c[f"{cls}_called_real"],
            f"called {Verdict.FAKE}": c[f"{cls}_called_fake"],
            str(Verdict.INCONCLUSIVE): c[f"{cls}_inconclusive"],
            str(Verdict.NONE): c.get(f"{cls}_no_verdict", 0),
        }
        for cls in ("real", "fake")
    ]


def det_has_points(curves: dict[str, Any]) -> bool:
    """Whether any DET curve has a point with both error rates strictly between 0 and 1 (else the plot is empty)."""
    import numpy as np

    from forensics.evaluation import det_curve

    for y, s in curves.values():
        fpr, fnr, _ = det_curve(y, s)
        if np.any((fpr > 0) & (fpr < 1) & (fnr > 0) & (fnr < 1)):
            return True
    return False


def scan_view(stats: dict[str, Any]) -> None:
    """Counts, metric table with intervals, ROC/DET, per-kind and per-source rates, region statistics."""
    from forensics.viz.curves import det_figure, roc_figure
    from forensics.viz.scan import mean_heatmaps_figure, rate_table_figure, region_stats_figure

    counts = stats["counts"]
    cols = st.columns(4)
    cols[0].metric("images done", counts.get("done", 0))
    cols[1].metric("unreadable", counts.get("error", 0))
    cols[2].metric("faces", counts.get("faces", 0))
    cols[3].metric("detectors", len(stats["metrics"]))
    st.caption(f"Folder {plain(stats.get('root'))} · options {plain(stats.get('options'))}")
    curves, columns = {}, {}
    for det, m in stats["metrics"].items():
        if "error" in m:
            st.info(f"{det}: {plain(m['error'])}")
            continue
        curves[det] = m["curves"]
        o = m["overall"]
        col = {"decision": m["decision"], "real faces": str(o["n_real"]), "fake faces": str(o["n_fake"])}
        for k, name in METRIC_NAMES.items():
            v = o.get(k) or {}
            ci = v.get("ci95")
            col[name] = (
                "n/a"
                if v.get("value") is None
                else (f"{v['value']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""))
            )
        columns[det] = col
    if columns:
        st.subheader("Detection metrics (95% bootstrap intervals)")
        # one row per measure, one column per detector: a row per detector was wider than the page
        measures = list(next(iter(columns.values())))
        st.dataframe(
            [{"measure": k, **{det: col[k] for det, col in columns.items()}} for k in measures],
            hide_index=True,
            width="stretch",
            key="scan_metrics",
        )
        c1, c2 = st.columns(2)
        c1.plotly_chart(roc_figure(curves), width="stretch", key="scan_roc")
        if det_has_points(curves):
            det = det_figure(curves)
            det.update_layout(width=None)  # fill the column like the ROC beside it
            c2.plotly_chart(det, width="stretch", key="scan_det")
        else:
            c2.info(
                "No DET curve to draw: on these few labelled faces every threshold gives either no false alarm "
                "or no miss, so the curve lies off its probit axes. Read the ROC and the table.",
                icon=":material/show_chart:",
            )
        for det, m in stats["metrics"].items():
            if "error" in m:
                continue
            with st.expander(f"{det}: confusion and per-kind / per-source rates"):
                st.dataframe(confusion_rows(m["confusion"]), hide_index=True, key=f"scan_conf_{det}")
                k1, k2 = st.columns(2)
                k1.plotly_chart(
                    rate_table_figure(m["per_kind"], f"{det}: flagged per kind", "kind"),
                    width="stretch",
                    key=f"scan_kind_{det}",
                )
                k2.plotly_chart(
                    rate_table_figure(m["per_source"], f"{det}: flagged per source", "source"),
                    width="stretch",
                    key=f"scan_src_{det}",
                )
    for (det, expl), reg in stats["regions"].items():
        if reg:
            st.subheader(f"Region statistics: {expl} on {det}")
            st.plotly_chart(
                region_stats_figure(reg, f"Relevance share per region ({expl}, {det})"),
                width="stretch",
                key=f"scan_reg_{det}_{expl}",
            )
        maps = stats["mean_heatmaps"].get((det, expl))
        if maps:
            st.plotly_chart(
                mean_heatmaps_figure(maps, f"Mean {expl} heatmap per class ({det})"),
                width="stretch",
                key=f"scan_mean_{det}_{expl}",
            )


def scan_details(store: str, version: float, detectors: list[str]) -> None:
    """Problem faces (thumbnails) and the feature map of one scanned detector, on demand."""
    from forensics.viz.scan import embedding_figure

    if not detectors:
        return
    st.subheader("Faces to look at")
    det = st.selectbox("Detector", detectors, key="scan_detail_det")
    problems = call(lib.scan_problems, store, version, det, stop=False) or []
    if not problems:
        st.caption("No false alarm, miss or inconclusive face among the labelled faces.")
    else:
        cols = st.columns(6)
        for i, r in enumerate(problems[:30]):
            with cols[i % 6]:
                name = Path(str(r.get("path", ""))).name
                st.image(
                    r["thumb"],
                    caption=f"{name} · {r.get('label', '?')} · {r['problem']} · p {r['p_fake']:.2f}",
                    width="stretch",
                )
                with st.popover("open", use_container_width=True):
                    st.image(r["thumb"], width="stretch")
                    st.text(
                        f"{r.get('path', '')}\ntrue class {r.get('label', '?')}, {r['problem']}, "
                        f"p(fake) {r['p_fake']:.3f}"
                    )
    if st.toggle("Feature map (t-SNE of the detector's penultimate features)", key="scan_tsne"):
        try:
            emb = call(lib.scan_embedding, store, version, det, spinner="t-SNE of the stored features", stop=False)
        except ValueError as exc:  # too few faces for a map
            st.info(str(exc))
            return
        if emb is not None:
            st.plotly_chart(embedding_figure(emb, f"t-SNE of {det} features"), width="stretch", key="scan_tsne_fig")
