"""ELA and the other classic checks: original and ELA side by side, quality and gain sliders, caveats."""

import streamlit as st

from ui import common, evidence, findings, lib

st.title("ELA and classic checks")
st.caption("Error level analysis re-saves the photo as JPEG and shows what changed. It reads JPEG compression "
           "history: on other formats, and after heavy or repeated compression, it mostly shows texture and edges.")
common.need("forensics.checks")
up, ev = evidence.current_evidence("ela")
c1, c2 = st.columns(2)
quality = c1.slider("Re-save JPEG quality", 50, 100, 90, key="ela_quality",
                    help="Closer to the file's own quality gives a more telling map.")
scale = c2.slider("Display gain (×)", 1, 60, 20, key="ela_scale")
f = common.call(lib.finding, up.sha256, "ela", (("quality", quality), ("scale", float(scale))), up.data, up.name,
                 spinner="Error level analysis")
if ev.format.upper() not in ("JPEG", "MPO"):
    st.warning(f"This file is {ev.format}, not JPEG: ELA has no compression history to read here.",
               icon=":material/warning:")
left, right = st.columns(2)
left.image(ev.image, caption=f"original ({ev.width}×{ev.height})", width="stretch")
right.image(f.images["ela"], caption=f"ELA at quality {quality}, gain ×{scale}", width="stretch")
findings.finding_card(f, show_images=False)

st.subheader("Other checks")
names = [c for c in lib.check_names() if c["name"] != "ela"]
chosen = st.multiselect("Checks to run", [c["name"] for c in names], default=[c["name"] for c in names],
                        key="ela_checks", format_func=lambda n: next(c["title"] for c in names if c["name"] == n))
for name in chosen:
    with st.container(border=True):
        g = common.call(lib.finding, up.sha256, name, (), up.data, up.name, spinner=f"Running {name}", stop=False)
        if g is not None:
            findings.finding_card(g)
