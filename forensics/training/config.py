"""Training configuration: frozen dataclasses read from a TOML file (``configs/*.toml``).

Paths in configs are relative: ``{shared_data}`` expands to :data:`forensics.paths.SHARED_DATA_DIR`, other
relative paths resolve against the project root. Unknown keys are errors (a typo must not silently train the
wrong model).

Example:
    >>> from forensics.training.config import TrainConfig
    >>> cfg = TrainConfig.from_dict({"name": "x", "data": {"train_dir": "{shared_data}/train"}})
    >>> cfg.model.architecture
    'mobilenetv2'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from forensics.errors import ForensicsError
from forensics.paths import PROJECT_ROOT, SHARED_DATA_DIR
from forensics.training.augment import AugmentConfig


def resolve_path(text: str | None) -> Path | None:
    """``{shared_data}/x`` -> SHARED_DATA_DIR/x; relative -> PROJECT_ROOT/x; absolute kept (tests use tmp dirs)."""
    if text is None or text == "":
        return None
    p = Path(str(text).replace("{shared_data}", str(SHARED_DATA_DIR)))
    return p if p.is_absolute() else PROJECT_ROOT / p


@dataclass(frozen=True)
class DataConfig:
    train_dir: str = "{shared_data}/train"
    val_dir: str | None = "{shared_data}/val"  # None/"" = split train_dir by video/file with val_fraction
    val_fraction: float = 0.15
    classes: tuple[str, ...] = ("real", "face-manipulated", "generated")
    class_shares: tuple[float, ...] = (0.4, 0.35, 0.25)
    source_power: float = 0.5  # within a class, source share ~ n_source ** power
    fake_balance: str = "source"  # gathered fakes balanced by "source" folder or by "generator" family
    fake_power: float | None = None  # power of n within the fake classes (None = source_power)
    sbi_share: float = 0.5  # share of the face-manipulated draws that are self-blended reals (0 = off)
    sbi_part_p: float = 0.0  # share of those blends that replace one part (eye(s), nose, mouth), not the inner face
    sbi_donor_p: float = 0.0  # share that paste another real face (aligned, colour-matched), not a perturbed copy
    pair_domains: bool = True  # real sources drawn in proportion to the fake draws of their dataset family
    pair_floor: float = 0.2
    crop_method: str = "auto"
    # leave-source-out protocol (forensics.training.leave_out): "source:X" / "kind:Y" / "family:Z" specs whose files
    # are left out of training AND of validation / calibration; they are the unseen test set of the run
    holdout: tuple[str, ...] = ()
    # folders of generated faces (``generate sample`` output) added to training only, after any hold-out, each as
    # fake kind "gan" with source "generated:<folder name>" (forensics.training.data.generated_samples)
    generated: tuple[str, ...] = ()
    crop_size: int | None = None  # None = forensics.faces default (as at inference)
    margin: float | None = None


@dataclass(frozen=True)
class ModelConfig:
    architecture: str = "mobilenetv2"
    init: str = "imagenet"  # passed to create_detector(weights=...): imagenet | none | <path>
    mask_weight: float = 0.0  # weight of the blend-mask head's loss (forensics.training.mask_head); 0 = no head


@dataclass(frozen=True)
class StageConfig:
    epochs: int = 1
    unfreeze: int | str = "head"  # "head", "all", or the number of last backbone blocks trained with the head
    lr: float = 1e-3
    weight_decay: float = 1e-4


@dataclass(frozen=True)
class TrainSection:
    batch_size: int = 32
    samples_per_epoch: int = 3000
    max_minutes: float = 0.0  # 0 = no wall-clock budget; otherwise no new epoch starts past it
    label_smoothing: float = 0.05
    threads: int = 2
    select: str = "last"  # last | best (best val AUC; biased: the same val set is used for calibration)
    val_batch_size: int = 64
    val_every: int = 1  # validate after every N-th epoch (the last epoch always)
    # "bf16": forward and loss under CPU bfloat16 autocast (weights, optimizer and BatchNorm stay float32); with
    # channels-last tensors about 2.5x faster on this 2-core CPU (BENCHMARKS.md). Validation and inference: float32.
    precision: str = "fp32"
    channels_last: bool = False
    contended_below: float = 30.0  # faces/s under which an epoch is logged as contended (not for decisions)


@dataclass(frozen=True)
class DistillConfig:
    enabled: bool = False
    teacher: str = "resnet34"
    teacher_weights: str = "auto"
    alpha: float = 0.5
    temperature: float = 4.0


@dataclass(frozen=True)
class CalibrationConfig:
    target_error: float = 0.05
    lr_bins: int = 12
    # (shorter side, JPEG quality) re-samplings of the validation files under which the threshold must also hold
    resampled: tuple[tuple[int, int], ...] = ()
    # finished leave-out fold runs of the same recipe whose scores set the band's low edge, the unseen-kind miss rate
    # and the LR bounds (forensics.training.leave_out_calibration); () = validation alone
    leave_out_runs: tuple[str, ...] = ()
    leave_out_target: float | None = None  # share of each left-out kind's fakes allowed below the edge (None: target)


@dataclass(frozen=True)
class ExportConfig:
    enabled: bool = False
    name: str = ""  # manifest name; default = config name
    weights_dir: str = "weights"


@dataclass(frozen=True)
class SoupConfig:
    seeds: tuple[int, ...] = ()  # two or more: train the recipe once per seed and average the weights (soup.py)


@dataclass(frozen=True)
class TrainConfig:
    name: str = "run"
    seed: int = 0
    out_dir: str = "runs/{name}"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainSection = field(default_factory=TrainSection)
    stages: tuple[StageConfig, ...] = (
        StageConfig(epochs=1, unfreeze="head", lr=1e-3),
        StageConfig(epochs=5, unfreeze=5, lr=3e-4),
    )
    distill: DistillConfig = field(default_factory=DistillConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    soup: SoupConfig = field(default_factory=SoupConfig)

    @property
    def total_epochs(self) -> int:
        return sum(s.epochs for s in self.stages)

    @property
    def out_path(self) -> Path:
        p = resolve_path(self.out_dir.replace("{name}", self.name))
        assert p is not None
        return p

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def digest(self) -> str:
        """Hash of the fields that change what training learns (``learnt_part``): a checkpoint resumes only under
        the same digest, so editing e.g. ``[calibration]`` or ``[export]`` does not block a resume."""
        return hashlib.sha256(
            json.dumps(learnt_part(self.to_dict()), sort_keys=True, default=str).encode()
        ).hexdigest()[:16]

    def replace(self, **sections: Any) -> TrainConfig:
        """Copy with sections (or fields) replaced; nested dicts update the section's fields."""
        changes: dict[str, Any] = {}
        for key, val in sections.items():
            cur = getattr(self, key)
            if isinstance(val, dict) and dataclasses.is_dataclass(cur) and not isinstance(cur, type):
                changes[key] = dataclasses.replace(cur, **val)
            else:
                changes[key] = val
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        d = dict(d)
        kwargs: dict[str, Any] = {}
        sections = {
            "data": DataConfig,
            "model": ModelConfig,
            "augment": AugmentConfig,
            "train": TrainSection,
            "distill": DistillConfig,
            "calibration": CalibrationConfig,
            "export": ExportConfig,
            "soup": SoupConfig,
        }
        for key, klass in sections.items():
            if key in d:
                kwargs[key] = _build(klass, d.pop(key), key)
        if "stages" in d:
            stages = d.pop("stages")
            if not stages:
                raise ForensicsError("config: [[stages]] must list at least one stage")
            kwargs["stages"] = tuple(_build(StageConfig, s, "stages") for s in stages)
        for key in ("name", "seed", "out_dir"):
            if key in d:
                kwargs[key] = d.pop(key)
        if d:
            raise ForensicsError(f"config: unknown keys {sorted(d)}; see configs/default.toml")
        for key, section in kwargs.items():
            if key in sections:
                _check_probabilities(section, key)
        if "calibration" in kwargs:
            kwargs["calibration"] = _checked_resampling(kwargs["calibration"])
        if "data" in kwargs:
            from forensics.training.data import parse_hold

            for spec in kwargs["data"].holdout:
                parse_hold(spec)
        seeds = kwargs["soup"].seeds if "soup" in kwargs else ()
        if seeds and (len(set(seeds)) < 2 or len(set(seeds)) != len(seeds)):
            raise ForensicsError(f"config: [soup] seeds = {list(seeds)} must list two or more different seeds")
        return cls(**kwargs)

    @classmethod
    def from_toml(cls, path: str | Path) -> TrainConfig:
        p = Path(path)
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ForensicsError(f"cannot read training config {p}: {exc}") from exc
        return cls.from_dict(raw)


# config fields that do not change what a run learns (naming, where it is written, export, soup, calibration)
NOT_LEARNT = ("name", "out_dir", "export", "soup", "calibration")


def learnt_part(config: dict[str, Any]) -> dict[str, Any]:
    """A config dict (``TrainConfig.to_dict()`` or a logged one) without the ``NOT_LEARNT`` fields."""
    return {k: v for k, v in config.items() if k not in NOT_LEARNT}


def _checked_resampling(section: CalibrationConfig) -> CalibrationConfig:
    """``[calibration] resampled`` as a tuple of (side, quality) int pairs, each in the range ``evaluate
    --normalise`` accepts."""
    from forensics.training.crops import check_resampling

    pairs = []
    for item in section.resampled:
        try:
            side, quality = (int(v) for v in item)
        except (TypeError, ValueError):
            raise ForensicsError(f"config: [calibration] resampled wants [side, quality] pairs, got {item!r}") from None
        pairs.append(check_resampling(side, quality, "config: [calibration] resampled"))
    return dataclasses.replace(section, resampled=tuple(pairs))


def _check_probabilities(section: Any, where: str) -> None:
    """Fields named ``*_p`` or ``*_share`` are probabilities: outside [0, 1] is a typo, not a setting."""
    for f in dataclasses.fields(section):
        v = getattr(section, f.name)
        if (f.name.endswith("_p") or f.name.endswith("_share")) and not 0.0 <= float(v) <= 1.0:
            raise ForensicsError(f"config: [{where}] {f.name} = {v} must lie in [0, 1]")


def _build(klass: type, raw: dict[str, Any], where: str) -> Any:
    if not isinstance(raw, dict):
        raise ForensicsError(f"config: [{where}] must be a table")
    names = {f.name: f for f in dataclasses.fields(klass)}
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ForensicsError(f"config: unknown keys in [{where}]: {unknown}; known: {sorted(names)}")
    vals = {k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.items()}
    return klass(**vals)
