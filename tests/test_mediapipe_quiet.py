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
from forensics.faces.mediapipe_runtime import process
img = np.asarray(Image.open("ui/examples/astronaut.jpg").convert("RGB"))
print("faces", len(raw_detections(img)))
mesh = process("face_mesh", img[0:300, 100:400].copy())
process("face_mesh", img[0:300, 100:380].copy())  # a face in a non-square image: a one-off warning
process("selfie", img)
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
    assert "checks (478, 2)" in done.stdout
    for noise in ("GetPrototype", "XNNPACK", "inference_feedback_manager", "absl::InitializeLog", "NORM_RECT"):
        assert noise not in done.stderr, done.stderr


def test_a_face_is_meshed_once_for_its_checks_and_its_regions(monkeypatch):
    """The whole-face checks and the landmark segmenter read one Face Mesh run of the crop (issue 32.4)."""
    from forensics.evidence import load_evidence
    from forensics.faces import mediapipe_runtime as rt
    from forensics.pipeline import AnalyzeOptions, analyze, explain_face

    runs: list[str] = []
    real = rt.process
    monkeypatch.setattr(rt, "process", lambda name, image: runs.append(name) or real(name, image))
    rt._MESHED.clear()
    an = analyze(
        load_evidence(ROOT / "ui" / "examples" / "astronaut.jpg"),
        detectors=["simplenet"],
        options=AnalyzeOptions(allow_untrained=True, stability=False),
    )
    fx = explain_face(None, an.crops[0], [], segmenter="landmarks")  # masks only
    assert an.faces[0].checks.landmarks_confirmed and fx.masks is not None and "nose" in fx.masks.masks
    assert runs.count("face_mesh") == len(an.faces) == 1
