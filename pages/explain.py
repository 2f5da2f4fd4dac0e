"""Explain: Grad-CAM and LRP side by side for one face, with their agreement and faithfulness in words."""

import streamlit as st

from ui import explain, faces, lib, verdicts

st.title("Explain")
st.caption(
    "Which pixels moved the detector's score? Heatmaps show influence on the model, not a map of edited "
    "regions; two methods can disagree, so their agreement and faithfulness are shown next to them."
)
opts, an, face, crop, fkey = faces.face_page("explain")
c0, c1, c2, c3 = st.columns(4)
det_name = c0.selectbox("Detector", opts.detectors, key="explain_det")
verdicts.face_result(face.scores[det_name], an.models.get(det_name, {}))
classes = list(an.models[det_name].get("classes", ["real", "fake"]))
target = c1.selectbox("Explain class", ["most probable fake class", *classes], key="explain_target")
target = None if target.startswith("most probable") else target
with c2:
    cam = explain.method_select("CAM method", "cam", lib.default_method("map"), "explain_cam")
with c3:
    lrp = explain.method_select("LRP composite", "lrp", lib.default_method("lrp"), "explain_lrp")
opacity = explain.opacity_slider("explain_opacity")

left, right, side = st.columns([2, 2, 1])
side.image(crop, caption="aligned crop", width="stretch")
faith = st.toggle(
    "Deletion / insertion curves", value=True, key="explain_faith", help="About 35 forward passes per map."
)
chosen = [m for m in (cam, lrp) if m]
fx = explain.explanation_for(fkey, det_name, chosen, crop, target, faithfulness=faith)
maps = fx.maps if fx is not None else {}
for col, method in ((left, cam), (right, lrp)):
    if method in maps:
        with col:
            explain.heatmap_panel(lib.method_title(method), crop, maps[method], opacity=opacity, key="explain")

st.subheader("Agreement and faithfulness")
results = fx.faithfulness if fx is not None and faith else {}
ag = fx.agreement[lrp].get(cam) if fx is not None and len(maps) == 2 and lrp else None
for sentence in explain.explanation_sentences(ag, results if results else dict.fromkeys(maps)):
    st.info(sentence, icon=":material/balance:")
if ag is not None:
    explain.agreement_metrics(ag)
if results:
    cols = st.columns(len(results))
    for col, (method, f) in zip(cols, results.items(), strict=True):
        with col:
            explain.faithfulness_view(f, method)

st.subheader("ROAD: a separate, slower test")
st.caption(
    "Remove and debias (ROAD) re-fills removed pixels from their neighbours, so the model is not judged on "
    "blank patches. Its numbers are not the deletion / insertion figures above."
)
if st.toggle("Run ROAD", value=False, key="explain_road", help="Slow: several seconds per map.") and maps:
    fr = explain.explanation_for(fkey, det_name, chosen, crop, target, road=True)
    cols = st.columns(len(maps))
    for col, method in zip(cols, maps, strict=True):
        with col:
            if fr is not None and method in fr.faithfulness:
                explain.road_view(fr.faithfulness[method], method)
