"""Region relevance on synthetic masks and maps with hand-computed answers; occlusion with a known-answer model."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.errors import NotApplicableError
from forensics.segmentation import RegionMasks, resolve_overlaps
from forensics.segmentation.regions import UNASSIGNED, aggregate, binarise, region_occlusion, region_relevance


def masks_10x10(absent: dict[str, str] | None = None) -> RegionMasks:
    """eyes = left half (50 px), hair = top-right quarter (25 px), bottom-right quarter unassigned."""
    eyes = np.zeros((10, 10), bool)
    eyes[:, :5] = True
    hair = np.zeros((10, 10), bool)
    hair[:5, 5:] = True
    return RegionMasks(
        masks={"eyes": eyes, "hair": hair},
        approximate={"eyes": False, "hair": True},
        absent=absent or {},
        segmenter="synthetic",
        shape=(10, 10),
    )


def test_all_relevance_in_one_square():
    rm = masks_10x10()
    heat = np.zeros((10, 10))
    heat[1:4, 6:9] = 2.0  # inside hair only
    heat[6:9, 1:4] = -5.0  # negative evidence never counts
    t = region_relevance(heat, rm)
    assert t.row("hair").share == pytest.approx(1.0)
    assert t.row("hair").pixel_share == pytest.approx(1.0)
    assert t.row("eyes").share == 0.0 and t.row(UNASSIGNED).share == 0.0
    assert t.positive_mass == pytest.approx(18.0)


def test_hand_computed_share_density_pixel_share():
    rm = masks_10x10()
    heat = np.zeros((10, 10))
    heat[:, :5] = 1.0  # eyes: 50 px x 1 = 50
    heat[:5, 5:] = 3.0  # hair: 25 px x 3 = 75 -> total 125
    t = region_relevance(heat, rm, top_fraction=0.25)
    eyes, hair, un = t.row("eyes"), t.row("hair"), t.row(UNASSIGNED)
    assert (eyes.share, hair.share, un.share) == pytest.approx((0.4, 0.6, 0.0))
    assert (eyes.area_share, hair.area_share, un.area_share) == pytest.approx((0.5, 0.25, 0.25))
    assert (eyes.density, hair.density, un.density) == pytest.approx((0.8, 2.4, 0.0))
    # top 25 % = the 25 hair pixels
    assert (eyes.pixel_share, hair.pixel_share) == pytest.approx((0.0, 1.0))
    assert t.binarisation == {"top_fraction": 0.25, "pixels": 25}
    # threshold 0.3 on the [0, 1] map: eyes (1/3) and hair (1) pass -> 75 pixels, 50 of them eyes
    t2 = region_relevance(heat, rm, threshold=0.3)
    assert (t2.row("eyes").pixel_share, t2.row("hair").pixel_share) == pytest.approx((50 / 75, 25 / 75))
    assert t2.row("hair").approximate is True and t2.row("eyes").approximate is False


def test_shares_sum_to_one_random_signed_map():
    rng = np.random.default_rng(3)
    lab = rng.integers(0, 4, size=(32, 40))
    rm = RegionMasks(
        masks={"eyes": lab == 0, "nose": lab == 1, "background": lab == 2},
        approximate={},
        absent={"glasses": "none found"},
        segmenter="synthetic",
        shape=(32, 40),
    )
    heat = rng.normal(size=(32, 40))
    t = region_relevance(heat, rm)
    present = t.present
    assert {r.region for r in present} == {"eyes", "nose", "background", UNASSIGNED}
    assert sum(r.share for r in present) == pytest.approx(1.0)
    assert sum(r.pixel_share for r in present) == pytest.approx(1.0)
    assert sum(r.area_share for r in present) == pytest.approx(1.0)
    pos = np.clip(heat, 0, None)
    assert t.row("nose").share == pytest.approx(pos[lab == 1].sum() / pos.sum())
    assert t.row(UNASSIGNED).share == pytest.approx(pos[lab == 3].sum() / pos.sum())
    g = t.row("glasses")
    assert g.absent and g.share == 0.0 and g.reason == "none found"
    assert t.absent == {"glasses": "none found"}
    rows = t.to_rows()
    assert [r["region"] for r in rows][-1] == "glasses" and {
        "share",
        "pixel_share",
        "area_share",
        "density",
        "approximate",
        "absent",
    } <= set(rows[0])


def test_resized_constant_map_gives_area_shares():
    t = region_relevance(np.ones((5, 5)), masks_10x10())
    for r in t.present:
        assert r.share == pytest.approx(r.area_share, abs=1e-9)
        assert r.density == pytest.approx(1.0) or r.area_share == 0
    assert any("resized" in n for n in t.notes)


def test_no_positive_relevance_is_refused():
    with pytest.raises(NotApplicableError, match="no positive relevance"):
        region_relevance(-np.ones((10, 10)), masks_10x10())


class _FakeHeatmap:
    def __init__(self, raw, heat):
        self.raw, self.heatmap = raw, heat
        self.method, self.target_name, self.target_index = "synthetic", "fake", 1


def test_heatmap_object_uses_raw_then_falls_back():
    raw = np.zeros((10, 10))
    raw[0, 0] = 1.0  # eyes
    heat = np.zeros((10, 10))
    heat[0, 9] = 1.0  # hair
    t = region_relevance(_FakeHeatmap(raw, heat), masks_10x10())
    assert t.row("eyes").share == 1.0 and t.method == "synthetic" and t.target_name == "fake"
    t2 = region_relevance(_FakeHeatmap(-raw, heat), masks_10x10())  # all-negative raw: use the [0, 1] map
    assert t2.row("hair").share == 1.0


def test_binarise_ties_and_limits():
    v = np.array([[0.0, 1.0], [1.0, 0.5]])
    assert binarise(v, top_fraction=0.25).sum() == 2  # both pixels at the cut value
    assert not binarise(np.zeros((3, 3))).any()
    with pytest.raises(ValueError):
        binarise(v, threshold=0.0)


def test_resolve_overlaps_priority():
    a = np.zeros((4, 4), bool)
    a[:2] = True
    b = np.ones((4, 4), bool)
    out = resolve_overlaps({"skin": b, "eyes": a})
    assert out["eyes"].sum() == 8 and out["skin"].sum() == 8 and not (out["eyes"] & out["skin"]).any()


class _TextureDetector:
    """Known-answer model: logit(fake) = std of the top-left 8x8 block / 10. Blurring a flat region changes nothing."""

    class config:  # noqa: N801 - mimics Detector.config
        fake_indices = (1,)

    classes = ("real", "fake")
    calibration = None

    def __init__(self):
        self.calls = 0

    def preprocess(self, crops):
        return np.stack([np.asarray(c, dtype=np.float64) for c in crops])

    def predict_proba(self, batch):
        self.calls += 1
        z = batch[:, :8, :8].reshape(len(batch), -1).std(axis=1) / 10.0
        p = 1 / (1 + np.exp(-z))
        return np.stack([1 - p, p], axis=1)


def test_occlusion_known_answer_one_batch():
    crop = np.full((16, 16, 3), 100, np.uint8)
    crop[:8, :8] = ((np.indices((8, 8)).sum(0) % 2) * 255)[..., None]  # checkerboard top-left
    tex = np.zeros((16, 16), bool)
    tex[:8, :8] = True
    flat = np.zeros((16, 16), bool)
    flat[8:, 8:] = True
    det = _TextureDetector()
    deltas, base, info = region_occlusion(
        det, crop, {"eyes": tex, "skin": flat, "empty": np.zeros((16, 16), bool)}, blur_sigma=3.0
    )
    assert det.calls == 1
    assert base == pytest.approx(1 / (1 + np.exp(-127.5 / 10)))
    assert deltas["skin"] == 0.0 and deltas["eyes"] < -0.1 and "empty" not in deltas
    assert info["target_name"] == "fake"
    rm = RegionMasks(masks={"eyes": tex, "skin": flat}, approximate={}, absent={}, segmenter="s", shape=(16, 16))
    heat = np.zeros((16, 16))
    heat[:8, :8] = 1
    t = region_relevance(heat, rm, detector=_TextureDetector(), crop=crop, blur_sigma=3.0)
    assert t.row("eyes").occlusion_delta == pytest.approx(deltas["eyes"])
    assert t.row("skin").occlusion_delta == 0.0 and t.baseline_probability == pytest.approx(base)


def test_aggregate_means():
    rm = masks_10x10()
    h1 = np.zeros((10, 10))
    h1[:, :5] = 1  # all eyes
    h2 = np.zeros((10, 10))
    h2[:5, 5:] = 1  # all hair
    agg = {r["region"]: r for r in aggregate([region_relevance(h1, rm), region_relevance(h2, rm)])}
    assert agg["eyes"]["mean_share"] == pytest.approx(0.5) and agg["hair"]["mean_share"] == pytest.approx(0.5)
    assert agg["eyes"]["mean_density"] == pytest.approx((2.0 + 0.0) / 2) and agg["eyes"]["found"] == 2


def test_viz_overlay_and_charts():
    from forensics.viz.regions import colour, mask_figure, mask_overlay, occlusion_chart, region_bar_chart

    rm = masks_10x10(absent={"glasses": "no frame"})
    crop = np.full((10, 10, 3), 200, np.uint8)
    ov = mask_overlay(crop, rm, alpha=0.5, outline=False)
    assert tuple(ov[5, 2]) == tuple(np.round(0.5 * 200 + 0.5 * np.array(colour("eyes"))).astype(int))
    assert tuple(ov[8, 8]) == (200, 200, 200)  # unassigned untouched
    heat = np.zeros((10, 10))
    heat[:, :5] = 1.0
    heat[:5, 5:] = 3.0
    t = region_relevance(heat, rm)
    fig = region_bar_chart(t)
    bars = fig.data[0]
    assert list(bars.x) == ["eyes", "≈ hair", "unassigned"]
    assert list(bars.y) == pytest.approx([0.4, 0.6, 0.0])
    assert list(bars.marker.pattern.shape) == ["", "/", ""]
    assert list(fig.data[1].y) == pytest.approx([0.5, 0.25, 0.25])  # area share beside
    assert "glasses" in fig.layout.title.text
    dens = region_bar_chart(t, value="density")
    assert len(dens.data) == 1 and list(dens.data[0].y) == pytest.approx([0.8, 2.4, 0.0])
    mf = mask_figure(crop, rm)
    assert [d.name.split(" (")[0] for d in mf.data[1:]] == ["eyes", "≈ hair"] and "glasses" in mf.layout.title.text
    with pytest.raises(ValueError, match="occlusion"):
        occlusion_chart(t)
