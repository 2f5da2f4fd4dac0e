"""Faces of the evidence: the analysis for the sidebar's options, every face with its verdict cards, the face
choice of the one-face pages, provenance."""

from __future__ import annotations

from typing import Any

import streamlit as st

from forensics.domain import face_caveats
from forensics.formatting import pct as _pct
from ui import lib, state
from ui.common import call, log_once
from ui.evidence import current_evidence
from ui.verdicts import verdict_card


def provenance(an: dict[str, Any]) -> None:
    """Which model file (sha256), settings and data every number comes from."""
    models = an.get("models", {})
    rows = []
    for name, m in models.items():
        card = m.get("card") or {}
        cal = m.get("calibration") or {}
        rows.append({"detector": name, "architecture": m.get("architecture"), "ready": m.get("ready"),
                     "weights file": m.get("weights_file") or "-", "weights sha256": m.get("weights_sha256") or "-",
                     "calibrated on": cal.get("fitted_on") or "-", "training data": card.get("training_data", "")})
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(f"Face finder: {an.get('face_method')} · device {an.get('device')} · library "
               f"{an.get('library_version')} · schema {an.get('schema')}")
    with st.expander("Options, timings and environment"):
        st.json({"options": an.get("options"), "timings_ms": an.get("timings_ms"),
                 "environment": an.get("environment")}, expanded=False)


def faces_view(an) -> None:
    """Every face: its aligned crop beside one verdict card per detector (side by side)."""
    d = an.to_dict()
    if not an.faces:
        st.warning(f"No face analysed: {an.no_face_reason or 'no face found'}", icon=":material/face_retouching_off:")
    for face, crop in zip(d["faces"], an.crops, strict=True):
        st.subheader(f"Face {face['index']}")
        names = list(face["scores"])
        cols = st.columns([1] + [2] * max(1, len(names)))
        cols[0].image(crop, caption=f"aligned crop · box {[round(v) for v in face['box']]} · "
                                    f"confidence {face['confidence']:.3f}", width="stretch")
        if face.get("checks"):
            with cols[0]:
                face_checks_view(face["checks"])
        for col, name in zip(cols[1:], names, strict=False):
            with col:
                verdict_card(name, face["scores"][name], d["models"].get(name, {}), key=f"face{face['index']}",
                             caveats=face_caveats(d, face, name),
                             face_failures=(face.get("checks") or {}).get("failures") or ())
    for sentence in (d.get("coverage") or {}).get("sentences") or ():
        st.info(sentence, icon=":material/visibility_off:")
    if d["skipped_faces"]:
        with st.expander(f"{len(d['skipped_faces'])} detection(s) left out"):
            st.dataframe(d["skipped_faces"], hide_index=True)


def face_checks_view(checks: dict[str, Any]) -> None:
    """The whole-face checks of one face: what was measured, and every failed check (no verdict then)."""
    confirmed = {True: "confirmed", False: "not confirmed", None: "not checked"}[checks["landmarks_confirmed"]]
    st.caption(f"Whole-face checks: {_pct(checks['outside_fraction'])} of the box outside the image, "
               f"{_pct(checks['padded_fraction'])} of the crop padded, {checks['size_px']:.0f} px, landmarks "
               f"{confirmed} ({checks['finder']})")
    if not checks["passed"]:
        st.error("Not a whole face, so no verdict: " + "; ".join(checks["failures"]), icon=":material/crop_free:")


def faceset_view(fs) -> None:
    """Faces found without any detector (no scores)."""
    if not fs.faces:
        st.warning(f"No face found: {fs.reason or 'no face found'}", icon=":material/face_retouching_off:")
        return
    cols = st.columns(min(4, len(fs.faces)))
    for i, f in enumerate(fs.faces):
        cols[i % len(cols)].image(f.crop, caption=f"face {f.index} · confidence {f.confidence:.3f}", width="stretch")


def face_choice(an, key: str) -> int | None:
    """Pick one analysed face; None (with an info) when there is none."""
    if not an.faces:
        st.warning(f"No face to explain: {an.no_face_reason or 'no face found'}")
        return None
    idx = st.selectbox("Face", list(range(len(an.faces))), key=key,
                       format_func=lambda i: f"face {an.faces[i].index}")
    return int(idx)


def face_page(prefix: str):
    """The common head of a one-face page: evidence, sidebar options, analysis and the chosen face (selectbox key
    ``{prefix}_face``). Returns ``(opts, analysis, crop, face key)``; stops the page when any of them is missing."""
    up, _ = current_evidence(prefix)
    opts = state.options(lib.ready_names())
    an = analysis_for(up, opts)
    idx = face_choice(an, f"{prefix}_face")
    if idx is None:
        st.stop()
    return opts, an, an.crops[idx], face_key(up, opts, idx)


def analysis_for(up, opts):
    """The cached analysis for the current evidence and sidebar options (stops the page with a message if none)."""
    dets = opts.detectors
    if not dets:
        st.info("Choose at least one detector in the sidebar.", icon=":material/tune:")
        st.stop()
    an = call(lib.analysis, up.sha256, dets, opts.face_method, opts.allow_untrained, up.data, up.name,
              spinner="Finding faces and scoring them")
    from forensics.audit import analysis_payload

    log_once("analysis", f"analysis:{up.sha256}:{opts.key()}", lambda: analysis_payload(an.to_dict()))
    return an


def face_key(up, opts, face_index: int) -> str:
    """Names one face crop for the result caches: evidence hash + face options + face index."""
    return f"{up.sha256}:{opts.face_method}:{face_index}"

