"""Evidence roots: the only folders whose files and subfolders the server reads when given a local path.

An admin lists them in ``FORENSICS_EVIDENCE_ROOTS`` (folders separated by ``os.pathsep``); unset, the only root is
the shared data folder (``../shared/data``). A path is resolved first (``..`` and every symlink followed, as the
operating system would when opening it) and must then lie inside a resolved root, so neither ``root/../etc`` nor a
symlink inside a root that points elsewhere gets out.
"""

from __future__ import annotations

import os
from pathlib import Path

from forensics.errors import PathNotAllowedError


def evidence_roots() -> list[Path]:
    from forensics.paths import SHARED_DATA_DIR

    env = os.environ.get("FORENSICS_EVIDENCE_ROOTS")
    if env is None:
        return [SHARED_DATA_DIR]
    return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]


def confine(path: str | Path, roots: list[Path] | None = None, *, folder: bool = False) -> Path:
    """The resolved ``path`` if it is an existing file (``folder``: directory) inside one of the evidence roots,
    else PathNotAllowedError saying why."""
    roots = evidence_roots() if roots is None else roots
    if not roots:
        raise PathNotAllowedError(
            "no evidence roots are configured, so no local path can be read: an admin sets "
            "FORENSICS_EVIDENCE_ROOTS (or upload the file instead)"
        )
    real = Path(os.path.realpath(Path(path).expanduser()))
    allowed = [Path(os.path.realpath(r)) for r in roots]
    if not any(real == r or real.is_relative_to(r) for r in allowed):
        shown = ", ".join(str(r) for r in roots)
        raise PathNotAllowedError(
            f"{path} is outside the evidence roots ({shown}) once '..' and symlinks are "
            "followed, so it is not read: put the file under a root, upload it, or ask an "
            "admin to add its folder to FORENSICS_EVIDENCE_ROOTS"
        )
    if folder and not real.is_dir():
        raise PathNotAllowedError(f"{path} is not a folder: check the path")
    if not folder and not real.is_file():
        raise PathNotAllowedError(f"{path} is not a readable file: check the path")
    return real
