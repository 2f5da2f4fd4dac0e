"""``python -m forensics models [--json]``: registered detectors, whether each is ready, and why not."""

from __future__ import annotations

import json
import sys

NAME = "models"
HELP = "list registered detectors: architecture, ready or why not, weights file + sha256, input size"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.add_argument("--weights-dir", action="append", default=None, help="extra folder searched for weight files")
    p.add_argument("--manifest", default=None, help="weights manifest to read (default: weights/manifest.json)")


def run(args) -> int:
    from forensics.detectors import list_detectors

    statuses = list_detectors(args.weights_dir, args.manifest)
    if args.json:
        json.dump([s.to_dict() for s in statuses], sys.stdout, indent=2)
        print()
        return 0
    width = max(len(s.name) for s in statuses)
    print(f"{'NAME':<{width}}  {'READY':<5}  {'INPUT':>5}  ARCHITECTURE")
    for s in statuses:
        print(f"{s.name:<{width}}  {'yes' if s.ready else 'no':<5}  {s.input_size:>5}  {s.architecture}")
        if s.weights_file:
            print(f"{'':<{width}}  weights {s.weights_file}  sha256 {s.weights_sha256}")
        print(f"{'':<{width}}  {s.reason}")
    return 0
