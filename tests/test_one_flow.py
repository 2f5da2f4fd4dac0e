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
