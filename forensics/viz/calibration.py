"""The calibration chart of the Models page: what each calibrated score means (log10 likelihood ratio, verdict).

>>> cal = {"band": [0.3, 0.8], "lr_model": {"knots": [-2.0, 0.0, 2.0], "log10_lr": [-1.0, 0.0, 1.0],
...        "cap_high": 2.0, "cap_low": -2.0}}
>>> fig = calibration_figure(cal)
>>> round(float(fig.data[0].y[0]), 2), len(fig.layout.shapes)
(-1.0, 3)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from forensics.verdicts import Verdict

ZONES = (
    (str(Verdict.REAL), "rgba(39,174,96,0.18)"),
    (str(Verdict.INCONCLUSIVE), "rgba(243,156,18,0.22)"),
    (str(Verdict.FAKE), "rgba(192,57,43,0.18)"),
)


def lr_curve(cal: Mapping[str, Any], n: int = 199) -> tuple[np.ndarray, np.ndarray]:
    """(calibrated p(fake), log10 LR) on a grid, from a calibration's ``lr_model`` dict (``Calibration.to_dict``)."""
    m = cal["lr_model"]
    p = np.linspace(0.005, 0.995, n)
    x = np.log(p / (1 - p))
    v = np.clip(np.interp(x, np.asarray(m["knots"]), np.asarray(m["log10_lr"])), m["cap_low"], m["cap_high"])
    return p, v


def calibration_figure(cal: Mapping[str, Any], *, height: int = 320):
    """log10 LR against the calibrated score, with the three verdict zones of the band shaded."""
    import plotly.graph_objects as go

    p, v = lr_curve(cal)
    lo, hi = cal["band"]
    fig = go.Figure(
        go.Scatter(
            x=p,
            y=v,
            mode="lines",
            name="log10 LR",
            line={"color": "black"},
            hovertemplate="p(fake) %{x:.3f}: log10 LR %{y:.2f}<extra></extra>",
        )
    )
    for (name, colour), (x0, x1) in zip(ZONES, ((0.0, lo), (lo, hi), (hi, 1.0)), strict=True):
        fig.add_shape(
            type="rect",
            x0=x0,
            x1=x1,
            y0=0,
            y1=1,
            yref="paper",
            fillcolor=colour,
            line_width=0,
            layer="below",
            label={"text": name, "textposition": "top center", "font": {"size": 11}},
        )
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        showlegend=False,
        xaxis={"title": "calibrated p(fake)", "range": [0, 1]},
        yaxis={"title": f"log10 likelihood ratio (> 0 favours {Verdict.FAKE})"},
    )
    return fig


def tippett_figure(validation: Mapping[str, Any], *, height: int = 300):
    """Tippett plot of one likelihood-ratio validation (``LRValidation.to_dict()``): for each log10 LR, the share of
    faces of each proposition whose LR is at least that, with the empirical bounds (ELUB) as dotted lines."""
    import plotly.graph_objects as go

    t = validation["tippett"]
    x = t["log10_lr"]
    fig = go.Figure()
    for key, name, colour in (
        ("manipulated_or_generated", "manipulated or generated faces", "rgb(192,57,43)"),
        ("camera_original", "camera originals", "rgb(39,120,180)"),
    ):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=t[key],
                mode="lines",
                name=name,
                line={"color": colour, "shape": "hv"},
                hovertemplate="log10 LR >= %{x:.2f}: %{y:.1%} of " + name + "<extra></extra>",
            )
        )
    for bound in validation["elub"]:
        fig.add_vline(x=bound, line_dash="dot", line_color="grey")
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.3},
        xaxis={"title": "log10 likelihood ratio (dotted: the bounds the data support)"},
        yaxis={"title": "share of faces with at least this ratio", "range": [0, 1.02], "tickformat": ".0%"},
    )
    return fig
