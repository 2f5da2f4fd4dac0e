"""Face crops of a training run held in memory: ``CropSet`` (crops, landmarks, methods, hashes of one split),
``load_crops`` (through the crop cache), ``prepare_data`` (scan, split without leaking a video, load train and
validation) and ``TrainSet`` (the indexable training set, with one self-blended twin per real crop).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forensics.calibration.domain import shorter_side
from forensics.errors import ForensicsError
from forensics.training.augment import augment_with_mask
from forensics.training.blending import random_blend
from forensics.training.config import TrainConfig, resolve_path
from forensics.training.crops import CropSettings, face_crop_for_file
from forensics.training.data import (
    Sample,
    check_no_leak,
    file_sha256,
    generated_samples,
    is_held,
    list_samples,
    split_by_group,
    summarise_samples,
)


@dataclass
class CropSet:
    """Crops of a list of samples held in memory (uint8 N x S x S x 3) with landmarks and crop methods."""

    samples: list[Sample]
    crops: np.ndarray
    landmarks: list[np.ndarray | None]
    methods: list[str]
    hashes: dict[str, str] = field(default_factory=dict)
    source_sides: list[float] = field(default_factory=list)  # shorter image side: a proxy of the crop's span


def load_crops(samples: list[Sample], settings: CropSettings, *, progress: bool = True) -> CropSet:
    """Crops for every sample through the disk cache (computing missing ones); unreadable files are dropped."""
    from tqdm import tqdm

    kept, crops, lms, methods, hashes, sides = [], [], [], [], {}, []
    for s in tqdm(samples, desc="crops", disable=not progress, mininterval=5):
        try:
            rec = face_crop_for_file(s.path, settings)
        except ForensicsError:
            continue
        kept.append(s)
        crops.append(rec.crop)
        lms.append(rec.landmarks)
        methods.append(rec.method)
        hashes[s.path] = file_sha256(s.path)
        sides.append(shorter_side(s.path))
    if not kept:
        raise ForensicsError("no usable face crop in the training data")
    return CropSet(kept, np.stack(crops), lms, methods, hashes, sides)


class TrainSet:
    """Indexable training set: real items 0..N-1, then one self-blended twin per real crop (N..N+R-1)."""

    def __init__(
        self, cs: CropSet, labels: np.ndarray, sbi_sources: np.ndarray, sbi_label: int | None, cfg: TrainConfig
    ) -> None:
        self.cs, self.labels, self.sbi_sources, self.sbi_label, self.cfg = cs, labels, sbi_sources, sbi_label, cfg
        self.n = len(cs.samples)
        self.donors = [(cs.crops[j], cs.landmarks[j]) for j in sbi_sources if cs.landmarks[j] is not None]
        self.rng = np.random.default_rng(cfg.seed)
        mean = np.array([0.485, 0.456, 0.406], np.float32) * 255
        std = np.array([0.229, 0.224, 0.225], np.float32) * 255
        self.mean, self.std = mean, std

    def set_epoch(self, epoch: int) -> None:
        self.rng = np.random.default_rng([self.cfg.seed, epoch])

    def __len__(self) -> int:
        return self.n + len(self.sbi_sources)

    def image_and_label(self, i: int) -> tuple[np.ndarray, int]:
        img, y, _mask = self.image_label_mask(i)
        return img, y

    def image_label_mask(self, i: int) -> tuple[np.ndarray, int, np.ndarray | None]:
        """(augmented crop, label, blend mask of the output or None when the blend region is unknown): zeros for
        camera originals, the pasted region for self-blended twins, None for gathered fakes."""
        want_mask = self.cfg.model.mask_weight > 0
        if i < self.n:
            img, y, j = self.cs.crops[i], int(self.labels[i]), i
            mask = np.zeros(img.shape[:2], np.float32) if (want_mask and y == 0) else None
        else:
            j = int(self.sbi_sources[i - self.n])
            img, mask = random_blend(
                self.cs.crops[j],
                self.cs.landmarks[j],
                self.rng,
                part_p=self.cfg.data.sbi_part_p,
                donor_p=self.cfg.data.sbi_donor_p,
                donors=self.donors,
            )
            assert self.sbi_label is not None  # SBI sources exist only with an SBI label
            y = int(self.sbi_label)
        side = self.cs.source_sides[j] if self.cs.source_sides else 0.0
        out, m = augment_with_mask(img, mask if want_mask else None, self.cfg.augment, self.rng, source_side=side)
        return out, y, m

    def __getitem__(self, i: int):
        import torch

        img, y, mask = self.image_label_mask(int(i))
        x = torch.from_numpy(((img.astype(np.float32) - self.mean) / self.std).transpose(2, 0, 1).copy())
        if self.cfg.model.mask_weight <= 0:
            return x, y
        has = mask is not None
        m = torch.from_numpy(mask) if mask is not None else torch.zeros(img.shape[:2])
        return x, y, m, has


def prepare_data(cfg: TrainConfig, *, progress: bool = True) -> tuple[CropSet, CropSet, dict[str, Any]]:
    """Scan, split (never leaking a video), and load the crops of train and validation."""
    train_dir = resolve_path(cfg.data.train_dir)
    assert train_dir is not None
    all_train = list_samples(train_dir)
    val_dir = resolve_path(cfg.data.val_dir)
    if val_dir is not None:
        train_s, val_s = all_train, list_samples(val_dir)
        split_note = f"fixed split: train {cfg.data.train_dir}, val {cfg.data.val_dir}"
    else:
        train_s, val_s = split_by_group(all_train, cfg.data.val_fraction, cfg.seed)
        split_note = f"random split of {cfg.data.train_dir} by video/file, val fraction {cfg.data.val_fraction}"
    check_no_leak(train_s, val_s)
    if cfg.data.holdout:
        train_s = [x for x in train_s if not is_held(x, cfg.data.holdout)]
        val_s = [x for x in val_s if not is_held(x, cfg.data.holdout)]
        split_note += f"; left out of training and calibration: {', '.join(cfg.data.holdout)}"
    if cfg.data.generated:
        train_s = train_s + generated_samples([resolve_path(d) for d in cfg.data.generated])
        split_note += f"; generated faces added to training: {', '.join(cfg.data.generated)}"
    settings = CropSettings(method=cfg.data.crop_method, crop_size=cfg.data.crop_size, margin=cfg.data.margin)
    tr = load_crops(train_s, settings, progress=progress)
    va = load_crops(val_s, settings, progress=progress)
    info = {
        "split": split_note,
        "train": summarise_samples(tr.samples),
        "val": summarise_samples(va.samples),
        "crop_settings": settings.resolved().__dict__,
        "crop_methods_train": dict(Counter(tr.methods)),
        "crop_methods_val": dict(Counter(va.methods)),
        "dropped": len(train_s) + len(val_s) - len(tr.samples) - len(va.samples),
    }
    return tr, va, info
