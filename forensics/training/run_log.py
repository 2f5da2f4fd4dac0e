"""A training run's JSONL log (``LOG`` in the run folder): one record per event (start, epoch, calibration, export).

Its own module so the trainer, the calibration and the export read and write it without importing each other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LOG = "log.jsonl"


def append_log(out: Path, rec: dict[str, Any]) -> None:
    with open(out / LOG, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec, default=float) + "\n")


def read_log(run: Path) -> list[dict[str, Any]]:
    """The records of a run folder's JSONL log (empty when there is none yet)."""
    path = Path(run) / LOG
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
