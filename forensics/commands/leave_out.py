"""``python -m forensics leave-out --config FILE.toml --hold source:X [--hold kind:Y ...] [--minutes M]
[--normalise SIDE,Q] [--report-only]``: train the config's recipe without the held-out groups (one fold, one seed,
never exported), calibrate without them, and report each group at the calibrated threshold
(:mod:`forensics.training.leave_out`). ``--table RUN_DIR...`` prints the collected table of finished folds;
``--card NAME`` with it writes the table into that detector's model card in weights/."""

from __future__ import annotations

import json

NAME = "leave-out"
HELP = "leave-source-out protocol: train without sources/kinds, report false accusations, misses and AUC on them"


def add_arguments(p) -> None:
    p.add_argument("--config", help="training config whose recipe is used (see configs/default.toml)")
    p.add_argument(
        "--hold",
        action="append",
        default=[],
        metavar="FIELD:NAME",
        help="left out of training and calibration: source:NAME, kind:NAME or family:NAME (repeatable; "
        "each is reported on its own)",
    )
    p.add_argument("--name", help="run name (default: <config name>-lso-<held names>)")
    p.add_argument("--minutes", type=float, help="wall-clock budget of the fold's training (default: the config's)")
    p.add_argument("--seed", type=int, help="training seed (default: the config's)")
    p.add_argument(
        "--normalise",
        action="append",
        default=[],
        metavar="SIDE,Q",
        help="also report after re-sampling every file to SIDE px / JPEG Q (repeatable)",
    )
    p.add_argument("--report-only", action="store_true", help="do not train: report a finished fold again")
    p.add_argument("--table", nargs="+", metavar="RUN_DIR", help="print the table of finished folds and stop")
    p.add_argument("--card", metavar="DETECTOR", help="with --table: write the table into this model card")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    from forensics.errors import ForensicsError
    from forensics.training import leave_out
    from forensics.training.crops import check_resampling

    if args.table:
        rows = leave_out.collect(args.table)
        if args.card:
            from forensics.training.export import update_card_with_leave_out

            update_card_with_leave_out(args.card, rows)
        print("\n".join(leave_out.table_markdown(rows)))
        return 0
    if not args.config:
        raise ForensicsError("leave-out needs --config (or --table RUN_DIR...)")
    from forensics.training.config import TrainConfig

    conditions: list[tuple[int, int] | None] = [None]
    for text in args.normalise:
        side, _, quality = text.partition(",")
        try:
            conditions.append(check_resampling(int(side), int(quality), "--normalise"))
        except ValueError:
            raise ForensicsError(f"--normalise {text!r}: write SIDE,QUALITY, e.g. 320,90") from None
    cfg = leave_out.fold_config(
        TrainConfig.from_toml(args.config), args.hold, name=args.name, minutes=args.minutes, seed=args.seed
    )
    if args.threads is not None:  # the global --threads: training would otherwise set the config's [train] threads
        cfg = cfg.replace(train={"threads": int(args.threads)})
    if not args.report_only:
        from forensics.training.trainer import train

        done = (cfg.out_path / "calibration.json").is_file()
        if not done:
            train(cfg, resume=(cfg.out_path / "checkpoint.pt").is_file(), progress=not args.quiet)
    reports = [leave_out.leave_out_report(cfg, normalise=c) for c in conditions]
    rows = [{**r, "condition": rep["condition"]} for rep in reports for r in rep["rows"]]
    print("\n".join(leave_out.table_markdown(rows)))
    print(json.dumps({"run": str(cfg.out_path), "band": reports[0]["band"]}, indent=2))
    return 0
