"""Benchmark of the trained default: training step time, inference ms per face (batch 1 and 32), peak memory.

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/bench_training.py [--threads 2] [--detector ffd-mobilenetv2]
Threads are capped (torch.set_num_threads, default 2). Inputs are random 256 px crops (timing does not depend on
content). Falls back to the ImageNet MobileNetV2 when the trained weights are absent (same architecture and cost).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._timing import median_min_ms  # noqa: E402


def _median_ms(fn, repeats: int) -> float:
    return median_min_ms(fn, repeats)[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--detector", default="ffd-mobilenetv2")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from forensics.detectors import create_detector
    from forensics.errors import ForensicsError
    from forensics.training.stages import set_trainable

    try:
        det = create_detector(args.detector)
        used = args.detector
    except ForensicsError:
        det = create_detector("mobilenetv2", weights="imagenet", classes=("real", "face-manipulated", "generated"))
        used = "mobilenetv2 (ImageNet init; trained weights absent)"
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (256, 256, 3), dtype=np.uint8) for _ in range(32)]
    out = {"detector": used, "threads": args.threads}
    x1 = det.preprocess(crops[:1])
    x32 = det.preprocess(crops)
    out["infer_ms_per_face_batch1"] = _median_ms(lambda: det.predict(x1), args.repeats)
    out["infer_ms_per_face_batch32"] = _median_ms(lambda: det.predict(x32), max(3, args.repeats // 2)) / 32
    out["preprocess_ms_per_face"] = _median_ms(lambda: det.preprocess(crops), 3) / 32

    # the data pipeline per training sample (single thread, as in the training loop): augmentation alone, and the
    # blended fakes made from real crops before augmentation
    from forensics.training.augment import AugmentConfig, augment
    from forensics.training.blending import self_blend

    cfg = AugmentConfig(border_p=0.5)
    lm = np.array([[92, 108], [164, 108], [128, 144], [100, 184], [156, 184]], np.float32)
    r = np.random.default_rng(1)
    out["augment_ms_per_sample"] = _median_ms(lambda: augment(crops[0], cfg, r), 30)
    out["self_blend_ms"] = _median_ms(lambda: self_blend(crops[0], lm, r), 30)
    out["part_blend_ms"] = _median_ms(lambda: self_blend(crops[0], lm, r, part="eyes"), 30)
    out["donor_blend_ms"] = _median_ms(lambda: self_blend(crops[0], lm, r, donor=(crops[1], lm + 3)), 30)

    model = det.model
    y = torch.randint(0, len(det.classes), (32,))
    for unfreeze in ("head", 6):
        set_trainable(model, unfreeze)
        model.train()
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

        def step(opt=opt):
            loss = torch.nn.functional.cross_entropy(model(x32), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        ms = _median_ms(step, max(3, args.repeats // 2))
        out[f"train_step_ms_batch32_unfreeze_{unfreeze}"] = ms
        out[f"train_images_per_second_unfreeze_{unfreeze}"] = 32 / (ms / 1000)
    model.eval()
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in out.items()}, indent=2))


if __name__ == "__main__":
    main()
