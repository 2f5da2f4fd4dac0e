"""Plotly figures for dataset scans (built from forensics.scan.stats tables; never shown here)."""

from __future__ import annotations

from typing import Any

import numpy as np


def region_stats_figure(rows: list[dict[str, Any]], title: str = "Relevance share per region"):
    """Grouped bars: mean relevance share per region, one colour per group, bootstrap 95% interval as error bars."""
    import plotly.graph_objects as go

    fig = go.Figure()
    regions = sorted(
        {r["region"] for r in rows}, key=lambda reg: -max(r["mean_share"] for r in rows if r["region"] == reg)
    )
    for grp in sorted({r["group"] for r in rows}):
        sel = {r["region"]: r for r in rows if r["group"] == grp}
        y = [sel[reg]["mean_share"] if reg in sel else 0.0 for reg in regions]
        err_hi = [sel[reg]["ci_high"] - sel[reg]["mean_share"] if reg in sel else 0.0 for reg in regions]
        err_lo = [sel[reg]["mean_share"] - sel[reg]["ci_low"] if reg in sel else 0.0 for reg in regions]
        n = max((r["n"] for r in sel.values()), default=0)
        fig.add_trace(
            go.Bar(
                x=regions,
                y=y,
                name=f"{grp} (n={n})",
                error_y={"type": "data", "symmetric": False, "array": err_hi, "arrayminus": err_lo},
            )
        )
    fig.update_layout(
        barmode="group", title=title, yaxis_title="mean share of positive relevance", yaxis_tickformat=".0%", height=420
    )
    return fig


def mean_heatmaps_figure(maps: dict[str, tuple[np.ndarray, int]], title: str = "Mean heatmap per class"):
    """One panel per class: the mean explanation heatmap on aligned crops."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = list(maps)
    fig = make_subplots(rows=1, cols=max(1, len(names)), subplot_titles=[f"{k} (n={maps[k][1]})" for k in names])
    for i, k in enumerate(names, start=1):
        fig.add_trace(
            go.Heatmap(z=maps[k][0][::-1], colorscale="Inferno", zmin=0, zmax=1, showscale=i == len(names)),
            row=1,
            col=i,
        )
        fig.update_xaxes(visible=False, row=1, col=i)
        fig.update_yaxes(visible=False, scaleanchor=f"x{i if i > 1 else ''}", row=1, col=i)
    fig.update_layout(title=title, height=360)
    return fig


def embedding_figure(emb: dict[str, Any], title: str = "t-SNE of detector features"):
    """Scatter of the t-SNE map, coloured by class and source; hover shows the file."""
    import plotly.graph_objects as go

    fig = go.Figure()
    groups = sorted({(lab, src) for lab, src in zip(emb["label"], emb["source"], strict=True)})
    for lab, src in groups:
        idx = [i for i, (a, b) in enumerate(zip(emb["label"], emb["source"], strict=True)) if (a, b) == (lab, src)]
        fig.add_trace(
            go.Scattergl(
                x=emb["xy"][idx, 0],
                y=emb["xy"][idx, 1],
                mode="markers",
                name=f"{lab} / {src}",
                marker={"size": 6, "symbol": "circle" if lab == "real" else "x"},
                text=[emb["path"][i] for i in idx],
                hoverinfo="text+name",
            )
        )
    fig.update_layout(
        title=f"{title} (perplexity {emb['perplexity']:.0f})",
        height=520,
        xaxis={"visible": False},
        yaxis={"visible": False},
    )
    return fig


def rate_table_figure(table: dict[str, dict[str, Any]], title: str, label: str):
    """Horizontal bars of a per-group rate with Wilson intervals (e.g. false alarms per real source)."""
    import plotly.graph_objects as go

    names = list(table)
    rates = [table[n]["rate"] for n in names]
    fig = go.Figure(
        go.Bar(
            y=names,
            x=rates,
            orientation="h",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [table[n]["ci95"][1] - table[n]["rate"] for n in names],
                "arrayminus": [table[n]["rate"] - table[n]["ci95"][0] for n in names],
            },
            text=[f"{table[n]['flagged']}/{table[n]['n']}" for n in names],
            textposition="auto",
        )
    )
    # at least 280 px: with one or two groups the old 120 + 28 px per bar left the bars about 1 px tall
    fig.update_layout(
        title=title,
        xaxis_title=label,
        xaxis_tickformat=".0%",
        xaxis_range=[0, 1],
        height=max(280, 140 + 40 * len(names)),
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
        yaxis={"automargin": True},
    )
    return fig
