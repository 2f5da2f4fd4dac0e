"""Plotly figures of detector metrics (ROC, DET, reliability), computed with ``forensics.evaluation``; returned,
never shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from forensics.evaluation import auc, det_curve, eer, expected_calibration_error, reliability_curve, roc_curve


def roc_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "ROC"):
    """Plotly ROC figure, one trace per name -> (labels, scores), AUC in the legend."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, (y, s) in curves.items():
        fpr, tpr, _ = roc_curve(y, s)
        fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=f"{name} (AUC {auc(y, s):.3f})"))
    return _roc_axes(fig, title=title, width=640, height=520)


def stored_roc_figure(roc: Mapping[str, Any], name: str, *, height: int = 380):
    """Plotly ROC figure of a curve kept in a model card (``forensics.evaluation.compact_roc``: fpr, tpr, auc)."""
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Scatter(
            x=roc["fpr"],
            y=roc["tpr"],
            mode="lines",
            name=f"{name} (AUC {roc['auc']:.3f})",
            hovertemplate="false positives %{x:.1%}: true positives %{y:.1%}<extra></extra>",
        )
    )
    fig = _roc_axes(fig, title=None, height=height, margin={"l": 10, "r": 10, "t": 20, "b": 40})
    fig.update_layout(legend={"x": 0.98, "y": 0.02, "xanchor": "right", "yanchor": "bottom"})
    return fig


def _roc_axes(fig, **layout):
    """The chance diagonal and the axis titles every ROC figure shares."""
    import plotly.graph_objects as go

    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "grey"}, name="chance"))
    fig.update_layout(
        xaxis_title="false-positive rate (camera originals flagged)", yaxis_title="true-positive rate", **layout
    )
    return fig


def det_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "DET"):
    """Plotly DET figure on normal-deviate (probit) axes, labelled in percent."""
    import plotly.graph_objects as go
    from scipy.stats import norm

    ticks = np.array([0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4])
    fig = go.Figure()
    for name, (y, s) in curves.items():
        fpr, fnr, _ = det_curve(y, s)
        clip = lambda v: np.clip(v, 5e-4, 1 - 5e-4)  # noqa: E731
        fig.add_trace(
            go.Scatter(
                x=norm.ppf(clip(fpr)), y=norm.ppf(clip(fnr)), mode="lines", name=f"{name} (EER {eer(y, s)[0]:.3f})"
            )
        )
    axis = {
        "tickvals": norm.ppf(ticks).tolist(),
        "ticktext": [f"{t * 100:g}%" for t in ticks],
        "range": [norm.ppf(5e-4), norm.ppf(0.6)],
    }
    fig.update_layout(
        title=title,
        xaxis={**axis, "title": "false-positive rate"},
        yaxis={**axis, "title": "false-negative rate"},
        width=640,
        height=520,
    )
    return fig


def reliability_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], bins: int = 10, title: str = "Reliability"):
    """Plotly reliability diagram: mean predicted p_fake vs observed fraction of fakes per bin."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, (y, p) in curves.items():
        rc = reliability_curve(y, p, bins)
        ok = rc["count"] > 0
        fig.add_trace(
            go.Scatter(
                x=rc["mean_predicted"][ok],
                y=rc["fraction_fake"][ok],
                mode="lines+markers",
                name=f"{name} (ECE {expected_calibration_error(y, p, bins):.3f})",
                text=[f"n={int(c)}" for c in rc["count"][ok]],
            )
        )
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "grey"}, name="perfect calibration")
    )
    fig.update_layout(
        title=title, xaxis_title="mean predicted p_fake", yaxis_title="observed fraction fake", width=640, height=520
    )
    return fig
