"""Generator runs on the Models page: a trained generator's sample grid, its provenance and its loss curves."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import lib
from ui.common import call, plain


def generators_section() -> None:
    st.subheader("Generators")
    runs = lib.generator_runs()
    if not runs:
        st.caption(
            f"No generator run in {plain(', '.join(lib.generator_roots()))}: train one with `python -m forensics "
            "generate train --arch dcgan --data ../shared/data/train/real --size 64 --out runs/gan-dcgan64`."
        )
        return
    run = st.selectbox("Generator run", runs, format_func=lambda p: Path(p).name, key="models_generator")
    if not (
        run
        and st.toggle(
            "Draw its samples and show their provenance",
            key="models_generator_show",
            help="Loads the run's checkpoint (SHA-256 taken from the bytes loaded) and draws a fixed-seed grid.",
        )
    ):
        return
    view = call(lib.generator_view, run, lib.run_version(run), spinner="Loading the generator")
    if view is None:
        return
    st.image(view["grid"], caption=f"{view['n']} generated faces (seed {view['seed']})")
    st.dataframe(view["rows"], hide_index=True, width="stretch", key="models_generator_provenance")
    if view["losses"]:
        from forensics.viz.generation import loss_figure

        st.plotly_chart(
            loss_figure(view["losses"]),
            width="stretch",
            key="models_generator_losses",
            config={"displayModeBar": False},
        )
