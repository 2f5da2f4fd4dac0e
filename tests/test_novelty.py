"""The novelty model (forensics.calibration.novelty): its distance against an independent Mahalanobis, the npz file
checked by SHA-256 from the manifest, the fit-novelty command on a tiny random detector, the verdict it turns
inconclusive, and the threshold trade-off the lead reads."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from forensics.calibration import fit_calibration
from forensics.calibration.novelty import fit_novelty, manifest_record, threshold_tradeoff
from forensics.detectors.weights import load_novelty_model
from forensics.errors import WeightsHashMismatchError
from forensics.verdicts import Verdict

EXAMPLES = Path(__file__).resolve().parents[1] / "ui" / "examples"


def _features(n=300, d=6, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], n // 3)
    x = rng.normal(size=(n, d)) + np.eye(3, d)[y] * 4.0
    return x, y


def test_score_is_min_mahalanobis_over_classes_per_sqrt_d():
    from scipy.spatial.distance import mahalanobis

    x, y = _features()
    m = fit_novelty(x, y, classes=("real", "face-manipulated", "generated"))
    q = np.random.default_rng(1).normal(size=(5, 6)) * 3
    ref = [min(mahalanobis(v, mu, m.precision) for mu in m.means) / np.sqrt(6) for v in q]
    np.testing.assert_allclose(m.score(q), ref, rtol=1e-9)
    assert m.info["per_class"] == {"real": 100, "face-manipulated": 100, "generated": 100}
    # about 1 for training-like faces; far beyond the threshold for a shifted one; percentiles are monotone
    assert 0.5 < float(np.median(m.score(x))) < 1.5 and m.score(x[:1] + 20.0)[0] > m.threshold
    assert m.percentile(0.0) == 0.0 and m.percentile(m.threshold) == pytest.approx(0.99, abs=0.01)


def test_npz_round_trip_and_sha256_check(tmp_path):
    from forensics.detectors.weights import sha256_file

    x, y = _features()
    m = fit_novelty(x, y, classes=("real", "face-manipulated", "generated"), quantile=0.95)
    path = m.save(tmp_path / "d.novelty.npz")
    rec = manifest_record(m, path.name, sha256_file(path))
    back = load_novelty_model({**rec, "threshold": 1.7}, [tmp_path])  # the manifest's threshold is the one in force
    assert back.threshold == 1.7 and back.info["sha256"] == rec["sha256"]
    np.testing.assert_allclose(back.score(x[:10]), m.score(x[:10]), rtol=1e-5)
    with np.load(path, allow_pickle=False) as z:  # nothing pickled
        assert set(z.files) == {"means", "precision", "reference", "header"}
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(WeightsHashMismatchError):
        load_novelty_model(rec, [tmp_path])


def test_threshold_tradeoff_counts():
    scores = [3.0, 0.5, 2.5, 0.1, 4.0]
    labels = [0, 0, 1, 1, 1]
    verdicts = [Verdict.FAKE, Verdict.REAL, Verdict.FAKE, Verdict.REAL, "inconclusive"]
    (row,) = threshold_tradeoff(2.0, {"left-out ciplab": (scores, labels, verdicts)})
    assert (row.faces, row.beyond, row.false_accusations, row.false_accusations_inconclusive) == (5, 3, 1, 1)
    assert (row.correct_verdicts, row.correct_verdicts_lost, row.wrong_verdicts) == (2, 1, 2)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A ready random simplenet registered in a temporary manifest, with a calibration."""
    from forensics.detectors import create_detector
    from forensics.detectors.weights import register_weights, save_weights

    wdir = tmp_path_factory.mktemp("weights")
    base = create_detector("simplenet", weights="none", classes=("real", "fake"))
    path = save_weights(base.model, wdir / "tiny.safetensors")
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    logits = np.stack([np.zeros(400), rng.normal(0, 1.5, 400) + np.where(labels == 1, 1.5, -1.5)], axis=1)
    cal = fit_calibration(logits, labels, fitted_on="synthetic logits (test only)")
    register_weights(
        "tiny",
        path,
        architecture="simplenet",
        classes=("real", "fake"),
        calibration=cal,
        manifest=wdir / "manifest.json",
    )
    return wdir


def test_fit_novelty_command_records_the_file_and_the_detector_loads_it(tiny, tmp_path, monkeypatch):
    """fit-novelty on a small labelled folder (the shipped examples, whole-image crops in a private cache)."""
    import shutil

    from forensics.cli import main
    from forensics.detectors import create_detector

    monkeypatch.setenv("FORENSICS_CROP_CACHE", str(tmp_path / "crops"))
    data = tmp_path / "data"
    for label, kind in (("real", "real"), ("fake", "gan")):
        folder = data / label / kind / "src"
        folder.mkdir(parents=True)
        for i in range(5):  # the same pictures, slightly varied, five times per class
            from PIL import Image

            with Image.open(EXAMPLES / ("astronaut.jpg" if label == "real" else "astronaut_edited.jpg")) as im:
                im.convert("RGB").rotate(i * 3).save(folder / f"{i}.jpg", quality=90 - i)
    manifest = tiny / "manifest.json"
    assert (
        main(
            [
                "fit-novelty",
                "--detector",
                "tiny",
                "--data",
                str(data),
                "--out",
                str(tiny),
                "--manifest",
                str(manifest),
                "--weights-dir",
                str(tiny),
                "--quiet",
            ]
        )
        == 0
    )
    rec = json.loads(manifest.read_text())["entries"][0]["novelty"]
    assert rec["file"] == "tiny.novelty.npz" and len(rec["sha256"]) == 64 and rec["fitted"]["n_faces"] == 10
    det = create_detector("tiny", weights_dirs=[tiny], manifest=manifest)
    assert det.novelty is not None and det.novelty.threshold == rec["threshold"]
    assert det.info()["novelty"]["fitted"]["sha256"] == rec["sha256"]
    # the registered file passed by path (what verify-report does) brings the same novelty model
    by_path = create_detector("tiny", weights=tiny / "tiny.safetensors", weights_dirs=[tiny], manifest=manifest)
    assert by_path.novelty is not None and by_path.info()["novelty"] == det.info()["novelty"]
    shutil.rmtree(tmp_path / "crops")


def test_novel_face_is_inconclusive_and_a_withheld_verdict_stays_withheld(tiny):
    """With a threshold below every score the face is "inconclusive: unlike the faces ..." with its score shown;
    a face that also fails a whole-face check stays "no verdict" with both reasons."""
    from forensics.calibration.novelty import UNLIKE
    from forensics.detectors import create_detector
    from forensics.evidence import load_evidence
    from forensics.faces.whole_face import FaceChecks
    from forensics.pipeline import NO_VERDICT, AnalyzeOptions, analyze, withhold

    det = create_detector("tiny", weights_dirs=[tiny], manifest=tiny / "manifest.json")
    feats = det.features(det.preprocess([np.full((64, 64, 3), v, np.uint8) for v in range(0, 250, 10)]))
    m = fit_novelty(
        feats + np.random.default_rng(0).normal(0, 0.01, feats.shape), np.arange(len(feats)) % 2, classes=det.classes
    )
    det.novelty = m.with_threshold(-1.0)
    an = analyze(
        load_evidence(EXAMPLES / "astronaut.jpg"),
        detectors=[det],
        options=AnalyzeOptions(face_method="mtcnn", stability=False),
    )
    s = an.faces[0].scores["tiny"]
    assert an.faces[0].checks.passed
    assert s.assessment is None and s.verdict == "inconclusive" and s.withheld.reasons[0].startswith(UNLIKE)
    d = an.to_dict()["faces"][0]["scores"]["tiny"]
    assert d["novelty"]["beyond"] is True and d["verdict"] == "inconclusive" and 0 <= d["p_fake"] <= 1
    failed = FaceChecks(0.5, 0.4, 100.0, 40, "mtcnn", True, "", ("half outside",), ("outside the image",))
    with_verdict = dataclasses.replace(s, assessment=det.calibration.assess(s.p_fake), withheld=None)
    both = withhold(with_verdict, failed)
    assert both.verdict == NO_VERDICT and both.withheld.reasons[0] == "half outside"
    assert both.withheld.reasons[1].startswith(UNLIKE)
    det.novelty = None
    plain = analyze(
        load_evidence(EXAMPLES / "astronaut.jpg"),
        detectors=[det],
        options=AnalyzeOptions(face_method="mtcnn", stability=False),
    ).to_dict()
    score = plain["faces"][0]["scores"]["tiny"]
    assert score["novelty"]["measured"] is False and score["novelty"]["summary"].startswith("novelty not measured")
    assert score["withheld"] is None and score["assessment"]["verdict"] == score["verdict"]  # today's behaviour
