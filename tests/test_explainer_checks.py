"""Localisation on edits with known parts and the cascading-randomisation sanity check, on synthetic edits and tiny
hand-built models; the measured-figure notes read from measured.json."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from forensics.detectors.base import Detector, DetectorConfig, ModelCard, PreprocessConfig  # noqa: E402
from forensics.errors import ForensicsError, NotApplicableError  # noqa: E402
from forensics.evaluation import wilson_interval  # noqa: E402
from forensics.explainers import EXPLAINERS, Explainer, explain  # noqa: E402
from forensics.explainers.localisation import (  # noqa: E402
    EDIT_PARTS,
    _poisson_binomial_tail,
    ciplab_edited_parts,
    localise,
    summarise,
)
from forensics.explainers.measured import load_measurements, method_note  # noqa: E402
from forensics.explainers.sanity import (  # noqa: E402
    cascade_stages,
    cascading_randomisation,
    detector_copy,
    parameter_layers,
    randomise_layers,
)
from forensics.segmentation import RegionMasks  # noqa: E402
from forensics.wording.explanations import localisation_sentence  # noqa: E402

nn = torch.nn
SIDE = 32
# A synthetic face layout (y0, y1, x0, x1) on a 32 x 32 crop: two eyes, a nose, a mouth, skin around them.
BOXES = {"left eye": (6, 10, 4, 12), "right eye": (6, 10, 20, 28), "nose": (12, 20, 13, 19), "mouth": (23, 27, 9, 23)}


def layout() -> RegionMasks:
    masks = {}
    for r, (y0, y1, x0, x1) in BOXES.items():
        m = np.zeros((SIDE, SIDE), bool)
        m[y0:y1, x0:x1] = True
        masks[r] = m
    masks["skin"] = ~np.any(list(masks.values()), axis=0)
    return RegionMasks(
        masks=masks, approximate=dict.fromkeys(masks, False), absent={}, segmenter="synthetic", shape=(SIDE, SIDE)
    )


def test_ciplab_names():
    assert ciplab_edited_parts("easy_176_1000.jpg") == ("left eye",)
    assert ciplab_edited_parts("mid_214_1011.jpg") == ("left eye", "nose", "mouth")
    assert ciplab_edited_parts("x/hard_2_1111.JPG") == EDIT_PARTS
    for bad in ("easy_1_0000.jpg", "easy_1_101.jpg", "easy_1_1021.jpg", "photo.jpg"):
        with pytest.raises(ForensicsError):
            ciplab_edited_parts(bad)


@pytest.mark.parametrize("part", EDIT_PARTS)
def test_a_map_on_the_edited_part_points_there(part):
    rm = layout()
    heat = np.zeros((SIDE, SIDE))
    heat[rm.masks[part]] = 1.0
    heat[rm.masks["skin"]] = 0.01  # faint relevance elsewhere: density still highest on the part
    res = localise(heat, rm, [part])
    assert res.top == (part,) and res.hit == 1.0 and res.chance == 0.25 and not res.empty
    assert res.area_share == pytest.approx(rm.masks[part].mean())
    assert res.share == pytest.approx(rm.masks[part].sum() / (rm.masks[part].sum() + 0.01 * rm.masks["skin"].sum()))
    other = next(p for p in EDIT_PARTS if p != part)
    miss = localise(heat, rm, [other])
    assert miss.hit == 0.0 and miss.top == (part,)


def test_density_not_mass_decides_and_ties_count_as_random_picks():
    rm = layout()
    heat = np.zeros((SIDE, SIDE))
    heat[rm.masks["nose"]] = 1.0  # 48 px x 1
    heat[rm.masks["left eye"]] = 1.5  # 32 px x 1.5: less mass, higher density
    assert localise(heat, rm, ["left eye"]).hit == 1.0
    tie = np.zeros((SIDE, SIDE))
    tie[rm.masks["left eye"]] = 1.0
    tie[rm.masks["right eye"]] = 1.0
    res = localise(tie, rm, ["left eye", "mouth"])
    assert set(res.top) == {"left eye", "right eye"} and res.hit == 0.5 and res.chance == 0.5
    empty = localise(-np.ones((SIDE, SIDE)), rm, ["mouth"])  # no positive relevance: exactly chance
    assert empty.empty and empty.hit == empty.chance == 0.25 and empty.share == 0.0
    with pytest.raises(ForensicsError):
        localise(tie, rm, ["left ear"])
    partial = RegionMasks(
        masks={k: v for k, v in rm.masks.items() if k != "nose"},
        approximate={},
        absent={"nose": "covered"},
        segmenter="s",
        shape=(SIDE, SIDE),
    )
    with pytest.raises(NotApplicableError, match="nose"):
        localise(tie, partial, ["mouth"])


def test_summary_against_independent_references():
    from scipy.stats import binomtest

    rm = layout()
    faces = []
    for parts, where in [
        (["left eye"], "left eye"),
        (["nose", "mouth"], "right eye"),
        (list(EDIT_PARTS), "nose"),
        (["mouth"], "mouth"),
    ]:
        heat = np.zeros((SIDE, SIDE))
        heat[rm.masks[where]] = 1.0
        faces.append(localise(heat, rm, parts))
    s = summarise(faces)
    assert s["faces"] == 4 and s["pointing"] == pytest.approx(0.75)
    assert s["chance"] == pytest.approx((0.25 + 0.5 + 1.0 + 0.25) / 4)
    assert s["informative"]["faces"] == 3 and s["informative"]["pointing"] == pytest.approx(2 / 3)
    ci = binomtest(3, 4).proportion_ci(method="wilson")
    assert s["pointing_ci"] == pytest.approx([ci.low, ci.high])
    # the one Wilson interval (forensics.evaluation) against its formula, written out here
    z = 1.959963984540054
    for k, n in ((3, 4), (0, 10), (10, 10), (12, 259)):
        p = k / n
        centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        assert wilson_interval(k, n) == pytest.approx(
            (centre - half / (1 + z * z / n), centre + half / (1 + z * z / n))
        )
    assert all(np.isnan(wilson_interval(0, 0)))
    # P(at least k hits) for independent random pointers, against brute-force enumeration of every outcome
    probs = [0.25, 0.5, 1.0, 0.25, 0.75]
    for k in range(6):
        brute = sum(
            np.prod([p if h else 1 - p for p, h in zip(probs, hits, strict=True)])
            for hits in itertools.product([0, 1], repeat=5)
            if sum(hits) >= k
        )
        assert _poisson_binomial_tail(probs, k) == pytest.approx(brute)
    assert s["p_value"] == pytest.approx(_poisson_binomial_tail([f.chance for f in faces], 3))
    assert localisation_sentence(25, 0.76, 0.56) == (
        "on 25 edits with known regions, this method pointed at an edited part in 76% (chance 56%)"
    )


# --- end to end: a detector that reacts to texture, explained on synthetic edits ------------------------------------
class Square(nn.Module):
    def forward(self, x):
        return x * x


class TextureNet(nn.Module):
    """fake logit = mean squared Laplacian response: a pasted, noisier patch raises it where it was pasted."""

    def __init__(self, classes: int = 2) -> None:
        super().__init__()
        self.lap = nn.Conv2d(3, 1, 3, padding=1, bias=False)
        k = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])
        with torch.no_grad():
            self.lap.weight.copy_(k.expand(1, 3, 3, 3) / 3.0)
        self.energy = Square()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(1, classes)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[-1.0], [1.0]]))
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(self.gap(self.energy(self.lap(x))).flatten(1))


def texture_detector() -> Detector:
    cfg = DetectorConfig(
        name="texture",
        architecture="texture",
        classes=("real", "fake"),
        fake_indices=(1,),
        preprocess=PreprocessConfig(input_size=SIDE),
    )
    return Detector(cfg, TextureNet(), card=ModelCard("texture"), target_layers=lambda m: [m.energy])


def synthetic_edit(parts: list[str], seed: int) -> np.ndarray:
    """A smooth face-coloured crop with noisy texture pasted into the edited parts."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    base = 150 + 20 * np.sin(yy / 9.0) + 10 * np.cos(xx / 11.0)
    img = np.repeat(base[..., None], 3, axis=2)
    for p in parts:
        y0, y1, x0, x1 = BOXES[p]
        img[y0:y1, x0:x1] += rng.normal(0, 25, (y1 - y0, x1 - x0, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("method", ["gradcam", "saliency"])
def test_synthetic_edits_are_found_by_a_model_that_sees_them(method):
    det = texture_detector()
    rm = layout()
    faces = []
    for seed, parts in enumerate(
        [["left eye"], ["right eye"], ["nose"], ["mouth"], ["left eye", "mouth"], ["right eye", "nose"]]
    ):
        hm = explain(det, synthetic_edit(parts, seed), method, target="fake")
        faces.append(localise(hm, rm, parts))
    s = summarise(faces)
    assert s["pointing"] == 1.0 and s["chance"] == pytest.approx((4 * 0.25 + 2 * 0.5) / 6)
    assert s["share"] > s["area_share"]


# --- sanity checks --------------------------------------------------------------------------------------------------
class Tiny(nn.Module):
    def __init__(self, classes: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, classes)

    def forward(self, x):
        return self.fc(self.gap(self.relu2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))).flatten(1))


def tiny_detector(seed: int = 0) -> Detector:
    torch.manual_seed(seed)
    cfg = DetectorConfig(
        name="tiny",
        architecture="tiny-cnn",
        classes=("real", "fake"),
        fake_indices=(1,),
        preprocess=PreprocessConfig(input_size=SIDE),
    )
    return Detector(cfg, Tiny(), card=ModelCard("tiny"), target_layers=lambda m: [m.conv2])


class SpatialPrior(nn.Module):
    """A learned per-pixel weight (a blob at the top left): where the model looks is a parameter."""

    def __init__(self) -> None:
        super().__init__()
        yy, xx = torch.meshgrid(
            torch.arange(SIDE, dtype=torch.float32), torch.arange(SIDE, dtype=torch.float32), indexing="ij"
        )
        self.w = nn.Parameter(torch.exp(-((yy - 8) ** 2 + (xx - 8) ** 2) / 30.0)[None, None])

    def forward(self, x):
        return x * self.w


class SpatialNet(nn.Module):
    """fake logit = spatially weighted mean of texture features: a map of this decision follows the prior."""

    def __init__(self, classes: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.mix = nn.Conv2d(4, 1, 1)
        self.relu2 = nn.ReLU()
        self.prior = SpatialPrior()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(1, classes)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[-1.0], [1.0]]))
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(self.gap(self.prior(self.relu2(self.mix(self.relu1(self.conv(x)))))).flatten(1))


def spatial_detector() -> Detector:
    torch.manual_seed(3)
    cfg = DetectorConfig(
        name="spatial",
        architecture="spatial",
        classes=("real", "fake"),
        fake_indices=(1,),
        preprocess=PreprocessConfig(input_size=SIDE),
    )
    return Detector(cfg, SpatialNet(), card=ModelCard("spatial"), target_layers=lambda m: [m.prior])


def crops(n: int = 3) -> list[np.ndarray]:
    return [synthetic_edit(["left eye", "mouth"], seed) for seed in range(n)]


def test_cascade_goes_from_the_top_layer_down():
    model = Tiny()
    assert parameter_layers(model) == ["conv1", "bn1", "conv2", "fc"]
    stages = cascade_stages(model, 3)
    assert stages[0] == ["fc"] and [n for g in stages for n in g] == ["fc", "conv2", "bn1", "conv1"]
    assert cascade_stages(model, 10) == [["fc"], ["conv2"], ["bn1"], ["conv1"]]
    with pytest.raises(ForensicsError):
        cascade_stages(model, 1)


def test_randomisation_keeps_moments_and_leaves_the_detector_alone():
    det = tiny_detector()
    before = {k: v.clone() for k, v in det.model.state_dict().items()}
    clone = detector_copy(det)
    assert clone.model is not det.model and clone.lock is not det.lock and clone.weights_sha256 is None
    big = nn.Linear(200, 50)
    w = big.weight.detach().clone()
    randomise_layers(big, [""], torch.Generator().manual_seed(0))  # "" = the module itself
    assert not torch.equal(big.weight, w)
    new = big.weight.detach()
    assert float(new.mean()) == pytest.approx(float(w.mean()), abs=3e-3)
    assert float(new.std()) == pytest.approx(float(w.std()), rel=0.03)
    randomise_layers(clone.model, ["fc", "conv1"], torch.Generator().manual_seed(0))
    assert not torch.equal(clone.model.fc.weight, det.model.fc.weight)
    assert torch.equal(clone.model.conv2.weight, det.model.conv2.weight)  # not in the list
    for k, v in det.model.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} changed in the original"


class _InputEdges(Explainer):
    """A map that ignores the model: the crop's own edges (what a sanity check must catch)."""

    family = "test"
    defaults: dict = {}

    def attribute(self, detector, x, target, params):
        img = x[0].detach().double().mean(0).numpy()
        gy, gx = np.gradient(img)
        return np.hypot(gx, gy), None, {}


@pytest.fixture()
def edges_method(monkeypatch):
    monkeypatch.setitem(EXPLAINERS._factories, "input-edges", _InputEdges)
    monkeypatch.setitem(EXPLAINERS._meta, "input-edges", {"family": "test"})
    return "input-edges"


def test_cascading_randomisation_passes_model_maps_and_fails_a_model_free_one(edges_method):
    det = spatial_detector()
    before = {k: v.clone() for k, v in det.model.state_dict().items()}
    res = cascading_randomisation(det, crops(3), ["gradcam", "saliency", edges_method], stages=4, seed=0)
    json.dumps(res)
    for k, v in det.model.state_dict().items():
        assert torch.equal(v, before[k])
    assert res["stages"] == 4 and res["layers"] == 4 and res["faces"] == 3
    fake = res["methods"][edges_method]
    assert fake["passed"] is False and fake["full_median_spearman"] == pytest.approx(1.0)
    for m in ("gradcam", "saliency"):  # their maps follow the learned prior, so they fall apart once it is random
        r = res["methods"][m]
        assert r["passed"] is True, (m, [c["median_spearman"] for c in r["curve"]])
        assert [c["randomised_layers"] for c in r["curve"]] == [1, 2, 3, 4]
        assert r["curve"][0]["layers"] == ["fc", "fc"] and r["curve"][1]["layers"] == ["prior", "prior"]
    small = tiny_detector(seed=1)  # a plain CNN: captum's LRP applies; a stage list covers every layer once
    res = cascading_randomisation(small, crops(2), ["lrp-captum"], stages=2)
    assert res["layers"] == 4 and res["methods"]["lrp-captum"]["curve"][-1]["randomised_fraction"] == 1.0
    with pytest.raises(ForensicsError):
        cascading_randomisation(det, [], ["gradcam"])


# --- measured notes -------------------------------------------------------------------------------------------------
def _doc(sha: str) -> dict:
    return {
        "schema": "forensics.explainer-measurements/1",
        "measured_at": "2026-12-03T10:00Z",
        "detectors": {
            "det": {
                "weights_sha256": sha,
                "localisation": {"methods": {"gradcam": {"faces": 25, "pointing": 0.52, "chance": 0.56}}},
                "sanity": {
                    "methods": {
                        "gradcam": {"passed": True, "worst_median_spearman": 0.1},
                        "lrp-x": {"passed": False, "worst_median_spearman": 0.8},
                    }
                },
            }
        },
    }


def test_method_notes_state_the_figure_and_mark_failures_and_other_weights():
    doc = _doc("a" * 64)
    n = method_note("det", "a" * 64, "gradcam", measurements=doc)
    assert n["measured"] and n["same_weights"] and n["sanity_passed"] is True
    assert "on 25 edits with known regions, this method pointed at an edited part in 52% (chance 56%)" in n["text"]
    assert "another model" not in n["text"]
    other = method_note("det", "b" * 64, "gradcam", measurements=doc)
    assert other["same_weights"] is False and "not on the loaded file bbbbbbbbbbbb" in other["text"]
    failed = method_note("det", "a" * 64, "lrp-x", measurements=doc)
    assert (
        failed["sanity_passed"] is False
        and "FAILED" in failed["text"]
        and "localisation not measured" in failed["text"]
    )
    assert method_note("nobody", None, "gradcam", measurements=doc)["measured"] is False


def test_method_note_leads_with_the_held_out_edits():
    doc = _doc("a" * 64)
    doc["detectors"]["det"]["localisation"]["methods"]["gradcam"].update(
        faces=155,
        pointing=0.82,
        chance=0.73,
        splits={
            "val": {"faces": 25, "pointing": 0.76, "chance": 0.74},
            "train": {"faces": 130, "pointing": 0.83, "chance": 0.73},
        },
    )
    n = method_note("det", "a" * 64, "gradcam", measurements=doc)
    assert n["text"].startswith(
        "Grad-CAM: on 25 edits with known regions, this method pointed at an edited part in "
        "76% (chance 74%) on held-out edits; on all 155, training edits included, 82% "
        "(chance 73%);"
    )
    assert n["localisation"]["held_out"]["faces"] == 25 and n["localisation"]["faces"] == 155


def test_committed_measurements_are_readable(tmp_path):
    doc = load_measurements()
    if doc:  # the committed file: every detector entry names the weights it was measured on
        for name, entry in doc["detectors"].items():
            assert len(entry["weights_sha256"]) == 64, name
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"schema": "other"}))
    with pytest.raises(ForensicsError, match="not a"):
        load_measurements(bad)
    assert load_measurements(tmp_path / "missing.json") == {}
