"""The evidence store: every file kept once, named by its sha256, read-only, checked on every read.

Layout: ``<root>/ab/cdef...`` (the first two hex digits as a folder keeps folders small). A file is written to a
temporary name, synced, then hard-linked to its final name (a link never replaces an existing file, so two writers
of the same bytes cannot clobber each other), and made read-only (0o444). Reading re-hashes the bytes: a file changed
behind the store's back is refused, never shown as evidence. The root is the argument, else
``FORENSICS_EVIDENCE_STORE``, else ``<cache>/evidence-store``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from forensics.errors import ForensicsError

_SHA = re.compile(r"[0-9a-f]{64}")


def default_root() -> Path:
    from forensics.paths import CACHE_DIR

    env = os.environ.get("FORENSICS_EVIDENCE_STORE")
    return Path(env) if env else CACHE_DIR / "evidence-store"


class EvidenceStore:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def path(self, sha256: str) -> Path:
        if not _SHA.fullmatch(sha256):
            raise ForensicsError(f"{sha256!r} is not a sha256 (64 lower-case hex digits)")
        return self.root / sha256[:2] / sha256[2:]

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, data: bytes) -> str:
        """Store ``data`` (once: the same bytes twice are one file) and return its sha256."""
        sha = hashlib.sha256(data).hexdigest()
        final = self.path(sha)
        if final.is_file():
            return sha
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".in-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o444)
            try:
                os.link(tmp, final)
            except FileExistsError:
                pass  # another writer stored the same bytes first
        finally:
            os.unlink(tmp)
        return sha

    def get(self, sha256: str) -> bytes:
        """The stored bytes, re-hashed: a missing or altered file is a ForensicsError."""
        p = self.path(sha256)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise ForensicsError(
                f"evidence {sha256} is not in the evidence store {self.root}: the store was moved "
                "or the file deleted (set FORENSICS_EVIDENCE_STORE to the right folder)"
            ) from None
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise ForensicsError(
                f"the stored file for evidence {sha256} now hashes to {got}: it was altered after intake and is refused"
            )
        return data
