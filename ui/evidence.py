"""The evidence: picking it (upload, shipped example, local path), showing it, its hashes and metadata."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from forensics.cases.roots import confine
from forensics.errors import ForensicsError
from ui import lib, state
from ui.common import plain, show_error

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "tif", "tiff", "bmp", "gif", "avif", "ppm", "pgm"]


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
    source = st.radio(
        "Evidence source",
        ["Upload a file", "Shipped example", "Local file path"],
        horizontal=True,
        key=f"{prefix}_source",
    )
    if source == "Upload a file":
        files = st.file_uploader(
            "Photos to examine (one or several)",
            type=UPLOAD_TYPES,
            key=f"{prefix}_upload",
            accept_multiple_files=True,
            help="The exact bytes are hashed (SHA-256, MD5) before anything else is done. "
            "Several files: Detect shows a results table of all of them, and every page "
            "examines the one chosen there.",
        )
        token = "upload:" + ",".join(f.file_id for f in files or ())
        if files and st.session_state.get(f"{prefix}_last_pick") != token:
            st.session_state[f"{prefix}_last_pick"] = token
            if len(files) == 1:
                state.set_current(files[0].name, files[0].getvalue(), "upload")
            else:
                state.set_batch([(f.name, f.getvalue()) for f in files])
    elif source == "Shipped example":
        ex = examples()
        choice = st.selectbox(
            "Example",
            list(ex),
            index=None,
            placeholder="choose an example",
            key=f"{prefix}_ex",
            help="Public-domain / CC0 photos from scikit-image's bundled data (see "
            "ui/examples/README.md); none comes from the evaluation data.",
        )
        if choice:
            _offer(prefix, f"example:{choice}", choice, ex[choice].read_bytes, "example")
    else:
        st.caption(
            "Reads a file on the machine running the dashboard (for local cases too large to upload), from the "
            "evidence roots an admin configured only."
        )
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
        st.info("Choose a photo above (upload, shipped example or local path) to begin.", icon=":material/upload_file:")
        st.stop()
    if err is not None:
        show_error(err)
        st.stop()
    c1, c2 = st.columns([4, 1])
    c1.caption(f"**{plain(up.name)}** · {ev.format} {ev.width}×{ev.height} · {ev.size:,} bytes")
    c1.code(f"SHA-256 {ev.sha256}", language=None, wrap_lines=True)  # whole, never cut off; copy button
    if c2.button("Clear evidence", key=f"{prefix}_clear"):
        state.clear()
        st.rerun()
    return up, ev


def evidence_details(ev) -> None:
    """Hashes and the metadata that matter first (camera, software, dates, JPEG quality, provenance claims)."""
    meta = ev.metadata or {}
    exif = meta.get("exif") or {}
    jpeg = meta.get("jpeg") or {}
    rows = [
        ("file name", ev.name),
        ("size (bytes)", f"{ev.size:,}"),
        ("SHA-256", ev.sha256),
        ("MD5", ev.md5),
        ("format / mode", f"{ev.format} / {ev.mode}"),
        ("pixels (after EXIF orientation)", f"{ev.width}×{ev.height}"),
    ]
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
