"""``python -m forensics fit-novelty``: fit a detector's novelty model on the face crops of its training folder."""

from __future__ import annotations

NAME = "fit-novelty"
HELP = "fit the novelty model of a detector (distance to its training faces) and record it in the manifest"


def add_arguments(p) -> None:
    p.add_argument("--detector", required=True, help="a ready detector (manifest entry)")
    p.add_argument("--data", required=True, help="its training folder (e.g. ../shared/data/train)")
    p.add_argument("--out", required=True, help="folder for <detector>.novelty.npz (next to the weights)")
    p.add_argument(
        "--manifest", default=None, help="manifest whose entry gets the novelty record (default: weights/manifest.json)"
    )
    p.add_argument("--weights-dir", action="append", default=None, help="extra folder searched for weight files")
    p.add_argument(
        "--threshold-quantile",
        type=float,
        default=None,
        help="quantile of cross-fitted training-face scores used as threshold (default 0.99)",
    )
    p.add_argument("--limit", type=int, default=None, help="use at most this many faces (a quick fit)")
    p.add_argument("--quiet", action="store_true")


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from forensics.calibration.novelty import DEFAULT_QUANTILE, fit_novelty, manifest_record
    from forensics.detectors import create_detector
    from forensics.detectors.weights import set_novelty, sha256_file
    from forensics.errors import ForensicsError
    from forensics.pipeline import batched_logits_and_features
    from forensics.training.crop_sets import load_crops
    from forensics.training.crops import CropSettings
    from forensics.training.data import BINARY, THREE_CLASS, class_index, list_samples

    det = create_detector(args.detector, weights_dirs=args.weights_dir, manifest=args.manifest)
    if not det.ready:
        raise ForensicsError(f"{args.detector} has no trained weights: fit its novelty model after training")
    samples = list_samples(args.data)
    if args.limit:
        rng = np.random.default_rng(0)
        samples = [samples[i] for i in sorted(rng.choice(len(samples), min(args.limit, len(samples)), replace=False))]
    scheme = THREE_CLASS if len(det.classes) == 3 else BINARY
    cs = load_crops(samples, CropSettings(), progress=not args.quiet)  # the crops training used (cached)
    labels = np.array([class_index(s.kind, det.classes, scheme) for s in cs.samples])
    _, feats = batched_logits_and_features(det, list(cs.crops))
    quantile = DEFAULT_QUANTILE if args.threshold_quantile is None else args.threshold_quantile
    model = fit_novelty(
        feats, labels, classes=det.classes, quantile=quantile, fitted_on=f"{len(labels)} face crops of {args.data}"
    )
    path = model.save(Path(args.out) / f"{args.detector}.novelty.npz")
    set_novelty(args.detector, manifest_record(model, path.name, sha256_file(path)), manifest=args.manifest)
    print(
        f"{path}: novelty model of {args.detector} on {len(labels)} faces "
        f"({', '.join(f'{k} {v}' for k, v in model.info['per_class'].items())}); threshold {model.threshold:.3f} "
        f"(quantile {quantile} of cross-fitted training scores); recorded in "
        f"{args.manifest or 'weights/manifest.json'}"
    )
    return 0
