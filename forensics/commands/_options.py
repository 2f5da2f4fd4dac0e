"""Command-line options several commands share, declared once (a module whose name starts with ``_`` is not a
command)."""

from __future__ import annotations

from typing import Any

FACE_METHODS = ("auto", "mtcnn", "haar", "whole")


def add_face_method(p: Any, *, mediapipe: bool = False) -> None:
    """``--face-method`` (default ``auto``, as ``AnalyzeOptions``); ``mediapipe`` adds BlazeFace and BlazeFace with
    MTCNN where BlazeFace is unreliable (the scan's fast finders)."""
    choices = [*FACE_METHODS[:3], "mediapipe", "mediapipe+mtcnn", FACE_METHODS[3]] if mediapipe else list(FACE_METHODS)
    fast = (
        "; mediapipe and mediapipe+mtcnn are fast finders for triage: their crops are framed unlike the MTCNN crops "
        "the detectors were calibrated on, and about one verdict in five differs (docs/scan.md)"
        if mediapipe
        else ""
    )
    p.add_argument(
        "--face-method", default="auto", choices=choices, help=f"face finder (default auto: MTCNN, then Haar){fast}"
    )
