"""AUC of finished training runs on their validation faces, overall and per kind against all camera originals, read
from each run's saved ``val_logits.npz`` (uncalibrated: AUC does not depend on the calibration). Compares seeds,
soup members and soups without a forward pass.

    .venv/bin/python scripts/run_kinds.py runs/ffd-mobilenetv2/member-0 runs/ffd-mobilenetv2/member-1 \
        runs/ffd-mobilenetv2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from forensics.calibration.temperature import softmax
    from forensics.evaluation import auc

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="run folders holding val_logits.npz")
    args = ap.parse_args()
    rows = []
    for run in args.runs:
        with np.load(Path(run) / "val_logits.npz") as z:
            logits, labels, kinds = z["logits"], z["labels"], z["kinds"].astype(str)
        p_fake = softmax(logits)[:, 1:].sum(axis=1)
        real = labels == 0
        row = {"run": run, "faces": len(labels), "AUC": auc(~real, p_fake)}
        for k in sorted(set(kinds[~real].tolist())):
            sel = real | (kinds == k)
            row[k] = auc(kinds[sel] == k, p_fake[sel])
        rows.append(row)
    cols = sorted({c for r in rows for c in r} - {"run", "faces", "AUC"})
    print("| run | faces | AUC | " + " | ".join(cols) + " |")
    print("|---|---|---|" + "---|" * len(cols))
    for r in rows:
        cells = [f"{r[c]:.3f}" if c in r else "n/a" for c in cols]
        print(f"| {r['run']} | {r['faces']} | {r['AUC']:.3f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
