"""Detect: every face of the evidence with its calibrated verdict, likelihood ratio and known error rates; several
uploaded files at once as a results table."""

import streamlit as st

from ui import common, evidence, faces, lib, state

st.title("Detect")
st.caption(
    "Does any face show a sign of manipulation or generation? Every number names the model file and the "
    "settings it comes from."
)
up, ev = evidence.current_evidence("detect")
ready = lib.ready_names()
opts = state.options(ready)
if not ready:
    st.warning(common.NO_READY, icon=":material/warning:")
batch = state.batch()
if opts.detectors and len(batch) > 1:
    faces.batch_table(batch, opts)

tab_faces, tab_evidence, tab_prov = st.tabs(["Faces and verdicts", "Evidence and metadata", "Provenance"])
with tab_evidence:
    evidence.evidence_details(ev)
if not opts.detectors:
    with tab_faces:
        st.info("No detector chosen in the sidebar: faces are shown without scores.", icon=":material/tune:")
        faces.faceset_view(
            common.call(lib.faces, up.sha256, opts.face_method, up.data, up.name, spinner="Finding faces")
        )
    st.stop()
an = faces.analysis_for(up, opts)
with tab_faces:
    faces.faces_view(an, ev.image)
with tab_prov:
    faces.provenance(an)
