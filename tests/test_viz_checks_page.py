"""Figures of the ELA & checks page: linked zoom, maps over the photo, the spectrum once, the summary rows."""

from __future__ import annotations

import numpy as np

from forensics.checks import Finding
from forensics.viz.checks import (
    findings_summary_rows,
    linked_images_figure,
    map_over_photo_figure,
    other_images,
    photo_maps,
)


def _finding(images, **kw):
    return Finding(
        check=kw.get("check", "x"),
        title="T",
        measured={},
        direction="neutral",
        reliability="low",
        caveats=(),
        images=images,
        summary="s",
        series=kw.get("series", {}),
    )


def test_linked_images_share_axes_even_when_a_display_copy_is_smaller():
    a = np.zeros((300, 400, 3), np.uint8)
    b = np.zeros((150, 200, 3), np.uint8)  # a reduced display copy of the same frame
    fig = linked_images_figure({"original": a, "ELA": b})
    assert fig.layout.xaxis2.matches == "x" and fig.layout.yaxis2.matches == "y"
    assert list(fig.layout.xaxis.range) == [0, 400] and list(fig.layout.yaxis.range) == [300, 0]
    assert fig.data[1].dx == fig.data[0].dx == 1.0  # both drawn in the original's pixel coordinates


def test_maps_lie_over_the_photo_and_the_spectrum_is_shown_once():
    lp = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    spec = _finding(
        {"log_spectrum": lp, "spectrum_peaks": lp},
        check="spectrum",
        series={"azimuthal_spectrum": np.stack([np.arange(5.0), np.arange(5.0)])},
    )
    assert photo_maps(spec) == {}
    assert set(other_images(spec)) == {"spectrum_peaks"}  # the log spectrum is the peaks figure's background
    ghost = _finding({"ghost_map": np.ones((20, 30), np.float32)})
    assert set(photo_maps(ghost)) == {"ghost_map"}
    fig = map_over_photo_figure(np.zeros((1600, 2400, 3), np.uint8), "ghost_map", ghost.images["ghost_map"])
    heat = fig.data[1]
    assert heat.z.shape == (533, 800) and heat.colorbar.title.text.startswith("difference")  # registered, scaled


def test_summary_rows_say_what_each_check_found():
    f = _finding({})
    assert findings_summary_rows([f]) == [{"check": "T", "points to": "neutral", "finding": "s"}]
