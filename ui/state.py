"""Session state: the evidence shared by every page and the options chosen in the sidebar.

The evidence is kept as its exact bytes plus name and sha256 (not as a decoded image): every page decodes it through
the cached loader in ``ui.lib``, so switching pages recomputes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

EVIDENCE_KEY = "forensics_evidence"
BATCH_KEY = "forensics_batch"  # the files of the last multi-file upload (the current evidence is one of them)
DETECTORS_KEY = "sidebar_detectors"
FACE_METHOD_KEY = "sidebar_face_method"


@dataclass(frozen=True)
class Upload:
    """The evidence file as the analyst gave it."""

    name: str
    data: bytes
    sha256: str
    origin: str  # "upload", "example" or "path"

    @property
    def short(self) -> str:
        return self.sha256[:12]


@dataclass(frozen=True)
class Options:
    """Sidebar choices that change the numbers (part of every cache key)."""

    detectors: tuple[str, ...]
    face_method: str
    allow_untrained: bool

    def key(self) -> tuple:
        return (self.detectors, self.face_method, self.allow_untrained)


def current() -> Upload | None:
    """The evidence chosen on any page, or None."""
    return st.session_state.get(EVIDENCE_KEY)


def set_current(name: str, data: bytes, origin: str) -> Upload:
    """Make ``data`` the evidence for every page (a no-op when the same bytes are already current)."""
    sha = hashlib.sha256(data).hexdigest()
    cur = current()
    if cur is not None and cur.sha256 == sha and cur.name == name:
        return cur
    up = Upload(name=name, data=bytes(data), sha256=sha, origin=origin)
    st.session_state[EVIDENCE_KEY] = up
    return up


def clear() -> None:
    st.session_state.pop(EVIDENCE_KEY, None)
    st.session_state.pop(BATCH_KEY, None)


def set_batch(files: list[tuple[str, bytes]]) -> list[Upload]:
    """Keep several uploaded files (name, bytes) as one batch and make the first the current evidence."""
    batch = [Upload(name=n, data=bytes(d), sha256=hashlib.sha256(d).hexdigest(), origin="upload") for n, d in files]
    st.session_state[BATCH_KEY] = batch
    if batch:
        set_current(batch[0].name, batch[0].data, "upload")
    return batch


def batch() -> list[Upload]:
    """The files of the last multi-file upload when the current evidence is one of them, else []."""
    files = list(st.session_state.get(BATCH_KEY) or ())
    cur = current()
    return files if cur is not None and any(u.sha256 == cur.sha256 for u in files) else []


def options(ready: set[str] | None = None) -> Options:
    """The sidebar options. Untrained detectors are allowed only as chosen explicitly (explain-only, no verdict)."""
    dets = tuple(st.session_state.get(DETECTORS_KEY) or ())
    method = st.session_state.get(FACE_METHOD_KEY) or "auto"
    allow = bool(ready is not None and any(d not in ready for d in dets))
    return Options(detectors=dets, face_method=method, allow_untrained=allow)
