"""Deletion and insertion curves of one explanation map (``forensics.explainers.faithfulness`` output)."""

from __future__ import annotations

from typing import Any


def curves_figure(f: dict[str, Any], title: str):
    """p(explained class) as the most relevant pixels are deleted first, and inserted first into a blurred crop."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=f["fractions"], y=f["deletion"], name="deletion", mode="lines+markers"))
    fig.add_trace(go.Scatter(x=f["fractions"], y=f["insertion"], name="insertion", mode="lines+markers"))
    fig.update_layout(
        title=f"{title}: p({f['target_name']})",
        height=260,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title="fraction of pixels",
        yaxis_title="probability",
        yaxis_range=[0, 1],
    )
    return fig
