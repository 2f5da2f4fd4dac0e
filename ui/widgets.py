"""Shared widgets: sidebar, evidence picker, error display, verdict and finding cards."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from forensics.calibration import error_rate_rows
from forensics.cases.roots import confine
from forensics.domain import face_caveats
from forensics.errors import BadImageError, ForensicsError
from forensics.formatting import lr_in_favour, lr_number
from forensics.formatting import num as _num
from forensics.formatting import pct as _pct
from ui import lib, state

T = TypeVar("T")
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "tif", "tiff", "bmp", "gif", "avif", "ppm", "pgm"]
NO_READY = ("No ready detector: no trained weights were found in weights/ or ../shared/peers, so no verdict can be "
            "given. Train the default detector (`python -m forensics train --config configs/default.toml`) or put "
            "the published Meso-4 weights in ../shared/peers. Untrained architectures can still be chosen in the "
            "sidebar as explain-only detectors (no verdict).")


# --------------------------------------------------------------------------------------------------- plain text
_MARKUP = re.compile(r"([\\`*_\[\]<>:$&~|#@])")
_WWW = re.compile(r"(www)\.", re.IGNORECASE)


def plain(text: Any) -> str:
    """Text taken from evidence or typed by a user, made inert for an element that renders Markdown (captions,
    alerts, labels): the characters that Markdown links and images, HTML, entities, emphasis, LaTeX, GitHub
    autolinks (``https:``, ``www.``, e-mail) and Streamlit's ``:colour[...]`` / ``:material/...:`` directives need
    are backslash-escaped, so it shows as typed. Where a whole value is shown, prefer an element that never renders
    Markdown (``st.text``, ``st.code``, ``st.dataframe``, ``st.json``)."""
    return _WWW.sub(r"\1\\.", _MARKUP.sub(r"\\\1", str(text))).replace("\n", " ")


# --------------------------------------------------------------------------------------------------- errors
def show_error(exc: Exception) -> None:
    """A ForensicsError as an analyst reads it: what is wrong and what to do, never a traceback. Messages quote file
    names and metadata, so they are shown as plain text."""
    if isinstance(exc, BadImageError):
        st.error(f"This file cannot be analysed: {plain(exc)}", icon=":material/broken_image:")
    else:
        st.error(f"{type(exc).__name__}: {plain(exc)}", icon=":material/error:")


# --------------------------------------------------------------------------------------------------- audit log
def log_once(kind: str, key: str, payload: Callable[[], dict[str, Any]]) -> None:
    """Append one entry to the case log (``FORENSICS_CASE_DB``, the log the CLI writes) the first time this session
    sees ``key``; a log that cannot be written is shown as a warning, never hidden."""
    from forensics.audit import record

    done = st.session_state.setdefault("_audit_logged", set())
    if key in done:
        return
    s = st.session_state.get("auth_session")  # ui.auth's signed-in user and open case: every entry names them
    who = {"user": s.user.username, "case_id": s.case.id} if s is not None and s.case is not None else {}
    try:
        record(kind, {**payload(), "source": "dashboard", **who})
    except ForensicsError as exc:
        st.warning(f"This {kind} could not be written to the case log: {plain(exc)}", icon=":material/warning:")
        return
    done.add(key)
    from ui import auth  # (auth imports this module)

    auth.keep(kind, key, payload)  # analyses and explanations are kept in the open case too


def call(fn: Callable[..., T], *args: Any, spinner: str | None = None, stop: bool = True, **kwargs: Any) -> T | None:
    """Run ``fn``; a ForensicsError is shown with ``st.error`` and the page stops (or None is returned)."""
    try:
        if spinner:
            with st.spinner(spinner, show_time=True):
                return fn(*args, **kwargs)
        return fn(*args, **kwargs)
    except ForensicsError as exc:
        show_error(exc)
        if stop:
            st.stop()
        return None


def need(module: str) -> None:
    """Stop the page with a clear info when a library part is not in this version."""
    why = lib.missing(module)
    if why:
        st.info(why, icon=":material/construction:")
        st.stop()


# --------------------------------------------------------------------------------------------------- sidebar
def sidebar() -> None:
    """Detector choice and face method, shared by every page (their values live in session state)."""
    with st.sidebar:
        st.markdown("**Analysis options**")
        statuses = call(lib.detector_statuses, stop=False) or []
        by_name = {s["name"]: s for s in statuses}
        if state.DETECTORS_KEY not in st.session_state:
            st.session_state[state.DETECTORS_KEY] = [n for n in (call(lib.default_detectors, stop=False) or [])
                                                     if n in by_name]
        else:  # a detector that vanished (manifest changed) must not break the widget
            st.session_state[state.DETECTORS_KEY] = [n for n in st.session_state[state.DETECTORS_KEY]
                                                     if n in by_name]

        def label(n: str) -> str:
            return n if by_name.get(n, {}).get("ready") else f"{n} (explain-only, no verdict)"

        st.multiselect("Detectors", list(by_name), key=state.DETECTORS_KEY, format_func=label,
                       help="Ready detectors have verified trained weights. Others are random/ImageNet "
                            "initialisations: they can be explained but never give a verdict.")
        if not any(s["ready"] for s in statuses):
            st.caption("No detector is ready on this installation (see the Models page).")
        st.selectbox("Face finder", state.FACE_METHODS, key=state.FACE_METHOD_KEY,
                     help="auto: MTCNN, then OpenCV Haar if it finds nothing; whole: the whole image is one face.")
        up = state.current()
        if up is not None:
            st.caption(f"Evidence: **{plain(up.name)}**  \nsha256 `{up.short}…`")


# --------------------------------------------------------------------------------------------------- evidence
def examples() -> dict[str, Path]:
    return {p.name: p for p in sorted(EXAMPLES_DIR.glob("*.jpg"))}


def _offer(prefix: str, token: str, name: str, read: Callable[[], bytes], origin: str) -> None:
    """Make a picked file current once per pick (so "Clear evidence" is not undone by a widget still holding it)."""
    key = f"{prefix}_last_pick"
    if st.session_state.get(key) != token:
        st.session_state[key] = token
        state.set_current(name, read(), origin)


def evidence_picker(prefix: str) -> None:
    """Upload, shipped example or a local path; the choice becomes the evidence for every page."""
    source = st.radio("Evidence source", ["Upload a file", "Shipped example", "Local file path"], horizontal=True,
                      key=f"{prefix}_source")
    if source == "Upload a file":
        f = st.file_uploader("Photo to examine", type=UPLOAD_TYPES, key=f"{prefix}_upload",
                             help="The exact bytes are hashed (SHA-256, MD5) before anything else is done.")
        if f is not None:
            _offer(prefix, f"upload:{f.file_id}", f.name, f.getvalue, "upload")
    elif source == "Shipped example":
        ex = examples()
        choice = st.selectbox("Example", list(ex), index=None, placeholder="choose an example", key=f"{prefix}_ex",
                              help="Public-domain / CC0 photos from scikit-image's bundled data (see "
                                   "ui/examples/README.md); none comes from the evaluation data.")
        if choice:
            _offer(prefix, f"example:{choice}", choice, ex[choice].read_bytes, "example")
    else:
        st.caption("Reads a file on the machine running the dashboard (for local cases too large to upload), from the "
                   "evidence roots an admin configured only.")
        path = st.text_input("Path to an image file", key=f"{prefix}_path")
        if path and st.button("Load file", key=f"{prefix}_load"):
            try:  # only files inside the evidence roots an admin configured (forensics.cases.roots)
                p = confine(path)
            except ForensicsError as exc:
                show_error(exc)
            else:
                state.set_current(p.name, p.read_bytes(), "path")


def current_evidence(prefix: str, *, picker_open: bool = False):
    """Show the current evidence (with a way to change it) and return ``(Upload, Evidence)`` or stop the page."""
    up = state.current()
    ev, err = None, None
    if up is not None:
        try:
            with st.spinner("Decoding and hashing the evidence", show_time=True):
                ev = lib.evidence(up.sha256, up.data, up.name)
        except ForensicsError as exc:
            err = exc
    with st.expander("Evidence", expanded=picker_open or ev is None):
        evidence_picker(prefix)
    now = state.current()
    if (now and (now.sha256, now.name)) != (up and (up.sha256, up.name)):
        st.rerun()  # the picker changed the evidence during this run: start again with it
    if up is None:
        st.info("Choose a photo above (upload, shipped example or local path) to begin.",
                icon=":material/upload_file:")
        st.stop()
    if err is not None:
        show_error(err)
        st.stop()
    c1, c2 = st.columns([4, 1])
    c1.caption(f"**{plain(up.name)}** · {ev.format} {ev.width}×{ev.height} · {ev.size:,} bytes · sha256 `{ev.sha256}`")
    if c2.button("Clear evidence", key=f"{prefix}_clear"):
        state.clear()
        st.rerun()
    return up, ev


def evidence_details(ev) -> None:
    """Hashes and the metadata that matter first (camera, software, dates, JPEG quality, provenance claims)."""
    meta = ev.metadata or {}
    exif = meta.get("exif") or {}
    jpeg = meta.get("jpeg") or {}
    rows = [("file name", ev.name), ("size (bytes)", f"{ev.size:,}"), ("SHA-256", ev.sha256), ("MD5", ev.md5),
            ("format / mode", f"{ev.format} / {ev.mode}"),
            ("pixels (after EXIF orientation)", f"{ev.width}×{ev.height}")]
    for k in ("make", "model", "software", "datetime_original", "datetime"):
        if exif.get(k):
            rows.append((f"EXIF {k}", str(exif[k])))
    if jpeg.get("estimated_quality") is not None:
        rows.append(("JPEG estimated quality", str(jpeg["estimated_quality"])))
    if jpeg.get("subsampling"):
        rows.append(("JPEG chroma subsampling", str(jpeg["subsampling"])))
    c2pa = meta.get("c2pa") or {}
    if c2pa.get("present"):
        rows.append(("C2PA manifest", "present (claims are not verified here)"))
    for note in ev.notes:
        rows.append(("conversion", note))
    # a data frame shows its cells as plain text (st.table renders Markdown in cells: an EXIF field could load an
    # external image or show a link in the analyst's browser)
    st.dataframe({"item": [r[0] for r in rows], "value": [r[1] for r in rows]}, hide_index=True, width="stretch")
    with st.expander("All metadata (JSON)"):
        st.json(meta, expanded=False)


# --------------------------------------------------------------------------------------------------- verdicts
_COLOURS = {"manipulated or generated": "red", "camera original": "green", "inconclusive": "orange"}


def verdict_card(name: str, score: dict[str, Any], model: dict[str, Any], *, key: str = "",
                 caveats: list[str] | tuple[str, ...] = (), face_failures: list[str] | tuple[str, ...] = ()) -> None:
    """One detector's result for one face: verdict, band, likelihood ratio wording, known error rates, and the
    caveats of ``forensics.domain.face_caveats`` (a face larger than the camera originals it learnt from; a
    "camera original" verdict on a small or compressed file)."""
    st.markdown(f"**{name}**")
    st.caption(str(model.get("architecture", "")))
    a = score.get("assessment")
    if not score.get("ready"):
        st.warning("Explain-only: this detector has no trained weights, so it gives **no verdict** and its score "
                   "carries no evidential value.", icon=":material/block:")
        return
    withheld = score.get("withheld")
    if withheld:
        colour = "orange" if withheld["verdict"] == "inconclusive" else "gray"
        st.markdown(f"##### Verdict: :{colour}[{withheld['verdict']}]")
        for why in withheld["reasons"]:
            if why in face_failures:  # shown once beside the crop
                continue
            st.warning(why, icon=":material/block:")
        if any(why in face_failures for why in withheld["reasons"]):
            st.caption("This face failed the whole-face checks shown beside its crop.")
        st.caption(f"Calibrated p(fake) = {score['p_fake']:.3f}, shown as a number only: no verdict is drawn from "
                   "it for this face.")
        if score.get("stability"):  # no verdict, so nothing to call unstable: the score's spread only
            st.caption(f"Score under re-compression: {score['stability']['score_summary']}")
        novelty_view(score.get("novelty"))
        return
    if a is None:
        st.info(f"No calibration for this model, so **no verdict**. Uncalibrated p(fake) = {score['p_fake']:.3g}.",
                icon=":material/tune:")
        return
    verdict = a["verdict"]
    st.markdown(f"##### Verdict: :{_COLOURS.get(verdict, 'gray')}[{verdict}]")
    lo, hi = a["band"]
    c1, c2 = st.columns(2)
    c1.metric("calibrated p(fake)", f"{a['p_fake']:.3f}")
    c2.metric("likelihood ratio, in favour of " + ("Hp" if a["likelihood_ratio"] >= 1 else "Hd"),
              lr_number(a["likelihood_ratio"]),
              help=f"LR {lr_in_favour(a['likelihood_ratio'])} (log10 LR = {a['log10_lr']:.2f}), as in the report")
    st.plotly_chart(band_figure(a["p_fake"], lo, hi), width="stretch", key=f"band_{key}_{name}",
                    config={"displayModeBar": False})
    st.caption(f"Inconclusive band [{lo:.3f}, {hi:.3f}): below it 'camera original', at or above it "
               f"'manipulated or generated'.")
    st.markdown(f"*{a['statement']}*")
    stability_view(score.get("stability"))
    novelty_view(score.get("novelty"))
    st.caption(f"Known error rates at this band (validation): false positives {_pct(a.get('false_positive_rate'))}, "
               f"false negatives {_pct(a.get('false_negative_rate'))}.")
    for caveat in caveats:
        st.warning(caveat, icon=":material/photo_size_select_large:")
    failures = (model.get("card") or {}).get("failure_modes") or []
    if failures:
        with st.expander(f"Where {name} is known to fail ({len(failures)}, from its model card)"):
            st.markdown("\n".join(f"- {f}" for f in failures))


def stability_view(stab: dict[str, Any] | None) -> None:
    """Whether the verdict holds when the evidence is re-compressed and re-scaled (warning when it does not)."""
    if not stab:
        return
    if stab.get("unstable"):
        st.warning(f"Unstable verdict: {stab['summary'].removeprefix('unstable: ')}", icon=":material/swap_horiz:")
    else:
        st.caption(f"Stability: {stab['summary']}")
    parts = [f"{c['condition']}: {c['p_fake']:.3f}" + (f" ({c['verdict']})" if c["verdict"] else "")
             for c in stab["conditions"]]
    st.caption("Re-scored: " + " · ".join(parts))


def novelty_view(novelty: dict[str, Any] | None) -> None:
    """How far the face lies from the detector's training faces (or that this was not measured)."""
    if novelty:
        st.caption(f"Novelty: {novelty['summary']}")


def band_figure(p: float, lo: float, hi: float):
    """The calibrated score on [0, 1] with the three decision zones (green original, orange band, red fake)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for x0, x1, colour in ((0.0, lo, "rgba(39,174,96,0.35)"), (lo, hi, "rgba(243,156,18,0.35)"),
                           (hi, 1.0, "rgba(192,57,43,0.35)")):
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=0, y1=1, fillcolor=colour, line_width=0)
    fig.add_trace(go.Scatter(x=[p], y=[0.5], mode="markers", marker={"size": 14, "color": "black", "symbol": "diamond"},
                             hovertemplate="p(fake) %{x:.3f}<extra></extra>", showlegend=False))
    fig.update_layout(height=70, margin={"l": 5, "r": 5, "t": 5, "b": 20}, plot_bgcolor="white",
                      xaxis={"range": [-0.03, 1.03], "dtick": 0.25}, yaxis={"visible": False, "range": [0, 1]})
    return fig


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


# --------------------------------------------------------------------------------------------------- findings
_DIRECTION_ICON = {"supports manipulation": ":red[▲ supports manipulation]",
                   "supports an original": ":green[▼ supports an original]", "neutral": ":gray[● neutral]"}


def finding_card(f, *, show_images: bool = True) -> None:
    """A classic check's Finding: what was measured, which way it points, how reliable, caveats."""
    st.markdown(f"**{f.title}** · {_DIRECTION_ICON.get(f.direction, f.direction)} · reliability: {f.reliability}")
    st.markdown(plain(f.summary))  # summaries quote metadata (software names, comments) from the evidence
    if not f.applicable:
        st.caption("Not applicable to this file.")
    for c in f.caveats:
        st.caption(f"⚠ {plain(c)}")
    if show_images and f.images:
        images = finding_images(f)
        cols = st.columns(min(3, len(images)))
        for i, (k, img) in enumerate(images.items()):
            cols[i % len(cols)].image(img, caption=k.replace("_", " "), width="stretch")
    if show_images:
        for k, fig in finding_figures(f).items():
            st.plotly_chart(fig, width="stretch", key=f"finding_{f.check}_{k}")
    with st.expander("Measured values"):
        st.json(f.to_dict(include_series=False).get("measured", {}), expanded=False)
    from ui import auth  # (auth imports this module)

    auth.keep("check", f"{f.check}:{sorted(f.params.items())}", lambda: f.to_dict(include_series=False))


def finding_images(f) -> dict[str, Any]:
    """A Finding's images as uint8 RGB (maps coloured by the library's colour maps)."""
    from forensics.viz.checks import finding_images_rgb

    return finding_images_rgb(f)


def finding_figures(f) -> dict[str, Any]:
    from forensics.viz.checks import finding_figures as _figs

    return _figs(f)


# --------------------------------------------------------------------------------------------------- faces
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


def model_card(info: dict[str, Any]) -> None:
    """The model card of one loaded detector: training data, licence, metrics, intended use, failure modes."""
    card = info.get("card") or {}
    st.markdown(f"**{info.get('name')}** · {info.get('architecture')} · input {info.get('input_size')} px · "
                f"classes {', '.join(info.get('classes') or ())} · ready: {info.get('ready')}")
    rows = [("training data", card.get("training_data", "")), ("licence", card.get("licence", "")),
            ("intended use", card.get("intended_use", "")), ("reproduce", card.get("reproduce", "")),
            ("weights file", info.get("weights_file") or "-"), ("weights sha256", info.get("weights_sha256") or "-")]
    st.table({"item": [r[0] for r in rows], "value": [str(r[1]) for r in rows]})
    lso = card.get("leave_source_out")
    if lso:
        from forensics.training.leave_out import table_markdown

        st.markdown("**Sources it never saw (leave-source-out)**: the measurement that predicts evidence from a new "
                    "camera, generator or swap tool; in-sample validation does not.")
        st.caption(lso.get("protocol", ""))
        st.markdown("\n".join(table_markdown(lso["rows"])))
    if card.get("failure_modes"):
        st.markdown("**Known failure modes**")
        for f in card["failure_modes"]:
            st.markdown(f"- {f}")
    sides = card.get("training_image_sides")
    if sides:
        from forensics.training.export import side_table

        with st.expander(f"Training images by size ({sides['measure']}): what the size caveat on Detect reads"):
            st.markdown("\n".join(side_table(sides)))
    evaluation = (card.get("metrics") or {}).get("evaluation")
    if evaluation:
        from forensics.training.export import evaluation_tables

        with st.expander("Evaluation (per kind, per real source, against the Meso-4 peer and the floor)"):
            st.markdown("\n".join(evaluation_tables(evaluation, card["metrics"].get("evaluation_command", ""))))
    if card.get("metrics"):
        st.markdown("**Recorded metrics**")
        st.json(card["metrics"], expanded=False)
    cal = info.get("calibration")
    if cal:
        bias = ", ".join(f"{b:+.2f}" for b in cal.get("class_bias") or [])
        st.markdown(f"**Calibration**: temperature {cal['temperature']:.3g}"
                    + (f", class biases ({bias})" if bias else "") + ", inconclusive band "
                    f"[{cal['band'][0]:.3f}, {cal['band'][1]:.3f}), fitted on {cal.get('fitted_on') or '?'}")
        rows = error_rate_rows(cal.get("error_rates") or {})
        if rows:
            st.caption("Errors of this band on the validation faces, as the files are and after each re-sampling the "
                       "threshold was fitted to hold under:")
            st.dataframe(rows, hide_index=True, key="models_error_rates")
        st.json(cal.get("error_rates", {}), expanded=False)
    else:
        st.caption("No calibration: this detector gives no verdict.")


# --------------------------------------------------------------------------------------------------- explanations
def face_key(up, opts, face_index: int) -> str:
    """Names one face crop for the result caches: evidence hash + face options + face index."""
    return f"{up.sha256}:{opts.face_method}:{face_index}"


def method_select(label: str, family: str, default: str, key: str) -> str | None:
    """A selectbox over the explanation methods of one family ("cam" or "lrp")."""
    methods = [m for m in lib.explainer_names() if m["family"] == family]
    if not methods:
        st.info(f"No {family} method in this version of the library.")
        return None
    names = [m["name"] for m in methods]
    desc = {m["name"]: m["description"] for m in methods}
    return st.selectbox(label, names, index=names.index(default) if default in names else 0, key=key,
                        help="; ".join(f"{n}: {d}" for n, d in desc.items()))


def heatmap_for(fkey: str, det_name: str, method: str, crop, target: str | None):
    """The cached Heatmap, or None with the reason shown (method not applicable, ...)."""
    ok, why = lib.applicable(det_name, method)
    if not ok:
        st.info(f"{method} does not apply to {det_name}: {why}", icon=":material/block:")
        return None
    params = (("target", target),) if target else ()
    hm = call(lib.heatmap, fkey, det_name, method, params, crop, spinner=f"{method} on {det_name}", stop=False)
    if hm is not None:
        from forensics.report.bundle import explanation_record

        sha, face_method, face = fkey.split(":")
        log_once("explanation", f"explanation:{fkey}:{det_name}:{method}:{params}",
                 lambda: {"evidence_sha256": sha, "face_method": face_method,
                          **explanation_record(int(face), hm)})
    return hm


def heatmap_panel(title: str, crop, hm) -> None:
    st.markdown(f"**{title}**")
    st.image(lib.overlay(crop, hm.heatmap), width="stretch",
             caption=f"why '{hm.target_name}' (p {hm.probability:.3g}) · {hm.elapsed_ms:.0f} ms")
    for n in hm.notes:
        st.caption(n)
    measured_note(hm.detector, hm.method)


def measured_note(det_name: str, method: str) -> None:
    """The method's measured localisation and sanity-check result (a warning when it failed the check or when the
    figures were measured on other weights). The text is the library's own, never from evidence."""
    note = call(lib.method_note, det_name, method, stop=False)
    if note is None:
        return
    if note.get("sanity_passed") is False:
        st.warning(note["text"], icon=":material/gpp_bad:")
    elif note.get("measured") and not note.get("same_weights"):
        st.warning(note["text"], icon=":material/history:")
    else:
        st.caption(note["text"])


def agreement_view(fkey: str, a, b) -> None:
    ag = lib.agreement(f"{fkey}:{a.detector}:{a.method}:{b.method}:{a.target_index}", a, b)
    cols = st.columns(1 + len(ag.get("iou", {})))
    cols[0].metric("Spearman ρ", _num(ag.get("spearman")),
                   help="Rank agreement of the two maps over all pixels (1 = same ordering).")
    for col, (k, v) in zip(cols[1:], ag.get("iou", {}).items(), strict=False):
        col.metric(f"top-{float(k) * 100:.0f}% IoU", _num(v), help="Overlap of the most relevant pixels.")
    if ag.get("spearman") is None:
        st.caption("n/a: one of the maps is constant (nothing to rank), so the methods cannot be compared.")


def faithfulness_view(fkey: str, det_name: str, crop, hm, *, road: bool = False) -> None:
    f = call(lib.faithfulness, f"{fkey}:{hm.method}:{hm.target_index}", det_name, road, crop, hm,
             spinner=f"Deletion/insertion curves for {hm.method}", stop=False)
    if f is None:
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("deletion AUC", _num(f["deletion_auc"], 3), help="Area under p(class) as the most relevant pixels are "
              "removed first. Lower = more faithful.")
    c2.metric("insertion AUC", _num(f["insertion_auc"], 3), help="Area under p(class) as the most relevant pixels are "
              "inserted first into a blurred crop. Higher = more faithful.")
    c3.metric("ins − del", _num(f["difference"], 3), help="insertion AUC − deletion AUC: higher = more faithful.")
    st.plotly_chart(curves_figure(f, hm.method), width="stretch", key=f"faith_{hm.method}")
    if f.get("road"):
        r = f["road"]
        st.caption("ROAD (remove and debias): p after removing the most / least relevant pixels at "
                   + ", ".join(f"{p}%: {mo:.3f} / {le:.3f}" for p, mo, le in zip(r["percentiles"], r["morf"], r["lerf"],
                                                                                   strict=True)))


def curves_figure(f: dict[str, Any], title: str):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=f["fractions"], y=f["deletion"], name="deletion", mode="lines+markers"))
    fig.add_trace(go.Scatter(x=f["fractions"], y=f["insertion"], name="insertion", mode="lines+markers"))
    fig.update_layout(title=f"{title}: p({f['target_name']})", height=260,
                      margin=dict(l=10, r=10, t=40, b=10), xaxis_title="fraction of pixels",
                      yaxis_title="probability", yaxis_range=[0, 1])
    return fig


# --------------------------------------------------------------------------------------------------- dataset scans
def default_scan_folder() -> str:
    from forensics.paths import SHARED_DATA_DIR

    val = SHARED_DATA_DIR / "val"
    return str(val) if val.is_dir() else ""


def run_scan(folder: str, store: str, opts, *, limit: int | None, explainer: str | None,
             dask: str | None = None) -> None:
    """Scan with a live progress bar; errors are shown, never raised."""
    bar = st.progress(0.0, text="Listing images")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"{done} / {total} images")

    summary = call(lib.scan, folder, store, opts.detectors, face_method=opts.face_method, explainer=explainer,
                   segmenter="landmarks" if explainer else None, limit=limit, allow_untrained=opts.allow_untrained,
                   progress=progress, dask=dask, stop=False)
    if summary is not None:
        bar.progress(1.0, text="done")
        st.success(f"{summary.done} image(s) scanned, {summary.skipped_already_done} already in the store "
                   f"({summary.changed} changed since the last scan, re-analysed), "
                   f"{summary.errors} unreadable, {summary.duplicates} duplicate(s); {summary.faces} face(s) in "
                   f"{summary.seconds:.1f} s ({summary.faces_per_second:.1f} faces/s).")


def scan_view(stats: dict[str, Any]) -> None:
    """Counts, metric table with intervals, ROC/DET, per-kind and per-source rates, region statistics."""
    from forensics.viz.curves import det_figure, roc_figure
    from forensics.viz.scan import mean_heatmaps_figure, rate_table_figure, region_stats_figure

    counts = stats["counts"]
    cols = st.columns(4)
    cols[0].metric("images done", counts.get("done", 0))
    cols[1].metric("unreadable", counts.get("error", 0))
    cols[2].metric("faces", counts.get("faces", 0))
    cols[3].metric("detectors", len(stats["metrics"]))
    st.caption(f"Folder {plain(stats.get('root'))} · options {plain(stats.get('options'))}")
    curves, rows = {}, []
    for det, m in stats["metrics"].items():
        if "error" in m:
            st.info(f"{det}: {plain(m['error'])}")
            continue
        curves[det] = m["curves"]
        o = m["overall"]
        row = {"detector": det, "decision": m["decision"], "real": o["n_real"], "fake": o["n_fake"]}
        for k in ("auc", "eer", "accuracy", "tpr_at_fpr_5pct", "ece"):
            v = o.get(k) or {}
            ci = v.get("ci95")
            row[k] = None if v.get("value") is None else (
                f"{v['value']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""))
        rows.append(row)
    if rows:
        st.subheader("Detection metrics (95% bootstrap intervals)")
        st.dataframe(rows, hide_index=True, width="stretch")
        c1, c2 = st.columns(2)
        c1.plotly_chart(roc_figure(curves), width="stretch", key="scan_roc")
        c2.plotly_chart(det_figure(curves), width="stretch", key="scan_det")
        for det, m in stats["metrics"].items():
            if "error" in m:
                continue
            with st.expander(f"{det}: confusion and per-kind / per-source rates"):
                st.json(m["confusion"], expanded=True)
                k1, k2 = st.columns(2)
                k1.plotly_chart(rate_table_figure(m["per_kind"], f"{det}: flagged per kind", "kind"),
                                width="stretch", key=f"scan_kind_{det}")
                k2.plotly_chart(rate_table_figure(m["per_source"], f"{det}: flagged per source", "source"),
                                width="stretch", key=f"scan_src_{det}")
    for (det, expl), reg in stats["regions"].items():
        if reg:
            st.subheader(f"Region statistics: {expl} on {det}")
            st.plotly_chart(region_stats_figure(reg, f"Relevance share per region ({expl}, {det})"),
                            width="stretch", key=f"scan_reg_{det}_{expl}")
        maps = stats["mean_heatmaps"].get((det, expl))
        if maps:
            st.plotly_chart(mean_heatmaps_figure(maps, f"Mean {expl} heatmap per class ({det})"),
                            width="stretch", key=f"scan_mean_{det}_{expl}")


# --------------------------------------------------------------------------------------------------- regions
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


def scan_details(store: str, version: float, detectors: list[str]) -> None:
    """Problem faces (thumbnails) and the feature map of one scanned detector, on demand."""
    from forensics.viz.scan import embedding_figure

    if not detectors:
        return
    st.subheader("Faces to look at")
    det = st.selectbox("Detector", detectors, key="scan_detail_det")
    problems = call(lib.scan_problems, store, version, det, stop=False) or []
    if not problems:
        st.caption("No false alarm, miss or inconclusive face among the labelled faces.")
    else:
        cols = st.columns(8)
        for i, r in enumerate(problems[:32]):
            cols[i % 8].image(r["thumb"], caption=f"{r['problem']} · p {r['p_fake']:.2f}", width="stretch")
    if st.toggle("Feature map (t-SNE of the detector's penultimate features)", key="scan_tsne"):
        try:
            emb = call(lib.scan_embedding, store, version, det, spinner="t-SNE of the stored features", stop=False)
        except ValueError as exc:  # too few faces for a map
            st.info(str(exc))
            return
        if emb is not None:
            st.plotly_chart(embedding_figure(emb, f"t-SNE of {det} features (perplexity {emb['perplexity']:.0f})"),
                            width="stretch", key="scan_tsne_fig")
