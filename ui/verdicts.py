"""One detector's result on one face, laid out as a card: the sentences of ``forensics.wording.results`` (verdict,
likelihood ratio, score and band, error rates, misses on unseen kinds, stability, novelty, caveats) with the band
drawn beside them. The card writes no sentence of its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from forensics.pipeline.results import DetectorScore
from forensics.verdicts import Verdict
from forensics.wording.results import score_sentences

_COLOURS = {Verdict.FAKE: "red", Verdict.REAL: "green", Verdict.INCONCLUSIVE: "orange"}


def verdict_card(
    name: str,
    score: DetectorScore,
    model: dict[str, Any],
    *,
    key: str = "",
    caveats: Sequence[str] = (),
    face_failures: Sequence[str] = (),
) -> None:
    """One detector's result for one face. Reasons that are the face's own whole-face failures (shown beside its
    crop) are not repeated here."""
    st.markdown(f"**{name}**")
    st.caption(str(model.get("architecture", "")))
    a = score.assessment
    for s in score_sentences(score, model, caveats=caveats):
        if s.topic == "verdict":
            colour = _COLOURS.get(Verdict(s.text), "gray") if s.tone == "verdict" else "gray"
            st.markdown(f"##### Verdict: :{colour}[{s.text}]")
            if a is not None:
                st.plotly_chart(
                    band_figure(a.p_fake, *a.band),
                    width="stretch",
                    key=f"band_{key}_{name}",
                    config={"displayModeBar": False},
                )
        elif s.topic == "why" and s.text in face_failures:
            st.caption(f"{s.label}: {s.text} (a whole-face check, shown beside the crop)")
        elif s.tone == "caveat":
            st.warning(f"{s.label}: {s.text}", icon=":material/warning:")
        elif s.topic == "lr":
            st.markdown(f"**{s.label}: {s.text}**", help=f"log10 LR = {a.log10_lr:.2f}" if a is not None else None)
        else:
            st.caption(f"{s.label}: {s.text}")
    if score.stability is not None:
        parts = [
            f"{c.condition}: {c.p_fake:.3f}" + (f" ({c.verdict})" if c.verdict else "")
            for c in score.stability.conditions
        ]
        st.caption("Re-scored: " + " · ".join(parts))


def face_result(score: DetectorScore, model: dict[str, Any]) -> None:
    """The verdict and the score the Detect page gives this face, in one line (pages about one face show it)."""
    said = [s for s in score_sentences(score, model) if s.topic in ("verdict", "score")]
    st.caption(" · ".join(f"{s.label}: {s.text}" for s in said))


def band_figure(p: float, lo: float, hi: float):
    """The calibrated score on [0, 1] with the three decision zones (green original, orange band, red fake)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for x0, x1, colour in (
        (0.0, lo, "rgba(39,174,96,0.35)"),
        (lo, hi, "rgba(243,156,18,0.35)"),
        (hi, 1.0, "rgba(192,57,43,0.35)"),
    ):
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=0, y1=1, fillcolor=colour, line_width=0)
    fig.add_trace(
        go.Scatter(
            x=[p],
            y=[0.5],
            mode="markers",
            marker={"size": 14, "color": "black", "symbol": "diamond"},
            hovertemplate="p(fake) %{x:.3f}<extra></extra>",
            showlegend=False,
        )
    )
    fig.update_layout(
        height=70,
        margin={"l": 5, "r": 5, "t": 5, "b": 20},
        plot_bgcolor="white",
        xaxis={"range": [-0.03, 1.03], "dtick": 0.25},
        yaxis={"visible": False, "range": [0, 1]},
    )
    return fig
