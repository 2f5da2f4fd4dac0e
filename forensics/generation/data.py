"""Training faces of a generator: the face crops of a folder, made exactly as for detector training
(:func:`forensics.training.crops.face_crop_for_file`: the same face finder chain, alignment, margin and crop size,
through the shared crop cache), then shrunk to the generator's side.

Example:
    >>> from forensics.generation.data import load_faces                     # doctest: +SKIP
    >>> faces = load_faces("../shared/data/train/real", 64, limit=500)       # doctest: +SKIP
    >>> faces.images.shape                                                    # doctest: +SKIP
    (500, 64, 64, 3)
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forensics.errors import ForensicsError
from forensics.training.crops import CropSettings, face_crop_for_file


@dataclass(frozen=True)
class FaceSet:
    """Face crops of a folder at one side: ``images`` uint8 ``(N, S, S, 3)``, with where they came from."""

    folder: str
    images: np.ndarray
    files: tuple[str, ...]  # relative to ``folder``
    methods: dict[str, int] = field(default_factory=dict)  # which face finder made how many crops
    dropped: int = 0  # files without a usable crop
    settings: dict[str, Any] = field(default_factory=dict)  # the resolved crop settings
    excluded: tuple[str, ...] = ()  # sub-folder names left out (e.g. the camera sources a leave-out fold holds)

    def digest(self) -> str:
        """SHA-256 of the file list and the pixels: a run resumes only on the same faces."""
        h = hashlib.sha256("\n".join(self.files).encode())
        h.update(np.ascontiguousarray(self.images).tobytes())
        return h.hexdigest()

    def info(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "faces": len(self.files),
            "side": int(self.images.shape[1]) if len(self.images) else None,
            "crop_methods": dict(self.methods),
            "dropped": self.dropped,
            "crop_settings": dict(self.settings),
            "excluded": list(self.excluded),
            "digest": self.digest(),
        }


def shrink(crop: np.ndarray, side: int) -> np.ndarray:
    """A square uint8 crop resized to ``side`` px (Lanczos: anti-aliased when shrinking)."""
    from PIL import Image

    if crop.shape[0] == side and crop.shape[1] == side:
        return np.ascontiguousarray(crop)
    return np.asarray(Image.fromarray(crop).resize((side, side), Image.Resampling.LANCZOS))


def pick_files(files: list[Path], limit: int | None, seed: int) -> list[Path]:
    """All ``files``, or ``limit`` of them drawn without replacement by ``seed`` (kept in sorted order)."""
    if not limit or limit >= len(files):
        return files
    keep = np.random.default_rng(seed).choice(len(files), size=int(limit), replace=False)
    return [files[i] for i in sorted(keep)]


def load_faces(
    folder: str | Path,
    side: int,
    *,
    settings: CropSettings | None = None,
    limit: int | None = None,
    seed: int = 0,
    exclude: Sequence[str] = (),
    progress: bool = True,
) -> FaceSet:
    """The largest face of every image under ``folder`` (recursively), cropped as for training and shrunk to
    ``side`` px; unreadable files and files without a crop are dropped (counted). Files under a sub-folder named in
    ``exclude`` are left out; ``limit`` then draws that many files (by ``seed``)."""
    from tqdm import tqdm

    from forensics.scan.files import list_images

    root = Path(folder)
    settings = settings or CropSettings()
    skip = set(exclude)
    listed = [(p, set(p.relative_to(root).parts[:-1])) for p in list_images(root)]
    folders: set[str] = set()
    for _, parts in listed:
        folders |= parts
    unknown = skip - folders
    if unknown:
        raise ForensicsError(
            f"no sub-folder named {', '.join(sorted(unknown))} under {root}: check the names to leave out"
        )
    files = pick_files([p for p, parts in listed if not skip & parts], limit, seed)
    images, kept, methods = [], [], Counter[str]()
    for p in tqdm(files, desc="face crops", disable=not progress, mininterval=5):
        try:
            rec = face_crop_for_file(p, settings)
        except ForensicsError:
            continue
        images.append(shrink(rec.crop, side))
        kept.append(p.relative_to(root).as_posix())
        methods[rec.method] += 1
    if not images:
        raise ForensicsError(f"no face crop could be made from the {len(files)} image(s) under {root}")
    return FaceSet(
        folder=str(root),
        images=np.stack(images),
        files=tuple(kept),
        methods=dict(methods),
        dropped=len(files) - len(kept),
        settings=dict(settings.resolved().__dict__),
        excluded=tuple(sorted(skip)),
    )


def to_model_range(images: np.ndarray):
    """uint8 ``(N, S, S, 3)`` -> float tensor ``(N, 3, S, S)`` in [-1, 1] (the generator's tanh range)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def to_uint8(x) -> np.ndarray:
    """Float tensor ``(N, 3, S, S)`` in [-1, 1] -> uint8 ``(N, S, S, 3)`` (clipped, rounded)."""
    arr = ((x.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5).round().byte()
    return arr.permute(0, 2, 3, 1).numpy()
