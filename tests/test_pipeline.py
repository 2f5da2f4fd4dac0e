"""analyze(): per-face scores with model hashes, JSON round trip, refusal of untrained detectors, CLI output."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics.errors import ForensicsError
from forensics.evidence import load_evidence
from forensics.pipeline import AnalyzeOptions, analyze

ROOT = Path(__file__).resolve().parent.parent


def test_untrained_detector_is_refused_without_flag():
    img = np.full((64, 64, 3), 128, np.uint8)
    with pytest.raises(ForensicsError, match="no trained weights"):
        analyze(_png(img), detectors=["simplenet"])


def test_untrained_whole_image_run_is_flagged_not_a_verdict():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (80, 80, 3), dtype=np.uint8)
    a = analyze(_png(img), detectors=["simplenet"], options=AnalyzeOptions(face_method="whole", allow_untrained=True))
    d = json.loads(json.dumps(a.to_dict()))
    assert d["schema"] == "forensics.analysis/1"
    assert len(d["faces"]) == 1 and len(a.crops) == 1
    s = d["faces"][0]["scores"]["simplenet"]
    assert s["ready"] is False and s["assessment"] is None
    assert abs(sum(s["probabilities"].values()) - 1) < 1e-9 and 0 <= s["p_fake"] <= 1
    assert d["models"]["simplenet"]["ready"] is False
    assert set(d["timings_ms"]) >= {"decode", "faces", "detector:simplenet"}
    assert d["evidence"]["sha256"] == hashlib.sha256(_png(img)).hexdigest()


def test_no_face_is_a_result_not_an_exception():
    img = np.full((300, 300, 3), 200, np.uint8)
    a = analyze(_png(img), detectors=["simplenet"], options=AnalyzeOptions(allow_untrained=True))
    assert a.faces == () and a.no_face_reason


def test_meso4_peer_on_a_real_face(real_face_path, peer_weights):
    ev = load_evidence(real_face_path)
    a = analyze(ev, detectors=["meso4-df"])
    d = a.to_dict()
    assert len(d["faces"]) == 1
    assert (
        d["models"]["meso4-df"]["weights_sha256"]
        == hashlib.sha256((peer_weights / "Meso4_DF.h5").read_bytes()).hexdigest()
    )
    s = d["faces"][0]["scores"]["meso4-df"]
    assert set(s["probabilities"]) == {"real", "fake"} and s["ready"] is True


def test_cli_analyze_json_with_peer_weights_dir(real_face_path, peer_weights):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "forensics",
            "--threads",
            "1",
            "analyze",
            str(real_face_path),
            "--detector",
            "meso4-df",
            "--weights-dir",
            str(peer_weights),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["faces"] and "p_fake" in d["faces"][0]["scores"]["meso4-df"]


def _png(img: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def test_cli_analyze_appends_to_the_audit_log(tmp_path):
    from forensics.cases.audit import CaseLog
    from forensics.cli import main

    img = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(img)
    db = tmp_path / "cases.sqlite"
    args = [
        "analyze",
        str(img),
        "--detector",
        "simplenet",
        "--face-method",
        "whole",
        "--allow-untrained",
        "--case-db",
        str(db),
        "--case",
        "C-7",
    ]
    assert main(args) == 0
    assert main(args + ["--no-log"]) == 0
    with CaseLog(db) as log:
        entries = log.entries()
        assert log.verify().ok
    assert len(entries) == 1 and entries[0].kind == "analysis"
    assert entries[0].payload["case_id"] == "C-7"
    assert entries[0].payload["evidence"]["sha256"] == hashlib.sha256(img.read_bytes()).hexdigest()


def test_cli_analyze_prints_the_size_caveat_for_a_large_face(tmp_path, capsys):
    """The shipped portrait at 7x (a face crop of about 800 px): the text output carries the caveat of
    forensics.calibration.domain under the verdict."""
    from forensics.calibration.domain import face_size_caveat
    from forensics.cli import main

    big = tmp_path / "astronaut_x7.png"
    with Image.open(ROOT / "ui" / "examples" / "astronaut.jpg") as im:
        im.convert("RGB").resize((im.width * 7, im.height * 7), Image.Resampling.LANCZOS).save(big)
    assert main(["analyze", str(big), "--detector", "ffd-mobilenetv2", "--no-log"]) == 0
    out = capsys.readouterr().out
    an = analyze(load_evidence(big), detectors=["ffd-mobilenetv2"])
    caveat = face_size_caveat(an, an.faces[0], "ffd-mobilenetv2")
    assert caveat and f"caveat: {caveat}" in out


def test_cli_analyze_warns_that_camera_original_is_weak_on_a_small_compressed_file(small_compressed_portrait, capsys):
    """As small and compressed as the harshest re-sampling on the card, under which the default misses more fakes
    than its target: the text output says so under the "camera original" verdict."""
    from forensics.calibration.domain import face_caveats
    from forensics.cli import main

    small = small_compressed_portrait
    assert main(["analyze", str(small), "--detector", "ffd-mobilenetv2", "--no-log"]) == 0
    out = capsys.readouterr().out
    an = analyze(load_evidence(small), detectors=["ffd-mobilenetv2"])
    d = an.to_dict()
    assert d["faces"][0]["scores"]["ffd-mobilenetv2"]["assessment"]["verdict"] == "camera original"
    caveats = face_caveats(an, an.faces[0], "ffd-mobilenetv2")
    assert len(caveats) == 1 and "weak evidence" in caveats[0] and f"caveat: {caveats[0]}" in out


def test_analysis_read_back_from_its_json_is_the_same_analysis(small_compressed_portrait):
    """``Analysis.from_dict`` (a saved bundle read back, for the report) gives back every field ``to_dict`` wrote:
    verdicts as enums, assessment, stability, novelty, whole-face checks and coverage typed again."""
    from forensics.pipeline.results import Analysis
    from forensics.verdicts import Verdict

    an = analyze(load_evidence(small_compressed_portrait), detectors=["ffd-mobilenetv2"])
    d = json.loads(json.dumps(an.to_dict()))
    back = Analysis.from_dict(d)
    assert back.to_dict() == d
    score = back.faces[0].scores["ffd-mobilenetv2"]
    assert score.assessment is not None and score.assessment.verdict is Verdict.REAL
    assert score.stability is not None and back.faces[0].checks is not None and back.coverage is not None
