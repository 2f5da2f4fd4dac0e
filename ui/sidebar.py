"""The sidebar shared by every page: detectors and face finder (their values live in session state)."""

from __future__ import annotations

import streamlit as st

from forensics.faces.detect import FACE_METHODS
from ui import lib, state
from ui.common import call, plain


def sidebar() -> None:
    """Detector choice and face method, shared by every page (their values live in session state)."""
    with st.sidebar:
        st.markdown("**Analysis options**")
        statuses = call(lib.detector_statuses, stop=False) or []
        by_name = {s["name"]: s for s in statuses}
        if state.DETECTORS_KEY not in st.session_state:
            st.session_state[state.DETECTORS_KEY] = [
                n for n in (call(lib.default_detectors, stop=False) or []) if n in by_name
            ]
        else:  # a detector that vanished (manifest changed) must not break the widget
            st.session_state[state.DETECTORS_KEY] = [n for n in st.session_state[state.DETECTORS_KEY] if n in by_name]

        def label(n: str) -> str:
            return n if by_name.get(n, {}).get("ready") else f"{n} (explain-only, no verdict)"

        st.multiselect(
            "Detectors",
            list(by_name),
            key=state.DETECTORS_KEY,
            format_func=label,
            help="Ready detectors have verified trained weights. Others are random/ImageNet "
            "initialisations: they can be explained but never give a verdict.",
        )
        if not any(s["ready"] for s in statuses):
            st.caption("No detector is ready on this installation (see the Models page).")
        st.selectbox(
            "Face finder",
            list(FACE_METHODS),
            key=state.FACE_METHOD_KEY,
            help="; ".join(f"{name}: {m.title}" for name, m in FACE_METHODS.items()),
        )
        up = state.current()
        if up is not None:
            st.caption(f"Evidence: **{plain(up.name)}**  \nsha256 `{up.short}…`")
