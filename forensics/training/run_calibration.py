"""Calibration of a finished run (``forensics.calibration`` applied to its saved validation logits): the fit
written at the end of training and ``--recalibrate`` (refit without training again). With ``[calibration] resampled``
the validation files are also re-sampled and scored (``val_logits_resampled.npz``) so that the threshold holds on
re-shared files too. How sources left out of training fare is ``forensics.training.leave_out``.

Example:
    >>> from forensics.training import TrainConfig                                       # doctest: +SKIP
    >>> from forensics.training.run_calibration import recalibrate                       # doctest: +SKIP
    >>> recalibrate(TrainConfig.from_toml("configs/default.toml"))["band"]                # doctest: +SKIP
    [0.1157..., 0.9521...]
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from forensics.errors import ForensicsError
from forensics.training.config import TrainConfig, resolve_path
from forensics.training.crops import CropSettings, predict_logits
from forensics.training.data import list_samples
from forensics.training.run_log import append_log

RESAMPLED_LOGITS = "val_logits_resampled.npz"


def resampled_val_logits(cfg: TrainConfig, out: Path, model, paths: list[str]) -> dict[str, np.ndarray]:
    """Logits of the validation files under every ``[calibration] resampled`` condition (re-sampled to a shorter
    side and re-encoded as JPEG, then cropped like the files are), saved in ``RESAMPLED_LOGITS``; a file that
    cannot be cropped under a condition gets a row of NaN. Conditions already saved there are reused."""
    from forensics.calibration import condition_name
    from forensics.training.crops import face_crop_for_file

    path = out / RESAMPLED_LOGITS
    have: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path) as z:
            if [str(p) for p in z["paths"]] == list(paths):
                have = {k: z[k] for k in z.files if k != "paths"}
    settings = CropSettings(method=cfg.data.crop_method, crop_size=cfg.data.crop_size, margin=cfg.data.margin)
    result: dict[str, np.ndarray] = {}
    for side, quality in cfg.calibration.resampled:
        name = condition_name(side, quality)
        if name in have:
            result[name] = have[name]
            continue
        crops, ok = [], []
        for p in paths:
            try:
                crops.append(face_crop_for_file(p, settings, normalise=(side, quality)).crop)
                ok.append(True)
            except ForensicsError:
                ok.append(False)
        full = np.full((len(paths), len(cfg.data.classes)), np.nan)
        if crops:
            full[np.asarray(ok)] = predict_logits(
                model, np.stack(crops), cfg.augment.input_size, cfg.train.val_batch_size
            )
        result[name] = full
    if result:
        np.savez(path, paths=np.array(list(paths)), **result)  # type: ignore[arg-type]  # numpy's stub: **arrays
    return result


def calibrate(
    cfg: TrainConfig,
    out: Path,
    logits: np.ndarray,
    labels: np.ndarray,
    sources: list[str],
    resampled: dict[str, np.ndarray] | None = None,
) -> dict[str, Any] | None:
    """Fit temperature, inconclusive band (per real source, and under every re-sampling in ``resampled``) and LR
    model on validation logits; write ``calibration.json`` into the run folder. None when validation lacks a
    class."""
    from forensics.calibration import fit_calibration

    labels = np.asarray(labels, dtype=int)
    if (labels == 0).sum() < 2 or (labels != 0).sum() < 2:
        return None
    groups = [src if y == 0 else f"fake:{src}" for src, y in zip(sources, labels, strict=True)]
    also = f"; threshold also held after re-sampling to {', '.join(resampled)}" if resampled else ""
    cal = fit_calibration(
        logits,
        labels,
        fake_indices=tuple(range(1, len(cfg.data.classes))),
        target_error=cfg.calibration.target_error,
        groups=groups,
        lr_bins=cfg.calibration.lr_bins,
        fitted_on=f"validation faces of {cfg.data.val_dir or cfg.data.train_dir} ({len(labels)} faces){also}",
        conditions=resampled,
    )
    cal_dict = cal.to_dict()
    if cfg.calibration.leave_out_runs:
        cal_dict = _with_leave_out(cfg, cal_dict, cal.proba(logits)[:, 1:].sum(axis=1), labels != 0)
    (out / "calibration.json").write_text(json.dumps(cal_dict, indent=2), encoding="utf-8")
    return cal_dict


def _with_leave_out(cfg: TrainConfig, cal: dict[str, Any], val_p: np.ndarray, val_fake: np.ndarray) -> dict[str, Any]:
    """``cal`` with the findings of the config's leave-out fold runs applied (low edge, unseen-kind misses, LR
    bounds; ``forensics.training.leave_out_calibration``), from every condition each fold saved."""
    from forensics.training.leave_out_calibration import SCORES, apply_leave_out, load_fold

    folds = []
    for text in cfg.calibration.leave_out_runs:
        run = resolve_path(text)
        assert run is not None
        names = sorted(p.name for p in run.glob(SCORES.format(condition="*")))
        if not names:
            raise ForensicsError(
                f"[calibration] leave_out_runs: {run} holds no leave-out scores; run the fold first "
                "(scripts/lever_folds.sh or `forensics leave-out`)"
            )
        prefix, suffix = SCORES.split("{condition}")
        folds += [load_fold(run, n[len(prefix) : -len(suffix)]) for n in names]
    target = cfg.calibration.leave_out_target or cfg.calibration.target_error
    return apply_leave_out(cal, val_p, val_fake, folds, target=target)


def recalibrate(cfg: TrainConfig) -> dict[str, Any]:
    """Refit the calibration of a finished run from its saved validation logits (``val_logits.npz``), e.g. after a
    change to the calibration code, without training again; re-exports when the config exports."""
    out = cfg.out_path
    path = out / "val_logits.npz"
    if not path.is_file():
        raise ForensicsError(f"{path} missing: the run has not finished")
    with np.load(path) as z:
        logits, labels, sources = z["logits"], z["labels"], [str(s) for s in z["sources"]]
        rel = [str(p) for p in z["paths"]]
    cal = calibrate(cfg, out, logits, labels, sources, _saved_run_resampled(cfg, rel))
    if cal is None:
        raise ForensicsError(f"{path} lacks real or fake faces: nothing to calibrate on")
    append_log(out, {"event": "recalibrated", "calibration": cal, "time": time.time()})
    if cfg.export.enabled:
        from forensics.training.export import export_model

        export_model(cfg, out)
    return cal


def _saved_run_resampled(cfg: TrainConfig, rel: list[str]) -> dict[str, np.ndarray] | None:
    """``resampled_val_logits`` of a finished run (its saved weights, validation files in saved order ``rel``);
    None when the config asks for no re-sampling."""
    if not cfg.calibration.resampled:
        return None
    from forensics.detectors import create_detector

    val_dir = resolve_path(cfg.data.val_dir)
    if val_dir is None:
        raise ForensicsError("[calibration] resampled needs a fixed [data] val_dir")
    by_rel = {s.rel: s.path for s in list_samples(val_dir)}
    missing = [r for r in rel if r not in by_rel]
    if missing:
        raise ForensicsError(
            f"{len(missing)} validation files of the run are no longer in {val_dir} (e.g. {missing[0]})"
        )
    det = create_detector(
        cfg.model.architecture,
        weights=cfg.out_path / "model.safetensors",
        classes=cfg.data.classes,
        fake_indices=tuple(range(1, len(cfg.data.classes))),
    )
    return resampled_val_logits(cfg, cfg.out_path, det.model, [by_rel[r] for r in rel])
