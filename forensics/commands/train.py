"""``python -m forensics train --config FILE.toml [--resume] [--optuna N] [--crops-only] [--recalibrate]``. A config
with ``[soup] seeds`` trains one member per seed (each resumable) and averages their weights
(:mod:`forensics.training.soup`)."""

from __future__ import annotations

import json

NAME = "train"
HELP = "train a detector from a TOML config (checkpoints, resume, calibration, export to weights/)"


def add_arguments(p) -> None:
    p.add_argument("--config", required=True, help="training config (see configs/default.toml)")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    p.add_argument(
        "--optuna",
        type=int,
        default=0,
        metavar="N",
        help="run an Optuna search of N trials (with pruning) instead of one training",
    )
    p.add_argument(
        "--optuna-epochs", type=int, default=0, metavar="E", help="epochs per Optuna trial (default: the config's)"
    )
    p.add_argument("--crops-only", action="store_true", help="only fill the face-crop cache, then stop")
    p.add_argument(
        "--recalibrate",
        action="store_true",
        help="refit the finished run's calibration from its saved validation logits (no training), "
        "then export as the config says",
    )
    p.add_argument("--no-export", action="store_true", help="do not write into weights/ even if the config says so")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    from forensics.errors import ForensicsError
    from forensics.training.config import TrainConfig

    cfg = TrainConfig.from_toml(args.config)
    if args.no_export:
        cfg = cfg.replace(export={"enabled": False})
    if args.crops_only:
        from forensics.training.crop_sets import prepare_data

        tr, va, info = prepare_data(cfg, progress=not args.quiet)
        print(json.dumps(info, indent=2, default=str))
        return 0
    if args.recalibrate:
        from forensics.training.run_calibration import recalibrate

        cal = recalibrate(cfg)
        keys = ("temperature", "class_bias", "band", "threshold", "target_error")
        print(json.dumps({k: cal[k] for k in keys}, indent=2))
        return 0
    if args.optuna:
        from forensics.training.search import optuna_search

        if cfg.soup.seeds:
            raise ForensicsError("--optuna searches one run's settings: use a config without [soup]")

        best = optuna_search(cfg, n_trials=args.optuna, epochs=args.optuna_epochs or None, progress=not args.quiet)
        print(json.dumps(best, indent=2, default=str))
        return 0
    if cfg.soup.seeds:
        from forensics.training.soup import train_soup as train
    else:
        from forensics.training.trainer import train

    res = train(cfg, resume=args.resume, progress=not args.quiet)
    print(
        json.dumps(
            {
                "out_dir": str(res.out_dir),
                "epochs_done": res.epochs_done,
                "stopped_early": res.stopped_early,
                "val": res.metrics,
                "exported": str(res.exported) if res.exported else None,
            },
            indent=2,
            default=str,
        )
    )
    return 0
