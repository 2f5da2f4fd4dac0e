"""Report: the court report (PDF) and the machine-readable bundle (JSON) of the current evidence."""

import streamlit as st

from ui import lib, state, widgets

st.title("Report")
st.caption("A PDF for the case file and a JSON bundle that a second examiner can re-verify "
           "(`python -m forensics verify`). Both carry the evidence hashes, model hashes and every setting.")
widgets.need("forensics.report.build")
up, ev = widgets.current_evidence("report")
opts = state.options(lib.ready_names())
if not opts.detectors:
    st.info("Choose at least one detector in the sidebar.", icon=":material/tune:")
    st.stop()
with st.form("report_form"):
    c1, c2 = st.columns(2)
    case_id = c1.text_input("Case number", value="CASE-0001")
    examiner = c2.text_input("Examiner", value="")
    notes = st.text_area("Notes (printed with the items received)", value="", height=80)
    conclusion = st.text_area("Examiner's conclusion (printed as a section of its own, apart from the automated "
                              "findings)", value="", height=120)
    explainers = st.multiselect("Explanations to include", [m["name"] for m in lib.explainer_names()],
                                default=["gradcam", "lrp-epsilon-plus-flat"])
    checks = st.checkbox("Include the classic checks (ELA, noise, JPEG, metadata)", value=True)
    submitted = st.form_submit_button("Build report", type="primary")
if submitted:
    st.session_state["report_request"] = (tuple(sorted({"case_id": case_id, "examiner": examiner or "unnamed",
                                                        "notes": notes, "conclusion": conclusion}.items())),
                                         tuple(explainers), checks)
req = st.session_state.get("report_request")
if req is None:
    st.info("Fill in the case details and press **Build report**.", icon=":material/description:")
    st.stop()
case, explainers, checks = req
rep = widgets.call(lib.report, up.sha256, opts.detectors, opts.face_method, opts.allow_untrained, case, explainers,
                   "landmarks", checks, up.data, up.name, spinner="Building the report (analysis, explanations, "
                                                                  "regions, checks, PDF)")
b = rep["bundle"]
st.success(f"Report built: bundle sha256 `{b['bundle_sha256']}`", icon=":material/verified:")
stem = f"report_{dict(case)['case_id']}_{up.short}"
c1, c2 = st.columns(2)
c1.download_button("Download PDF", rep["pdf"], file_name=f"{stem}.pdf", mime="application/pdf", type="primary")
c2.download_button("Download JSON bundle", rep["json"], file_name=f"{stem}.json", mime="application/json")
st.subheader("Preview")
pages = lib.pdf_pages(rep["pdf"])
images = lib.pdf_page_images(rep["pdf"])
st.caption(f"{len(pages)} page(s), {len(rep['pdf']):,} bytes."
           + (f" The first {len(images)} pages as rendered by poppler; " if images else " ")
           + "the text of every page below.")
if images:
    cols = st.columns(len(images))
    for i, (col, png) in enumerate(zip(cols, images, strict=True), 1):
        col.image(png, caption=f"page {i}", width="stretch")
for i, text in enumerate(pages, 1):
    with st.expander(f"Page {i} (text)", expanded=False):
        st.text(text)
with st.expander("JSON bundle"):
    st.json(b, expanded=False)
