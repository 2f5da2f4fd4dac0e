"""A frozen detector as a second critic of the generator: its loss term pushes the detector's p_fake down.

The generated face (in [-1, 1]) goes through the detector's own preprocessing, written with differentiable torch
operations: scaled to [0, 1], resized to the detector's input side (bilinear, anti-aliased, as
``Detector.preprocess``) and normalised with its mean and std. The term is ``-log(1 - p_fake)`` per face, averaged,
where ``p_fake`` is the detector's uncalibrated softmax mass on its fake classes (calibration only rescales logits;
the uncalibrated probability is what its network computes). The detector's weights never change: they are frozen
and it stays in eval mode.

Example:
    >>> from forensics.generation.against import DetectorTerm, load_detector     # doctest: +SKIP
    >>> term = DetectorTerm(load_detector("ffd-mobilenetv2"))                  # doctest: +SKIP
    >>> loss, p_fake = term(generator(z))                                       # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from forensics.errors import ForensicsError

THREE_CLASSES = ("real", "face-manipulated", "generated")


def load_detector(name: str, weights: str | Path | None = None, classes: Sequence[str] | None = None) -> Any:
    """``create_detector(name)`` (a manifest entry: its verified weights), or an architecture with an explicit
    weights file (e.g. a leave-out fold's ``model.safetensors``; classes default to the three-class scheme)."""
    from forensics.detectors import create_detector

    if weights is None:
        return create_detector(name)
    return create_detector(name, weights=weights, classes=tuple(classes or THREE_CLASSES))


class DetectorTerm:
    """Differentiable ``-log(1 - p_fake)`` of a frozen detector on generated images; ``__call__`` returns the loss
    and the batch's mean p_fake (a float, for the log)."""

    def __init__(self, detector: Any) -> None:
        self.detector = detector
        self.model = detector.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        pp = detector.config.preprocess
        self.side = int(pp.input_size)
        self.mean = torch.tensor(pp.mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(pp.std, dtype=torch.float32).view(1, 3, 1, 1)
        n = len(detector.config.classes)
        fake = set(detector.config.fake_indices)
        self.fake = [i for i in range(n) if i in fake]
        self.kept = [i for i in range(n) if i not in fake]
        if not self.kept:
            raise ForensicsError(f"detector {detector.name} has no non-fake class: it cannot be used as a critic")

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] ``(N, 3, S, S)`` -> the detector's normalised input, keeping the gradient."""
        x = (images + 1.0) / 2.0
        if x.shape[-1] != self.side or x.shape[-2] != self.side:
            x = F.interpolate(x, size=(self.side, self.side), mode="bilinear", align_corners=False, antialias=True)
        return (x - self.mean.to(x.device)) / self.std.to(x.device)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        self.model.eval()  # never let a caller's .train() switch its batch norm to batch statistics
        return self.model(self.preprocess(images))

    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, float]:
        z = self.logits(images)
        log_p_kept = torch.logsumexp(z[:, self.kept], dim=1) - torch.logsumexp(z, dim=1)  # log(1 - p_fake)
        p_fake = 1.0 - log_p_kept.detach().exp()
        return -log_p_kept.mean(), float(p_fake.mean())
