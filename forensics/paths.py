"""Where the project's folders are. Paths resolve against these, never absolute paths in configs."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = PROJECT_ROOT / "weights"
# ../shared beside the project: data and the published peer weights (never committed into the project).
SHARED_DIR = Path(os.environ.get("FORENSICS_SHARED_DIR", PROJECT_ROOT.parent / "shared"))
SHARED_DATA_DIR = SHARED_DIR / "data"
PEER_WEIGHTS_DIR = SHARED_DIR / "peers" / "mesonet" / "weights"
CACHE_DIR = Path(os.environ.get("FORENSICS_CACHE_DIR", PROJECT_ROOT / "cache"))


def weights_search_path(extra: list[str | Path] | None = None) -> list[Path]:
    """Folders searched for weight files, in order: explicit ones, ``FORENSICS_WEIGHTS_PATH``, weights/, peers."""
    dirs: list[Path] = [Path(p) for p in (extra or [])]
    env = os.environ.get("FORENSICS_WEIGHTS_PATH")
    if env:
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs += [WEIGHTS_DIR, PEER_WEIGHTS_DIR]
    return dirs
