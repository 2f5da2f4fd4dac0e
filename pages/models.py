"""Models: every detector with its readiness, weights hash and model card; trained generators with their samples."""

import streamlit as st

from ui import common, generators, lib, model_card

st.title("Models")
st.caption(
    "A detector is *ready* only when its trained weights were found and their SHA-256 matches the manifest; "
    "only ready detectors give verdicts."
)
statuses = common.call(lib.detector_statuses)
# three short columns and one that wraps: at a laptop's width the eight of before were cut off
st.dataframe(
    [
        {
            "detector": s["name"],
            "ready": s["ready"],
            "status": s["reason"],
            "classes": ", ".join(s.get("classes") or ()),
        }
        for s in statuses
    ],
    hide_index=True,
    width="stretch",
    row_height=56,
    height=40 + 56 * len(statuses),
    column_config={
        "detector": st.column_config.TextColumn(width=140),
        "ready": st.column_config.CheckboxColumn(width=60),
        "status": st.column_config.TextColumn(width="large"),
        "classes": st.column_config.TextColumn(width=150),
    },
)
with st.expander("Architectures, input sizes, weights files and their SHA-256"):
    st.dataframe(
        [
            {
                "detector": s["name"],
                "architecture": s["architecture"],
                "input": s.get("input_size"),
                "weights file": s.get("weights_file") or "-",
                "weights sha256": s.get("weights_sha256") or "-",
            }
            for s in statuses
        ],
        hide_index=True,
        width="stretch",
        column_config={"weights sha256": st.column_config.TextColumn(width="large")},
    )
st.caption(f"Default detectors here: {', '.join(lib.default_detectors()) or 'none ready'}")

st.subheader("Model card")
names = [s["name"] for s in statuses]
first_ready = next((i for i, s in enumerate(statuses) if s["ready"]), 0)
name = st.selectbox("Detector", names, index=first_ready, key="models_card")
if name and st.toggle(
    "Load this model and show its card",
    key="models_load",
    help="Loading builds the network (a few seconds for the larger ones).",
):
    model_card.model_card(common.call(lib.model_info, name, spinner=f"Loading {name}"))

generators.generators_section()
