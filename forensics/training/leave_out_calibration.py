"""What the leave-out folds say about a detector's calibration: where the low edge of the band may lie, how often
fakes of kinds it was not trained on are missed, and how far its likelihood ratios may go (issue 33.2 and 33.8).

A detector that has not seen a generator cannot say a face is a camera original; validation faces (generators it
was trained on) cannot show that. A fold run (``forensics.training.leave_out``) trained the same recipe without some
generators and swap tools and scored every one of their files: those scores are the measurement.

1. **The low edge.** In each fold and each condition (as the files are, re-sampled), the highest score below which
   at most ``target`` of the fakes of every left-out kind fall. The edge is carried to the shipped detector as a
   share of camera originals: the fold's edge leaves ``q`` of its validation camera originals below it, and the
   shipped detector's edge is put where the same share of its own validation camera originals lies (its scores
   are on another scale; the share of originals below the edge is what the two have in common). The edge never
   rises above the one validation alone chose.
2. **Misses on unseen kinds.** Cross-fitted over kinds: each left-out kind is judged at the edge chosen from the
   other left-out kinds, so no kind is judged by an edge fitted on itself.
3. **Likelihood-ratio bounds.** ELUB (``forensics.calibration.lr_validation``) on the shipped detector's validation
   faces and on each fold's unseen faces (its left-out fakes and left-out camera originals, with its validation
   camera originals); every reported LR is capped at the narrowest of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forensics.calibration.decision_band import _fnr_threshold
from forensics.calibration.lr_validation import LRValidation, narrowest_bounds, validate_lrs
from forensics.errors import ForensicsError

SCORES = "leave_out_scores-{condition}.npz"


@dataclass(frozen=True)
class FoldScores:
    """Calibrated scores of one fold run under one condition: its validation faces and each left-out group."""

    run: str
    condition: str
    val_p: np.ndarray
    val_fake: np.ndarray
    groups: dict[str, tuple[np.ndarray, np.ndarray]]  # spec -> (p_fake, is_fake)
    log10_lr: dict[str, np.ndarray]  # "val" and each spec -> the fold's own log10 LR per face


def load_fold(run: str | Path, condition: str) -> FoldScores:
    """The scores ``leave-out`` saved for ``condition`` in a fold run, through the fold's own calibration."""
    from forensics.calibration import Calibration

    run = Path(run)
    path = run / SCORES.format(condition=condition)
    cal_path = run / "calibration.json"
    if not path.is_file() or not cal_path.is_file():
        raise ForensicsError(f"{path} or {cal_path} missing: run `forensics leave-out` for {run.name} first")
    cal = Calibration.from_dict(json.loads(cal_path.read_text(encoding="utf-8")))
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}

    def score(key: str) -> tuple[np.ndarray, np.ndarray]:
        p = cal.proba(data[f"{key}/logits"])[:, 1:].sum(axis=1)
        return p, np.array([cal.lr_model(float(x)) for x in p])

    val_p, val_lr = score("val")
    groups, lrs = {}, {"val": val_lr}
    for key in sorted({k.rsplit("/", 1)[0] for k in data if k.startswith("held:")}):
        spec = key.removeprefix("held:")
        p, lr = score(key)
        groups[spec] = (p, data[f"{key}/is_fake"].astype(bool))
        lrs[spec] = lr
    return FoldScores(run.name, condition, val_p, data["val/labels"] != 0, groups, lrs)


def _edge(fakes_by_kind: Mapping[str, np.ndarray], target: float) -> float:
    """The highest score below which at most ``target`` of each kind's fakes fall (1.0 when no kind is given)."""
    return min((_fnr_threshold(p, target) for p in fakes_by_kind.values() if len(p)), default=1.0)


def _fakes(fold: FoldScores) -> dict[str, np.ndarray]:
    return {spec: p[fake] for spec, (p, fake) in fold.groups.items() if fake.any()}


def low_edge_findings(folds: Sequence[FoldScores], target: float) -> dict[str, Any]:
    """The low edge as a share of validation camera originals (``real_share_below``), each fold's edge, and the
    misses of every left-out kind at the edge fitted on the other kinds (cross-fitted), per condition."""
    if not folds:
        raise ForensicsError("no fold scores: run the leave-out folds first")
    by_run: dict[str, list[FoldScores]] = {}
    for f in folds:
        by_run.setdefault(f.run, []).append(f)
    shares: list[float] = []
    edges: dict[str, dict[str, Any]] = {}
    misses: dict[str, dict[str, dict[str, int]]] = {}
    for run, conds in sorted(by_run.items()):
        edge = min(_edge(_fakes(f), target) for f in conds)
        asis = next((f for f in conds if f.condition == "as-is"), conds[0])
        reals = asis.val_p[~asis.val_fake]
        share = float((reals < edge).mean())
        shares.append(share)
        edges[run] = {"edge": edge, "real_share_below": share, "n_real": int(len(reals))}
        for f in conds:
            fakes = _fakes(f)
            for spec, p in fakes.items():
                others = {s: q for s, q in fakes.items() if s != spec}
                e = _edge(others, target) if others else edge
                row = misses.setdefault(f.condition, {}).setdefault(spec, {"k": 0, "n": 0})
                row["k"] += int((p < e).sum())
                row["n"] += int(len(p))
    worst = max(
        ((c, spec, r["k"], r["n"]) for c, rows in misses.items() for spec, r in rows.items() if r["n"]),
        key=lambda t: (t[2] / t[3], t[3]),
    )
    return {
        "target": target,
        "real_share_below": min(shares),
        "folds": edges,
        "misses_cross_fitted": misses,
        "worst_kind": {
            "condition": worst[0],
            "held_out": worst[1],
            "what": held_words(worst[1]),
            "k": worst[2],
            "n": worst[3],
        },
    }


# how a left-out group is named in a sentence for a court
_WORDS = {
    "generator:flux": "FLUX faces",
    "generator:sd15": "Stable Diffusion 1.5 faces",
    "generator:sd21": "Stable Diffusion 2.1 faces",
    "generator:sdxl": "SDXL faces",
    "generator:stylegan2": "StyleGAN2 faces",
    "source:dfl_video": "DeepFaceLive live swaps",
}


def held_words(spec: str) -> str:
    """A left-out group in words ("DeepFaceLive live swaps"); the spec itself when no words are known."""
    if spec in _WORDS:
        return _WORDS[spec]
    if spec.startswith("name:"):
        return "live swaps of swapped-in models not trained on"
    return spec.split(":", 1)[-1].replace("_", " ")


def fold_lr_validations(folds: Sequence[FoldScores]) -> list[LRValidation]:
    """LR validation of each fold on faces it never saw: its left-out fakes and camera originals, with its own
    validation camera originals."""
    out = []
    for f in folds:
        lrs = [f.log10_lr["val"][~f.val_fake]] + [f.log10_lr[s] for s in f.groups]
        labels = [np.zeros(int((~f.val_fake).sum()), bool)] + [fake for _, fake in f.groups.values()]
        n_held = sum(len(p) for p, _ in f.groups.values())
        out.append(
            validate_lrs(
                np.concatenate(lrs),
                np.concatenate(labels),
                data=f"fold {f.run}, {f.condition}: {n_held} faces of left-out kinds and sources with the fold's "
                f"{int((~f.val_fake).sum())} validation camera originals",
            )
        )
    return out


def apply_leave_out(
    cal: dict[str, Any],
    val_p: np.ndarray,
    val_fake: np.ndarray,
    folds: Sequence[FoldScores],
    *,
    target: float,
) -> dict[str, Any]:
    """A calibration dict (``Calibration.to_dict()``) with the leave-out findings applied: the low edge lowered to
    the share of validation camera originals the folds support, the unseen-kind miss rate, the LR bounds and the
    LR validations (validation and every fold) recorded."""
    from forensics.calibration import Calibration
    from forensics.calibration.decision_band import band_error_rates

    findings = low_edge_findings(folds, target)
    val_p = np.asarray(val_p, dtype=np.float64)
    val_fake = np.asarray(val_fake, dtype=bool)
    reals = np.sort(val_p[~val_fake])
    share = findings["real_share_below"]
    k = int(np.floor(share * len(reals)))  # the k lowest-scoring camera originals lie below the carried edge
    if k <= 0:
        carried = float(reals[0]) / 2
    elif k >= len(reals):
        carried = 1.0
    else:
        carried = float(reals[k - 1] + (reals[k] - reals[k - 1]) / 2)
    lo_val, hi = (float(x) for x in cal["band"])
    lo = min(lo_val, carried)
    out = dict(cal)
    out["band"] = [lo, hi]
    out["threshold"] = hi
    out["error_rates"] = {**cal.get("error_rates", {}), **band_error_rates(val_p, val_fake, (lo, hi))}
    out["low_edge"] = {
        "rule": f"at most {target:.0%} of the fakes of any kind left out of training fall below the edge in the "
        "leave-out folds (as the files are and re-sampled); carried over as the share of validation camera "
        "originals below it; never above the edge validation chose",
        "validation_edge": lo_val,
        "carried_edge": carried,
        "chosen": lo,
        **findings,
    }
    worst = findings["worst_kind"]
    out["leave_out_miss_rate"] = {
        "k": worst["k"],
        "n": worst["n"],
        "kind": worst["what"],
        "folds": sorted(findings["folds"]),
        "condition": worst["condition"],
        "kinds": findings["misses_cross_fitted"],
        "method": "each left-out kind judged at the edge fitted on the other left-out kinds; the worst kind is quoted",
    }
    fitted = Calibration.from_dict({**out, "lr_bounds": None, "leave_out_miss_rate": None})
    val_lr = np.array([fitted.lr_model(float(x)) for x in val_p])
    checks = [
        validate_lrs(
            val_lr,
            val_fake,
            data=f"validation faces ({int((~val_fake).sum())} camera originals, "
            f"{int(val_fake.sum())} manipulated or generated), sources seen in training",
        )
    ]
    checks += fold_lr_validations(folds)
    lo_b, hi_b = narrowest_bounds(checks)
    out["lr_bounds"] = [10.0**lo_b, 10.0**hi_b]
    out["lr_validation"] = [c.to_dict() for c in checks]
    return out
