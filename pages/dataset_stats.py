"""Dataset stats: scan a folder into a resumable results store, then its metrics and region statistics."""

import streamlit as st

from ui import auth, common, lib, scan, state

st.title("Dataset statistics")
st.caption(
    "Scans every image of a folder with the sidebar's detectors into a results store (SQLite) that resumes "
    "where it stopped. Folders named real/<source>/ and fake/<kind>/<source>/ give labels, hence metrics."
)
opts = state.options(lib.ready_names())

with st.expander("Scan a folder", expanded=not lib.known_stores()):
    folder = st.text_input("Folder on this machine", value=scan.default_scan_folder(), key="scan_folder")
    c1, c2, c3 = st.columns(3)
    limit = c1.number_input("At most this many images (0 = all)", 0, 1_000_000, 40, step=10, key="scan_limit")
    explainer = c2.selectbox(
        "Heatmaps for region statistics",
        ["none", *lib.default_methods()],
        key="scan_explainer",
        help="Adds one explanation and one segmentation per face.",
    )
    c3.caption(f"Detectors: {', '.join(opts.detectors) or 'none chosen'} · faces: {opts.face_method}")
    dask = st.text_input(
        "Dask scheduler (optional)",
        value="",
        key="scan_dask",
        placeholder="tcp://host:8786",
        help="Run the batches on a Dask cluster whose workers see this folder at the same path; "
        "empty: worker processes on this machine.",
    ).strip()
    store = lib.default_store(folder) if folder else None
    if store is not None:
        st.caption(f"Results store: {common.plain(store)}")
    if st.button("Scan", type="primary", disabled=not (folder and opts.detectors), key="scan_go") and auth.local_path(
        folder, folder=True
    ):
        scan.run_scan(
            folder,
            str(store),
            opts,
            limit=int(limit) or None,
            explainer=None if explainer == "none" else explainer,
            dask=dask or None,
        )
        auth.keep("scan", str(store), lambda: {"folder": folder, "store": str(store)})

stores = auth.case_scan_stores(lib.known_stores())  # the open case's scans only
if not stores:
    st.info("No scan yet: scan a folder above.", icon=":material/folder_open:")
    st.stop()
chosen = st.selectbox("Results store", stores, format_func=lambda p: p.name, key="scan_store")
version = lib.store_version(chosen)
stats = common.call(lib.scan_statistics, str(chosen), version, spinner="Reading the results store")
scan.scan_view(stats)
scan.scan_details(str(chosen), version, list(stats["metrics"]))
