"""Cold start of the command line: wall time of ``python -m forensics analyze PHOTO --json --no-log`` in a fresh
process (median of N runs), and where the import time goes (``python -X importtime``, the largest top-level
packages by cumulative time).

Run: python bench/bench_cold_start.py [PHOTO] [--runs 5] [--threads 1]
Defaults to the shipped one-face example. Caches of the operating system are warm after the first run; the first run
is reported apart.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0, done.stderr


def import_breakdown(stderr: str, top: int = 12) -> list[tuple[str, float]]:
    """Cumulative import time (s) of the top-level packages in ``-X importtime`` output."""
    per: dict[str, float] = {}
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(2)) <= 1:  # a top-level import (indent 1 space)
            name = m.group(3).split(".")[0]
            per[name] = per.get(name, 0.0) + int(m.group(1)) / 1e6
    return sorted(per.items(), key=lambda kv: -kv[1])[:top]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("photo", nargs="?", default=str(ROOT / "ui" / "examples" / "astronaut.jpg"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(args.threads),
        "FORENSICS_THREADS": str(args.threads),
        "OMP_WAIT_POLICY": "PASSIVE",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [sys.executable, "-m", "forensics", "analyze", args.photo, "--json", "--no-log"]
    first, _ = _run(cmd, env)
    times = [_run(cmd, env)[0] for _ in range(args.runs)]
    median = statistics.median(times)
    print(f"cold `analyze --json` of {Path(args.photo).name}: first {first:.2f} s, then median {median:.2f} s")
    print("  runs: " + ", ".join(f"{t:.2f}" for t in times))
    _, stderr = _run([sys.executable, "-X", "importtime", *cmd[1:]], env)
    print("import time by top-level package (cumulative, s):")
    for name, s in import_breakdown(stderr):
        print(f"  {name:<24} {s:6.2f}")


if __name__ == "__main__":
    main()
