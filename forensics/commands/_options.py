"""Command-line options several commands share, declared once (a module whose name starts with ``_`` is not a
command)."""

from __future__ import annotations

from typing import Any


def add_face_method(p: Any, *, triage: bool = False) -> None:
    """``--face-method`` (default ``auto``, as ``AnalyzeOptions``), from ``forensics.faces.detect.FACE_METHODS``:
    the methods verdicts may be given on, and with ``triage`` (scans) the fast finders too, whose faces get no
    verdict."""
    from forensics.faces.detect import FACE_METHODS, VERDICT_FACE_METHODS

    choices = list(FACE_METHODS) if triage else list(VERDICT_FACE_METHODS)
    fast = [m for m in choices if m not in VERDICT_FACE_METHODS]
    note = (
        f"; {' and '.join(fast)}: fast finders for triage, whose faces are scored but get no verdict (their crops "
        "are framed unlike those the detectors were calibrated on; docs/scan.md)"
        if fast
        else ""
    )
    p.add_argument(
        "--face-method", default="auto", choices=choices, help=f"face finder (default auto: MTCNN, then Haar){note}"
    )
