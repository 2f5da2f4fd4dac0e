"""Which detectors run: the one rule every entry point (analysis, scan, report, CLI) follows.

``resolve_detectors`` takes names or Detector objects (default: the ready default detectors) and refuses a detector
without trained weights unless untrained ones are allowed, always with ``NoReadyDetectorError``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from forensics.errors import NoReadyDetectorError

if TYPE_CHECKING:
    from forensics.detectors.base import Detector

NONE_READY = (
    "no ready detector: no trained weights were found in weights/ or ../shared/peers. "
    "Train one with `python -m forensics train --config configs/default.toml`, pass --weights-dir, or "
    "use --allow-untrained for an explanation-only run (no verdict)."
)

_detector_lock = threading.Lock()


@functools.lru_cache(maxsize=16)
def _cached_detector(name: str, weights_dirs: tuple[str, ...]) -> Detector:
    from forensics.detectors import create_detector

    return create_detector(name, weights_dirs=list(weights_dirs) or None)


def get_detector(name: str, weights_dirs: Sequence[str | Path] | None = None) -> Detector:
    """A process-wide shared detector (one model per name; explaining takes ``detector.lock``)."""
    with _detector_lock:
        return _cached_detector(name, tuple(str(p) for p in (weights_dirs or ())))


def resolve_detectors(
    detectors: Sequence[str | Detector] | None = None,
    *,
    allow_untrained: bool = False,
    weights_dirs: Sequence[str | Path] | None = None,
    untrained_fallback: str | None = None,
) -> list[Detector]:
    """Detector objects for ``detectors`` (names or objects; default: ``default_detector_names()``, the ready ones).

    A detector without trained weights is refused unless ``allow_untrained``; with it and no ready detector at all,
    ``untrained_fallback`` (a name) is used when given. Raises NoReadyDetectorError.
    """
    from forensics.detectors import default_detector_names

    names_or_objs = list(detectors) if detectors else default_detector_names(weights_dirs=weights_dirs)
    if not names_or_objs and allow_untrained and untrained_fallback:
        names_or_objs = [untrained_fallback]
    if not names_or_objs:
        raise NoReadyDetectorError(NONE_READY)
    out = []
    for d in names_or_objs:
        det = get_detector(d, weights_dirs) if isinstance(d, str) else d
        if not det.ready and not allow_untrained:
            raise NoReadyDetectorError(
                f"detector {det.name!r} has no trained weights, so it cannot give a verdict; choose a ready detector "
                "(`python -m forensics models`) or pass allow_untrained (--allow-untrained) for an explanation-only "
                "run (its maps then describe a random model, not the evidence)"
            )
        out.append(det)
    return out
