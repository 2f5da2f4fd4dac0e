"""Evidence: the safe intake of one file, decoded once and carried along with what the rest of the flow reads from it.

- ``forensics.evidence.intake``: ``load_evidence`` (exact bytes, hashes, a decoded RGB image, metadata), ``Evidence``;
- ``forensics.evidence.metadata``: EXIF, XMP, ICC, C2PA presence and PNG text, read once at intake;
- ``forensics.evidence.jpeg_tables``: JPEG / PNG / RIFF segments, quantisation tables and the quality estimate.

Example:
    >>> from forensics.evidence import load_evidence
    >>> ev = load_evidence("photo.jpg")                                   # doctest: +SKIP
"""

from forensics.evidence.intake import (
    ACCEPTED_TEXT,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    Evidence,
    exif_thumbnail,
    load_evidence,
)

__all__ = [
    "ACCEPTED_TEXT",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_SUFFIXES",
    "Evidence",
    "exif_thumbnail",
    "load_evidence",
]
