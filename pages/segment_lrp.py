"""Segment + LRP: face-region masks over the crop and the share of the explanation that falls in each region."""

import streamlit as st

from ui import explain, faces, lib, regions

st.title("Segment + LRP")
st.caption(
    "Which face regions carry the explanation? Region shares inherit the segmenter's approximations "
    "(marked ≈) and the explainer's limits: they describe the model's attention, not where an edit is."
)
opts, _, _, crop, fkey = faces.face_page("segment")
c0, c1, c2 = st.columns(3)
det_name = c0.selectbox("Detector", opts.detectors, key="segment_det")
methods = [m["name"] for m in lib.explainer_names()]
default = lib.default_method()
method = c1.selectbox(
    "Explainer",
    methods,
    key="segment_method",
    index=methods.index(default) if default in methods else 0,
    help="Default: the method measured best on localisation and faithfulness together.",
)
segs = [s["name"] for s in lib.segmenter_names()]
segmenter = c2.selectbox("Segmenter", segs, key="segment_seg", index=segs.index(lib.default_segmenter()))
c3, c4, c5 = st.columns(3)
value = c3.radio(
    "Bar value",
    ["share", "pixel_share", "density"],
    horizontal=True,
    key="segment_value",
    format_func={"share": "share", "pixel_share": "top-20 % pixels", "density": "density"}.get,
    help="share: fraction of the positive relevance in the region; top-20 % pixels: fraction of the "
    "most relevant fifth of the pixels; density: share divided by area (1 = as much as a uniform "
    "map).",
)
occlusion = c4.toggle("Occlusion check (blur each region, one forward pass per region)", key="segment_occ")
outlines = c5.toggle("Region outlines over the heatmap", value=True, key="segment_outlines")
opacity = explain.opacity_slider("segment_opacity")
regions.regions_view(
    fkey, det_name, method, segmenter, crop, value=value, occlusion=occlusion, opacity=opacity, outlines=outlines
)
