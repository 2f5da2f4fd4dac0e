"""ELA and the other classic checks: every finding summarised in one table, original and ELA with linked zoom, each
check's maps over the photo."""

import streamlit as st

from ui import common, evidence, findings, lib

st.title("ELA and classic checks")
st.caption(
    "Error level analysis re-saves the photo as JPEG and shows what changed. It reads JPEG compression "
    "history: on other formats, and after heavy or repeated compression, it mostly shows texture and edges."
)
up, ev = evidence.current_evidence("ela")
c1, c2, c3 = st.columns(3)
quality = c1.slider(
    "Re-save JPEG quality",
    50,
    100,
    90,
    key="ela_quality",
    help="Closer to the file's own quality gives a more telling map.",
)
scale = c2.slider("Display gain (×)", 1, 60, 20, key="ela_scale")
opacity = c3.slider("Map opacity over the photo", 0.0, 1.0, 0.6, 0.05, key="ela_opacity")
names = [c for c in lib.check_names() if c["name"] != "ela"]
chosen = st.multiselect(
    "Other checks to run",
    [c["name"] for c in names],
    default=[c["name"] for c in names],
    key="ela_checks",
    format_func=lambda n: next(c["title"] for c in names if c["name"] == n),
)
f = common.call(
    lib.finding,
    up.sha256,
    "ela",
    (("quality", quality), ("scale", float(scale))),
    up.data,
    up.name,
    spinner="Error level analysis",
)
others = [
    g
    for g in (
        common.call(lib.finding, up.sha256, n, (), up.data, up.name, spinner=f"Running {n}", stop=False) for n in chosen
    )
    if g is not None
]

st.subheader("All findings")
findings.summary_table([f, *others])
if ev.format.upper() not in ("JPEG", "MPO"):
    st.warning(
        f"This file is {ev.format}, not JPEG: ELA has no compression history to read here.", icon=":material/warning:"
    )

st.subheader("Original and ELA")
st.plotly_chart(
    lib.linked_figure(up.sha256, quality, scale, ev.image, f.images["ela"]),
    width="stretch",
    key="ela_linked",
    config={"scrollZoom": True, "displaylogo": False},
)
st.caption(
    f"original ({ev.width}×{ev.height}) and ELA at quality {quality}, gain ×{scale}: drag a box or scroll "
    "on either image to zoom both the same way; double-click to reset."
)
findings.finding_card(f, photo=ev.image, opacity=opacity, show_images=False)

st.subheader("Other checks")
for g in others:
    with st.container(border=True):
        findings.finding_card(g, photo=ev.image, opacity=opacity)
