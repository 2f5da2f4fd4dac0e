"""Compare lever runs of one leave-out fold (scripts/lever_folds.sh): per run, the AUC of every left-out group
(plain and with mirrored-crop averaging), false accusations of the left-out camera sources at the run's own
calibrated threshold, the share of left-out fakes called "no sign" and the training throughput; per lever, the mean
over seeds with the seed spread and the gain over a reference lever, marked "kept" only where the gain exceeds both
levers' seed spreads. ``--ensemble A+B`` adds rows that average two levers' calibrated log-odds per face (the same
seed of each).

    .venv/bin/python scripts/lever_table.py runs/g-* --reference genbal --ensemble genbal+effnet
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CONDITIONS = ("as-is", "320px-q90")


def _logodds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def run_scores(run: Path, condition: str, tta: bool) -> dict[str, dict[str, np.ndarray]]:
    """{group: {"p": calibrated p_fake, "fake": bool}} for "val" and every held group of one run and condition."""
    from forensics.calibration import Calibration

    cal = Calibration.from_dict(json.loads((run / "calibration.json").read_text()))
    z = np.load(run / f"leave_out_scores-{condition}.npz")
    out = {}
    for key in sorted({k.rsplit("/", 1)[0] for k in z.files}):
        logits = z[f"{key}/logits"]
        if tta:
            logits = (logits + z[f"{key}/logits_flip"]) / 2
        p = cal.proba(logits)[:, 1:].sum(axis=1)
        fake = z["val/labels"] != 0 if key == "val" else z[f"{key}/is_fake"].astype(bool)
        out[key.removeprefix("held:")] = {"p": p, "fake": fake}
    out["_band"] = {"band": np.array(cal.band)}
    return out


def group_metrics(scores: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    from forensics.evaluation import auc

    val = scores["val"]
    lo, hi = scores["_band"]["band"]
    res = {}
    for g, d in scores.items():
        if g in ("val", "_band"):
            continue
        p, fake = d["p"], d["fake"]
        m: dict[str, float] = {}
        if fake.any():
            if (~fake).any():  # paired group: against its own originals
                m["auc"] = auc(fake, p)
            else:  # against the camera originals of the run's validation set (sources seen in training)
                m["auc"] = auc(np.r_[fake, val["fake"][~val["fake"]]], np.r_[p, val["p"][~val["fake"]]])
            m["cleared"] = float((p[fake] < lo).mean())
            m["detected"] = float((p[fake] >= hi).mean())
        if (~fake).any():
            m["false_accusation"] = float((p[~fake] >= hi).mean())
        res[g] = m
    v = val
    res["val"] = {"auc": auc(v["fake"], v["p"])}
    return res


def lever_of(run: Path) -> tuple[str, int]:
    m = re.match(r"^g-(.+)-s(\d+)$", run.name)
    if not m:
        raise SystemExit(f"{run}: run names are g-<lever>-s<seed>")
    return m.group(1), int(m.group(2))


def throughput(run: Path) -> tuple[float, bool]:
    from forensics.training.run_log import read_log

    ep = [r for r in read_log(run) if r.get("event") == "epoch"]
    speeds = [r["images_per_second"] for r in ep if r.get("images_per_second")]
    return (float(np.median(speeds)) if speeds else float("nan")), any(r.get("contended") for r in ep)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--reference", default="genbal")
    ap.add_argument("--ensemble", action="append", default=[], metavar="A+B")
    ap.add_argument("--json", type=Path, help="also write every figure as JSON")
    args = ap.parse_args()

    runs = [r for r in args.runs if (r / "leave_out.json").is_file()]
    table: dict[tuple[str, int, str, bool], dict[str, dict[str, float]]] = {}
    raw: dict[tuple[str, int, str, bool], dict] = {}
    speed = {}
    for run in runs:
        lever, seed = lever_of(run)
        speed[(lever, seed)] = throughput(run)
        for cond in CONDITIONS:
            for tta in (False, True):
                sc = run_scores(run, cond, tta)
                raw[(lever, seed, cond, tta)] = sc
                table[(lever, seed, cond, tta)] = group_metrics(sc)
    for spec in args.ensemble:
        a, b = spec.split("+")
        for (lever, seed, cond, tta), sa in list(raw.items()):
            if lever != a or (b, seed, cond, tta) not in raw:
                continue
            sb = raw[(b, seed, cond, tta)]
            mixed = {}
            for g in sa:
                if g == "_band":
                    mixed[g] = sa[g]
                    continue
                lo = (_logodds(sa[g]["p"]) + _logodds(sb[g]["p"])) / 2
                mixed[g] = {"p": 1 / (1 + np.exp(-lo)), "fake": sa[g]["fake"]}
            table[(spec, seed, cond, tta)] = group_metrics(mixed)
            speed[(spec, seed)] = (float("nan"), speed[(a, seed)][1] or speed.get((b, seed), (0, False))[1])

    groups = sorted({g for m in table.values() for g in m if g != "val"})
    fake_groups = [g for g in groups if any("cleared" in m.get(g, {}) for m in table.values())]
    real_groups = [g for g in groups if g not in fake_groups]
    print(
        "| lever | seed | condition | flip avg | val AUC | "
        + " | ".join(f"AUC {g}" for g in fake_groups)
        + " | mean AUC left-out fakes | "
        + " | ".join(f"cleared {g}" for g in fake_groups)
        + " | "
        + " | ".join(f"false acc. {g}" for g in real_groups)
        + " | faces/s |"
    )
    print("|" + "---|" * (6 + 2 * len(fake_groups) + len(real_groups) + 1))
    summary: dict[tuple[str, str, bool], list[float]] = defaultdict(list)
    for (lever, seed, cond, tta), m in sorted(table.items()):
        aucs = [m[g]["auc"] for g in fake_groups if g in m and "auc" in m[g]]
        mean = float(np.mean(aucs)) if aucs else float("nan")
        summary[(lever, cond, tta)].append(mean)
        sp, cont = speed.get((lever, seed), (float("nan"), False))
        cells = [f"{m[g]['auc']:.3f}" if g in m and "auc" in m[g] else "-" for g in fake_groups]
        cl = [f"{m[g]['cleared']:.0%}" if g in m and "cleared" in m[g] else "-" for g in fake_groups]
        fa = [f"{m[g]['false_accusation']:.0%}" if g in m and "false_accusation" in m[g] else "-" for g in real_groups]
        print(
            f"| {lever} | {seed} | {cond} | {'yes' if tta else 'no'} | {m['val']['auc']:.3f} | "
            + " | ".join(cells)
            + f" | {mean:.3f} | "
            + " | ".join(cl)
            + " | "
            + " | ".join(fa)
            + f" | {sp:.0f}{' (contended)' if cont else ''} |"
        )
    print()
    print("| lever | condition | flip avg | mean AUC over seeds | seed spread (max-min) | gain over reference | kept |")
    print("|---|---|---|---|---|---|---|")
    for (lever, cond, tta), vals in sorted(summary.items()):
        ref = summary.get((args.reference, cond, tta))
        mean, spread = float(np.mean(vals)), float(np.ptp(vals)) if len(vals) > 1 else float("nan")
        gain = mean - float(np.mean(ref)) if ref else float("nan")
        ref_spread = float(np.ptp(ref)) if ref and len(ref) > 1 else float("nan")
        kept = "yes" if (len(vals) > 1 and ref and len(ref) > 1 and gain > max(spread, ref_spread)) else "no"
        if lever == args.reference:
            kept = "reference"
        print(
            f"| {lever} | {cond} | {'yes' if tta else 'no'} | {mean:.3f} ({len(vals)} seeds) | {spread:.3f} | "
            f"{gain:+.3f} | {kept} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"|".join(map(str, k)): v for k, v in table.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
