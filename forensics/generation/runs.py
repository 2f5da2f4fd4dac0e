"""Generator run folders as the dashboard lists them: where they are, what each holds (configuration, faces,
checkpoint SHA-256, log) and its loss records. The sample grid comes from :mod:`forensics.generation.sampling`.

Example:
    >>> from forensics.generation.runs import find_runs, run_summary      # doctest: +SKIP
    >>> [run_summary(r)["name"] for r in find_runs()]                      # doctest: +SKIP
    ['gan-dcgan64', 'gan-wgangp64']
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from forensics.errors import ForensicsError
from forensics.generation.trainer import CHECKPOINT, RUN_FILE, RUN_SCHEMA
from forensics.paths import PROJECT_ROOT

RUNS_ENV = "FORENSICS_GENERATOR_RUNS"


def run_roots() -> list[Path]:
    """Folders searched for generator runs: ``FORENSICS_GENERATOR_RUNS`` (separated by ``os.pathsep``), else
    ``runs/`` of the project."""
    env = os.environ.get(RUNS_ENV)
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [PROJECT_ROOT / "runs"]


def find_runs(roots: Sequence[str | Path] | None = None) -> list[Path]:
    """Run folders (a ``gan.json`` and a checkpoint) directly under each root, by name."""
    out = []
    for root in roots if roots is not None else run_roots():
        root = Path(root)
        if root.is_dir():
            out += [p for p in root.iterdir() if (p / RUN_FILE).is_file() and (p / CHECKPOINT).is_file()]
    return sorted(out, key=lambda p: p.name)


def read_run(run: str | Path) -> dict[str, Any]:
    """The run's ``gan.json`` (configuration, faces it learnt from, creation date)."""
    path = Path(run) / RUN_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ForensicsError(f"{path} cannot be read ({exc}): not a generator run folder") from exc
    if doc.get("schema") != RUN_SCHEMA:
        raise ForensicsError(f"{path} has schema {doc.get('schema')!r}, expected {RUN_SCHEMA}")
    return doc


def loss_records(run: str | Path) -> list[dict[str, Any]]:
    """The ``step`` records of the run's log (losses, faces/s, minutes), in order."""
    from forensics.training.run_log import read_log

    return [r for r in read_log(Path(run)) if r.get("event") == "step"]


def run_summary(run: str | Path) -> dict[str, Any]:
    """Name, folder, configuration, faces it learnt from and its last ``done`` record (None while it has not
    finished a session), for the Models page."""
    from forensics.training.run_log import read_log

    doc = read_run(run)
    log = read_log(Path(run))
    done = [r for r in log if r.get("event") == "done"]
    return {
        "name": Path(run).resolve().name,
        "folder": str(Path(run).resolve()),
        "config": doc["config"],
        "data": doc["data"],
        "created_utc": doc.get("created_utc"),
        "done": done[-1] if done else None,
    }


def provenance_rows(summary: dict[str, Any], prov: dict[str, Any]) -> list[dict[str, str]]:
    """What a shown sample grid comes from, as (item, value) rows: the run (``run_summary``) and the draw
    (``sampling.provenance``)."""
    cfg, data, done = summary["config"], summary["data"], summary.get("done")
    against = cfg.get("against")
    if against and cfg.get("against_weights"):
        against = f"{against} ({cfg['against_weights']})"
    rows = [
        ("run", summary["folder"]),
        ("architecture", f"{cfg['arch']}, {cfg['size']} px, width {cfg['width']}, latent {cfg['z_dim']}"),
        ("trained on", f"{data['faces']} face crops of {data['folder']} (crop methods {data['crop_methods']})"),
        ("left out of its faces", ", ".join(data.get("excluded") or []) or "nothing"),
        ("trained against", f"{against}, weight {cfg.get('against_weight')}" if against else "no detector"),
        ("started from", _started_from(prov.get("init"))),
        ("checkpoint sha256", prov["checkpoint_sha256"]),
        ("checkpoint state", f"step {prov['step']}, {prov['faces_seen']} real faces seen"),
        ("samples shown", f"{prov['n']} faces, seed {prov['seed']}, drawn {prov['date_utc']}"),
        ("created", str(summary.get("created_utc"))),
    ]
    if done:
        rows.append(
            (
                "training",
                f"{done['seconds'] / 60:.1f} min, {done['faces_per_second']:.1f} faces/s, {done['stopped_by']}",
            )
        )
    return [{"item": k, "value": str(v)} for k, v in rows]


def _started_from(init: dict[str, Any] | None) -> str:
    if not init:
        return "random initialisation"
    return f"{init['run']} (checkpoint sha256 {init['checkpoint_sha256']}, {init['faces_seen']} faces seen)"
