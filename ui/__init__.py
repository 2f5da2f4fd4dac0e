"""Streamlit glue for the dashboard: the ONLY package that imports streamlit.

- ``ui.state``: the evidence shared across pages and the sidebar options (session state).
- ``ui.lib``: cached calls into the library (models in ``st.cache_resource``; results in ``st.cache_data`` keyed by
  the evidence sha256 and the options that change the numbers).
- components, one per concern: ``ui.common`` (plain text, errors, case log, guarded calls), ``ui.guide`` (landing
  page and navigation), ``ui.sidebar``, ``ui.evidence`` (picker, hashes, metadata), ``ui.faces`` (faces and their
  verdicts), ``ui.verdicts`` (one verdict card), ``ui.explain``, ``ui.regions``, ``ui.findings`` (classic checks),
  ``ui.scan`` (dataset scans), ``ui.model_card``.

Pages stay thin: components -> one call into ``ui.lib`` -> render.
"""
