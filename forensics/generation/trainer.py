"""Training a face generator: DCGAN (non-saturating loss) or WGAN-GP (critic loss + gradient penalty), optionally
with a frozen detector as a second critic (:mod:`forensics.generation.against`).

A run folder holds ``gan.json`` (configuration and the faces it learns from), ``log.jsonl`` (the JSONL run log of
:mod:`forensics.training.run_log`: losses, faces/s, checkpoints) and ``checkpoint.pt`` (both networks, both
optimisers, the random generator's state, steps and faces seen), written whole and then renamed, and read back with
``torch.load(weights_only=True)``. Every random draw (latents, batches, flips, interpolation points) comes from one
seeded ``torch.Generator`` whose state is checkpointed, so a resumed run continues exactly where it stopped. The
budget is counted in real faces shown to the discriminator (``faces``) and optionally in minutes.

Example:
    >>> from forensics.generation.data import load_faces                         # doctest: +SKIP
    >>> from forensics.generation.trainer import Budget, GanConfig, train_gan    # doctest: +SKIP
    >>> faces = load_faces("../shared/data/train/real", 64)                      # doctest: +SKIP
    >>> train_gan(GanConfig(arch="dcgan"), faces, "runs/gan-dcgan64", budget=Budget(faces=100_000))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from forensics.errors import ForensicsError
from forensics.generation import ARCHITECTURES
from forensics.generation.data import FaceSet
from forensics.training.run_log import LOG, append_log

CHECKPOINT = "checkpoint.pt"
RUN_FILE = "gan.json"
RUN_SCHEMA = "forensics.gan-run/1"

# per architecture: Adam learning rate and betas, critic steps per generator step, discriminator normalisation
ARCH_DEFAULTS: dict[str, dict[str, Any]] = {
    "dcgan": {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "n_critic": 1, "norm": "batch"},
    "wgan-gp": {"lr": 1e-4, "beta1": 0.0, "beta2": 0.9, "n_critic": 5, "norm": "layer"},
}


@dataclass(frozen=True)
class GanConfig:
    """What a generator run learns (its digest guards resuming). Zero ``lr`` / ``n_critic`` take the
    architecture's defaults (``ARCH_DEFAULTS``)."""

    arch: str = "dcgan"
    size: int = 64
    z_dim: int = 100
    # channels at the largest side (the smallest side has width * 2**(stages - 1)); DCGAN's 64 costs about 4x the
    # compute of 32 (a 64 px step of 64 faces took ~5 s on one contended core): 32 is the CPU default
    width: int = 32
    batch_size: int = 64
    lr: float = 0.0
    n_critic: int = 0
    gp_weight: float = 10.0  # WGAN-GP only
    seed: int = 0
    against: str | None = None  # a detector name: its p_fake is pushed down too
    against_weights: str | None = None  # an explicit weights file for ``against`` (an architecture name)
    against_weight: float = 1.0
    against_batch: int = 16  # generated faces per step shown to the detector (it is slower than the GAN)
    init: str | None = None  # a run folder whose networks (not optimisers) a new run starts from

    def resolved(self) -> GanConfig:
        if self.arch not in ARCHITECTURES:
            raise ForensicsError(f"unknown generator architecture {self.arch!r}: use {', '.join(ARCHITECTURES)}")
        d = ARCH_DEFAULTS[self.arch]
        return dataclasses.replace(self, lr=self.lr or d["lr"], n_critic=self.n_critic or d["n_critic"])

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self.resolved()), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Budget:
    """When to stop and how often to write: real faces seen in total, minutes of this session, checkpoint interval
    (faces) and log interval (generator steps)."""

    faces: int = 200_000
    max_minutes: float = 0.0  # 0 = no wall-clock limit
    checkpoint_every: int = 20_000
    log_every: int = 20


@dataclass(frozen=True)
class GanResult:
    run: Path
    steps: int
    faces_seen: int
    seconds: float  # training time over every session of the run
    faces_per_second: float
    last: dict[str, Any]  # the last log record's losses
    checkpoint_sha256: str
    stopped_by: str  # "faces" | "minutes"


class _Nets:
    """The two networks, their optimisers, the random generator and the counters of one run."""

    def __init__(self, cfg: GanConfig, device: Any) -> None:
        import torch

        from forensics.generation.nets import build_discriminator, build_generator

        torch.manual_seed(cfg.seed)
        d = ARCH_DEFAULTS[cfg.arch]
        self.cfg, self.device = cfg, device
        self.g = build_generator(cfg.size, z_dim=cfg.z_dim, width=cfg.width).to(device)
        self.d = build_discriminator(cfg.size, width=cfg.width, norm=d["norm"]).to(device)
        betas = (d["beta1"], d["beta2"])
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=cfg.lr, betas=betas)
        self.rng = torch.Generator().manual_seed(cfg.seed)
        self.step, self.faces_seen, self.seconds = 0, 0, 0.0
        self.init: dict[str, Any] | None = None  # the run it started from: folder, checkpoint SHA-256, faces seen

    def state(self, faces_digest: str) -> dict[str, Any]:
        return {
            "generator": self.g.state_dict(),
            "discriminator": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": self.rng.get_state(),
            "step": self.step,
            "faces_seen": self.faces_seen,
            "seconds": self.seconds,
            "config": asdict(self.cfg),
            "config_digest": self.cfg.digest(),
            "faces_digest": faces_digest,
            "init": self.init,
        }

    def load(self, state: dict[str, Any]) -> None:
        self.g.load_state_dict(state["generator"])
        self.d.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.rng.set_state(state["rng"])
        self.step, self.faces_seen = int(state["step"]), int(state["faces_seen"])
        self.seconds = float(state["seconds"])
        self.init = state.get("init")

    def start_from(self, run: str | Path) -> None:
        """Take the networks of another run (same architecture, side, width and latent size); optimisers and
        counters start afresh."""
        from forensics.detectors.weights import sha256_file

        path = Path(run) / CHECKPOINT
        state = load_checkpoint(path)
        keys = ("arch", "size", "width", "z_dim")
        theirs, ours = {k: state["config"].get(k) for k in keys}, {k: getattr(self.cfg, k) for k in keys}
        if theirs != ours:
            raise ForensicsError(f"--init {run}: its networks are {theirs}, this run's {ours}: they must match")
        self.g.load_state_dict(state["generator"])
        self.d.load_state_dict(state["discriminator"])
        self.init = {"run": str(Path(run).resolve()), "checkpoint_sha256": sha256_file(path)}
        self.init["faces_seen"] = int(state["faces_seen"])

    def noise(self, n: int):
        import torch

        return torch.randn(n, self.cfg.z_dim, generator=self.rng).to(self.device)

    def real_batch(self, data: Any):
        """A batch drawn with replacement from ``data`` (CPU tensor in [-1, 1]), each image mirrored with p 0.5."""
        import torch

        n = self.cfg.batch_size
        x = data[torch.randint(len(data), (n,), generator=self.rng)]
        flip = torch.rand(n, generator=self.rng) < 0.5
        return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x).to(self.device)


def load_checkpoint(path: str | Path | BinaryIO) -> dict[str, Any]:
    """A generator checkpoint read with ``weights_only=True`` (tensors, numbers, strings, lists, dicts: no code)."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ForensicsError(f"{path} does not exist: train the generator first (generate train)") from exc
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise ForensicsError(
            f"{path} is not a plain generator checkpoint ({exc}); it is refused, since loading it could run code "
            "stored in it"
        ) from exc


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Written to a temporary file beside ``path``, then renamed over it: a reader never sees half a checkpoint."""
    import torch

    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _critic_step(nets: _Nets, data: Any) -> dict[str, float]:
    """One discriminator / critic update on a real batch and a generated one; returns its losses."""
    import torch

    from forensics.generation import losses

    cfg = nets.cfg
    real = nets.real_batch(data)
    with torch.no_grad():
        fake = nets.g(nets.noise(cfg.batch_size))
    if cfg.arch == "dcgan":
        loss = losses.ns_discriminator_loss(nets.d(real), nets.d(fake))
        out = {"loss_d": float(loss.detach())}
    else:
        critic = losses.wgan_critic_loss(nets.d(real), nets.d(fake))
        eps = torch.rand(cfg.batch_size, generator=nets.rng).to(nets.device)
        gp = losses.gradient_penalty(nets.d, real, fake, eps)
        loss = critic + cfg.gp_weight * gp
        out = {"loss_d": float(loss.detach()), "wasserstein": -float(critic.detach()), "gp": float(gp.detach())}
    nets.opt_d.zero_grad(set_to_none=True)
    loss.backward()
    nets.opt_d.step()
    nets.faces_seen += cfg.batch_size
    return out


def _generator_step(nets: _Nets, term: Any) -> dict[str, float]:
    """One generator update: fool the discriminator (and, with ``term``, the frozen detector)."""
    from forensics.generation import losses

    cfg = nets.cfg
    for p in nets.d.parameters():
        p.requires_grad_(False)
    fake = nets.g(nets.noise(cfg.batch_size))
    scores = nets.d(fake)
    loss = losses.ns_generator_loss(scores) if cfg.arch == "dcgan" else losses.wgan_generator_loss(scores)
    out = {"loss_g": float(loss.detach())}
    if term is not None:
        a_loss, p_fake = term(fake[: cfg.against_batch])
        loss = loss + cfg.against_weight * a_loss
        out.update({"loss_against": float(a_loss.detach()), "p_fake_against": p_fake})
    nets.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    nets.opt_g.step()
    for p in nets.d.parameters():
        p.requires_grad_(True)
    nets.step += 1
    return out


def _start(cfg: GanConfig, faces: FaceSet, out: Path, nets: _Nets, *, resume: bool) -> None:
    """Resume from the checkpoint (same config and faces only) or start a new run folder and log."""
    ckpt = out / CHECKPOINT
    if resume and ckpt.exists():
        state = load_checkpoint(ckpt)
        if state.get("config_digest") != cfg.digest():
            raise ForensicsError(f"{ckpt} was made with other settings: resume with the same options")
        if state.get("faces_digest") != faces.digest():
            raise ForensicsError(
                f"{ckpt} was trained on other faces: resume with the same --data, --exclude and --limit"
            )
        nets.load(state)
        append_log(out, {"event": "resume", "step": nets.step, "faces_seen": nets.faces_seen, "time": time.time()})
        return
    if ckpt.exists():
        raise ForensicsError(f"{ckpt} exists: pass --resume to continue it, or choose another --out")
    if cfg.init:
        nets.start_from(cfg.init)
    doc: dict[str, Any] = {"schema": RUN_SCHEMA, "config": asdict(cfg), "data": faces.info()}
    doc.update(created_utc=_utc_now(), init=nets.init)
    (out / RUN_FILE).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (out / LOG).write_text("", encoding="utf-8")
    append_log(out, {"event": "start", **doc, "time": time.time()})


def _utc_now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def _mean_records(window: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for r in window for k in r}
    return {k: sum(r[k] for r in window if k in r) / sum(1 for r in window if k in r) for k in sorted(keys)}


def train_gan(
    config: GanConfig,
    faces: FaceSet,
    out: str | Path,
    *,
    budget: Budget = Budget(),
    resume: bool = False,
    progress: bool = True,
    term: Any = None,
) -> GanResult:
    """Train (or resume) a generator on ``faces`` into the run folder ``out`` until ``budget`` is spent.

    ``term``: a :class:`~forensics.generation.against.DetectorTerm`; by default one is built from
    ``config.against`` when set."""
    from tqdm import tqdm

    from forensics.device import get_device
    from forensics.generation.data import to_model_range

    cfg = config.resolved()
    if faces.images.shape[1] != cfg.size:
        raise ForensicsError(f"faces are {faces.images.shape[1]} px but the generator makes {cfg.size} px")
    if term is None and cfg.against:  # first: a detector that cannot be loaded leaves no run folder behind
        from forensics.generation.against import DetectorTerm, load_detector

        term = DetectorTerm(load_detector(cfg.against, cfg.against_weights))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    nets = _Nets(cfg, get_device())
    _start(cfg, faces, out, nets, resume=resume)
    data = to_model_range(faces.images)
    nets.g.train()
    nets.d.train()
    t0 = time.monotonic()
    t_window, window, last = t0, list[dict[str, float]](), dict[str, Any]()
    next_ckpt = (nets.faces_seen // budget.checkpoint_every + 1) * budget.checkpoint_every
    stopped_by = "faces"
    bar = tqdm(total=budget.faces, initial=nets.faces_seen, desc="faces", unit="face", disable=not progress)
    while nets.faces_seen < budget.faces:
        if budget.max_minutes and (time.monotonic() - t0) / 60 >= budget.max_minutes:
            stopped_by = "minutes"
            break
        seen0 = nets.faces_seen
        rec: dict[str, float] = {}
        for _ in range(cfg.n_critic):
            rec.update(_critic_step(nets, data))
        rec.update(_generator_step(nets, term))
        window.append(rec)
        bar.update(nets.faces_seen - seen0)
        if nets.step % budget.log_every == 0:
            now = time.monotonic()
            faces_in_window = len(window) * cfg.n_critic * cfg.batch_size
            last = {
                "event": "step",
                "step": nets.step,
                "faces_seen": nets.faces_seen,
                **_mean_records(window),
                "faces_per_second": faces_in_window / max(now - t_window, 1e-9),
                "minutes": (nets.seconds + now - t0) / 60,
            }
            append_log(out, last)
            t_window, window = now, []
        if nets.faces_seen >= next_ckpt:
            _checkpoint(nets, faces, out, t0)
            next_ckpt += budget.checkpoint_every
    bar.close()
    sha = _checkpoint(nets, faces, out, t0)
    nets.seconds += time.monotonic() - t0
    result = GanResult(
        run=out,
        steps=nets.step,
        faces_seen=nets.faces_seen,
        seconds=nets.seconds,
        faces_per_second=nets.faces_seen / nets.seconds if nets.seconds > 0 else 0.0,
        last={k: v for k, v in last.items() if k not in ("event",)},
        checkpoint_sha256=sha,
        stopped_by=stopped_by,
    )
    append_log(out, {"event": "done", **{k: v for k, v in asdict(result).items() if k != "run"}, "time": time.time()})
    return result


def _checkpoint(nets: _Nets, faces: FaceSet, out: Path, t0: float) -> str:
    """Save the checkpoint (training seconds so far included) and log it with its SHA-256."""
    from forensics.detectors.weights import sha256_file

    saved_seconds = nets.seconds
    nets.seconds = saved_seconds + time.monotonic() - t0
    save_checkpoint(nets.state(faces.digest()), out / CHECKPOINT)
    nets.seconds = saved_seconds
    sha = sha256_file(out / CHECKPOINT)
    append_log(out, {"event": "checkpoint", "step": nets.step, "faces_seen": nets.faces_seen, "sha256": sha})
    return sha
