"""Explanations of one face: method choice, heatmap panels, agreement and faithfulness."""

from __future__ import annotations

from typing import Any

import streamlit as st

from forensics.wording.numbers import num as _num
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


def explanation_for(
    fkey: str,
    det_name: str,
    methods: list[str],
    crop,
    target: str | None = None,
    *,
    segmenter: str | None = None,
    occlusion: bool = False,
    faithfulness: bool = False,
    road: bool = False,
):
    """The cached ``explain_face`` of one face (None with the error shown); every map made is written to the case
    log once, and every method that does not apply is said."""
    fx = call(
        lib.explanation,
        fkey,
        det_name,
        tuple(methods),
        target,
        segmenter,
        occlusion,
        faithfulness,
        road,
        crop,
        spinner=f"{', '.join(lib.method_title(m) for m in methods)} on {det_name}",
        stop=False,
    )
    if fx is None:
        return None
    from forensics.report.bundle import explanation_record

    sha, face_method, face = fkey.split(":")
    for m, hm in fx.maps.items():
        log_once(
            "explanation",
            f"explanation:{fkey}:{det_name}:{m}:{target}",
            lambda hm=hm: {"evidence_sha256": sha, "face_method": face_method, **explanation_record(int(face), hm)},
        )
    for m, why in fx.not_applicable.items():
        st.info(f"{lib.method_title(m)} does not apply to {det_name}: {why}", icon=":material/block:")
    return fx


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
    from forensics.wording.explanations import map_sentence

    st.caption(f"{map_sentence(lib.method_title(hm.method), hm.target_name, hm.probability)} · {hm.elapsed_ms:.0f} ms")
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


def explanation_sentences(ag: dict[str, Any] | None, results: dict[str, dict[str, Any] | None]) -> list[str]:
    """The sentences of ``forensics.wording.explanations`` for the maps shown: their agreement (two maps), each one's
    faithfulness and which is the more faithful."""
    from forensics.wording.explanations import agreement_sentence, faithfulness_comparison, faithfulness_sentence

    titles = {m: lib.method_title(m) for m in results}
    out = []
    if ag is not None and len(results) == 2:
        a, b = (lib.method_title(m) for m in results)
        out.append(agreement_sentence(a, b, ag))
    out += [said for m, f in results.items() if f and (said := faithfulness_sentence(titles[m], f))]
    compared = faithfulness_comparison({titles[m]: f for m, f in results.items() if f})
    return out + ([compared] if compared else [])


def agreement_metrics(ag: dict[str, Any]) -> None:
    cols = st.columns(1 + len(ag.get("iou", {})))
    cols[0].metric(
        "Spearman ρ",
        _num(ag.get("spearman")),
        help="Rank agreement of the two maps over all pixels (1 = same ordering).",
    )
    for col, (k, v) in zip(cols[1:], ag.get("iou", {}).items(), strict=False):
        col.metric(f"top-{float(k) * 100:.0f}% IoU", _num(v), help="Overlap of the most relevant pixels.")


def faithfulness_view(f: dict[str, Any], method: str) -> None:
    """Deletion and insertion AUCs and curves of one map (ROAD is shown apart, see ``road_view``)."""
    from forensics.viz.faithfulness import curves_figure

    if "not_computed" in f:
        st.info(f"Faithfulness of {lib.method_title(method)} not computed: {f['not_computed']}")
        return
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
        if "not_computed" in f:
            st.info(f"ROAD of {lib.method_title(method)} not computed: {f['not_computed']}")
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
