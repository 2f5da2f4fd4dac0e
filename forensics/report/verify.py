"""Re-run a report from the evidence file and compare every number and hash with its bundle.

Rules: ``forensics.report.rules.RULES`` (versioned in the library, never read from the bundle): hashes, strings,
integers, booleans and list lengths must be equal; floats must agree within 1e-6 relative (or 1e-9 absolute near
zero), because CPU kernels may round differently between machines and builds. Not compared: the bundle's own hash
and seal (checked separately), wall-clock timings, the host description and package versions (differences are listed
as notes), the evidence file's name (a renamed copy is the same evidence when its hashes match), the weights folders
used and the case log's head. Hashes of derived pictures (crops, heatmap overlays, check images) are compared
exactly, so a re-run on another software build can report them even when every number agrees.

Example:
    >>> result = verify_bundle(load_bundle("report.json"), "photo.jpg")       # doctest: +SKIP
    >>> result.ok, result.mismatches[:3]                                     # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forensics.errors import BadImageError, ForensicsError
from forensics.report.bundle import Case, bundle_hash, validate_bundle
from forensics.report.compare import short_repr as _short
from forensics.report.rules import HASH_KEY, RULES


@dataclass
class VerifyResult:
    """``ok`` when nothing differs; ``mismatches`` lists each difference as "path: recorded X, re-run Y"."""

    ok: bool
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    compared: int = 0


def _excluded(path: tuple[str, ...]) -> bool:
    for pat in RULES.excluded:
        if len(path) >= len(pat) and all(p == "*" or p == q for p, q in zip(pat, path, strict=False)):
            return True
    return False


def compare(recorded: Any, rerun: Any, *, path: tuple[str, ...] = ()) -> tuple[list[str], int]:
    """Differences between two JSON values (with the library's rules) and the count of leaves compared."""
    if _excluded(path):
        return [], 0
    where = "/".join(path) or "(root)"
    num = (int, float)
    if isinstance(recorded, bool) or isinstance(rerun, bool):
        return (
            []
            if recorded is rerun or recorded == rerun and type(recorded) is type(rerun)
            else [f"{where}: recorded {_short(recorded)}, re-run {_short(rerun)}"]
        ), 1
    if isinstance(recorded, num) and isinstance(rerun, num):
        if isinstance(recorded, int) and isinstance(rerun, int):
            ok = recorded == rerun
        else:
            ok = math.isclose(float(recorded), float(rerun), rel_tol=RULES.float_rel_tol, abs_tol=RULES.float_abs_tol)
        return ([] if ok else [f"{where}: recorded {recorded!r}, re-run {rerun!r}"]), 1
    if isinstance(recorded, Mapping) and isinstance(rerun, Mapping):
        out: list[str] = []
        n = 0
        for k in sorted(set(recorded) | set(rerun), key=str):
            p = (*path, str(k))
            if _excluded(p):
                continue
            if k not in rerun:
                out.append(f"{'/'.join(p)}: in the bundle but not produced by the re-run")
                continue
            if k not in recorded:
                out.append(f"{'/'.join(p)}: produced by the re-run but missing from the bundle")
                continue
            o, c = compare(recorded[k], rerun[k], path=p)
            out += o
            n += c
        return out, n
    if isinstance(recorded, list) and isinstance(rerun, list):
        if len(recorded) != len(rerun):
            return [f"{where}: recorded {len(recorded)} items, re-run {len(rerun)}"], 1
        out, n = [], 0
        for i, (a, b) in enumerate(zip(recorded, rerun, strict=True)):
            o, c = compare(a, b, path=(*path, str(i)))
            out += o
            n += c
        return out, n
    return (
        []
        if recorded == rerun and type(recorded) is type(rerun)
        else [f"{where}: recorded {_short(recorded)}, re-run {_short(rerun)}"]
    ), 1


def verify_bundle(
    bundle: Mapping[str, Any],
    evidence: str | Path | bytes,
    *,
    detectors: Sequence[Any] | None = None,
    weights_dirs: Sequence[str | Path] | None = None,
) -> VerifyResult:
    """Check the bundle's hash, the evidence's hashes, then re-run the report and compare everything.

    ``detectors``: Detector objects to use instead of rebuilding them by name (tests); by default each recorded
    detector is rebuilt by name, with random seeded weights when the bundle says it had none.
    """
    from forensics.evidence import load_evidence
    from forensics.pipeline import AnalyzeOptions
    from forensics.report.build import prepare_report

    res = VerifyResult(ok=False)
    try:
        validate_bundle(bundle, check_hash=False)
    except ForensicsError as exc:
        res.mismatches.append(f"bundle: {exc}")
        return res
    if bundle[HASH_KEY] != bundle_hash(bundle):
        res.mismatches.append(
            f"{HASH_KEY}: recorded {bundle[HASH_KEY]}, content hashes to {bundle_hash(bundle)} "
            "(the bundle was edited after it was written)"
        )
    data = evidence if isinstance(evidence, bytes) else Path(evidence).read_bytes()
    ev_rec = bundle["evidence"]
    for key, actual in (
        ("size", len(data)),
        ("sha256", hashlib.sha256(data).hexdigest()),
        ("md5", hashlib.md5(data, usedforsecurity=False).hexdigest()),
    ):
        if ev_rec.get(key) != actual:
            res.mismatches.append(f"evidence/{key}: recorded {ev_rec.get(key)}, file {actual}")
    res.compared += 3
    try:
        ev = load_evidence(data, name=ev_rec.get("name"))
    except BadImageError as exc:
        res.mismatches.append(f"evidence: the file no longer decodes ({exc})")
        return res
    if not isinstance(evidence, bytes) and Path(evidence).name != ev_rec.get("name"):
        res.notes.append(
            f"evidence file is named {Path(evidence).name!r}, the bundle says {ev_rec.get('name')!r} "
            "(names are not compared; hashes are)"
        )

    an = bundle["analysis"]
    opts = AnalyzeOptions.from_dict(an["options"])
    ro = bundle.get("report_options") or {}
    wd = weights_dirs if weights_dirs is not None else (ro.get("weights_dirs") or None)
    if detectors is None:
        untrained = {n: not m.get("weights_sha256") for n, m in an["models"].items()}
        detectors = _recorded_detectors(
            list(opts.detectors),
            weights_dirs=wd,
            untrained=untrained,
            weights_files={n: m.get("weights_file") for n, m in an["models"].items()},
        )
    checks = ro.get("checks", bundle.get("checks") is not None)
    rerun = prepare_report(
        ev,
        Case(**bundle["case"]),
        detectors=detectors,
        options=opts,
        weights_dirs=wd,
        explainers=ro.get("explainers") or None,
        segmenter=ro.get("segmenter"),
        checks=checks if checks else False,
    )
    new = dict(rerun.bundle, generated_utc=bundle["generated_utc"])
    mism, n = compare(dict(bundle), new)
    res.mismatches += mism
    res.compared += n
    env_old, env_new = bundle.get("environment", {}), new.get("environment", {})
    for k in sorted(set(env_old) | set(env_new)):
        if env_old.get(k) != env_new.get(k):
            res.notes.append(f"environment {k}: recorded {env_old.get(k)}, now {env_new.get(k)}")
    res.ok = not res.mismatches
    return res


def _recorded_detectors(
    names: Sequence[str],
    *,
    weights_dirs: Sequence[str | Path] | None = None,
    untrained: Mapping[str, bool] | None = None,
    weights_files: Mapping[str, str | None] | None = None,
) -> list[Any]:
    """Detectors as a bundle recorded them (for a re-run), by name. Names marked in ``untrained`` get random
    (seeded) weights ("none"); names with a file in ``weights_files`` load that file when it is found in the weights
    search path; the rest use "auto"."""
    from forensics.detectors import create_detector
    from forensics.paths import weights_search_path

    out = []
    for n in names:
        weights: str | Path = "none" if (untrained or {}).get(n) else "auto"
        wf = (weights_files or {}).get(n)
        if weights == "auto" and wf:
            found = [d / wf for d in weights_search_path(list(weights_dirs or [])) if (d / wf).is_file()]
            if found:
                weights = found[0]
        out.append(create_detector(n, weights=weights, weights_dirs=list(weights_dirs) if weights_dirs else None))
    return out
