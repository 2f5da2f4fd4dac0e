"""The CLI, a folder scan and a report reach the same numbers for the same face: they share forensics.pipeline's
detector resolution and scoring (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from forensics.cli import main
from forensics.errors import NoReadyDetectorError
from forensics.pipeline import AnalyzeOptions, analyze, resolve_detectors
from forensics.report.build import prepare_report
from forensics.report.bundle import Case, NotRun
from forensics.scan import ScanOptions, scan_folder
from forensics.scan.store import ScanStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def face_folder(tmp_path_factory) -> Path:
    """The shipped portrait cut to its face (a confirmed whole face gets a verdict), alone in a folder."""
    folder = tmp_path_factory.mktemp("one-face")
    with Image.open(ROOT / "ui" / "examples" / "astronaut.jpg") as im:
        im.convert("RGB").crop((150, 35, 300, 185)).resize((160, 160), Image.Resampling.BICUBIC).save(
            folder / "face.jpg", quality=88
        )
    return folder


@pytest.fixture(scope="module")
def default_name() -> str:
    try:
        return resolve_detectors()[0].name
    except NoReadyDetectorError as exc:  # no trained weights on this machine: nothing to compare
        pytest.skip(f"no ready default detector: {exc}")


def test_cli_scan_and_report_give_identical_numbers(face_folder, default_name, tmp_path, capsys):
    path = face_folder / "face.jpg"
    assert (
        main(
            [
                "analyze",
                str(path),
                "--detector",
                default_name,
                "--face-method",
                "whole",
                "--no-stability",
                "--json",
                "--no-log",
            ]
        )
        == 0
    )
    cli = json.loads(capsys.readouterr().out)["faces"][0]["scores"][default_name]

    scan_folder(
        face_folder,
        tmp_path / "scan.sqlite",
        options=ScanOptions(face_method="whole", embeddings=False),
        detectors=[default_name],
    )
    with ScanStore(tmp_path / "scan.sqlite") as store:
        (scanned,) = store.rows("SELECT p_fake, verdict FROM scores WHERE detector = ?", (default_name,))

    data = prepare_report(
        path,
        Case("C-17", "Examiner"),
        detectors=[default_name],
        options=AnalyzeOptions(face_method="whole", stability=False),
        explainers=None,
        segmenter=None,
        checks=False,
    )
    reported = data.bundle["analysis"]["faces"][0]["scores"][default_name]

    assert cli["p_fake"] == scanned["p_fake"] == reported["p_fake"]
    assert cli["probabilities"] == reported["probabilities"]
    assert cli["assessment"] is not None and cli["assessment"] == reported["assessment"]
    assert cli["assessment"]["verdict"] == scanned["verdict"] == reported["verdict"]


def test_every_entry_point_refuses_an_untrained_detector_with_one_error(face_folder, tmp_path):
    path = face_folder / "face.jpg"
    with pytest.raises(NoReadyDetectorError, match="no trained weights"):
        resolve_detectors(["simplenet"])
    with pytest.raises(NoReadyDetectorError, match="no trained weights"):
        analyze(path, detectors=["simplenet"])
    with pytest.raises(NoReadyDetectorError, match="no trained weights"):
        scan_folder(face_folder, tmp_path / "s.sqlite", detectors=["simplenet"])
    with pytest.raises(NoReadyDetectorError, match="no trained weights"):
        prepare_report(path, Case("C-17", "Examiner"), detectors=["simplenet"], explainers=None, checks=False)
    assert main(["explain", str(path), "--out", str(tmp_path / "x"), "--detector", "simplenet"]) == 4
    assert resolve_detectors(["simplenet"], allow_untrained=True)[0].ready is False


def test_not_run_entries_read_back_as_written():
    part = NotRun("regions", "no positive relevance", face=2, method="gradcam")
    assert part.key == "regions (face 2, gradcam)"
    assert NotRun.from_entry(part.key, part.reason) == part
    assert NotRun.from_entry("explanations (some methods)", "x") == NotRun("explanations (some methods)", "x")


@pytest.mark.slow
def test_one_photo_reads_the_same_in_every_entry_point(default_name, tmp_path, capsys):
    """Issue 33.4: Detect (analyze), the CLI, a scan and its statistics, evaluate, the report and the Explain page
    apply the same gates (whole face, novelty) and give the same calibrated p_fake and verdict for one photo."""
    import hashlib

    from streamlit.testing.v1 import AppTest

    from forensics.evaluation.folder import evaluate_folder
    from forensics.evidence import load_evidence
    from forensics.scan.stats import detection_metrics, labelled_scores
    from forensics.verdicts import Verdict
    from forensics.wording.results import score_sentence
    from ui.state import EVIDENCE_KEY, Upload

    data = tmp_path / "data"
    (data / "real" / "cam").mkdir(parents=True)
    (data / "fake" / "gan" / "demo").mkdir(parents=True)
    path = data / "real" / "cam" / "portrait.jpg"
    with Image.open(ROOT / "ui" / "examples" / "astronaut.jpg") as im:
        mirrored = im.convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        mirrored.crop((140, 10, 440, 310)).save(path, quality=90)
        im.convert("RGB").crop((100, 0, 400, 300)).save(data / "fake" / "gan" / "demo" / "other.jpg", quality=90)

    detect = analyze(load_evidence(path), detectors=[default_name], options=AnalyzeOptions(stability=False))
    face = detect.faces[0]
    s = face.scores[default_name]
    assert face.checks.passed and s.verdict in (Verdict.FAKE, Verdict.REAL, Verdict.INCONCLUSIVE)
    expected = (pytest.approx(s.p_fake, rel=1e-6), str(s.verdict))

    assert main(["analyze", str(path), "--detector", default_name, "--no-stability", "--json", "--no-log"]) == 0
    cli = json.loads(capsys.readouterr().out)["faces"][0]["scores"][default_name]
    assert (cli["p_fake"], cli["verdict"]) == expected

    store_path = tmp_path / "scan.sqlite"
    scan_folder(data, store_path, options=ScanOptions(embeddings=False), detectors=[default_name])
    with ScanStore(store_path) as store:
        (row,) = [r for r in labelled_scores(store, default_name) if r["path"] == str(path)]
        metrics = detection_metrics(store, default_name, n_boot=10)
    assert (row["p_fake"], str(row["verdict"])) == expected
    counted = {Verdict.FAKE: "real_called_fake", Verdict.REAL: "real_called_real"}.get(s.verdict, "real_inconclusive")
    assert metrics["confusion"][counted] >= 1 and metrics["decision"] == "calibrated verdict"

    ev = evaluate_folder(str(data), [default_name], normalise=None, floor=None, weights_dirs=None, n_boot=10)
    (erow,) = [r for r in ev["rows"] if r["path"].endswith("portrait.jpg")]
    assert (erow[f"p_fake:{default_name}"], erow[f"verdict:{default_name}"]) == expected

    report = prepare_report(
        path,
        Case("C-33", "Examiner"),
        detectors=[default_name],
        options=AnalyzeOptions(stability=False),
        explainers=None,
        segmenter=None,
        checks=False,
    )
    reported = report.bundle["analysis"]["faces"][0]["scores"][default_name]
    assert (reported["p_fake"], reported["verdict"]) == expected

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.session_state["sidebar_detectors"] = [default_name]
    at.session_state["sidebar_face_method"] = "auto"
    at.run()
    raw = path.read_bytes()
    at.session_state[EVIDENCE_KEY] = Upload(path.name, raw, hashlib.sha256(raw).hexdigest(), "example")
    at.switch_page("pages/explain.py").run()
    assert not at.exception, [e.value for e in at.exception]
    said = f"Result: {s.verdict} · Score: {score_sentence(s)}"
    assert said in [c.value for c in at.caption]
