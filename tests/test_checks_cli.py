"""`python -m forensics checks`, the figure builders, and the light import of forensics.checks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from synthetic_images import camera_like_image, decode, jpeg_bytes, png_bytes, zero_insertion_upsample

from forensics.checks import list_checks, run_check, run_checks
from forensics.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_USAGE, main
from forensics.evidence import load_evidence
from forensics.viz.checks import finding_figures, finding_images_rgb, to_rgb


@pytest.fixture(scope="module")
def double_jpeg_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("cli") / "double.jpg"
    p.write_bytes(jpeg_bytes(decode(jpeg_bytes(camera_like_image(256, 256, seed=7), 60)), 90))
    return p


def test_cli_checks_json(double_jpeg_file, capsys):
    before = double_jpeg_file.read_bytes()
    assert (
        main(
            [
                "checks",
                str(double_jpeg_file),
                "--json",
                "--check",
                "double-jpeg",
                "--check",
                "ela",
                "--ela-scale",
                "auto",
            ]
        )
        == EXIT_OK
    )
    doc = json.loads(capsys.readouterr().out)
    by = {f["check"]: f for f in doc["findings"]}
    assert list(by) == ["double-jpeg", "ela"]
    assert by["double-jpeg"]["direction"] == "supports manipulation"
    assert by["ela"]["params"]["scale"] == "auto" and by["ela"]["measured"]["double_compressed"] is True
    assert doc["evidence"]["format"] == "JPEG"
    assert double_jpeg_file.read_bytes() == before


def test_cli_checks_text_and_out(double_jpeg_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["checks", str(double_jpeg_file), "--out", str(out)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "[!] Double JPEG compression" in text and "Error level analysis" in text
    doc = json.loads((out / "findings.json").read_text())
    assert [f["check"] for f in doc["findings"]] == [c.name for c in list_checks()]  # every registered check
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "ela__ela.png" in pngs and "noise__noise_level.png" in pngs
    with Image.open(out / "ela__ela.png") as im:
        assert im.size == (256, 256) and im.mode == "RGB"
    assert sum(len(v) for v in doc["images"].values()) == len(pngs)


def test_cli_checks_errors(tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    assert main(["checks", str(bad)]) == EXIT_BAD_INPUT
    good = tmp_path / "g.png"
    good.write_bytes(png_bytes(camera_like_image(64, 64)))
    assert main(["checks", str(good), "--ela-scale", "lots"]) == EXIT_USAGE
    assert main(["checks", str(good), "--ela-quality", "0"]) == EXIT_USAGE
    assert main(["checks", str(good), "--check", "nope"]) == 4  # UnknownComponentError is a ForensicsError
    assert main(["checks", str(good), "--check", "list"]) == EXIT_OK
    assert "jpeg-ghost" in capsys.readouterr().out


def test_viz_images_and_figures(double_jpeg_file):
    ev = load_evidence(double_jpeg_file)
    findings = run_checks(ev)
    for f in findings:
        for name, rgb in finding_images_rgb(f).items():
            assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3, name
    by = {f.check: f for f in findings}
    figs = finding_figures(by["double-jpeg"])
    assert "dct_histograms" in figs and len(figs["dct_histograms"].data) == 3
    assert set(finding_figures(by["spectrum"])) == {"azimuthal_spectrum", "spectrum_peaks"}
    ghost = finding_figures(by["jpeg-ghost"])["ghost_curve"]
    assert list(ghost.data[0].x) == list(range(50, 100, 5))
    assert to_rgb("m", np.array([[0.0, 1.0]], np.float32)).shape == (1, 2, 3)
    with pytest.raises(ValueError):
        to_rgb("bad", np.zeros((2, 2, 2)))


def test_spectrum_peak_figure_marks_peaks():
    img = camera_like_image(128, 128, seed=3)
    f = run_check("spectrum", load_evidence(png_bytes(zero_insertion_upsample(img)), name="z.png"))
    fig = finding_figures(f)["spectrum_peaks"]
    marks = fig.data[1]
    assert (0.5, 0.0) in set(zip(marks.x, marks.y, strict=True))


def test_import_checks_stays_light():
    code = (
        "import sys, forensics.checks, forensics.viz.checks; "
        "print(','.join(m for m in ('torch', 'cv2', 'streamlit', 'plotly', 'mediapipe') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_checks_help_names_every_registered_check(capsys):
    from forensics.checks import list_checks

    assert main(["checks", "--help"]) == EXIT_OK
    shown = capsys.readouterr().out
    names = [c.name for c in list_checks()]
    assert "copy-move" in names and all(n in " ".join(shown.split()) for n in names)
