"""One detector's verdict on one face: verdict, band, likelihood ratio, error rates, stability, novelty."""

from __future__ import annotations

from typing import Any

import streamlit as st

from forensics.calibration import Assessment
from forensics.calibration.novelty import NOT_MEASURED, Novelty
from forensics.calibration.stability import Stability
from forensics.formatting import lr_in_favour
from forensics.formatting import pct as _pct
from forensics.pipeline.results import DetectorScore
from forensics.verdicts import Verdict

_COLOURS = {Verdict.FAKE: "red", Verdict.REAL: "green", Verdict.INCONCLUSIVE: "orange"}


def verdict_card(
    name: str,
    score: DetectorScore,
    model: dict[str, Any],
    *,
    key: str = "",
    caveats: list[str] | tuple[str, ...] = (),
    face_failures: list[str] | tuple[str, ...] = (),
) -> None:
    """One detector's result for one face: verdict, band, likelihood ratio wording, known error rates, and the
    caveats of ``forensics.calibration.domain.face_caveats`` (a face larger than the camera originals it learnt from; a
    "camera original" verdict on a small or compressed file)."""
    st.markdown(f"**{name}**")
    st.caption(str(model.get("architecture", "")))
    if not score.ready:
        st.warning(
            "Explain-only: this detector has no trained weights, so it gives **no verdict** and its score "
            "carries no evidential value.",
            icon=":material/block:",
        )
        return
    if score.withheld is not None:
        withheld_view(score, face_failures)
        return
    a = score.assessment
    if a is None:
        st.info(
            f"No calibration for this model, so **no verdict**. Uncalibrated p(fake) = {score.p_fake:.3g}.",
            icon=":material/tune:",
        )
        return
    st.markdown(f"##### Verdict: :{_COLOURS.get(a.verdict, 'gray')}[{a.verdict}]")
    lo, hi = a.band
    c1, c2 = st.columns([1, 2])
    c1.metric("calibrated p(fake)", f"{a.p_fake:.3f}")
    c2.markdown(
        f"**LR {lr_in_favour(a.likelihood_ratio)}** ({a.verbal})",
        help=f"log10 LR = {a.log10_lr:.2f}; worded as in the court report",
    )
    st.plotly_chart(
        band_figure(a.p_fake, lo, hi), width="stretch", key=f"band_{key}_{name}", config={"displayModeBar": False}
    )
    st.caption(
        f"Inconclusive band [{lo:.3f}, {hi:.3f}): below it 'camera original', at or above it "
        f"'manipulated or generated'."
    )
    st.markdown(f"*{a.statement}*")
    stability_view(score.stability)
    novelty_view(score.novelty)
    st.caption(error_rate_sentence(a))
    for caveat in caveats:
        st.warning(caveat, icon=":material/photo_size_select_large:")


def withheld_view(score: DetectorScore, face_failures: list[str] | tuple[str, ...]) -> None:
    """A ready, calibrated detector whose verdict is withheld for this face: what is said instead, and why."""
    assert score.withheld is not None
    verdict, reasons = score.withheld.verdict, score.withheld.reasons
    colour = "orange" if verdict == Verdict.INCONCLUSIVE else "gray"
    st.markdown(f"##### Verdict: :{colour}[{verdict}]")
    for why in reasons:
        if why in face_failures:  # shown once beside the crop
            continue
        st.warning(why, icon=":material/block:")
    if any(why in face_failures for why in reasons):
        st.caption("This face failed the whole-face checks shown beside its crop.")
    st.caption(
        f"Calibrated p(fake) = {score.p_fake:.3f}, shown as a number only: no verdict is drawn from it for this face."
    )
    if score.stability is not None:  # no verdict, so nothing to call unstable: the score's spread only
        st.caption(f"Score under re-compression: {score.stability.score_summary()}")
    novelty_view(score.novelty)


def error_rate_sentence(a: Assessment) -> str:
    """The known error rate that bears on the verdict actually given (validation faces of the calibration)."""
    if a.verdict == Verdict.FAKE:
        return (
            f"Known error rate for this verdict: {_pct(a.false_positive_rate)} of the camera originals "
            "in validation were wrongly called 'manipulated or generated' at this band (false alarms)."
        )
    if a.verdict == Verdict.REAL:
        return (
            f"Known error rate for this verdict: {_pct(a.false_negative_rate)} of the manipulated or "
            "generated faces in validation were wrongly called 'camera original' at this band (misses)."
        )
    return (
        "Known error rates: an inconclusive result claims neither proposition, so it has no false-alarm or miss "
        "rate; how often validation faces fell in this band is on the Models page."
    )


def stability_view(stab: Stability | None) -> None:
    """Whether the verdict holds when the evidence is re-compressed and re-scaled (warning when it does not)."""
    if stab is None:
        return
    if stab.unstable:
        st.warning(f"Unstable verdict: {stab.summary().removeprefix('unstable: ')}", icon=":material/swap_horiz:")
    else:
        st.caption(f"Stability: {stab.summary()}")
    parts = [f"{c.condition}: {c.p_fake:.3f}" + (f" ({c.verdict})" if c.verdict else "") for c in stab.conditions]
    st.caption("Re-scored: " + " · ".join(parts))


def novelty_view(novelty: Novelty | None) -> None:
    """How far the face lies from the detector's training faces (or that this was not measured)."""
    st.caption(f"Novelty: {NOT_MEASURED['summary'] if novelty is None else novelty.summary()}")


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
