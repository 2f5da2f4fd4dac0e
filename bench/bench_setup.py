"""Set-up time of the README command on a fresh clone: cold (new venv) and warm (second run).

Run: python bench/bench_setup.py   (clones the current HEAD into a temp folder; takes a few minutes)
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        cold = timed(["bash", "scripts/setup.sh"], clone)
        warm = timed(["bash", "scripts/setup.sh"], clone)
        size = subprocess.run(["du", "-sm", str(clone / ".venv")], capture_output=True, text=True).stdout.split()[0]
    print(f"setup cold (fresh clone, new venv): {cold:.1f} s")
    print(f"setup warm (second run, venv reused): {warm:.2f} s")
    print(f"venv size: {size} MB")


if __name__ == "__main__":
    main()
