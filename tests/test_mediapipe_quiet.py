"""mediapipe through the library's loader prints nothing on stderr (no protobuf GetPrototype error, no TF-Lite or
absl first-run lines) and still finds landmarks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mediapipe")
ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import numpy as np
from PIL import Image
from forensics.faces.mediapipe_finder import raw_detections
from forensics.faces.whole_face import mesh_landmarks
from forensics.segmentation.landmarks import _graph, _LOCK
img = np.asarray(Image.open("ui/examples/astronaut.jpg").convert("RGB"))
print("faces", len(raw_detections(img)))
with _LOCK:
    mesh = _graph("mesh").process(img[0:300, 100:400].copy())
    _graph("mesh").process(img[0:300, 100:380].copy())  # a face in a non-square image: a one-off warning
    _graph("selfie").process(img)
print("mesh", len(mesh.multi_face_landmarks or []))
print("checks", mesh_landmarks(img[10:300, 100:330].copy()).shape)
"""


def test_mediapipe_runs_quietly_and_still_works():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "FORENSICS_THREADS": "1", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "faces 1" in done.stdout and "mesh 1" in done.stdout  # the silenced graphs still work
    assert "checks (468, 2)" in done.stdout
    for noise in ("GetPrototype", "XNNPACK", "inference_feedback_manager", "absl::InitializeLog", "NORM_RECT"):
        assert noise not in done.stderr, done.stderr
