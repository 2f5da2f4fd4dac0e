"""Classic checks (ELA, noise, JPEG, copy-move, metadata, ...): the summary table and a Finding as a card."""

from __future__ import annotations

import streamlit as st

from ui import auth
from ui.common import plain

_DIRECTION_ICON = {
    "supports manipulation": ":red[▲ supports manipulation]",
    "supports an original": ":green[▼ supports an original]",
    "neutral": ":gray[● neutral]",
}


def summary_table(findings: list) -> None:
    """Every finding in one table (a data frame: summaries quote metadata from the evidence, shown as plain text)."""
    from forensics.viz.checks import findings_summary_rows

    rows = findings_summary_rows(findings)  # three text columns: four did not fit the page
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        key="checks_summary",
        height=40 + 72 * len(rows),
        row_height=72,  # room for a summary to wrap over three lines
        column_config={
            "check": st.column_config.TextColumn(width=150),
            "points to": st.column_config.TextColumn(width=110),
            "finding": st.column_config.TextColumn(width="large"),
        },
    )


def finding_card(f, *, photo=None, opacity: float = 0.6, show_images: bool = True) -> None:
    """A classic check's Finding: what was measured, which way it points, how reliable, caveats; its maps laid over
    the photo with a colour scale (an empty map is said in words, not drawn black), its other images and figures."""
    from forensics.viz.checks import finding_figures, map_over_photo_figure, other_images, photo_maps

    st.markdown(f"**{f.title}** · {_DIRECTION_ICON.get(f.direction, f.direction)} · reliability: {f.reliability}")
    st.markdown(plain(f.summary))  # summaries quote metadata (software names, comments) from the evidence
    if not f.applicable:
        st.caption("Not applicable to this file.")
    for c in f.caveats:
        st.caption(f"⚠ {plain(c)}")
    if show_images:
        maps = photo_maps(f)
        drawn = {k: v for k, v in maps.items() if float(v.max()) > 0} if photo is not None else {}
        for k in maps:
            if k not in drawn and photo is not None:
                st.caption(f"{k.replace('_', ' ')}: none found (the map is empty).")
        if drawn:
            cols = st.columns(min(2, len(drawn)))
            for i, (k, arr) in enumerate(drawn.items()):
                with cols[i % len(cols)]:
                    st.plotly_chart(
                        map_over_photo_figure(photo, k, arr, opacity=opacity),
                        width="stretch",
                        key=f"map_{f.check}_{k}",
                        config={"displayModeBar": False},
                    )
                    st.caption(k.replace("_", " ") + " over the photo")
        images = other_images(f) if photo is not None else {}
        if images:
            cols = st.columns(3)
            for i, (k, img) in enumerate(images.items()):
                cols[i % 3].image(img, caption=k.replace("_", " "), width="stretch")
        for k, fig in finding_figures(f).items():
            st.plotly_chart(fig, width="stretch", key=f"finding_{f.check}_{k}")
    with st.expander("Measured values"):
        st.json(f.to_dict(include_series=False).get("measured", {}), expanded=False)
    auth.keep("check", f"{f.check}:{sorted(f.params.items())}", lambda: f.to_dict(include_series=False))
