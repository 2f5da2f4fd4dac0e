"""The landing page's guide: what each page is for, in the order an examination uses them."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from forensics.verdicts import Verdict

FAVICON = Path(__file__).resolve().parent / "assets" / "favicon.png"  # local: no icon fetched from a font host

# (page file, title, icon, what it is for); the first five in the order of one examination, then the references
PAGES: tuple[tuple[str, str, str, str], ...] = (
    (
        "pages/detect.py",
        "Detect",
        ":material/face:",
        f"Start here. Upload one or several photos: every face gets a calibrated verdict ({Verdict.FAKE}, "
        f"{Verdict.REAL}, or {Verdict.INCONCLUSIVE}), a likelihood ratio and the detector's known error rates.",
    ),
    (
        "pages/explain.py",
        "Explain",
        ":material/visibility:",
        "For one face: which pixels moved the detector's score (Grad-CAM and LRP), whether the two maps agree and "
        "which is the more faithful.",
    ),
    (
        "pages/segment_lrp.py",
        "Segment + LRP",
        ":material/grid_view:",
        "Which face regions (eyes, mouth, skin, hair, ...) carry the explanation, and whether blurring a region "
        "changes the score.",
    ),
    (
        "pages/ela.py",
        "ELA & checks",
        ":material/compare:",
        "Checks that need no detector: error level analysis, JPEG ghosts and double compression, noise, spectrum, "
        "copy-move (cloned areas) and metadata, summarised in one table.",
    ),
    (
        "pages/report.py",
        "Report",
        ":material/description:",
        "The court report (PDF) and the JSON bundle of the current photo, logged and optionally signed; a second "
        "examiner re-checks it with the verify command.",
    ),
    (
        "pages/dataset_stats.py",
        "Dataset stats",
        ":material/bar_chart:",
        "Reference: scan a labelled folder to measure a detector (AUC, error rates, which faces fool it).",
    ),
    (
        "pages/models.py",
        "Models",
        ":material/model_training:",
        "Reference: every detector, whether its weights are verified, its calibration and its model card.",
    ),
    (
        "pages/cases.py",
        "Cases",
        ":material/folder_shared:",
        "Reference: the cases you may see with their status, and the open case's evidence, work and notes, each with "
        "who did it and when.",
    ),
)
STEPS = 5  # the first STEPS pages form one examination, the rest are references


def navigation_pages() -> list:
    """The landing page first (default), then the eight pages in the guide's order."""
    home = st.Page(landing, title="Start here", icon=":material/home:", default=True, url_path="start")
    return [home, *(st.Page(path, title=title, icon=icon) for path, title, icon, _ in PAGES)]


def landing() -> None:
    st.title("Face forensics workbench")
    st.markdown(
        "Examines faces in photos for signs of manipulation or generation. Every number names the model "
        "file and settings it comes from, and every export is written to the case log."
    )
    st.subheader("One examination, in this order")
    for i, (path, title, icon, what) in enumerate(PAGES[:STEPS], 1):
        with st.container(border=True):
            c1, c2 = st.columns([1, 4])
            c1.page_link(path, label=f"{i}. {title}", icon=icon)
            c2.markdown(what)
    st.subheader("References")
    for path, title, icon, what in PAGES[STEPS:]:
        c1, c2 = st.columns([1, 4])
        c1.page_link(path, label=title, icon=icon)
        c2.markdown(what)
    st.caption(
        "The photo chosen on any page is the evidence for every page; the sidebar's detectors and face "
        "finder apply everywhere. Nothing leaves this machine: no page loads anything from another host."
    )
