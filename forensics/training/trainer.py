"""The trainer: cached face crops -> balanced, augmented batches (+ self-blended images) -> staged fine-tuning,
with a checkpoint every epoch, ``resume``, a JSONL log, optional distillation, calibration on validation and export.

Example:
    >>> from forensics.training import TrainConfig, train
    >>> result = train(TrainConfig.from_toml("configs/default.toml"))     # doctest: +SKIP
    >>> result.out_dir / "model.safetensors"                               # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forensics.errors import ForensicsError
from forensics.training.config import TrainConfig, resolve_path
from forensics.training.crop_sets import CropSet, TrainSet, prepare_data
from forensics.training.crops import predict_logits
from forensics.training.data import (
    BINARY,
    THREE_CLASS,
    class_index,
    pair_domains,
    sampling_weights,
    write_split,
)
from forensics.training.generators import generator_of
from forensics.training.mask_head import MaskHead
from forensics.training.run_log import LOG, append_log
from forensics.training.stages import cosine_lr, stage_of, stage_optimizer, train_mode

CHECKPOINT = "checkpoint.pt"


# -------------------------------------------------------------------------------------------------- metrics
def val_metrics(
    logits: np.ndarray, labels: np.ndarray, sources: list[str], fake_indices: tuple[int, ...]
) -> dict[str, Any]:
    from forensics.calibration.temperature import nll
    from forensics.evaluation import auc

    z = logits - logits.max(axis=1, keepdims=True)
    proba = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    p_fake = proba[:, list(fake_indices)].sum(axis=1)
    y = labels != 0
    out: dict[str, Any] = {"val_nll": nll(logits, labels), "val_acc": float((proba.argmax(1) == labels).mean())}
    out["val_auc"] = auc(y, p_fake) if (y.any() and (~y).any()) else None
    src = np.asarray(sources, dtype=object)
    out["val_fpr_at_0.5"] = {s: float((p_fake[(src == s) & ~y] >= 0.5).mean()) for s in sorted(set(src[~y].tolist()))}
    return out


# -------------------------------------------------------------------------------------------------- main loop
@dataclass(frozen=True)
class TrainResult:
    out_dir: Path
    epochs_done: int
    stopped_early: bool
    metrics: dict[str, Any]
    weights: Path
    calibration: dict[str, Any] | None
    exported: Path | None = None


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A training checkpoint (model and optimizer state, epoch, stage, history, config digest) loaded with
    ``weights_only=True``: tensors, numbers, strings, lists and dicts only, so no code stored in the file can run."""
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise ForensicsError(
            f"{path} is not a plain training checkpoint ({exc}); it is refused, since loading it "
            "could run code stored in it. Start the run again without --resume."
        ) from exc


def _draw_weights(
    cfg: TrainConfig, tr: CropSet, y_tr: np.ndarray, sbi_label: int | None, sbi_sources: np.ndarray
) -> tuple[np.ndarray, dict[str, float]]:
    """Sampling weight of every training crop (then of every self-blended draw) and the share of draws per
    class/source, as the config's class shares, source power and domain pairing ask."""
    classes = tuple(cfg.data.classes)
    strata = [(int(c), s.source) for c, s in zip(y_tr, tr.samples, strict=True)]
    sbi_strata = [(int(sbi_label), tr.samples[j].source) for j in sbi_sources] if sbi_label is not None else []
    if cfg.data.fake_balance not in ("source", "generator"):
        raise ForensicsError(f"config: [data] fake_balance = {cfg.data.fake_balance!r}: write source or generator")
    weights = sampling_weights(
        strata,
        sbi_strata,
        cfg.data.class_shares,
        cfg.data.source_power,
        cfg.data.sbi_share,
        fake_groups=generator_of if cfg.data.fake_balance == "generator" else None,
        fake_power=cfg.data.fake_power,
    )
    if cfg.data.pair_domains:
        weights = pair_domains(weights, strata, sbi_strata, cfg.data.pair_floor)
    names = [f"{classes[c]}/{src}" for c, src in strata] + [f"{classes[c]}/sbi:{src}" for c, src in sbi_strata]
    shares: dict[str, float] = {}
    for n, wi in zip(names, weights, strict=True):
        shares[n] = shares.get(n, 0.0) + float(wi)
    return weights, {k: round(v, 4) for k, v in sorted(shares.items())}


def _student_and_teacher(cfg: TrainConfig, classes: tuple[str, ...]) -> tuple[Any, Any, MaskHead | None]:
    """The model to train (on the CPU), with distillation the frozen teacher (else None), and with a mask weight
    the blend-mask head on the detector's Grad-CAM layer (else None)."""
    from forensics.detectors import create_detector

    init: str | Path = cfg.model.init
    if init not in ("imagenet", "none"):
        path = resolve_path(cfg.model.init)
        if path is None:
            raise ForensicsError("model.init is empty: give imagenet, none or a weights file")
        init = path
    det = create_detector(cfg.model.architecture, weights=init, classes=classes)
    model = det.model.cpu()
    mask_head = None
    if cfg.model.mask_weight > 0:
        mask_head = MaskHead(model, det.target_layers()[0], input_size=cfg.augment.input_size)
    teacher = None
    if cfg.distill.enabled:
        teacher = create_detector(cfg.distill.teacher, weights=cfg.distill.teacher_weights, classes=classes).model
        teacher = teacher.cpu().eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
    return model, teacher, mask_head


def _run_epoch(
    model: Any,
    teacher: Any,
    ce: Any,
    optimizer: Any,
    lr_at: Callable[[int], float],
    cfg: TrainConfig,
    batches: Any,
    mask_head: MaskHead | None = None,
) -> tuple[list[float], int, Counter[int]]:
    """One pass over ``batches``: per step the learning rate ``lr_at(step)``, cross-entropy (blended with the
    teacher's softened outputs when distilling; plus the blend-mask loss with a mask head) and an optimiser step.
    Returns (losses, samples seen, draws per class)."""
    import torch

    losses: list[float] = []
    seen, drawn = 0, Counter[int]()
    for step, batch in enumerate(batches):
        x, y = batch[0], batch[1]
        for g in optimizer.param_groups:
            g["lr"] = lr_at(step)
        logits = model(x)
        loss = ce(logits, y)
        if mask_head is not None:
            loss = loss + cfg.model.mask_weight * mask_head.loss(batch[2], batch[3])
        if teacher is not None:
            with torch.no_grad():
                t_logits = teacher(x)
            tt = cfg.distill.temperature
            kd = (
                torch.nn.functional.kl_div(
                    torch.log_softmax(logits / tt, 1), torch.softmax(t_logits / tt, 1), reduction="batchmean"
                )
                * tt
                * tt
            )
            loss = (1 - cfg.distill.alpha) * loss + cfg.distill.alpha * kd
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        seen += len(y)
        drawn.update(y.tolist())
    return losses, seen, drawn


def _start_or_resume(
    cfg: TrainConfig, out: Path, model: Any, info: dict[str, Any], *, resume: bool
) -> tuple[int, list[dict[str, Any]], dict[str, Any] | None]:
    """(first epoch to run, history so far, checkpoint state or None); a fresh run starts a new log."""
    ckpt_path = out / CHECKPOINT
    start_epoch, history = 0, []
    state = None
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        if state.get("config_digest") != cfg.digest():
            raise ForensicsError(f"{ckpt_path} was made with a different config: resume with the same config file")
        model.load_state_dict(state["model"])
        start_epoch, history = int(state["epoch"]) + 1, list(state["history"])
    if start_epoch == 0:
        (out / LOG).write_text("", encoding="utf-8")
        append_log(out, {"event": "start", "config": cfg.to_dict(), "data": info, "time": time.time()})
    else:
        append_log(out, {"event": "resume", "from_epoch": start_epoch, "time": time.time()})
    return start_epoch, history, state


def _save_epoch(
    cfg: TrainConfig,
    out: Path,
    model: Any,
    optimizer: Any,
    epoch: int,
    stage: int,
    history: list[dict[str, Any]],
    mask_head: MaskHead | None = None,
) -> None:
    """The checkpoint after an epoch (written whole, then renamed) and, when selecting the best epoch, its weights
    if its validation AUC is the best so far."""
    import torch

    ckpt_path = out / CHECKPOINT
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": epoch,
            "stage": stage,
            "history": history,
            "config_digest": cfg.digest(),
            "mask_head": mask_head.conv.state_dict() if mask_head is not None else {},
        },
        str(ckpt_path) + ".tmp",
    )
    os.replace(str(ckpt_path) + ".tmp", ckpt_path)
    if cfg.train.select == "best" and (history[-1].get("val_auc") or 0) >= max(
        (h.get("val_auc") or 0) for h in history
    ):
        torch.save(model.state_dict(), out / "best.pt")


def _training_set(
    cfg: TrainConfig, out: Path, tr: CropSet, va: CropSet, info: dict[str, Any]
) -> tuple[TrainSet, np.ndarray, np.ndarray, dict[str, Any]]:
    """The split file, then (training set with its self-blended twins, draw weights, validation labels, data info
    with the share of draws per class and source)."""
    classes = tuple(cfg.data.classes)
    scheme = THREE_CLASS if len(classes) == 3 else BINARY
    write_split(out / "split.csv", {"train": tr.samples, "val": va.samples}, {**tr.hashes, **va.hashes})
    y_tr = np.array([class_index(s.kind, classes, scheme) for s in tr.samples])
    y_va = np.array([class_index(s.kind, classes, scheme) for s in va.samples])
    sbi_label = class_index("sbi", classes, scheme) if cfg.data.sbi_share > 0 else None
    sbi_sources = np.nonzero(y_tr == 0)[0] if sbi_label is not None else np.zeros(0, int)
    weights, draw_shares = _draw_weights(cfg, tr, y_tr, sbi_label, sbi_sources)
    return TrainSet(tr, y_tr, sbi_sources, sbi_label, cfg), weights, y_va, {**info, "draw_shares": draw_shares}


def _throughput(cfg: TrainConfig, seen: int, seconds: float) -> dict[str, Any]:
    """Faces seen, seconds, faces per second and whether the epoch ran contended (below ``contended_below`` faces/s:
    another job shared the CPU; such a run is not used for a decision), with the load average at its end."""
    speed = seen / seconds if seconds > 0 else None
    return {
        "samples": seen,
        "train_seconds": seconds,
        "images_per_second": speed,
        "contended": bool(speed is not None and speed < cfg.train.contended_below),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def _start_torch_and_folder(cfg: TrainConfig, *, resume: bool) -> Path:
    """Seed torch, cap its threads as the config says and make the run folder, refusing to start a run over an
    existing checkpoint unless resuming. Returns the run folder."""
    import torch

    torch.manual_seed(cfg.seed)
    if cfg.train.threads:
        torch.set_num_threads(int(cfg.train.threads))
    out = cfg.out_path
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / CHECKPOINT
    if not resume and ckpt_path.exists():
        raise ForensicsError(f"{ckpt_path} exists: pass --resume to continue it, or remove {out} to start over")
    return out


def _epoch_loader(dataset: TrainSet, weights: np.ndarray, cfg: TrainConfig, epoch: int) -> Any:
    """The epoch's batches: ``samples_per_epoch`` draws with replacement by ``weights``, seeded by the epoch."""
    import torch
    from torch.utils.data import DataLoader, WeightedRandomSampler

    dataset.set_epoch(epoch)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    sampler = WeightedRandomSampler(
        torch.as_tensor(weights),  # type: ignore[arg-type]
        cfg.train.samples_per_epoch,
        replacement=True,
        generator=gen,
    )  # (a tensor of weights is what it uses)
    return DataLoader(
        dataset,  # type: ignore[arg-type]
        batch_size=cfg.train.batch_size,
        sampler=sampler,
        num_workers=0,
        drop_last=False,
    )  # TrainSet is a map-style dataset


def train(
    cfg: TrainConfig,
    *,
    resume: bool = False,
    progress: bool = True,
    epoch_callback: Callable[[int, dict[str, Any]], None] | None = None,
    data: tuple[CropSet, CropSet, dict[str, Any]] | None = None,
) -> TrainResult:
    """Run (or resume) a training; writes checkpoint, log, split, weights and calibration into ``cfg.out_path``.

    ``epoch_callback(epoch, metrics)`` runs after each validation (Optuna reporting/pruning raises from it).
    """
    import torch
    from tqdm import tqdm

    out = _start_torch_and_folder(cfg, resume=resume)
    classes = tuple(cfg.data.classes)
    fake_indices = tuple(range(1, len(classes)))
    tr, va, info = data if data is not None else prepare_data(cfg, progress=progress)
    dataset, weights, y_va, info = _training_set(cfg, out, tr, va, info)
    model, teacher, mask_head = _student_and_teacher(cfg, classes)

    start_epoch, history, state = _start_or_resume(cfg, out, model, info, resume=resume)
    if mask_head is not None and state is not None and state.get("mask_head"):
        mask_head.conv.load_state_dict(state["mask_head"])

    size = cfg.augment.input_size
    t_start = time.monotonic()
    stopped_early = False
    optimizer, opt_stage, frozen = None, -1, list[Any]()
    stage_t0, stage_budget = t_start, 0.0
    ce = torch.nn.CrossEntropyLoss(label_smoothing=cfg.train.label_smoothing)
    epoch = start_epoch - 1
    for epoch in range(start_epoch, cfg.total_epochs):
        if cfg.train.max_minutes and (time.monotonic() - t_start) / 60 > cfg.train.max_minutes:
            stopped_early = True
            append_log(out, {"event": "budget", "epoch": epoch, "minutes": (time.monotonic() - t_start) / 60})
            epoch -= 1
            break
        si, e_in_stage = stage_of(cfg, epoch)
        stage = cfg.stages[si]
        if si != opt_stage:
            extra = list(mask_head.parameters()) if mask_head is not None else []
            optimizer, frozen = stage_optimizer(model, stage, si, state, extra_params=extra)
            opt_stage = si
            stage_t0 = time.monotonic()
            stage_budget = (cfg.train.max_minutes * 60 - (stage_t0 - t_start)) if cfg.train.max_minutes else 0.0
        assert optimizer is not None
        loader = _epoch_loader(dataset, weights, cfg, epoch)
        steps = len(loader)
        train_mode(model, frozen)
        t_ep = time.monotonic()
        by_time = stage_t0 if stage_budget > 0 and si == len(cfg.stages) - 1 else None
        lr_at = cosine_lr(stage, e_in_stage, steps, by_time, stage_budget)

        losses, seen, drawn = _run_epoch(
            model,
            teacher,
            ce,
            optimizer,
            lr_at,
            cfg,
            tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.total_epochs}", disable=not progress, mininterval=10),
            mask_head,
        )
        train_s = time.monotonic() - t_ep
        last = epoch == cfg.total_epochs - 1
        metrics: dict[str, Any] = {}
        if last or (epoch + 1) % max(1, cfg.train.val_every) == 0 or cfg.train.select == "best":
            v_logits = predict_logits(model, va.crops, size, cfg.train.val_batch_size)
            metrics = val_metrics(v_logits, y_va, [s.source for s in va.samples], fake_indices)
        rec = {
            "event": "epoch",
            "epoch": epoch,
            "stage": si,
            "unfreeze": stage.unfreeze,
            "train_loss": float(np.mean(losses)) if losses else None,
            "class_draws": {classes[k]: v for k, v in sorted(drawn.items())},
            **_throughput(cfg, seen, train_s),
            **metrics,
        }
        # plain Python numbers only, so that the checkpoint loads with weights_only=True (no pickled objects)
        history.append(
            json.loads(
                json.dumps(
                    {k: rec.get(k) for k in ("epoch", "train_loss", "val_nll", "val_acc", "val_auc")}, default=float
                )
            )
        )
        append_log(out, rec)
        _save_epoch(cfg, out, model, optimizer, epoch, si, history, mask_head)
        if epoch_callback is not None:
            epoch_callback(epoch, rec)

    if cfg.train.select == "best" and (out / "best.pt").exists():
        model.load_state_dict(torch.load(out / "best.pt", map_location="cpu", weights_only=True))
    if mask_head is not None:
        mask_head.save(out / "mask_head.safetensors")
        mask_head.remove()
    return finish_run(
        cfg,
        out,
        model,
        va,
        epochs_done=epoch + 1,
        stopped_early=stopped_early,
        minutes=(time.monotonic() - t_start) / 60,
    )


def finish_run(
    cfg: TrainConfig, out: Path, model, va: CropSet, *, epochs_done: int, stopped_early: bool, minutes: float
) -> TrainResult:
    """Save the final weights and validation logits, calibrate, log ``done`` and export as the config says."""
    from forensics.detectors.weights import save_weights

    model.eval()
    classes = tuple(cfg.data.classes)
    scheme = THREE_CLASS if len(classes) == 3 else BINARY
    y_va = np.array([class_index(s.kind, classes, scheme) for s in va.samples])
    weights_path = save_weights(model, out / "model.safetensors")
    v_logits = predict_logits(model, va.crops, cfg.augment.input_size, cfg.train.val_batch_size)
    np.savez(
        out / "val_logits.npz",
        logits=v_logits,
        labels=y_va,
        sources=np.array([s.source for s in va.samples]),
        kinds=np.array([s.kind for s in va.samples]),
        paths=np.array([s.rel for s in va.samples]),
    )
    final = val_metrics(v_logits, y_va, [s.source for s in va.samples], tuple(range(1, len(classes))))
    from forensics.training.run_calibration import calibrate, resampled_val_logits

    resampled = resampled_val_logits(cfg, out, model, [s.path for s in va.samples])
    cal = calibrate(cfg, out, v_logits, y_va, [s.source for s in va.samples], resampled)
    append_log(
        out,
        {
            "event": "done",
            "epochs_done": epochs_done,
            "stopped_early": stopped_early,
            "final": final,
            "minutes": minutes,
            "calibration": cal,
        },
    )
    exported = None
    if cfg.export.enabled:
        from forensics.training.export import export_model

        exported = export_model(cfg, out)
    return TrainResult(
        out_dir=out,
        epochs_done=epochs_done,
        stopped_early=stopped_early,
        metrics=final,
        weights=weights_path,
        calibration=cal,
        exported=exported,
    )
