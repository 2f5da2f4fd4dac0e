"""Face-forensics workbench dashboard: ``streamlit run streamlit_app.py`` (or ``bash scripts/run.sh``).

The router: page config, navigation (a landing page that says what each page is for, then pages/), and the sidebar
shared by every page. All Streamlit glue lives in ui/; the analysis itself in the forensics library.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # AppTest and `streamlit run` from another folder
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui import auth, guide, sidebar  # noqa: E402

# a local file: a ":material/...:" page icon makes the browser fetch the favicon from a font host
st.set_page_config(page_title="Face forensics workbench", page_icon=str(guide.FAVICON), layout="wide")

# sign-in, single-user banner or refusal, and the open case: until there is one, the gate shows its own page and stops
# the run before the app's pages are registered
auth.gate()
page = st.navigation(guide.navigation_pages())
sidebar.sidebar()
page.run()
