"""Classic image-forensic checks, each a line of evidence: ``run_checks(evidence) -> list[Finding]``.

Checks (registry names): ``metadata`` (generator/editor tags, C2PA presence, camera EXIF), ``thumbnail`` (EXIF
thumbnail vs image), ``double-jpeg`` (DCT histogram periodicity), ``ela`` (error level analysis), ``jpeg-ghost``
(difference across re-save qualities), ``noise`` (median-filter residual, block noise levels), ``copy-move``
(SIFT self-matches sharing one transform: a cloned area), ``spectrum`` (azimuthal power spectrum and periodic
up-sampling peaks).

Only numpy, scipy, Pillow and (for copy-move, imported when it runs) OpenCV are used, no torch, so importing this
package is cheap.

Example:
    >>> from forensics.evidence import load_evidence                     # doctest: +SKIP
    >>> for f in run_checks(load_evidence("photo.jpg")):                   # doctest: +SKIP
    ...     print(f.check, f.direction, f.summary)
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from forensics.checks import copy_move as _copy_move  # noqa: F401  (registers)
from forensics.checks import double_jpeg as _double_jpeg  # noqa: F401
from forensics.checks import ela as _ela  # noqa: F401
from forensics.checks import ghosts as _ghosts  # noqa: F401
from forensics.checks import metadata as _metadata  # noqa: F401
from forensics.checks import noise as _noise  # noqa: F401
from forensics.checks import spectrum as _spectrum  # noqa: F401
from forensics.checks.base import (
    CHECK_ORDER,
    CHECKS,
    DIRECTIONS,
    NEUTRAL,
    SUPPORTS_MANIPULATION,
    SUPPORTS_ORIGINAL,
    Finding,
)
from forensics.checks.double_jpeg import estimate_double_jpeg
from forensics.checks.ela import ElaResult, ela
from forensics.checks.ghosts import jpeg_ghosts
from forensics.checks.noise import noise_residual
from forensics.checks.spectrum import power_spectrum
from forensics.errors import UnknownComponentError

__all__ = [
    "CHECKS",
    "DIRECTIONS",
    "NEUTRAL",
    "SUPPORTS_MANIPULATION",
    "SUPPORTS_ORIGINAL",
    "CheckInfo",
    "ElaResult",
    "Finding",
    "ela",
    "estimate_double_jpeg",
    "jpeg_ghosts",
    "list_checks",
    "noise_residual",
    "power_spectrum",
    "run_check",
    "run_checks",
]


@dataclass(frozen=True)
class CheckInfo:
    name: str
    title: str
    description: str
    params: tuple[str, ...] = ()  # keyword parameters ``run_check`` accepts for this check


def list_checks() -> list[CheckInfo]:
    """Every registered check, in the order ``run_checks`` runs them."""
    return [CheckInfo(n, **CHECKS.meta(n)) for n in CHECK_ORDER]


def run_check(name: str, evidence: Any, **params: Any) -> Finding:
    """Run one check by name with its parameters; the Finding records the elapsed time."""
    if name not in CHECKS:
        raise UnknownComponentError(f"unknown check {name!r}; known: {', '.join(CHECK_ORDER)}")
    accepted = CHECKS.meta(name)["params"]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise UnknownComponentError(
            f"check {name!r} has no parameter {', '.join(map(repr, unknown))}; it takes: "
            f"{', '.join(accepted) or 'none'}"
        )
    t0 = time.perf_counter()
    finding = CHECKS.create(name, evidence=evidence, **params)
    return replace(finding, elapsed_ms=(time.perf_counter() - t0) * 1000.0)


def run_checks(
    evidence: Any, names: Iterable[str] | None = None, params: dict[str, dict[str, Any]] | None = None
) -> list[Finding]:
    """Run the named checks (default: all, in ``CHECK_ORDER``) on one Evidence; ``params`` maps name -> kwargs."""
    wanted = list(CHECK_ORDER if names is None else names)
    unknown = [n for n in wanted if n not in CHECKS]
    if unknown:
        raise UnknownComponentError(
            f"unknown check(s) {', '.join(map(repr, unknown))}; known: {', '.join(CHECK_ORDER)}"
        )
    extra = set(params or {}) - set(wanted)
    if extra:
        raise UnknownComponentError(f"parameters given for check(s) not run: {', '.join(sorted(extra))}")
    return [run_check(n, evidence, **(params or {}).get(n, {})) for n in wanted]
