"""The stages of a training: which modules a stage trains (``set_trainable``; the rest frozen, their BatchNorm in
eval mode), the stage and epoch-in-stage of an epoch, the stage's optimizer and its cosine learning-rate schedule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from forensics.errors import ForensicsError
from forensics.training.config import TrainConfig


def _blocks(model) -> list[Any]:
    feats = getattr(model, "features", None)
    if feats is not None and hasattr(feats, "__len__"):
        return list(feats)
    return [m for name, m in model.named_children() if name not in ("classifier", "fc", "head")]


def _head(model) -> list[Any]:
    return [getattr(model, n) for n in ("classifier", "fc", "head") if getattr(model, n, None) is not None]


def set_trainable(model, unfreeze: int | str) -> list[Any]:
    """Freeze everything, then unfreeze the head and the last ``unfreeze`` blocks ("all" = everything).
    Returns the frozen modules (their BatchNorm layers must stay in eval mode)."""
    for p in model.parameters():
        p.requires_grad_(False)
    blocks = _blocks(model)
    if unfreeze == "all":
        trainable = blocks
    elif unfreeze == "head":
        trainable = []
    else:
        k = int(unfreeze)
        trainable = blocks[len(blocks) - k :] if k > 0 else []
    for m in trainable + _head(model):
        for p in m.parameters():
            p.requires_grad_(True)
    if not any(p.requires_grad for p in model.parameters()):
        raise ForensicsError("no trainable parameters: the model exposes no classifier/fc/head module")
    return [b for b in blocks if b not in trainable]


def train_mode(model, frozen: list[Any]) -> None:
    """Training mode, except the frozen modules (their BatchNorm statistics stay as learnt)."""
    model.train()
    for m in frozen:
        m.eval()


def stage_of(cfg: TrainConfig, epoch: int) -> tuple[int, int]:
    """(stage index, epoch index within the stage)."""
    e = epoch
    for i, st in enumerate(cfg.stages):
        if e < st.epochs:
            return i, e
        e -= st.epochs
    raise ValueError(epoch)


def stage_optimizer(
    model, stage: Any, si: int, state: dict[str, Any] | None, *, extra_params: list[Any] | None = None
) -> tuple[Any, list[Any]]:
    """``(AdamW over what stage ``si`` trains (and ``extra_params``: an auxiliary head), the frozen modules)``; on a
    resume within that stage the optimizer continues from its saved state."""
    import torch

    frozen = set_trainable(model, stage.unfreeze)
    params = [p for p in model.parameters() if p.requires_grad] + list(extra_params or [])
    optimizer = torch.optim.AdamW(params, lr=stage.lr, weight_decay=stage.weight_decay)
    if state is not None and state.get("stage") == si and state.get("optimizer"):
        optimizer.load_state_dict(state["optimizer"])
    return optimizer, frozen


def cosine_lr(stage: Any, e_in_stage: int, steps: int, by_time: float | None, budget: float) -> Callable[[int], float]:
    """The learning rate per step of one epoch: cosine decay inside the stage, per step; with a wall-clock budget
    (``by_time``: the stage's start), by time too (whichever is further), so that a run cut short by the budget
    still ends at a low learning rate."""

    def lr_at(step: int) -> float:
        frac = (e_in_stage * steps + step) / max(1, stage.epochs * steps)
        if by_time is not None:
            frac = min(1.0, max(frac, (time.monotonic() - by_time) / budget))
        return stage.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))

    return lr_at
