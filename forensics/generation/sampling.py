"""Sampling a trained generator: PNG faces plus a provenance file, and sample grids.

Every sample folder gets ``provenance.json``: the run, the checkpoint file and its SHA-256, the seed, the date, the
architecture and side, the faces the generator had seen, what it was trained against, and each PNG with its own
SHA-256. The same run, checkpoint and seed always give the same images. ``labelled=True`` writes into
``OUT/fake/gan/generated-<run>/``, the layout folder scans and training read labels from (kind ``gan``).

Example:
    >>> from forensics.generation.sampling import write_samples                     # doctest: +SKIP
    >>> res = write_samples("runs/gan-dcgan64", 200, "out/samples", seed=1, labelled=True)   # doctest: +SKIP
    >>> res.folder                                                                   # doctest: +SKIP
    PosixPath('out/samples/fake/gan/generated-gan-dcgan64')
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forensics.errors import ForensicsError
from forensics.generation.trainer import CHECKPOINT, load_checkpoint

PROVENANCE = "provenance.json"
PROVENANCE_SCHEMA = "forensics.generated-samples/1"


@dataclass(frozen=True)
class LoadedGenerator:
    """A generator rebuilt from a run's checkpoint, in eval mode, with what identifies it."""

    model: Any
    run: Path
    checkpoint_sha256: str
    config: dict[str, Any]
    step: int
    faces_seen: int
    init: dict[str, Any] | None = None  # the run it was started from (``generate train --init``)

    @property
    def name(self) -> str:
        return self.run.resolve().name


def load_generator(run: str | Path) -> LoadedGenerator:
    """The generator of ``run/checkpoint.pt`` (read with ``weights_only=True``; its SHA-256 is taken from the very
    bytes that were loaded)."""
    import hashlib

    from forensics.device import get_device
    from forensics.generation.nets import build_generator

    run = Path(run)
    path = run / CHECKPOINT
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ForensicsError(
            f"{path} cannot be read ({exc}): give a generator run folder (generate train --out)"
        ) from exc
    sha = hashlib.sha256(data).hexdigest()
    state = load_checkpoint(io.BytesIO(data))
    cfg = dict(state["config"])
    g = build_generator(int(cfg["size"]), z_dim=int(cfg["z_dim"]), width=int(cfg["width"]))
    g.load_state_dict(state["generator"])
    g = g.to(get_device()).eval()
    return LoadedGenerator(g, run, sha, cfg, int(state["step"]), int(state["faces_seen"]), state.get("init"))


def generate(gen: LoadedGenerator, n: int, seed: int = 0, batch_size: int = 64) -> np.ndarray:
    """``n`` faces, uint8 ``(n, S, S, 3)``; latents drawn from a generator seeded with ``seed``, in order, so the
    first k faces of a larger draw are the k faces of a smaller one."""
    import torch

    from forensics.generation.data import to_uint8

    if n < 1:
        raise ForensicsError(f"asked for {n} samples: ask for at least 1")
    rng = torch.Generator().manual_seed(int(seed))
    # one draw per face: torch draws a long normal vector differently from a short one, so one (n, z) draw would
    # make the first faces depend on n
    z = torch.cat([torch.randn(1, int(gen.config["z_dim"]), generator=rng) for _ in range(n)])
    dev = next(gen.model.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, n, batch_size):
            out.append(to_uint8(gen.model(z[i : i + batch_size].to(dev))))
    return np.concatenate(out)


def grid(images: np.ndarray, columns: int = 8, gap: int = 2) -> np.ndarray:
    """Images ``(N, S, S, 3)`` tiled row by row with a white ``gap`` between them (empty cells white)."""
    n, s = len(images), images.shape[1]
    cols = max(1, min(columns, n))
    rows = -(-n // cols)
    out = np.full((rows * s + (rows - 1) * gap, cols * s + (cols - 1) * gap, 3), 255, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (s + gap) : r * (s + gap) + s, c * (s + gap) : c * (s + gap) + s] = img
    return out


def provenance(gen: LoadedGenerator, seed: int, n: int) -> dict[str, Any]:
    """Where samples come from: run, checkpoint SHA-256, seed, date, architecture, side, training state."""
    from datetime import UTC, datetime

    from forensics import __version__

    cfg = gen.config
    return {
        "schema": PROVENANCE_SCHEMA,
        "run": str(gen.run.resolve()),
        "run_name": gen.name,
        "checkpoint": CHECKPOINT,
        "checkpoint_sha256": gen.checkpoint_sha256,
        "seed": int(seed),
        "n": int(n),
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "arch": cfg["arch"],
        "size": int(cfg["size"]),
        "z_dim": int(cfg["z_dim"]),
        "step": gen.step,
        "faces_seen": gen.faces_seen,
        "against": cfg.get("against"),
        "against_weights": cfg.get("against_weights"),
        "init": gen.init,
        "forensics_version": __version__,
    }


@dataclass(frozen=True)
class SampleResult:
    folder: Path
    files: tuple[Path, ...]
    provenance: dict[str, Any]


def sample_folder(out: str | Path, run_name: str, *, labelled: bool) -> Path:
    """Where samples go: ``out`` itself, or ``out/fake/gan/generated-<run>`` (labelled layout)."""
    return Path(out) / "fake" / "gan" / f"generated-{run_name}" if labelled else Path(out)


def write_samples(run: str | Path, n: int, out: str | Path, *, seed: int = 0, labelled: bool = False) -> SampleResult:
    """Write ``n`` PNG faces and ``provenance.json`` (with each file's SHA-256). A folder that already holds a
    provenance file or any of the file names is refused: samples of two draws never mix, no file is overwritten."""
    import hashlib

    from PIL import Image

    if n < 1:
        raise ForensicsError(f"asked for {n} samples: ask for at least 1")
    gen = load_generator(run)
    folder = sample_folder(out, gen.name, labelled=labelled)
    paths = [folder / f"{gen.name}-s{seed}-{i:05d}.png" for i in range(n)]
    taken = [p for p in [folder / PROVENANCE, *paths] if p.exists()]
    if taken:
        raise ForensicsError(f"{folder} already holds samples ({taken[0].name}): choose another --out")
    folder.mkdir(parents=True, exist_ok=True)
    prov = provenance(gen, seed, n)
    files, hashes = [], {}
    for path, img in zip(paths, generate(gen, n, seed), strict=True):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        path.write_bytes(buf.getvalue())
        files.append(path)
        hashes[path.name] = hashlib.sha256(buf.getvalue()).hexdigest()
    prov["files"] = hashes
    (folder / PROVENANCE).write_text(json.dumps(prov, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return SampleResult(folder, tuple(files), prov)
