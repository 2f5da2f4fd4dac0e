"""Verdicts only on whole faces (issue 18), built from real faces: the shipped portrait ui/examples/astronaut.jpg
(a camera original) cut by each border, a crop holding no face, a heavily re-compressed face; plus the numbers
behind the checks, the stability variants and the coverage against independent references."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics.calibration import fit_calibration
from forensics.evidence import load_evidence
from forensics.faces import FaceOptions, detect_faces
from forensics.faces.crop import aligned_crop
from forensics.faces.whole_face import MAX_OUTSIDE_FRACTION, check_face, outside_fraction
from forensics.pipeline import NO_VERDICT, AnalyzeOptions, analyze

EXAMPLES = Path(__file__).resolve().parents[1] / "ui" / "examples"


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return load_evidence(EXAMPLES / "astronaut.jpg").image


@pytest.fixture(scope="module")
def face(portrait):
    fs = detect_faces(portrait, FaceOptions(method="mtcnn"))
    assert len(fs.faces) == 1
    return fs.faces[0]


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    """A ready (hashed weights) random simplenet with a calibration fitted on synthetic logits: it gives verdicts."""
    from safetensors.torch import save_file

    from forensics.detectors import create_detector

    wdir = tmp_path_factory.mktemp("weights")
    base = create_detector("simplenet", weights="none")
    save_file({k: v.contiguous() for k, v in base.model.state_dict().items()}, str(wdir / "simplenet-t.safetensors"))
    det = create_detector("simplenet", weights=wdir / "simplenet-t.safetensors")
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    logits = np.stack([np.zeros(400), rng.normal(0, 1.5, 400) + np.where(labels == 1, 1.5, -1.5)], axis=1)
    det.calibration = fit_calibration(logits, labels, fitted_on="synthetic logits (test only)")
    assert det.ready
    return det


def _save(img: np.ndarray, path: Path, quality: int = 95) -> Path:
    Image.fromarray(np.ascontiguousarray(img)).save(path, quality=quality)
    return path


def test_outside_fraction_against_hand_computed_areas():
    assert outside_fraction((-50, 0, 50, 100), 200, 200) == pytest.approx(0.5)
    assert outside_fraction((150, 150, 250, 210), 200, 200) == pytest.approx(1 - 50 * 50 / (100 * 60))
    assert outside_fraction((10, 10, 60, 60), 200, 200) == 0.0


@pytest.mark.parametrize("border", ["left", "right", "top", "bottom"])
def test_a_face_cut_by_each_border_fails_the_whole_face_check(portrait, face, border):
    """Cut 20% into the face box: the face finder still finds it, its box reaches past the edge, and the check
    records the share outside with a reason sentence."""
    x0, y0, x1, y1 = (int(round(v)) for v in face.box)
    cut = {
        "left": portrait[:, x0 + int(0.2 * (x1 - x0)) :],
        "right": portrait[:, : x1 - int(0.2 * (x1 - x0))],
        "top": portrait[y0 + int(0.2 * (y1 - y0)) :],
        "bottom": portrait[: y1 - int(0.2 * (y1 - y0))],
    }[border]
    fs = detect_faces(np.ascontiguousarray(cut), FaceOptions(method="mtcnn"))
    assert fs.faces, f"MTCNN lost the face cut at the {border}"
    f = max(fs.faces, key=lambda x: x.size)
    checks = check_face(f, fs.image_size, min_size=40)
    assert not checks.passed
    assert checks.outside_fraction == pytest.approx(outside_fraction(f.box, *fs.image_size))
    assert checks.outside_fraction > MAX_OUTSIDE_FRACTION and "outside the image" in checks.failed_kinds
    assert any(
        s.startswith(f"{checks.outside_fraction:.0%} of this face lies outside the image") for s in checks.failures
    )
    assert checks.padded_fraction == pytest.approx(f.padded_fraction) and checks.padded_fraction > 0


def test_cut_face_gets_no_verdict_in_json_and_text(portrait, face, detector, tmp_path, capsys, monkeypatch):
    """The analysis of a face cut at the left edge keeps the score as a number and withholds the verdict, with the
    reason, in the JSON and in the text output of ``analyze``."""
    from forensics.commands import analyze as cmd

    x0, _, x1, _ = face.box
    path = _save(portrait[:, int(x0 + 0.25 * (x1 - x0)) :], tmp_path / "cut_left.jpg")
    an = analyze(load_evidence(path), detectors=[detector], options=AnalyzeOptions(face_method="mtcnn"))
    s = an.faces[0].scores["simplenet"]
    assert s.assessment is None and s.withheld is not None and s.verdict == NO_VERDICT
    assert s.withheld.reasons == an.faces[0].checks.failures and 0.0 <= s.p_fake <= 1.0
    d = json.loads(json.dumps(an.to_dict()))
    fd = d["faces"][0]
    assert fd["checks"]["passed"] is False and fd["scores"]["simplenet"]["verdict"] == NO_VERDICT
    assert fd["scores"]["simplenet"]["assessment"] is None
    assert "outside the image" in fd["checks"]["failed_kinds"]
    assert d["coverage"]["no_verdict"]["outside the image"] == 1

    monkeypatch.setattr("forensics.pipeline.detectors.get_detector", lambda name, dirs=None: detector)
    args = type(
        "A",
        (),
        {
            "path": str(path),
            "detector": ["simplenet"],
            "weights_dir": None,
            "face_method": "mtcnn",
            "min_face": 40,
            "allow_untrained": False,
            "no_stability": True,
            "json": False,
            "case": None,
            "case_db": None,
            "no_log": True,
        },
    )()
    assert cmd.run(args) == 0
    out = capsys.readouterr().out
    assert f"not a whole face: {fd['checks']['failures'][0]}" in out and "no verdict" in out


def test_a_crop_without_a_face_gets_no_verdict(detector):
    """The shipped coffee photo taken whole as a face: Face Mesh finds no face, so no verdict."""
    an = analyze(
        load_evidence(EXAMPLES / "coffee_no_face.jpg"),
        detectors=[detector],
        options=AnalyzeOptions(face_method="whole", stability=False),
    )
    f = an.faces[0]
    assert f.checks.landmarks_confirmed is False and "not confirmed as a face" in f.checks.failed_kinds
    assert f.scores["simplenet"].assessment is None and f.scores["simplenet"].verdict == NO_VERDICT


def test_a_whole_face_passes_and_keeps_its_verdict(portrait, face, detector):
    checks = check_face(face, (portrait.shape[1], portrait.shape[0]), min_size=40)
    assert checks.passed and checks.landmarks_confirmed is True and checks.outside_fraction == 0.0
    an = analyze(
        load_evidence(EXAMPLES / "astronaut.jpg"),
        detectors=[detector],
        options=AnalyzeOptions(face_method="mtcnn", stability=False),
    )
    s = an.faces[0].scores["simplenet"]
    assert s.assessment is not None and s.withheld is None and s.verdict == s.assessment.verdict


def test_haar_detection_without_confirmation_never_gets_a_verdict(face, portrait, monkeypatch):
    """Where Face Mesh cannot run, a Haar box is not confirmed and fails; an MTCNN box is recorded as unchecked."""
    import dataclasses

    monkeypatch.setattr("forensics.faces.whole_face.confirm_face", lambda crop: (None, "not checked: no mediapipe"))
    size = (portrait.shape[1], portrait.shape[0])
    assert check_face(face, size, min_size=40).passed
    haar = check_face(dataclasses.replace(face, method="haar"), size, min_size=40)
    assert not haar.passed and haar.failed_kinds == ("not confirmed as a face",)


def test_heavily_recompressed_face_records_its_stability(portrait, detector, tmp_path):
    """JPEG quality 8: the face is still whole; the analysis records the five re-scorings, a spread equal to the
    range of all six scores, and "unstable" exactly when a re-scored verdict differs."""
    path = _save(portrait, tmp_path / "q8.jpg", quality=8)
    an = analyze(load_evidence(path), detectors=[detector], options=AnalyzeOptions(face_method="mtcnn"))
    s = an.faces[0].scores["simplenet"]
    st = s.stability
    assert [c.condition for c in st.conditions] == ["JPEG 90", "JPEG 75", "JPEG 50", "scale 0.75", "scale 0.5"]
    values = [s.p_fake] + [c.p_fake for c in st.conditions]
    assert st.p_fake_min == min(values) and st.p_fake_max == max(values)
    assert st.verdict == detector.calibration.assess(s.p_fake).verdict
    assert st.unstable == any(c.verdict != st.verdict for c in st.conditions)
    assert all(c.verdict == detector.calibration.assess(c.p_fake).verdict for c in st.conditions)
    d = an.to_dict()["faces"][0]["scores"]["simplenet"]["stability"]
    assert d["unstable"] == st.unstable and d["summary"].startswith("unstable" if st.unstable else "stable")


def test_variant_crops_match_recompressing_the_whole_file(portrait, face):
    """Re-encoding only the face's neighbourhood (on the file's 8-px JPEG grid) gives the crop a re-save of the
    whole file gives (independent reference), and the scaled variant the crop of the whole file scaled."""
    import cv2

    from forensics.calibration.stability import variant_crops

    got = dict(variant_crops(portrait, face.box, face.landmarks, margin=0.15, crop_size=256))
    buf = io.BytesIO()
    Image.fromarray(portrait).save(buf, format="JPEG", quality=75)
    whole = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    ref, *_ = aligned_crop(whole, face.box, face.landmarks, margin=0.15, crop_size=256)
    assert np.abs(got["JPEG 75"].astype(int) - ref).mean() < 1.0
    assert np.abs(got["JPEG 50"].astype(int) - face.crop).mean() > np.abs(got["JPEG 90"].astype(int) - face.crop).mean()
    h, w = portrait.shape[:2]
    half = cv2.resize(portrait, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    ref_half, *_ = aligned_crop(half, np.asarray(face.box) / 2, face.landmarks / 2, margin=0.15, crop_size=256)
    assert np.abs(got["scale 0.5"].astype(int) - ref_half).mean() < 2.0


def test_skipped_detections_are_counted_by_kind(portrait):
    from forensics.faces.coverage import coverage

    fs = detect_faces(portrait, FaceOptions(method="mtcnn", min_size=400))  # the face is about 114 px: too small here
    assert not fs.faces and [s.kind for s in fs.skipped] == ["too small"]
    cov = coverage(fs, [], portrait)
    assert cov.skipped == {"too small": 1}
    assert cov.sentences()[0].startswith("1 detection(s) not analysed: 1 too small")


def test_finders_agree_on_one_portrait_and_disagreement_is_said(portrait, face):
    from forensics.faces.coverage import Coverage, _unmatched, coverage

    fs = detect_faces(portrait, FaceOptions(method="mtcnn"))
    cov = coverage(fs, [check_face(face, fs.image_size, min_size=40)], portrait)
    assert cov.found == 1 and cov.second_found == 1 and not cov.finders_disagree
    # greedy IoU matching against hand-made boxes: one shared face, one only in the second list
    assert _unmatched([(0, 0, 10, 10)], [(1, 1, 10, 10), (50, 50, 60, 60)]) == (0, 1)
    other = Coverage(
        skipped={}, no_verdict={}, finder="mtcnn", found=4, second_found=7, only_finder=0, only_second=3, min_size=40
    )
    assert other.finders_disagree and "mtcnn found 4 face(s) of at least 40 px" in other.sentences()[0]


def test_withholding_never_gives_a_verdict():
    """A score without a verdict (uncalibrated) stays without one whatever the checks say."""
    from forensics.faces.whole_face import FaceChecks
    from forensics.pipeline import DetectorScore, withhold

    bare = DetectorScore(
        "d", 0.5, {"real": 0.5, "fake": 0.5}, [0.0, 0.0], ready=True, calibrated=False, assessment=None
    )
    ok = FaceChecks(0.0, 0.0, 100.0, 40, "mtcnn", True, "", ())
    assert withhold(bare, ok) is bare and bare.verdict == NO_VERDICT
    failed = FaceChecks(0.5, 0.4, 100.0, 40, "mtcnn", True, "", ("half outside",), ("outside the image",))
    assert withhold(bare, failed) is bare
