"""The levers of the generator-diversity recipe (issue 31): per-generator balancing and leave-one-generator-out
specs, SAFE augmentations, the blend mask carried through the augmentation chain, the blend-mask head, the
neighbouring-pixel residual view, and the run log's throughput record."""

from __future__ import annotations

import json

import numpy as np
import pytest

from forensics.training.augment import AugmentConfig, augment_with_mask, patch_mask, rotate
from forensics.training.data import Sample, is_held, parse_hold, sampling_weights
from forensics.training.generators import generator_of


def _sample(kind: str, source: str) -> Sample:
    label = "real" if kind == "real" else "fake"
    return Sample(path=f"/x/{source}/a.png", rel=f"{source}/a.png", label=label, kind=kind, source=source, group="g")


def test_generator_families_group_the_sources_of_one_generator():
    assert {generator_of(s) for s in ("sfhqt2i_flux1_dev", "sfhqt2i_flux1_pro", "infiniteyou_flux")} == {"flux"}
    assert {generator_of(s) for s in ("iclight_sd15", "arc2face_sd15", "sd15_notebook_shitichy")} == {"sd15"}
    assert generator_of("sdfd_sd21") == "sd21" and generator_of("storymaker_sdxl") == "sdxl"
    assert {generator_of(s) for s in ("sfhq_stylegan2_e4e", "stylegan2_official_sg3teaser")} == {"stylegan2"}
    assert generator_of("stylegan_basemax") != generator_of("stylegan2_official")
    assert generator_of("utkface") == "utkface"  # unknown sources are their own generator
    assert parse_hold("generator:flux") == ("generator", "flux")
    assert is_held(_sample("diffusion", "pulid_flux_infu_fig"), ["generator:flux"])
    assert not is_held(_sample("diffusion", "sfhqt2i_sdxl"), ["generator:flux"])


def test_fakes_balanced_per_generator_not_per_source_folder():
    # one generator in three folders (30 files each) against another in one folder of 10 files, power 0
    strata = [(0, "real")] * 10 + [(1, "flux_a")] * 30 + [(1, "flux_b")] * 30 + [(1, "flux_c")] * 30
    strata += [(1, "sd21_x")] * 10
    by_source = sampling_weights(strata, [], [0.5, 0.5], power=0.0, sbi_share=0.0)
    by_gen = sampling_weights(strata, [], [0.5, 0.5], power=0.0, sbi_share=0.0, fake_groups=generator_of)
    flux = slice(10, 100)
    assert by_source[flux].sum() == pytest.approx(0.5 * 3 / 4)  # three folders: three shares of four
    assert by_gen[flux].sum() == pytest.approx(0.25) and by_gen[100:].sum() == pytest.approx(0.25)
    assert by_gen[:10].sum() == pytest.approx(0.5) and by_gen.sum() == pytest.approx(1.0)


def test_patch_mask_blanks_the_asked_share_and_rotation_by_zero_is_identity():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    out = patch_mask(img, 0.25, np.random.default_rng(1), grid=8)
    changed = (out != img).any(axis=2)
    cells = changed.reshape(8, 8, 8, 8).any(axis=(1, 3))
    assert cells.sum() == 16  # 25% of the 64 cells
    assert np.array_equal(rotate(img, 0.0), img)


def test_blend_mask_follows_the_pixels_through_the_augmentations():
    # a red square on a textured grey face; its mask must still sit on red pixels after border mirroring, rotation,
    # crop window and flip (photometric steps off so colour identifies the region)
    rng = np.random.default_rng(3)
    img = rng.integers(90, 140, (128, 128, 3), dtype=np.uint8)
    img[40:80, 30:70] = (250, 10, 10)
    mask = np.zeros((128, 128), np.float32)
    mask[40:80, 30:70] = 1.0
    cfg = AugmentConfig(
        input_size=96,
        border_p=1.0,
        rescale_p=0.0,
        jpeg_p=0.0,
        jitter_p=0.0,
        blur_p=0.0,
        noise_p=0.0,
        rotate_p=1.0,
        rotate_max_deg=10.0,
        flip_p=1.0,
    )
    for seed in range(6):
        out, m = augment_with_mask(img, mask, cfg, np.random.default_rng(seed))
        assert m is not None and m.shape == out.shape[:2]
        red = (out[..., 0] > 200) & (out[..., 1] < 60)
        inside = m > 0.9
        assert inside.sum() > 50
        assert red[inside].mean() > 0.95  # the mask still marks the pasted pixels
        assert (m[red] > 0.5).mean() > 0.9


def test_npr_residual_and_the_widened_stem_keep_the_warm_start():
    import torch

    from forensics.detectors.nets import MobileNetV2Residual, load_widened, npr_residual

    flat = torch.arange(4.0).view(1, 1, 2, 2).repeat_interleave(2, -1).repeat_interleave(2, -2)
    assert torch.count_nonzero(npr_residual(flat)) == 0  # constant 2x2 cells: no residual
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert npr_residual(x)[0, 0, 1, 1] == x[0, 0, 1, 1] - x[0, 0, 0, 0]
    from torchvision.models import mobilenet_v2

    torch.manual_seed(0)
    base = mobilenet_v2(num_classes=3).eval()
    wide = MobileNetV2Residual(3).eval()
    load_widened(wide, base.state_dict())
    batch = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(wide(batch), base(batch), atol=1e-5)  # residual filters start at zero
    assert wide.features[0][0].weight.shape[1] == 6


def test_mask_head_learns_a_blend_map_on_a_toy_problem():
    import torch

    from forensics.training.mask_head import MaskHead

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 1))
    head = MaskHead(net, net[2], input_size=16)
    opt = torch.optim.Adam(list(net.parameters()) + list(head.parameters()), lr=0.05)
    x = torch.rand(8, 3, 16, 16)
    mask = torch.zeros(8, 16, 16)
    mask[:, 4:12, 4:12] = 1.0
    x[:, 0, 4:12, 4:12] += 1.0  # the "blend" is visible in channel 0
    has = torch.tensor([True] * 6 + [False] * 2)
    losses = []
    for _ in range(60):
        net(x)
        loss = head.loss(mask, has)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]
    net(x)
    assert float(head.loss(mask, torch.zeros(8, dtype=torch.bool)).detach()) == 0.0  # nothing known: no loss
    head.remove()


def test_tiny_training_with_mask_head_logs_throughput(tmp_path, monkeypatch):
    from forensics.training.config import TrainConfig
    from forensics.training.run_log import read_log
    from forensics.training.trainer import train
    from tests.test_training import _write_tree

    monkeypatch.setenv("FORENSICS_CROP_CACHE", str(tmp_path / "cache"))
    _write_tree(tmp_path / "data" / "train", n_per=4, seed=0)
    _write_tree(tmp_path / "data" / "val", n_per=3, seed=1)
    cfg = TrainConfig.from_dict(
        {
            "name": "tiny-mask",
            "seed": 1,
            "out_dir": str(tmp_path / "run"),
            "data": {
                "train_dir": str(tmp_path / "data" / "train"),
                "val_dir": str(tmp_path / "data" / "val"),
                "crop_method": "whole",
                "crop_size": 64,
                "sbi_share": 0.5,
                "fake_balance": "generator",
                "fake_power": 0.0,
            },
            "model": {"architecture": "mobilenetv2", "init": "none", "mask_weight": 0.5},
            "augment": {"input_size": 48, "rescale_min": 24, "rotate_p": 0.5, "patch_mask_p": 0.5},
            "train": {
                "batch_size": 4,
                "samples_per_epoch": 8,
                "threads": 1,
                "val_batch_size": 16,
                "val_every": 2,
                "contended_below": 1e9,
            },
            "stages": [{"epochs": 3, "unfreeze": 2, "lr": 1e-3}],
        }
    )
    train(cfg, progress=False)
    out = cfg.out_path
    epochs = [r for r in read_log(out) if r["event"] == "epoch"]
    assert [("val_auc" in r) for r in epochs] == [False, True, True]  # every 2nd epoch and the last
    assert all(r["contended"] and r["images_per_second"] > 0 for r in epochs)  # under 1e9 faces/s: contended
    from safetensors.torch import load_file

    head = load_file(str(out / "mask_head.safetensors"))
    assert head["weight"].shape[0] == 1 and float(head["weight"].abs().sum()) > 0  # trained away from its zero init
    assert json.loads((out / "calibration.json").read_text())["temperature"] > 0
