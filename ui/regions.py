"""Face regions and the share of an explanation in each (Segment + LRP page)."""

from __future__ import annotations

import streamlit as st

from ui import lib
from ui.common import call
from ui.explain import heatmap_for, heatmap_panel


def regions_view(fkey: str, det_name: str, method: str, segmenter: str, crop, *, value: str = "share",
                 occlusion: bool = False) -> None:
    """Mask overlay, heatmap overlay and the region bars for one face, explainer and segmenter."""
    from forensics.viz import regions as vr

    masks = call(lib.regions, fkey, segmenter, crop, spinner=f"Segmenting the face ({segmenter})")
    hm = heatmap_for(fkey, det_name, method, crop, None)
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(vr.mask_figure(crop, masks, title=f"Regions ({segmenter})"), width="stretch",
                        key="regions_masks")
    if hm is None:
        return
    with c2:
        heatmap_panel(method, crop, hm)
    table = call(lib.region_relevance, f"{fkey}:{segmenter}:{method}:{det_name}:{hm.target_index}",
                 det_name if occlusion else None, hm, masks, crop, spinner="Region statistics", stop=False)
    if table is None:
        return
    st.plotly_chart(vr.region_bar_chart(table, value=value, title=f"{value.replace('_', ' ')} of {method} per region "
                                                                  f"({det_name})"),
                    width="stretch", key="regions_bars")
    if occlusion:
        st.plotly_chart(vr.occlusion_chart(table), width="stretch", key="regions_occlusion")
    approx = [r for r, a in masks.approximate.items() if a]
    if approx:
        st.caption("≈ approximate regions (heuristic, not from landmarks): " + ", ".join(approx))
    if masks.absent:
        st.caption("Absent regions: " + "; ".join(f"{r}: {why}" for r, why in masks.absent.items()))
    for n in (*masks.notes, *table.notes):
        st.caption(n)
    with st.expander("Region table"):
        st.dataframe(table.to_rows(), hide_index=True, width="stretch")

