"""Explain: Grad-CAM and LRP side by side for one face, with their agreement and faithfulness."""

import streamlit as st

from ui import common, explain, faces

st.title("Explain")
st.caption("Which pixels moved the detector's score? Heatmaps show influence on the model, not a map of edited "
           "regions; two methods can disagree, so their agreement and faithfulness are shown next to them.")
common.need("forensics.explainers")
opts, an, crop, fkey = faces.face_page("explain")
c0, c1, c2, c3 = st.columns(4)
det_name = c0.selectbox("Detector", opts.detectors, key="explain_det")
classes = list(an.models[det_name].get("classes", ["real", "fake"]))
target = c1.selectbox("Explain class", ["most probable fake class", *classes], key="explain_target")
target = None if target.startswith("most probable") else target
with c2:
    cam = explain.method_select("CAM method", "cam", "gradcam", "explain_cam")
with c3:
    lrp = explain.method_select("LRP composite", "lrp", "lrp-epsilon-plus-flat", "explain_lrp")

left, right, side = st.columns([2, 2, 1])
side.image(crop, caption="aligned crop", width="stretch")
maps = {}
for col, method in ((left, cam), (right, lrp)):
    with col:
        if method:
            hm = explain.heatmap_for(fkey, det_name, method, crop, target)
            if hm is not None:
                explain.heatmap_panel(method, crop, hm)
                maps[method] = hm
if len(maps) == 2:
    st.subheader("Agreement between the two maps")
    explain.agreement_view(fkey, *maps.values())
st.subheader("Faithfulness")
f1, f2 = st.columns(2)
faith = f1.toggle("Deletion / insertion curves", value=True, key="explain_faith",
                  help="About 35 forward passes per map.")
road = f2.toggle("ROAD scores", value=False, key="explain_road", help="Slow: several seconds per map.")
if maps and faith:
    cols = st.columns(len(maps))
    for col, hm in zip(cols, maps.values(), strict=True):
        with col:
            explain.faithfulness_view(fkey, det_name, crop, hm, road=road)
