"""Classic checks (ELA, noise, JPEG, metadata, ...): a Finding as a card."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.common import plain

_DIRECTION_ICON = {"supports manipulation": ":red[▲ supports manipulation]",
                   "supports an original": ":green[▼ supports an original]", "neutral": ":gray[● neutral]"}


def finding_card(f, *, show_images: bool = True) -> None:
    """A classic check's Finding: what was measured, which way it points, how reliable, caveats."""
    st.markdown(f"**{f.title}** · {_DIRECTION_ICON.get(f.direction, f.direction)} · reliability: {f.reliability}")
    st.markdown(plain(f.summary))  # summaries quote metadata (software names, comments) from the evidence
    if not f.applicable:
        st.caption("Not applicable to this file.")
    for c in f.caveats:
        st.caption(f"⚠ {plain(c)}")
    if show_images and f.images:
        images = finding_images(f)
        cols = st.columns(min(3, len(images)))
        for i, (k, img) in enumerate(images.items()):
            cols[i % len(cols)].image(img, caption=k.replace("_", " "), width="stretch")
    if show_images:
        for k, fig in finding_figures(f).items():
            st.plotly_chart(fig, width="stretch", key=f"finding_{f.check}_{k}")
    with st.expander("Measured values"):
        st.json(f.to_dict(include_series=False).get("measured", {}), expanded=False)


def finding_images(f) -> dict[str, Any]:
    """A Finding's images as uint8 RGB (maps coloured by the library's colour maps)."""
    from forensics.viz.checks import finding_images_rgb

    return finding_images_rgb(f)


def finding_figures(f) -> dict[str, Any]:
    from forensics.viz.checks import finding_figures as _figs

    return _figs(f)

