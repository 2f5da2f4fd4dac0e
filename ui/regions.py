"""Face regions and the share of an explanation in each (Segment + LRP page)."""

from __future__ import annotations

import streamlit as st

from forensics.wording.explanations import blur_disagreement_sentences
from ui import lib
from ui.explain import explanation_for, heatmap_panel

# the region table's columns as an analyst reads them (the library's field names stay in the JSON bundle)
COLUMNS = {
    "region": "region",
    "share": "share of the relevance",
    "pixel_share": "share of the top-20 % pixels",
    "area_share": "share of the face area",
    "density": "density (share ÷ area)",
    "occlusion_delta": "score change when blurred",
    "approximate": "approximate (≈)",
    "absent": "absent",
    "reason": "why absent",
    "pixels": "pixels",
}


def regions_view(
    fkey: str,
    det_name: str,
    method: str,
    segmenter: str,
    crop,
    *,
    value: str = "share",
    occlusion: bool = False,
    opacity: float = 0.5,
    outlines: bool = True,
) -> None:
    """Mask figure, the heatmap (with the region outlines laid over it) and the region bars for one face."""
    from forensics.viz import regions as vr

    fx = explanation_for(fkey, det_name, [method], crop, segmenter=segmenter, occlusion=occlusion)
    if fx is None or method in fx.not_applicable:  # (explanation_for said why the method does not apply)
        return
    if fx.segment_problem or fx.masks is None:
        st.error(f"No regions: {fx.segment_problem or 'the face was not segmented'}", icon=":material/error:")
        return
    masks, hm = fx.masks, fx.maps.get(method)
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(
            vr.mask_figure(crop, masks, title=f"Regions ({segmenter})"), width="stretch", key="regions_masks"
        )
    if hm is None:
        return
    with c2:
        heatmap_panel(
            lib.method_title(method), crop, hm, opacity=opacity, regions=masks if outlines else None, key="regions"
        )
    table = fx.tables.get(method)
    if table is None:
        st.error(fx.table_problems.get(method, "no region table"), icon=":material/error:")
        return
    st.plotly_chart(
        vr.region_bar_chart(
            table, value=value, title=f"{vr.VALUE_NAMES[value].capitalize()}: {method} per region ({det_name})"
        ),
        width="stretch",
        key="regions_bars",
    )
    st.caption(
        "Each bar in its region's colour, as in the region figure; grey: the region's share of the face area "
        "(what a uniform map would give)."
    )
    if occlusion:
        st.plotly_chart(vr.occlusion_chart(table), width="stretch", key="regions_occlusion")
        disagree = blur_disagreement_sentences(table)
        if disagree:
            st.warning("Blurring and the map disagree here: " + " ".join(disagree), icon=":material/compare_arrows:")
        else:
            st.caption(
                "Blurring and the map agree: the regions the map weighs are the ones whose blurring lowers the score."
            )
    approx = [r for r, a in masks.approximate.items() if a]
    if approx:
        st.caption("≈ approximate regions (heuristic, not from landmarks): " + ", ".join(approx))
    if masks.absent:
        st.caption("Absent regions: " + "; ".join(f"{r}: {why}" for r, why in masks.absent.items()))
    for n in (*masks.notes, *table.notes):
        st.caption(n)
    with st.expander("Region table"):
        rows = [
            {COLUMNS.get(k, k): v for k, v in row.items() if occlusion or k != "occlusion_delta"}
            for row in table.to_rows()
        ]
        st.dataframe(rows, hide_index=True, width="stretch")
