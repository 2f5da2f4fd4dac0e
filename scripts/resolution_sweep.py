"""Mean class probabilities of validation faces when every crop is re-sampled as if it had been cut from fewer source
pixels (forensics.training.augment.match_resolution): shows whether a model reads image size/sharpness as a label.

    .venv/bin/python scripts/resolution_sweep.py runs/holdout-ciplab/model.safetensors [--config configs/default.toml]

Uncalibrated softmax (no temperature); face crops come from the training crop cache of the config's val folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GROUPS = {
    "ciplab real": ("ciplab", "real"),
    "lfw real": ("lfw", "real"),
    "utkface real": ("utkface", "real"),
    "ciplab edit": ("ciplab_photoshop", None),
    "sd21": ("sdfd_sd21", None),
    "stylegan": ("stylegan_basemax", None),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", help="safetensors state dict of a run (e.g. runs/NAME/model.safetensors)")
    ap.add_argument("--config", default="configs/default.toml", help="training config the run used")
    ap.add_argument("--targets", default="0,256,160,100", help="source sides to simulate (0 = as cut)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch
    from safetensors.torch import load_file

    from forensics.calibration.temperature import softmax
    from forensics.detectors import create_detector
    from forensics.training.augment import match_resolution
    from forensics.training.config import TrainConfig
    from forensics.training.crop_sets import prepare_data
    from forensics.training.crops import predict_logits

    torch.set_num_threads(args.threads)
    cfg = TrainConfig.from_toml(args.config)
    _, va, _ = prepare_data(cfg, progress=False)
    det = create_detector(cfg.model.architecture, weights="none", classes=tuple(cfg.data.classes))
    det.model.load_state_dict(load_file(args.weights))
    sources = np.array([s.source for s in va.samples])
    kinds = np.array([s.kind for s in va.samples])
    sides = np.array(va.source_sides)
    print(f"{'group':14s} {'n':>4s} {'source px':>9s}  " + "  ".join(f"p({c})" for c in cfg.data.classes))
    for name, (source, kind) in GROUPS.items():
        m = (sources == source) & ((kinds == kind) if kind else True)
        if not m.any():
            continue
        for target in (int(t) for t in args.targets.split(",")):
            crops = np.stack(
                [match_resolution(c, s, target) if target else c for c, s in zip(va.crops[m], sides[m], strict=True)]
            )
            lg = predict_logits(det.model, crops, cfg.augment.input_size)
            p = softmax(lg)
            print(
                f"{name:14s} {int(m.sum()):4d} {target or 'as cut':>9}  "
                + "  ".join(f"{v:{len(c) + 3}.3f}" for v, c in zip(p.mean(0), cfg.data.classes, strict=True))
            )


if __name__ == "__main__":
    main()
