"""A light Optuna search over learning rate, unfrozen depth and self-blend share, with median pruning on the
per-epoch validation AUC. Every trial is a normal training run in ``<out_dir>/trial_<n>`` (never exported).

Example:
    >>> from forensics.training.search import optuna_search                   # doctest: +SKIP
    >>> optuna_search(TrainConfig.from_toml("configs/default.toml"), n_trials=8)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from forensics.training.config import StageConfig, TrainConfig


def trial_config(cfg: TrainConfig, trial: Any, number: int, epochs: int | None) -> TrainConfig:
    lr = trial.suggest_float("lr", 1e-4, 3e-3, log=True)
    unfreeze = trial.suggest_int("unfreeze", 2, 8)
    sbi = trial.suggest_float("sbi_share", 0.0, 0.8)
    total = epochs or cfg.total_epochs
    head = min(1, total - 1) if total > 1 else 0
    stages = tuple(
        s
        for s in (
            StageConfig(epochs=head, unfreeze="head", lr=lr * 3),
            StageConfig(epochs=total - head, unfreeze=unfreeze, lr=lr),
        )
        if s.epochs > 0
    )
    return dataclasses.replace(
        cfg,
        name=f"{cfg.name}-trial{number}",
        out_dir=str(cfg.out_path / f"trial_{number}"),
        stages=stages,
        data=dataclasses.replace(cfg.data, sbi_share=sbi),
        export=dataclasses.replace(cfg.export, enabled=False),
    )


def optuna_search(
    cfg: TrainConfig, n_trials: int, *, epochs: int | None = None, progress: bool = True, max_steps: int | None = None
) -> dict[str, Any]:
    """Run ``n_trials`` trainings (crops loaded once); returns and writes ``optuna.json`` with the best trial."""
    import optuna

    from forensics.training.crop_sets import prepare_data
    from forensics.training.trainer import train

    data = prepare_data(cfg, progress=progress)
    if max_steps is not None:
        cfg = cfg.replace(train={"samples_per_epoch": max_steps * cfg.train.batch_size})

    def objective(trial: optuna.Trial) -> float:
        tcfg = trial_config(cfg, trial, trial.number, epochs)

        def report(epoch: int, rec: dict[str, Any]) -> None:
            trial.report(float(rec.get("val_auc") or 0.0), epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        res = train(tcfg, progress=progress, epoch_callback=report, data=data)
        return float(res.metrics.get("val_auc") or 0.0)

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=cfg.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0),
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=n_trials)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    out = {
        "n_trials": len(study.trials),
        "completed": len(done),
        "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
        "best_value": study.best_value if done else None,
        "best_params": study.best_params if done else None,
        "trials": [
            {"number": t.number, "state": t.state.name, "value": t.value, "params": t.params} for t in study.trials
        ],
    }
    cfg.out_path.mkdir(parents=True, exist_ok=True)
    (cfg.out_path / "optuna.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    return out
