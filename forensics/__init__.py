"""Face-forensics workbench library.

Importable without Streamlit; heavy dependencies (torch, mediapipe, ...) are imported lazily by the modules that
need them, so ``import forensics`` stays fast.

Example:
    >>> from forensics.evidence import load_evidence
    >>> from forensics.pipeline import analyze
    >>> analysis = analyze(load_evidence("face.jpg"))            # doctest: +SKIP
"""

__version__ = "0.1.0"

from forensics.errors import (  # noqa: F401  (re-exported)
    BadImageError,
    ForensicsError,
    NoReadyDetectorError,
    NotApplicableError,
    UnavailableError,
    UnknownComponentError,
    WeightsHashMismatchError,
    WeightsNotFoundError,
)
