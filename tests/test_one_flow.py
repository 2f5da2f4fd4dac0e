"""The CLI, a folder scan and a report reach the same numbers for the same face: they share forensics.pipeline's
detector resolution and scoring (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from forensics.cli import main
from forensics.errors import NoReadyDetectorError
from forensics.pipeline import AnalyzeOptions, resolve_detectors
from forensics.report.build import prepare_report
from forensics.report.bundle import Case
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
