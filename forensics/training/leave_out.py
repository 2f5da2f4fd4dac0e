"""Leave-source-out evaluation: train the recipe without some sources or kinds, calibrate without them, and report
how the left-out faces fare at the calibrated threshold, as evidence from a camera, generator or swap tool the
detector never saw would.

In-sample validation (sources seen in training) does not predict unseen sources: measured on 2026-12-03, the
detector that reached AUC 0.969 on validation called 10-20% of camera photos from unseen sources "manipulated or
generated". This is the measurement that fails the way the detector fails.

One run (a "fold") may leave several groups out at once (``[data] holdout``: ``source:X``, ``kind:Y``,
``family:Z``); each group is reported on its own. The left-out files are all of that group's files in train and
validation (none was seen). Per group, at the run's calibrated band:

- camera originals: share called "manipulated or generated" (a false accusation), share inconclusive;
- manipulated or generated faces: share detected, share called camera original (missed), share inconclusive;
- AUC: within the group when it holds both (the paired DeepFaceLive frames), else against the other class of the
  run's own validation faces (sources seen in training), with a bootstrap interval by video / file group.

Rates carry Wilson 95% intervals. ``normalise=(side, quality)`` first re-samples every left-out file and every
validation file (shorter side, JPEG quality), so that file size and JPEG tables carry no label.

Example:
    >>> from forensics.training.leave_out import fold_config                        # doctest: +SKIP
    >>> cfg = fold_config(TrainConfig.from_toml("configs/from-imagenet.toml"), ["kind:diffusion"])  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from forensics.errors import ForensicsError
from forensics.training.config import TrainConfig, resolve_path
from forensics.training.data import BINARY, THREE_CLASS, Sample, class_index, is_held, list_samples, parse_hold

REPORT = "leave_out.json"
SCORES_PREFIX = "leave_out_scores-"  # + condition + .npz: logits (and of the mirrored crops) of every face judged
REAL_SOURCE, FAKE_KIND, PAIRED = "real source", "fake kind", "originals and fakes"


def fold_config(
    cfg: TrainConfig,
    holds: Sequence[str],
    *,
    name: str | None = None,
    minutes: float | None = None,
    seed: int | None = None,
) -> TrainConfig:
    """The recipe of ``cfg`` with ``holds`` left out: one seed (no soup; ``seed`` overrides the config's), never
    exported, its own run folder."""
    if not holds:
        raise ForensicsError("leave-out needs at least one --hold source:X, kind:Y or family:Z")
    for h in holds:
        parse_hold(h)
    slug = "-".join(re.sub(r"[^a-z0-9]+", "", h.split(":", 1)[1].lower()) for h in holds)
    train = {"max_minutes": float(minutes)} if minutes is not None else {}
    if seed is not None:
        cfg = cfg.replace(seed=int(seed))
    return cfg.replace(
        name=name or f"{cfg.name}-lso-{slug}",
        data={"holdout": tuple(holds)},
        soup={"seeds": ()},
        export={"enabled": False},
        train=train,
    )


def held_samples(cfg: TrainConfig) -> dict[str, list[Sample]]:
    """Every file of train and validation under each hold-out spec of the config (none of them was trained on)."""
    files: list[Sample] = []
    for d in (cfg.data.train_dir, cfg.data.val_dir):
        root = resolve_path(d)
        if root is not None:
            files += list_samples(root)
    out = {h: [s for s in files if is_held(s, [h])] for h in cfg.data.holdout}
    for h, samples in out.items():
        if not samples:
            raise ForensicsError(f"hold-out {h!r} matches no file under {cfg.data.train_dir} or {cfg.data.val_dir}")
    return out


def _rate(k: int, n: int) -> list[float] | None:
    from forensics.evaluation import wilson_interval

    if n == 0:
        return None
    lo, hi = wilson_interval(k, n)
    return [k / n, lo, hi]


def _auc(is_fake: np.ndarray, p: np.ndarray, groups: np.ndarray, n_boot: int) -> list[float] | None:
    from forensics.evaluation import auc, bootstrap_ci

    if is_fake.all() or not is_fake.any():
        return None
    return list(bootstrap_ci(auc, is_fake, p, n_boot=n_boot, groups=groups))


def group_row(
    spec: str,
    p: np.ndarray,
    is_fake: np.ndarray,
    groups: np.ndarray,
    band: tuple[float, float],
    *,
    val_p: np.ndarray,
    val_fake: np.ndarray,
    val_groups: np.ndarray,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """One row of the leave-out table for the faces of one held-out group (``p`` calibrated p_fake)."""
    lo, hi = band
    real, fake = ~is_fake, is_fake
    row: dict[str, Any] = {"held_out": spec, "n_real": int(real.sum()), "n_fake": int(fake.sum())}
    row["what"] = PAIRED if real.any() and fake.any() else (REAL_SOURCE if real.any() else FAKE_KIND)
    inc = (p >= lo) & (p < hi)
    row["false_accusation"] = _rate(int((p[real] >= hi).sum()), int(real.sum()))
    row["inconclusive"] = _rate(int(inc.sum()), len(p))
    row["inconclusive_real"] = _rate(int(inc[real].sum()), int(real.sum()))
    row["detected"] = _rate(int((p[fake] >= hi).sum()), int(fake.sum()))
    row["missed"] = _rate(int((p[fake] < lo).sum()), int(fake.sum()))
    if row["what"] == PAIRED:
        row["auc"], row["auc_against"] = _auc(is_fake, p, groups, n_boot), "its own originals"
    else:
        other = val_fake != bool(fake.any())  # the other class among the run's validation faces
        yy = np.concatenate([is_fake, val_fake[other]])
        pp = np.concatenate([p, val_p[other]])
        gg = np.concatenate([groups, val_groups[other]])
        row["auc"] = _auc(yy, pp, gg, n_boot)
        row["auc_against"] = (
            f"{int(other.sum())} validation "
            f"{'manipulated or generated' if real.any() else 'camera-original'} faces of "
            "sources seen in training"
        )
    return row


def _crops(
    samples: Sequence[Sample], cfg: TrainConfig, normalise: tuple[int, int] | None
) -> tuple[list[Sample], np.ndarray]:
    from forensics.training.crops import CropSettings, face_crop_for_file

    settings = CropSettings(method=cfg.data.crop_method, crop_size=cfg.data.crop_size, margin=cfg.data.margin)
    kept, crops = [], []
    for s in samples:
        try:
            crops.append(face_crop_for_file(s.path, settings, normalise=normalise).crop)
        except ForensicsError:
            continue
        kept.append(s)
    if not kept:
        raise ForensicsError("no face crop could be made of the left-out files")
    return kept, np.stack(crops)


def leave_out_report(
    cfg: TrainConfig, *, normalise: tuple[int, int] | None = None, n_boot: int = 1000
) -> dict[str, Any]:
    """Score the left-out groups of a finished fold run with its own calibration; writes ``leave_out.json`` (one
    entry per condition: ``as-is`` or the re-sampling) into the run folder and returns this condition's report."""
    from forensics.calibration import Calibration, condition_name
    from forensics.detectors import create_detector
    from forensics.training.crops import predict_logits

    run = cfg.out_path
    cal_path, weights = run / "calibration.json", run / "model.safetensors"
    if not cal_path.is_file() or not weights.is_file():
        raise ForensicsError(f"{run} has no finished run (model.safetensors, calibration.json): train the fold first")
    cal = Calibration.from_dict(json.loads(cal_path.read_text(encoding="utf-8")))
    classes = tuple(cfg.data.classes)
    scheme = THREE_CLASS if len(classes) == 3 else BINARY
    det = create_detector(
        cfg.model.architecture, weights=weights, classes=classes, fake_indices=tuple(range(1, len(classes)))
    )
    size, batch = cfg.augment.input_size, cfg.train.val_batch_size
    saved: dict[str, Any] = {}

    def p_fake(crops: np.ndarray, key: str) -> np.ndarray:
        logits = predict_logits(det.model, crops, size, batch)
        saved[f"{key}/logits"] = logits
        saved[f"{key}/logits_flip"] = predict_logits(det.model, np.ascontiguousarray(crops[:, :, ::-1]), size, batch)
        return cal.proba(logits)[:, 1:].sum(axis=1)

    val_root = resolve_path(cfg.data.val_dir)
    if val_root is None:
        raise ForensicsError("leave-out needs a fixed [data] val_dir")
    val_s, val_c = _crops([s for s in list_samples(val_root) if not is_held(s, cfg.data.holdout)], cfg, normalise)
    val_p = p_fake(val_c, "val")
    val_fake = np.array([class_index(s.kind, classes, scheme) != 0 for s in val_s])
    val_groups = np.array([s.group for s in val_s], dtype=object)
    saved["val/paths"] = np.array([s.rel for s in val_s])
    saved["val/labels"] = np.array([class_index(s.kind, classes, scheme) for s in val_s])
    saved["val/sources"] = np.array([s.source for s in val_s])
    rows = []
    for spec, samples in held_samples(cfg).items():
        kept, crops = _crops(samples, cfg, normalise)
        is_fake = np.array([s.label != "real" for s in kept])
        saved[f"held:{spec}/paths"] = np.array([s.rel for s in kept])
        saved[f"held:{spec}/is_fake"] = is_fake
        saved[f"held:{spec}/groups"] = np.array([s.group for s in kept])
        rows.append(
            {
                **group_row(
                    spec,
                    p_fake(crops, f"held:{spec}"),
                    is_fake,
                    np.array([s.group for s in kept], dtype=object),
                    cal.band,
                    val_p=val_p,
                    val_fake=val_fake,
                    val_groups=val_groups,
                    n_boot=n_boot,
                ),
                "n_files": len(samples),
            }
        )
    condition = "as-is" if normalise is None else condition_name(*normalise)
    report = {
        "run": cfg.name,
        "holdout": list(cfg.data.holdout),
        "condition": condition,
        "band": list(cal.band),
        "calibrated_on": cal.fitted_on,
        "n_validation_faces": len(val_s),
        "rows": rows,
    }
    np.savez(run / f"{SCORES_PREFIX}{condition}.npz", **saved)
    path = run / REPORT
    reports = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    reports[condition] = report
    path.write_text(json.dumps(reports, indent=2), encoding="utf-8")
    return report


def _fmt(v: list[float] | None, digits: int = 0) -> str:
    if v is None:
        return "-"
    if digits:
        return f"{v[0]:.{digits}f} [{v[1]:.{digits}f}, {v[2]:.{digits}f}]"
    return f"{v[0]:.0%} [{v[1]:.0%}, {v[2]:.0%}]"


def table_markdown(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The leave-out rows as a Markdown table (the headline of the model card and the README's known limits)."""
    lines = [
        "| fold | left out | condition | real / fake faces | false accusations | missed | detected | "
        "inconclusive | AUC [95% CI] |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.get('fold', '')} | {r['held_out']} ({r['what']}) | {r.get('condition', 'as-is')} | "
            f"{r['n_real']} / "
            f"{r['n_fake']} | {_fmt(r['false_accusation'])} | {_fmt(r['missed'])} | "
            f"{_fmt(r['detected'])} | {_fmt(r['inconclusive'])} | {_fmt(r['auc'], 3)} |"
        )
    return lines


def collect(run_dirs: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Rows of several fold runs' ``leave_out.json`` (every condition), each tagged with its fold and condition."""
    rows = []
    for d in run_dirs:
        path = Path(d) / REPORT
        if not path.is_file():
            raise ForensicsError(f"{path} missing: run `forensics leave-out` for that fold first")
        for condition, rep in json.loads(path.read_text(encoding="utf-8")).items():
            rows += [{**r, "condition": condition, "fold": rep["run"]} for r in rep["rows"]]
    return rows
