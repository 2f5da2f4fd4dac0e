"""Heatmap figures over the crop (colour scale, opacity, region outlines registered to the map) and the region bars
(every bar visible on white, no legend swatch that disagrees with the bar colours)."""

from __future__ import annotations

import numpy as np
import pytest
from test_regions import masks_10x10

from forensics.segmentation.regions import region_relevance
from forensics.viz.heatmap import heatmap_figure, region_outlines
from forensics.viz.regions import colour, region_bar_chart


def test_heatmap_has_a_colour_scale_the_chosen_opacity_and_the_crops_coordinates():
    crop = np.zeros((10, 10, 3), np.uint8)
    heat = np.zeros((5, 5))
    heat[0, 0] = 1.0  # a coarser map is resized onto the crop: its top-left block lands top-left
    fig = heatmap_figure(crop, heat, opacity=0.3)
    hm = fig.data[1]
    assert hm.opacity == 0.3 and hm.colorbar.title.text.startswith("relevance")
    assert (hm.zmin, hm.zmax) == (0.0, 1.0) and hm.z.shape == (10, 10)
    assert hm.z[0, 0] == 1.0 and hm.z[9, 9] == 0.0
    assert list(fig.layout.yaxis.range) == [9.5, -0.5]  # image rows downwards, like the photo under it


def test_region_outlines_lie_on_the_regions_of_the_same_crop():
    rm = masks_10x10()
    outlines = region_outlines(rm)
    assert set(outlines) == {"eyes", "hair"}
    xs = np.concatenate([c[:, 0] for c in outlines["eyes"]])
    assert xs.min() == 0 and xs.max() == 4  # eyes = the left half (columns 0-4)
    fig = heatmap_figure(np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10)), regions=rm)
    lines = [t for t in fig.data if t.type == "scatter"]
    assert {t.line.color for t in lines} == {f"rgb{colour('eyes')}", f"rgb{colour('hair')}"}


def test_region_bars_are_visible_and_carry_no_misleading_legend():
    rm = masks_10x10()
    heat = np.zeros((10, 10))
    heat[:, :5] = 1.0
    heat[5:, 5:] = 0.5  # relevance in the unassigned quarter too
    fig = region_bar_chart(region_relevance(heat, rm))
    bars = fig.data[0]
    assert bars.showlegend is False and bars.marker.line.color == "black"
    assert "rgb(255, 255, 255)" not in list(bars.marker.color)  # "unassigned" was white on white
    assert list(bars.x)[-1] == "unassigned" and bars.y[-1] == pytest.approx(0.2)


def test_occlusion_and_map_disagreement_is_said_per_region():
    from forensics.segmentation.regions import RegionStat, RegionTable
    from ui.regions import disagreement_sentences

    def row(region, share, delta):
        return RegionStat(region, share, share, 0.2, share / 0.2, False, occlusion_delta=delta)

    table = RegionTable(
        rows=(
            row("hair", 0.08, -0.166),
            row("skin", 0.5, 0.01),
            row("mouth", 0.02, -0.2),
            row("nose", 0.3, -0.1),
            row("unassigned", 0.1, None),
        ),
        segmenter="landmarks",
        positive_mass=1.0,
        binarisation={},
    )
    said = disagreement_sentences(table)
    assert len(said) == 2  # hair and nose: blurring and map agree
    assert said[0].startswith("skin: the map gives it 50%") and said[1].startswith("mouth: blurring it lowers")
