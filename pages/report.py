"""Report: the court report (PDF) and the machine-readable bundle (JSON) of the current evidence, logged and
optionally signed."""

import streamlit as st

from ui import auth, common, evidence, lib, state

st.title("Report")
st.caption(
    "A PDF for the case file and a JSON bundle that a second examiner can re-verify with the command shown "
    "after the export (the PDF carries the bundle, so it can be checked alone). Both carry the evidence "
    "hashes, model hashes, every setting and the case log's head; every export is written to the case log."
)
up, ev = evidence.current_evidence("report")
opts = state.options(lib.ready_names())
if not opts.detectors:
    st.info("Choose at least one detector in the sidebar.", icon=":material/tune:")
    st.stop()
keys = common.call(lib.signing_keys, stop=False) or []
key_labels = {"": "unsigned"} | {k["key_id"]: f"{k['name']} ({k['key_id']})" for k in keys}
with st.form("report_form"):
    c1, c2 = st.columns(2)
    case_id = c1.text_input("Case number", value="CASE-0001")
    examiner = c2.text_input("Examiner", value="")
    notes = st.text_area("Notes (printed with the items received)", value="", height=80)
    conclusion = st.text_area(
        "Examiner's conclusion (printed as a section of its own, apart from the automated findings)",
        value="",
        height=120,
    )
    explainers = st.multiselect(
        "Explanations to include",
        [m["name"] for m in lib.explainer_names()],
        default=list(lib.default_methods()),
        format_func=lib.method_title,
    )
    checks = st.checkbox("Include the classic checks (ELA, JPEG, noise, copy-move, spectrum, metadata)", value=True)
    sign_with = st.selectbox(
        "Sign with",
        list(key_labels),
        format_func=key_labels.get,
        help="Ed25519 keys of this machine's key store (`python -m forensics keys create`).",
    )
    submitted = st.form_submit_button("Build report", type="primary")
if submitted:
    st.session_state["report_request"] = (
        tuple(
            sorted(
                {
                    "case_id": case_id or "CASE-0001",
                    "examiner": examiner or "unnamed",
                    "notes": notes,
                    "conclusion": conclusion,
                }.items()
            )
        ),
        tuple(explainers),
        checks,
        sign_with or None,
    )
req = st.session_state.get("report_request")
if req is None:
    st.info("Fill in the case details and press **Build report**.", icon=":material/description:")
    st.stop()
case, explainers, checks, sign_with = req
data = common.call(
    lib.report,
    up.sha256,
    opts.detectors,
    opts.face_method,
    opts.allow_untrained,
    case,
    explainers,
    lib.default_segmenter(),
    checks,
    up.data,
    up.name,
    spinner="Building the report (analysis, explanations, regions, checks, PDF)",
)
exported = st.session_state.setdefault("report_exports", {})
key = (up.sha256, opts.key(), req)
if key not in exported:  # one export (and one log entry) per request, not per rerun
    exported[key] = common.call(lib.export_report, data, sign_with, spinner="Signing, logging and writing the files")
rep = exported[key]
b = rep["bundle"]
auth.keep(
    "report",
    b["bundle_sha256"],
    lambda: {
        "bundle_sha256": b["bundle_sha256"],
        "pdf": rep["files"].pdf.name,
        "signer": b.get("signer"),
        "case": dict(case),
    },
    blob=rep["pdf"],
)
st.success(f"Report built and logged: bundle sha256 `{b['bundle_sha256']}`", icon=":material/verified:")
st.caption(
    "Signed by "
    + (common.plain(f"{b['signer']['name']} (key {b['signer']['key_id']})") if b.get("signer") else "nobody (unsigned)")
    + f" · case log head at export: {b['log_head']['count']} entries"
)
c1, c2 = st.columns(2)
c1.download_button("Download PDF", rep["pdf"], file_name=rep["files"].pdf.name, mime="application/pdf", type="primary")
c2.download_button("Download JSON bundle", rep["json"], file_name=rep["files"].bundle.name, mime="application/json")
st.markdown(
    "**A second examiner re-checks it** (seal, signature, PDF bytes, then the whole analysis re-run from the "
    "evidence) with:"
)
st.code(
    lib.verify_command(rep["files"].pdf.name, up.name, signed=bool(b.get("signer"))), language="bash", wrap_lines=True
)
st.subheader("Preview")
pages = lib.pdf_pages(rep["pdf"])
images = lib.pdf_page_images(rep["pdf"], pages=len(pages), dpi=110)
st.caption(
    f"{len(pages)} page(s), {len(rep['pdf']):,} bytes."
    + (
        " Rendered by poppler at 110 dpi; the text of each page below it."
        if images
        else " (poppler's pdftoppm is not installed: the text of each page only.)"
    )
)
number = st.number_input("Page", 1, max(1, len(pages)), 1, key="report_page") if len(pages) > 1 else 1
if images and number <= len(images):
    st.image(images[number - 1], caption=f"page {number} of {len(pages)}", width="stretch")
with st.expander(f"Page {number} (text)", expanded=not images):
    st.text(pages[number - 1] if pages else "")
with st.expander("JSON bundle"):
    st.json(b, expanded=False)
