"""Face-forensics workbench dashboard: ``streamlit run streamlit_app.py`` (or ``bash scripts/run.sh``).

The router: page config, navigation over pages/, and the sidebar shared by every page. All Streamlit glue lives in
ui/; the analysis itself in the forensics library.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # AppTest and `streamlit run` from another folder
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui import auth, widgets  # noqa: E402

st.set_page_config(page_title="Face forensics workbench", page_icon=":material/policy:", layout="wide")

PAGES = [
    st.Page("pages/detect.py", title="Detect", icon=":material/face:", default=True),
    st.Page("pages/explain.py", title="Explain", icon=":material/visibility:"),
    st.Page("pages/segment_lrp.py", title="Segment + LRP", icon=":material/grid_view:"),
    st.Page("pages/ela.py", title="ELA & checks", icon=":material/compare:"),
    st.Page("pages/report.py", title="Report", icon=":material/description:"),
    st.Page("pages/dataset_stats.py", title="Dataset stats", icon=":material/bar_chart:"),
    st.Page("pages/models.py", title="Models", icon=":material/model_training:"),
    st.Page("pages/cases.py", title="Cases", icon=":material/folder_shared:"),
]

# sign-in, single-user banner or refusal, and the open case: until there is one, the gate shows its own page and stops
# the run before the app's pages are registered
auth.gate()
page = st.navigation(PAGES)
widgets.sidebar()
page.run()
