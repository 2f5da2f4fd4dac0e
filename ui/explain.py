"""Explanations of one face: method choice, heatmap panels, agreement and faithfulness."""

from __future__ import annotations

from typing import Any

import streamlit as st

from forensics.formatting import num as _num
from ui import lib
from ui.common import call, log_once


def method_select(label: str, family: str, default: str, key: str) -> str | None:
    """A selectbox over the explanation methods of one family ("cam" or "lrp")."""
    methods = [m for m in lib.explainer_names() if m["family"] == family]
    if not methods:
        st.info(f"No {family} method in this version of the library.")
        return None
    names = [m["name"] for m in methods]
    desc = {m["name"]: m["description"] for m in methods}
    return st.selectbox(label, names, index=names.index(default) if default in names else 0, key=key,
                        help="; ".join(f"{n}: {d}" for n, d in desc.items()))


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
        log_once("explanation", f"explanation:{fkey}:{det_name}:{method}:{params}",
                 lambda: {"evidence_sha256": sha, "face_method": face_method,
                          **explanation_record(int(face), hm)})
    return hm


def heatmap_panel(title: str, crop, hm) -> None:
    st.markdown(f"**{title}**")
    st.image(lib.overlay(crop, hm.heatmap), width="stretch",
             caption=f"why '{hm.target_name}' (p {hm.probability:.3g}) · {hm.elapsed_ms:.0f} ms")
    for n in hm.notes:
        st.caption(n)
    measured_note(hm.detector, hm.method)


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


def agreement_view(fkey: str, a, b) -> None:
    ag = lib.agreement(f"{fkey}:{a.detector}:{a.method}:{b.method}:{a.target_index}", a, b)
    cols = st.columns(1 + len(ag.get("iou", {})))
    cols[0].metric("Spearman ρ", _num(ag.get("spearman")),
                   help="Rank agreement of the two maps over all pixels (1 = same ordering).")
    for col, (k, v) in zip(cols[1:], ag.get("iou", {}).items(), strict=False):
        col.metric(f"top-{float(k) * 100:.0f}% IoU", _num(v), help="Overlap of the most relevant pixels.")
    if ag.get("spearman") is None:
        st.caption("n/a: one of the maps is constant (nothing to rank), so the methods cannot be compared.")


def faithfulness_view(fkey: str, det_name: str, crop, hm, *, road: bool = False) -> None:
    f = call(lib.faithfulness, f"{fkey}:{hm.method}:{hm.target_index}", det_name, road, crop, hm,
             spinner=f"Deletion/insertion curves for {hm.method}", stop=False)
    if f is None:
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("deletion AUC", _num(f["deletion_auc"], 3), help="Area under p(class) as the most relevant pixels are "
              "removed first. Lower = more faithful.")
    c2.metric("insertion AUC", _num(f["insertion_auc"], 3), help="Area under p(class) as the most relevant pixels are "
              "inserted first into a blurred crop. Higher = more faithful.")
    c3.metric("ins − del", _num(f["difference"], 3), help="insertion AUC − deletion AUC: higher = more faithful.")
    st.plotly_chart(curves_figure(f, hm.method), width="stretch", key=f"faith_{hm.method}")
    if f.get("road"):
        r = f["road"]
        st.caption("ROAD (remove and debias): p after removing the most / least relevant pixels at "
                   + ", ".join(f"{p}%: {mo:.3f} / {le:.3f}" for p, mo, le in zip(r["percentiles"], r["morf"], r["lerf"],
                                                                                   strict=True)))


def curves_figure(f: dict[str, Any], title: str):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=f["fractions"], y=f["deletion"], name="deletion", mode="lines+markers"))
    fig.add_trace(go.Scatter(x=f["fractions"], y=f["insertion"], name="insertion", mode="lines+markers"))
    fig.update_layout(title=f"{title}: p({f['target_name']})", height=260,
                      margin=dict(l=10, r=10, t=40, b=10), xaxis_title="fraction of pixels",
                      yaxis_title="probability", yaxis_range=[0, 1])
    return fig

