"""The Detector: a torch model plus everything the rest of the library needs to use and explain it.

A detector maps a batch of face crops to logits over its classes. Class 0 is always ``real``; ``fake_indices``
name the classes that count as "manipulated or generated", so ``p_fake`` is the summed probability of those.
Adapters for the explainers live here too (CAM target layers, ViT reshape transform, LRP canonizers), so adding a
backbone never touches the explainers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PreprocessConfig:
    """How a uint8 RGB face crop becomes the model's input tensor."""

    input_size: int = 224
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelCard:
    """What an analyst (and a court) needs to know about a model. Metrics are recorded, never invented."""

    architecture: str
    training_data: str = "none: random initialisation (not trained for forensics)"
    licence: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    intended_use: str = ""
    failure_modes: tuple[str, ...] = ()
    reproduce: str = ""
    training_image_sides: dict[str, Any] = field(default_factory=dict)  # forensics.calibration.domain.side_histogram
    # forensics.training.leave_out rows: how it fares on sources it never saw (the card's headline)
    leave_source_out: dict[str, Any] = field(default_factory=dict)
    training_sources: tuple[dict[str, Any], ...] = ()  # per source: files, licence terms, origin
    initialisation: str = ""
    roc: dict[str, Any] = field(default_factory=dict)  # forensics.training.export.evaluation_roc: curve + provenance

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DetectorConfig:
    """Static description of a registered detector (timm's PretrainedCfg in spirit)."""

    name: str
    architecture: str
    classes: tuple[str, ...] = ("real", "fake")
    fake_indices: tuple[int, ...] = (1,)
    preprocess: PreprocessConfig = PreprocessConfig()
    weights: str | None = None  # manifest entry name; None = no trained weights exist
    description: str = ""

    def __post_init__(self) -> None:
        if not self.classes or self.classes[0] != "real":
            raise ValueError(f"{self.name}: class 0 must be 'real', got {self.classes}")
        if not self.fake_indices or any(i <= 0 or i >= len(self.classes) for i in self.fake_indices):
            raise ValueError(f"{self.name}: bad fake_indices {self.fake_indices} for classes {self.classes}")


class Detector:
    """A ready-to-use model. Thread safety: hold ``detector.lock`` while running or explaining it.

    Example:
        >>> from forensics.detectors import create_detector               # doctest: +SKIP
        >>> det = create_detector("simplenet", weights="none")            # doctest: +SKIP
        >>> probs = det.predict_proba(det.preprocess([crop]))              # doctest: +SKIP
    """

    def __init__(
        self,
        config: DetectorConfig,
        model: Any,
        *,
        card: ModelCard,
        weights_sha256: str | None = None,
        weights_file: str | None = None,
        target_layers: Callable[[Any], list[Any]] | None = None,
        reshape_transform: Callable[..., Any] | None = None,
        canonizers: Callable[[], list[Any]] | None = None,
        feature_layer: Callable[[Any], Any] | None = None,
        calibration: Any = None,
        novelty: Any = None,
    ) -> None:
        from forensics.device import get_device

        self.config = config
        self.device = get_device()
        self.model = model.to(self.device).eval()
        self.card = card
        self.weights_sha256 = weights_sha256
        self.weights_file = weights_file
        self._target_layers = target_layers
        self.reshape_transform = reshape_transform
        self._canonizers = canonizers
        self._feature_layer = feature_layer
        self.calibration = calibration  # forensics.calibration.Calibration or None
        self.novelty = novelty  # forensics.calibration.novelty.NoveltyModel or None: novelty not measured
        self.lock = threading.RLock()

    # --- identity -------------------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config.name

    @property
    def classes(self) -> tuple[str, ...]:
        return self.config.classes

    @property
    def ready(self) -> bool:
        """True only when trained weights were loaded and verified: only then may a verdict be shown."""
        return self.weights_sha256 is not None

    # --- inference --------------------------------------------------------------------------------------------------
    def preprocess(self, crops: Sequence[np.ndarray]):
        """uint8 HxWx3 RGB crops (any size) -> float tensor (N,3,S,S) on the device, normalised."""
        import torch
        import torch.nn.functional as F

        pp = self.config.preprocess
        batch = []
        for crop in crops:
            arr = np.asarray(crop)
            if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
                raise ValueError(f"expected uint8 HxWx3 RGB crop, got {arr.dtype} {arr.shape}")
            batch.append(torch.from_numpy(arr.copy()).permute(2, 0, 1))  # copy: crops may be read-only views
        out = []
        for t in batch:
            x = t.float().unsqueeze(0) / 255.0
            if tuple(t.shape[1:]) != (pp.input_size, pp.input_size):
                x = F.interpolate(
                    x, size=(pp.input_size, pp.input_size), mode="bilinear", align_corners=False, antialias=True
                )
            out.append(x)
        x = torch.cat(out, 0)
        mean = torch.tensor(pp.mean).view(1, 3, 1, 1)
        std = torch.tensor(pp.std).view(1, 3, 1, 1)
        return ((x - mean) / std).to(self.device)

    def predict(self, batch):
        """Logits (N, C) for a preprocessed batch. Gradients are not tracked."""
        import torch

        with self.lock, torch.no_grad():
            return self.model(batch)

    def predict_proba(self, batch, *, calibrated: bool = True) -> np.ndarray:
        """Class probabilities (N, C) as float64 numpy; calibrated (temperature and class biases) when a calibration
        is attached."""
        logits = self.predict(batch).double().cpu().numpy()
        return self.logits_to_proba(logits, calibrated=calibrated)

    def logits_to_proba(self, logits: np.ndarray, *, calibrated: bool = True) -> np.ndarray:
        from forensics.calibration.temperature import softmax

        z = np.asarray(logits, dtype=np.float64)
        if calibrated and self.calibration is not None:
            z = self.calibration.scale_logits(z)
        return softmax(z)

    def p_fake(self, proba: np.ndarray) -> np.ndarray:
        """Probability that each face is manipulated or generated: sum over the fake classes."""
        return np.asarray(proba)[:, list(self.config.fake_indices)].sum(axis=1)

    def logits_and_features(self, batch) -> tuple[Any, np.ndarray | None]:
        """Logits (N, C) and penultimate features (N, D) float64 numpy from ONE forward pass; features are None
        when the detector exposes no feature layer. Gradients are not tracked."""
        import torch

        captured: list[Any] = []
        handle = None
        if self._feature_layer is not None:
            handle = self._feature_layer(self.model).register_forward_hook(
                lambda _m, inp, _o: captured.append(inp[0].detach())
            )
        try:
            with self.lock, torch.no_grad():
                logits = self.model(batch)
        finally:
            if handle is not None:
                handle.remove()
        return logits, (captured[0].flatten(1).double().cpu().numpy() if captured else None)

    def features(self, batch) -> np.ndarray:
        """Penultimate-layer features (N, D), for embedding maps and frozen-backbone baselines."""
        if self._feature_layer is None:
            raise NotImplementedError(f"{self.name} does not expose penultimate features")
        feats = self.logits_and_features(batch)[1]
        assert feats is not None  # a feature layer is set, so the forward pass recorded its output
        return feats

    # --- explainer adapters ----------------------------------------------------------------------------------------
    def target_layers(self) -> list[Any]:
        """Layers whose activations CAM methods use (the last convolutional stage, or a ViT block's norm)."""
        if self._target_layers is None:
            raise NotImplementedError(f"{self.name} names no CAM target layers")
        return self._target_layers(self.model)

    def canonizers(self) -> list[Any]:
        """Fresh zennit canonizers this architecture needs for LRP (empty list for plain nets)."""
        return self._canonizers() if self._canonizers is not None else []

    def info(self) -> dict[str, Any]:
        """JSON-ready description: name, architecture, classes, weights hash, readiness, card."""
        return {
            "name": self.name,
            "architecture": self.config.architecture,
            "classes": list(self.classes),
            "fake_classes": [self.classes[i] for i in self.config.fake_indices],
            "input_size": self.config.preprocess.input_size,
            "weights_file": self.weights_file,
            "weights_sha256": self.weights_sha256,
            "ready": self.ready,
            "calibrated": self.calibration is not None,
            "novelty": None
            if self.novelty is None
            else {"threshold": self.novelty.threshold, "fitted": dict(self.novelty.info)},
            "card": self.card.to_dict(),
        }
