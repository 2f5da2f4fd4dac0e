"""Which files a scan reads: the images under a folder, their labels from folder names, and stable shards.

>>> from pathlib import Path
>>> label_from_path(Path("/d/fake/gan/sg2/a.jpg"), Path("/d"))
('fake', 'gan', 'sg2')
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from forensics.errors import ForensicsError
from forensics.evidence import IMAGE_SUFFIXES


def label_from_path(path: Path, root: Path) -> tuple[str | None, str | None, str | None]:
    """(label, kind, source) from ``real/<source>/..`` or ``fake/<kind>/<source>/..`` anywhere under root."""
    parts = list(path.relative_to(root).parts[:-1])
    for i, p in enumerate(parts):
        if p == "real":
            return "real", "real", parts[i + 1] if i + 1 < len(parts) else None
        if p == "fake":
            kind = parts[i + 1] if i + 1 < len(parts) else None
            source = parts[i + 2] if i + 2 < len(parts) else kind
            return "fake", kind, source
    return None, None, None


def in_shard(relative_path: Path, k: int, n: int) -> bool:
    """Stable assignment of a file to one of ``n`` shards (same answer on every machine and run)."""
    if not (n >= 1 and 0 <= k < n):
        raise ForensicsError(f"shard {k}/{n} is impossible: use K/N with 0 <= K < N")
    digest = hashlib.sha1(relative_path.as_posix().encode()).digest()
    return int.from_bytes(digest[:8], "big") % n == k


def list_images(root: str | Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        raise ForensicsError(f"{root} is not a folder: give a folder of images to scan")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
