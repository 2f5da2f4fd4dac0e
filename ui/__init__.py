"""Streamlit glue for the dashboard: the ONLY package that imports streamlit.

- ``ui.state``: the evidence shared across pages and the sidebar options (session state).
- ``ui.lib``: cached calls into the library (models in ``st.cache_resource``; results in ``st.cache_data`` keyed by
  the evidence sha256 and the options that change the numbers).
- ``ui.widgets``: shared widgets (sidebar, evidence picker, verdict cards, finding cards, error display).

Pages stay thin: widgets -> one call into ``ui.lib`` -> render.
"""
