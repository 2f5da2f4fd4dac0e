"""Explanations of one face: method choice, heatmap panels, agreement and faithfulness."""

from __future__ import annotations

from typing import Any

import streamlit as st

from forensics.formatting import num as _num
from ui import lib
from ui.auth import log_once
from ui.common import call


def method_select(label: str, family: str, default: str, key: str) -> str | None:
    """A selectbox over the explanation methods of one family ("cam" or "lrp")."""
    methods = [m for m in lib.explainer_names() if m["family"] == family]
    if not methods:
        st.info(f"No {family} method in this version of the library.")
        return None
    names = [m["name"] for m in methods]
    desc = {m["name"]: m["description"] for m in methods}
    return st.selectbox(
        label,
        names,
        index=names.index(default) if default in names else 0,
        key=key,
        help="; ".join(f"{n}: {d}" for n, d in desc.items()),
    )


def heatmap_for(fkey: str, det_name: str, method: str, crop, target: str | None):
    """The cached Heatmap, or None with the reason shown (method not applicable, ...)."""
    ok, why = lib.applicable(det_name, method)
    if not ok:
        st.info(f"{method} does not apply to {det_name}: {why}", icon=":material/block:")
        return None
    params = (("target", target),) if target else ()
    hm = call(lib.heatmap, fkey, det_name, method, params, crop, spinner=f"{method} on {det_name}", stop=False)
    if hm is not None:
        from forensics.report.bundle import explanation_record

        sha, face_method, face = fkey.split(":")
        log_once(
            "explanation",
            f"explanation:{fkey}:{det_name}:{method}:{params}",
            lambda: {"evidence_sha256": sha, "face_method": face_method, **explanation_record(int(face), hm)},
        )
    return hm


def heatmap_panel(title: str, crop, hm, *, opacity: float = 0.5, regions=None, key: str = "") -> None:
    """The map over the crop at ``opacity`` with its colour scale (and the region outlines when given)."""
    from forensics.viz.heatmap import heatmap_figure

    st.markdown(f"**{title}**")
    st.plotly_chart(
        heatmap_figure(crop, hm.heatmap, opacity=opacity, regions=regions),
        width="stretch",
        key=f"heat_{key}_{hm.method}",
        config={"displayModeBar": False},
    )
    st.caption(f"why '{hm.target_name}' (p {hm.probability:.3g}) · {hm.elapsed_ms:.0f} ms")
    for n in hm.notes:
        st.caption(n)
    measured_note(hm.detector, hm.method)


def opacity_slider(key: str) -> float:
    return st.slider(
        "Map opacity over the photo", 0.0, 1.0, 0.5, 0.05, key=key, help="0 shows the photo alone, 1 the map alone."
    )


def measured_note(det_name: str, method: str) -> None:
    """The method's measured localisation and sanity-check result (a warning when it failed the check or when the
    figures were measured on other weights). The text is the library's own, never from evidence."""
    note = call(lib.method_note, det_name, method, stop=False)
    if note is None:
        return
    if note.get("sanity_passed") is False:
        st.warning(note["text"], icon=":material/gpp_bad:")
    elif note.get("measured") and not note.get("same_weights"):
        st.warning(note["text"], icon=":material/history:")
    else:
        st.caption(note["text"])


def agreement_words(ag: dict[str, Any]) -> str:
    """The Spearman rank agreement of two maps in words (thresholds: 0.6 and 0.3, the usual "strong" and "weak"
    bounds for a rank correlation)."""
    rho = ag.get("spearman")
    if rho is None:
        return "The two maps cannot be compared: one of them is constant (nothing to rank)."
    if rho >= 0.6:
        return f"The two maps largely agree on which pixels matter (Spearman {rho:.2f})."
    if rho >= 0.3:
        return f"The two maps partly agree on which pixels matter (Spearman {rho:.2f})."
    return (
        f"The two maps largely disagree (Spearman {rho:.2f}): they point at different pixels, so neither should "
        "be read alone; trust the more faithful one below."
    )


def faithfulness_words(results: dict[str, dict[str, Any]]) -> str:
    """Which map is the more faithful, in words: the one whose most relevant pixels move the score most (insertion
    AUC minus deletion AUC; a gap under 0.05 is called even)."""
    diffs = {m: f["difference"] for m, f in results.items() if f and f.get("difference") is not None}
    if not diffs:
        return ""
    best = max(diffs, key=diffs.get)
    if diffs[best] <= 0:
        return (
            "Neither map is faithful here: inserting its most relevant pixels does not raise the score more than "
            "deleting them lowers it (insertion − deletion ≤ 0)."
        )
    if len(diffs) == 1:
        return f"{best}'s map is faithful here (insertion − deletion {diffs[best]:.3f} > 0)."
    other = min(diffs, key=diffs.get)
    if diffs[best] - diffs[other] < 0.05:
        return (
            f"The two maps are about equally faithful here (insertion − deletion {diffs[best]:.3f} against "
            f"{diffs[other]:.3f})."
        )
    return (
        f"{best}'s map is the more faithful here (insertion − deletion {diffs[best]:.3f} against "
        f"{diffs[other]:.3f} for {other}): the pixels it marks move the score more."
    )


def agreement_for(fkey: str, a, b) -> dict[str, Any]:
    return lib.agreement(f"{fkey}:{a.detector}:{a.method}:{b.method}:{a.target_index}", a, b)


def agreement_metrics(ag: dict[str, Any]) -> None:
    cols = st.columns(1 + len(ag.get("iou", {})))
    cols[0].metric(
        "Spearman ρ",
        _num(ag.get("spearman")),
        help="Rank agreement of the two maps over all pixels (1 = same ordering).",
    )
    for col, (k, v) in zip(cols[1:], ag.get("iou", {}).items(), strict=False):
        col.metric(f"top-{float(k) * 100:.0f}% IoU", _num(v), help="Overlap of the most relevant pixels.")


def faithfulness_for(fkey: str, det_name: str, crop, hm, *, road: bool = False) -> dict[str, Any] | None:
    return call(
        lib.faithfulness,
        f"{fkey}:{hm.method}:{hm.target_index}",
        det_name,
        road,
        crop,
        hm,
        spinner=f"{'ROAD' if road else 'Deletion/insertion curves'} for {hm.method}",
        stop=False,
    )


def faithfulness_view(f: dict[str, Any], method: str) -> None:
    """Deletion and insertion AUCs and curves of one map (ROAD is shown apart, see ``road_view``)."""
    from forensics.viz.faithfulness import curves_figure

    c1, c2, c3 = st.columns(3)
    c1.metric(
        "deletion AUC",
        _num(f["deletion_auc"], 3),
        help="Area under p(class) as the most relevant pixels are removed first. Lower = more faithful.",
    )
    c2.metric(
        "insertion AUC",
        _num(f["insertion_auc"], 3),
        help="Area under p(class) as the most relevant pixels are "
        "inserted first into a blurred crop. Higher = more faithful.",
    )
    c3.metric("ins − del", _num(f["difference"], 3), help="insertion AUC − deletion AUC: higher = more faithful.")
    st.plotly_chart(curves_figure(f, method), width="stretch", key=f"faith_{method}")


def road_view(f: dict[str, Any], method: str) -> None:
    """ROAD (remove and debias) scores of one map: a test of its own, not the deletion/insertion numbers."""
    r = f.get("road")
    if not r:
        return
    st.markdown(f"**{method}**")
    st.dataframe(
        {
            "pixels removed": [f"{p}%" for p in r["percentiles"]],
            "p after removing the most relevant first": [round(v, 3) for v in r["morf"]],
            "p after removing the least relevant first": [round(v, 3) for v in r["lerf"]],
        },
        hide_index=True,
        width="stretch",
    )
    st.caption("Faithful: the first column falls faster than the second.")
