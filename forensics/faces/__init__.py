"""Faces: finding them, cropping them, and judging whether each is a whole face a verdict may be given on.

- ``forensics.faces.detect``: ``detect_faces(image, FaceOptions) -> FaceSet`` (the one entry point);
- ``forensics.faces.finders``: MTCNN and OpenCV Haar; ``forensics.faces.mediapipe_finder``: BlazeFace;
- ``forensics.faces.mediapipe_runtime``: the mediapipe graphs (the only place they are built) and their locks;
- ``forensics.faces.crop``: aligned square crops and their geometry;
- ``forensics.faces.whole_face``: the whole-face checks (cut by the border, padded, landmarks confirmed);
- ``forensics.faces.coverage``: faces a second finder sees that the analysis did not judge;
- ``forensics.faces.batch``: many images' faces in one MTCNN pass (scans, training crops).

Example:
    >>> from forensics.faces import FaceOptions, detect_faces
    >>> fs = detect_faces(image, FaceOptions(method="auto"))               # doctest: +SKIP
"""

from forensics.faces.detect import (
    DEFAULT_DETECT_MAX_SIDE,
    DEFAULT_MAX_FACES,
    DEFAULT_MIN_CONFIDENCE,
    DEFAULT_MIN_SIZE,
    Face,
    FaceOptions,
    FaceSet,
    SkippedFace,
    detect_faces,
    reading_order,
)

__all__ = [
    "DEFAULT_DETECT_MAX_SIDE",
    "DEFAULT_MAX_FACES",
    "DEFAULT_MIN_CONFIDENCE",
    "DEFAULT_MIN_SIZE",
    "Face",
    "FaceOptions",
    "FaceSet",
    "SkippedFace",
    "detect_faces",
    "reading_order",
]
