"""Uniform weight soups (Wortsman et al., ICML 2022, "Model soups"): the same recipe fine-tuned from the same
ImageNet initialisation with several seeds (different head init, draws, augmentations and blends), then the
weights averaged into one network. Inference and explanations stay those of a single model; the average is
smoother than any member, which helps most where a member's verdict hangs on a few training faces.

A soup run folder holds one sub-folder per member (``member-<seed>``, an ordinary run with its own checkpoints,
so an interrupted soup resumes member by member), then the averaged ``model.safetensors`` calibrated and exported
like a single run.

Example:
    >>> from forensics.training.soup import average_state_dicts
    >>> import torch
    >>> average_state_dicts([{"w": torch.zeros(2)}, {"w": torch.ones(2)}])["w"].tolist()
    [0.5, 0.5]
"""

from __future__ import annotations

import json
import shutil
import time
from typing import Any

from forensics.errors import ForensicsError
from forensics.training.config import TrainConfig, learnt_part


def average_state_dicts(states: list[dict[str, Any]]) -> dict[str, Any]:
    """Element-wise mean of float tensors (accumulated in float64, cast back); integer tensors (BatchNorm's
    ``num_batches_tracked``) take the largest value. Keys and shapes must agree."""
    import torch

    if len(states) < 2:
        raise ForensicsError("a soup needs at least two members")
    keys = list(states[0])
    for i, s in enumerate(states[1:], 1):
        if list(s) != keys:
            raise ForensicsError(f"soup member {i} has other parameters than member 0: not the same architecture")
    out: dict[str, Any] = {}
    for k in keys:
        ts = [s[k] for s in states]
        if any(t.shape != ts[0].shape for t in ts):
            raise ForensicsError(f"soup members disagree on the shape of {k}")
        if ts[0].is_floating_point():
            out[k] = (sum(t.double() for t in ts) / len(ts)).to(ts[0].dtype)
        else:
            out[k] = torch.stack(ts).max(dim=0).values
    return out


def member_config(cfg: TrainConfig, seed: int) -> TrainConfig:
    """The single-run config of the soup member trained with ``seed`` (no export, its own sub-folder)."""
    return cfg.replace(
        seed=int(seed),
        out_dir=str(cfg.out_path / f"member-{int(seed)}"),
        soup={"seeds": ()},
        export={"enabled": False},
        calibration={"resampled": ()},
    )


def _learnt(d: dict[str, Any]) -> str:
    """What a member learnt from, comparable across configs (a finished member may be reused across the rest)."""
    return json.dumps(learnt_part(d), sort_keys=True, default=str)


def _member_done(mcfg: TrainConfig) -> dict[str, Any] | None:
    """The ``done`` record of a finished member, None when it has not finished; raises when the folder holds a run
    of another recipe (its weights must not be averaged in silently)."""
    from forensics.training.run_log import read_log

    log = read_log(mcfg.out_path)
    if not log:
        return None
    start = next((r for r in log if r.get("event") == "start"), None)
    if start is None or _learnt(start["config"]) != _learnt(mcfg.to_dict()):
        raise ForensicsError(
            f"{mcfg.out_path} holds a run made with another recipe or seed: remove it or fix the soup config"
        )
    done = next((r for r in reversed(log) if r.get("event") == "done"), None)
    return done if done is not None and (mcfg.out_path / "model.safetensors").is_file() else None


def train_soup(cfg: TrainConfig, *, resume: bool = False, progress: bool = True):
    """Train (or resume) every member, average their weights, then calibrate and export the soup like one run."""
    import torch

    from forensics.detectors import create_detector
    from forensics.detectors.weights import read_state_dict
    from forensics.training.crop_sets import prepare_data
    from forensics.training.run_log import LOG, append_log, read_log
    from forensics.training.trainer import finish_run, train

    seeds = tuple(cfg.soup.seeds)
    if not cfg.data.val_dir:
        raise ForensicsError("a soup's members must share one validation split: set [data] val_dir")
    out = cfg.out_path
    if (out / LOG).exists() and not resume:
        raise ForensicsError(f"{out} holds a soup run: pass --resume to continue it, or remove {out} to start over")
    out.mkdir(parents=True, exist_ok=True)
    tr, va, info = prepare_data(cfg, progress=progress)
    if not (out / LOG).exists():
        append_log(
            out,
            {"event": "start", "config": cfg.to_dict(), "data": info, "soup_seeds": list(seeds), "time": time.time()},
        )
    members = []
    for seed in seeds:
        mcfg = member_config(cfg, seed)
        done = _member_done(mcfg)
        if done is None:
            train(mcfg, resume=(mcfg.out_path / "checkpoint.pt").exists(), progress=progress, data=(tr, va, info))
            done = _member_done(mcfg)
            assert done is not None
        members.append((seed, mcfg, done))

    log = read_log(out)
    logged = {r.get("seed") for r in log if r.get("event") == "member"}
    for seed, mcfg, done in members:
        if seed in logged:
            continue
        for r in read_log(mcfg.out_path):
            if r.get("event") == "epoch":
                append_log(out, {**r, "member": seed})
        append_log(
            out,
            {
                "event": "member",
                "seed": seed,
                "minutes": done.get("minutes"),
                "epochs_done": done.get("epochs_done"),
                "stopped_early": done.get("stopped_early"),
                "final": done.get("final"),
            },
        )
    shutil.copyfile(members[0][1].out_path / "split.csv", out / "split.csv")

    states = [read_state_dict(m.out_path / "model.safetensors") for _, m, _ in members]
    det = create_detector(cfg.model.architecture, weights="none", classes=tuple(cfg.data.classes))
    model = det.model.cpu()
    model.load_state_dict(average_state_dicts(states))
    if cfg.train.threads:
        torch.set_num_threads(int(cfg.train.threads))
    return finish_run(
        cfg,
        out,
        model,
        va,
        epochs_done=sum(int(d.get("epochs_done") or 0) for _, _, d in members),
        stopped_early=any(d.get("stopped_early") for _, _, d in members),
        minutes=sum(float(d.get("minutes") or 0.0) for _, _, d in members),
    )
