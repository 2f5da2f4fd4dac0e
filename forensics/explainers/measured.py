"""What was measured about each explanation method, read from ``measured.json`` beside this module.

The file is written by ``bench/bench_localisation.py``: per detector (with the SHA-256 of the weights it was measured
on) the localisation on the ciplab edits (``localisation.py``), the faithfulness on the same faces and the cascading
randomisation check (``sanity.py``). The pages, ``explain`` JSON and the report quote it through ``method_note``;
when the loaded weights differ from the measured ones the note says so, because the figures belong to another file.

Example:
    >>> from forensics.explainers.measured import method_note
    >>> method_note("no-such-detector", None, "gradcam")["measured"]
    False
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from forensics.errors import ForensicsError

MEASURED_FILE = Path(__file__).with_name("measured.json")
SCHEMA = "forensics.explainer-measurements/1"


@lru_cache(maxsize=4)
def _read(path: str, mtime: float) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ForensicsError(
            f"cannot read the explainer measurements {path}: {exc}; re-run bench/bench_localisation.py"
        ) from exc
    if doc.get("schema") != SCHEMA:
        raise ForensicsError(f"{path} is not a {SCHEMA} file (schema {doc.get('schema')!r})")
    return doc


def load_measurements(path: str | Path | None = None) -> dict[str, Any]:
    """The measurements document ({} when the file does not exist)."""
    p = Path(path) if path is not None else MEASURED_FILE
    if not p.is_file():
        return {}
    return _read(str(p), p.stat().st_mtime)


def method_note(
    detector: str, weights_sha256: str | None, method: str, *, measurements: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What is known about ``method`` on ``detector``: the localisation sentence, the sanity-check result and
    whether they were measured on the loaded weights. JSON-ready; ``text`` is the one line to show."""
    doc = load_measurements() if measurements is None else measurements
    entry = (doc.get("detectors") or {}).get(detector)
    note: dict[str, Any] = {
        "method": method,
        "detector": detector,
        "measured": False,
        "localisation": None,
        "sanity": None,
        "sanity_passed": None,
        "measured_on_sha256": None,
        "same_weights": None,
    }
    from forensics.explainers import method_title
    from forensics.wording.explanations import measured_sentence

    if not entry:
        note["text"] = measured_sentence(method_title(method), note, weights_sha256)
        return note
    from forensics.explainers.lrp import DEPTH_THIRDS, FORMER_NAMES

    # measurements made before a method was renamed are filed under its former name
    names = (method, *FORMER_NAMES) if method == DEPTH_THIRDS else (method,)
    loc = next((v for n in names if (v := ((entry.get("localisation") or {}).get("methods") or {}).get(n))), None)
    san = next((v for n in names if (v := ((entry.get("sanity") or {}).get("methods") or {}).get(n))), None)
    measured_sha = entry.get("weights_sha256")
    note.update(
        {
            "measured": bool(loc or san),
            "measured_on_sha256": measured_sha,
            "same_weights": bool(weights_sha256) and weights_sha256 == measured_sha,
            "measured_at": doc.get("measured_at"),
        }
    )
    if loc and loc.get("faces"):
        keys = ("faces", "pointing", "pointing_ci", "chance", "p_value", "share", "area_share")
        note["localisation"] = {k: loc.get(k) for k in keys}
        held_out = (loc.get("splits") or {}).get("val")
        if held_out and held_out.get("faces") and held_out["faces"] < loc["faces"]:
            # the train edits can be in the detector's training data (they are for the shipped weights), where maps
            # localise better (Grad-CAM 83% against 76% on val): the sentence leads with the held-out figure
            note["localisation"]["held_out"] = {k: held_out.get(k) for k in keys}
    if san:
        note["sanity"] = {
            k: san.get(k)
            for k in ("passed", "worst_median_spearman", "top_layer_median_spearman", "full_median_spearman")
        }
        note["sanity_passed"] = bool(san.get("passed"))
    note["text"] = measured_sentence(method_title(method), note, weights_sha256)
    return note
