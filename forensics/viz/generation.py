"""The loss curves of a generator run (Models page): every loss the run log records, against real faces seen.

>>> recs = [{"faces_seen": 64, "loss_d": 1.4, "loss_g": 0.7}, {"faces_seen": 128, "loss_d": 1.2, "loss_g": 0.9}]
>>> fig = loss_figure(recs)
>>> [t.name for t in fig.data], list(fig.data[0].x)
(['discriminator / critic', 'generator'], [64, 128])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# log key -> legend name, in drawing order
CURVES = {
    "loss_d": "discriminator / critic",
    "loss_g": "generator",
    "wasserstein": "Wasserstein estimate",
    "gp": "gradient penalty",
    "loss_against": "detector term",
    "p_fake_against": "detector p_fake",
}


def loss_figure(records: Sequence[Mapping[str, Any]], *, height: int = 300):
    """One line per logged quantity present in ``records`` (``step`` records of the run log)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    x = [r.get("faces_seen") for r in records]
    for key, name in CURVES.items():
        if any(key in r for r in records):
            fig.add_trace(go.Scatter(x=x, y=[r.get(key) for r in records], mode="lines", name=name))
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis_title="real faces seen",
        yaxis_title="value (window mean)",
        legend={"orientation": "h"},
    )
    return fig
