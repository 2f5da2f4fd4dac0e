"""Faces of the evidence: the analysis for the sidebar's options, every face with its verdict cards, the face
choice of the one-face pages, provenance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from forensics.calibration.domain import face_caveats
from forensics.faces.whole_face import FaceChecks
from forensics.formatting import pct as _pct
from forensics.verdicts import Verdict
from ui import lib, state
from ui.auth import log_once
from ui.common import call
from ui.evidence import current_evidence
from ui.verdicts import verdict_card

if TYPE_CHECKING:
    from forensics.pipeline.results import Analysis, FaceAnalysis


def provenance(an: Analysis) -> None:
    """Which model file (sha256), settings and data every number comes from."""
    import forensics
    from forensics.pipeline.results import SCHEMA

    rows = []
    for name, m in an.models.items():
        card = m.get("card") or {}
        cal = m.get("calibration") or {}
        rows.append(
            {
                "detector": name,
                "architecture": m.get("architecture"),
                "ready": m.get("ready"),
                "weights file": m.get("weights_file") or "-",
                "weights sha256": m.get("weights_sha256") or "-",
                "calibrated on": cal.get("fitted_on") or "-",
                "training data": card.get("training_data", ""),
            }
        )
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(
        f"Face finder: {an.face_method} · device {an.device} · library {forensics.__version__} · schema {SCHEMA}"
    )
    with st.expander("Options, timings and environment"):
        st.json(
            {"options": an.options.to_dict(), "timings_ms": an.timings_ms, "environment": an.environment},
            expanded=False,
        )


def faces_view(an: Analysis, image) -> None:
    """The overview of the whole evidence with numbered boxes (click a number, or pick it below, to show that face
    alone), then every face (or the chosen one): its aligned crop beside one verdict card per detector, and each
    detector's known failure modes once."""
    from forensics.viz.faces import STYLES, face_marks, overview_figure

    if not an.faces:
        st.warning(f"No face analysed: {an.no_face_reason or 'no face found'}", icon=":material/face_retouching_off:")
    marks = face_marks(an)
    if marks:
        event = st.plotly_chart(
            overview_figure(image, marks),
            on_select="rerun",
            selection_mode="points",
            key="detect_overview",
            config={"displayModeBar": False, "scrollZoom": True},
            width="stretch",
        )
        clicked = [p.get("customdata") for p in (event.selection.points if event else ()) if p.get("customdata")]
        if clicked and st.session_state.get("detect_overview_last") != clicked[0]:
            st.session_state["detect_overview_last"] = clicked[0]
            st.session_state["detect_face"] = f"Face {clicked[0]}"  # before the control below is drawn
        st.caption(
            "Boxes: "
            + " · ".join(f"{dash} {legend}" for _, dash, legend in STYLES.values())
            + ". Click a number (or choose below) to show that face alone."
        )
    if not an.faces:
        return
    choices = ["All faces", *(f"Face {f.index + 1}" for f in an.faces)]
    if st.session_state.get("detect_face") not in choices:
        st.session_state["detect_face"] = choices[0]
    chosen = st.segmented_control("Show", choices, key="detect_face") or choices[0]
    if chosen != choices[0]:
        st.caption(f"Showing {chosen} only: choose 'All faces' to see every face.")
    for face, crop in zip(an.faces, an.crops, strict=True):
        if chosen != "All faces" and chosen != f"Face {face.index + 1}":
            continue
        face_view(an, face, crop)
    for sentence in an.coverage.sentences() if an.coverage is not None else ():
        st.info(sentence, icon=":material/visibility_off:")
    if an.skipped_faces:
        with st.expander(f"{len(an.skipped_faces)} detection(s) left out"):
            st.dataframe(list(an.skipped_faces), hide_index=True)
    failure_modes(an.models)


def face_view(an: Analysis, face: FaceAnalysis, crop) -> None:
    """One face: its aligned crop (and whole-face checks) beside one verdict card per detector."""
    st.subheader(f"Face {face.index + 1}")
    names = list(face.scores)
    cols = st.columns([1] + [2] * max(1, len(names)))
    cols[0].image(
        crop,
        caption=f"aligned crop · box {[round(v) for v in face.box]} · confidence {face.confidence:.3f}",
        width="stretch",
    )
    if face.checks is not None:
        with cols[0]:
            face_checks_view(face.checks)
    for col, name in zip(cols[1:], names, strict=False):
        with col:
            verdict_card(
                name,
                face.scores[name],
                an.models.get(name, {}),
                key=f"face{face.index}",
                caveats=face_caveats(an, face, name),
                face_failures=face.checks.failures if face.checks is not None else (),
            )


def batch_table(files, opts) -> None:
    """Several uploaded files: one row per file and detector (faces, verdicts with their LR), then the file to
    examine face by face (it becomes the evidence of every page)."""
    from forensics.errors import ForensicsError
    from forensics.formatting import lr_in_favour

    rows = []
    bar = st.progress(0.0, text=f"0 / {len(files)} files")
    for i, up in enumerate(files, 1):
        try:
            an = lib.analysis(up.sha256, opts.detectors, opts.face_method, opts.allow_untrained, up.data, up.name)
        except ForensicsError as exc:
            rows.append(
                {
                    "file": up.name,
                    "sha256": up.sha256,
                    "faces": None,
                    "detector": "-",
                    "result": f"cannot be analysed: {exc}",
                }
            )
            continue
        finally:
            bar.progress(i / len(files), text=f"{i} / {len(files)} files")
        for det in opts.detectors:
            results = []
            for f in an.faces:
                s = f.scores.get(det)
                a = None if s is None else s.assessment
                verdict = Verdict.NONE if s is None else s.verdict
                lr = f" (LR {lr_in_favour(a.likelihood_ratio)})" if a is not None else ""
                results.append(f"face {f.index + 1}: {verdict}{lr}")
            rows.append(
                {
                    "file": up.name,
                    "sha256": up.sha256,
                    "faces": len(an.faces),
                    "detector": det,
                    "result": "; ".join(results) or (an.no_face_reason or "no face found"),
                }
            )
    bar.empty()
    st.subheader(f"{len(files)} files")
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        key="detect_batch_table",
        column_config={"result": st.column_config.TextColumn(width="large")},
    )
    names = [f"{u.name} ({u.short})" for u in files]
    cur = state.current()
    idx = next((i for i, u in enumerate(files) if cur and u.sha256 == cur.sha256), 0)
    pick = st.selectbox(
        "Examine face by face",
        range(len(files)),
        index=idx,
        format_func=names.__getitem__,
        key="detect_batch_pick",
        help="The chosen file becomes the evidence of every page.",
    )
    if pick != idx:
        state.set_current(files[pick].name, files[pick].data, "upload")
        st.rerun()


def failure_modes(models: dict[str, Any]) -> None:
    """Each detector's known failure modes, once for the whole evidence (from its model card)."""
    for name, m in models.items():
        failures = (m.get("card") or {}).get("failure_modes") or []
        if failures:
            with st.expander(f"Where {name} is known to fail ({len(failures)}, from its model card)"):
                st.markdown("\n".join(f"- {f}" for f in failures))


def face_checks_view(checks: FaceChecks) -> None:
    """The whole-face checks of one face: what was measured, and every failed check (no verdict then)."""
    confirmed = {True: "confirmed", False: "not confirmed", None: "not checked"}[checks.landmarks_confirmed]
    # rounded as FaceChecks.to_dict keeps them, so the card shows what the saved analysis and the report show
    st.caption(
        f"Whole-face checks: {_pct(round(checks.outside_fraction, 4))} of the box outside the image, "
        f"{_pct(round(checks.padded_fraction, 4))} of the crop padded, {round(checks.size_px, 1):.0f} px, landmarks "
        f"{confirmed} ({checks.finder})"
    )
    if not checks.passed:
        st.error("Not a whole face, so no verdict: " + "; ".join(checks.failures), icon=":material/crop_free:")


def faceset_view(fs) -> None:
    """Faces found without any detector (no scores)."""
    if not fs.faces:
        st.warning(f"No face found: {fs.reason or 'no face found'}", icon=":material/face_retouching_off:")
        return
    cols = st.columns(min(4, len(fs.faces)))
    for i, f in enumerate(fs.faces):
        cols[i % len(cols)].image(
            f.crop, caption=f"face {f.index + 1} · confidence {f.confidence:.3f}", width="stretch"
        )


def face_choice(an: Analysis, key: str) -> int | None:
    """Pick one analysed face; None (with an info) when there is none."""
    if not an.faces:
        st.warning(f"No face to explain: {an.no_face_reason or 'no face found'}")
        return None
    idx = st.selectbox(
        "Face", list(range(len(an.faces))), key=key, format_func=lambda i: f"Face {an.faces[i].index + 1}"
    )
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
    an = call(
        lib.analysis,
        up.sha256,
        dets,
        opts.face_method,
        opts.allow_untrained,
        up.data,
        up.name,
        spinner="Finding faces and scoring them",
    )
    from forensics.cases.audit import analysis_payload

    log_once("analysis", f"analysis:{up.sha256}:{opts.key()}", lambda: analysis_payload(an.to_dict()))
    return an


def face_key(up, opts, face_index: int) -> str:
    """Names one face crop for the result caches: evidence hash + face options + face index."""
    return f"{up.sha256}:{opts.face_method}:{face_index}"
