"""Court report: bundle schema and hash, PDF content and rendering, verify-report on fresh and altered inputs.

The detector is the real SimpleNet architecture with its seeded random initialisation saved to a .safetensors file
and loaded back (so it counts as "trained weights" with a file hash), plus a calibration fitted on synthetic
validation logits: the test double is the *data* the calibration was fitted on, not any library code. The evidence
is the shipped portrait's face saved as a JPEG and analysed with face_method="whole", so no shared data is needed.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import QUICK_REPORT_OPTIONS

from forensics.calibration.domain import face_size_caveat, side_histogram
from forensics.errors import ForensicsError
from forensics.formatting import lr_in_favour
from forensics.report import Case, build_bundle, bundle_hash, load_bundle, validate_bundle
from forensics.report.build import prepare_report, write_report
from forensics.report.sections import VERDICT_WORDS, analysis_of
from forensics.report.verify import compare, verify_bundle

NOTES = "Received on a USB stick, sealed bag 7; naïve ünïcode check."


@pytest.fixture(scope="module")
def evidence_path(tmp_path_factory):
    from PIL import Image

    # a real face (the shipped portrait cut to its face), since only a confirmed whole face gets a verdict
    path = tmp_path_factory.mktemp("ev") / "questioned photo.jpg"
    with Image.open(Path(__file__).resolve().parents[1] / "ui" / "examples" / "astronaut.jpg") as im:
        im.convert("RGB").crop((150, 35, 300, 185)).resize((160, 160), Image.Resampling.BICUBIC).save(path, quality=88)
    return path


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    from safetensors.torch import save_file

    from forensics.calibration import fit_calibration
    from forensics.detectors import create_detector

    wdir = tmp_path_factory.mktemp("weights")
    base = create_detector("simplenet", weights="none")
    save_file({k: v.contiguous() for k, v in base.model.state_dict().items()}, str(wdir / "simplenet-test.safetensors"))
    det = create_detector("simplenet", weights=wdir / "simplenet-test.safetensors")
    assert (
        det.ready
        and det.weights_sha256 == hashlib.sha256((wdir / "simplenet-test.safetensors").read_bytes()).hexdigest()
    )
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    logits = np.stack([np.zeros(400), rng.normal(0, 1.5, 400) + np.where(labels == 1, 1.5, -1.5)], axis=1)
    det.calibration = fit_calibration(logits, labels, fitted_on="synthetic validation logits (test only)")
    # trained (as far as the card knows) on small real and large generated images: a caveat for larger faces
    det.card = dataclasses.replace(
        det.card, training_image_sides=side_histogram({"real": [100] * 50, "gan": [512] * 50})
    )
    return det


def _opts():
    from forensics.pipeline import AnalyzeOptions

    return AnalyzeOptions(face_method="whole")


@pytest.fixture(scope="module")
def report_data(evidence_path, detector):
    case = Case(case_id="C-2026-017", examiner="Dr. Ada Example", notes=NOTES)
    return prepare_report(
        evidence_path,
        case,
        detectors=[detector],
        options=_opts(),
        explainers=("gradcam",),
        segmenter=None,
        checks=["metadata", "ela"],
    )


@pytest.fixture(scope="module")
def written(report_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    files = write_report(report_data, out, case_db=out / "cases.sqlite")
    return files, out


def test_bundle_validates_and_hash_is_canonical_sha256(report_data, written, evidence_path):
    b = report_data.bundle
    validate_bundle(b)
    # the documented rule, written out by hand: sorted keys, "," and ":" separators, UTF-8, without its own key
    body = {k: v for k, v in b.items() if k != "bundle_sha256"}
    by_hand = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    assert b["bundle_sha256"] == by_hand == bundle_hash(b)
    files, _ = written
    on_disk = json.loads(files.bundle.read_text(encoding="utf-8"))
    # the file adds the log's head and the signer (hashed) and the seal (not hashed) to the prepared bundle
    body = {k: v for k, v in on_disk.items() if k not in ("bundle_sha256", "seal")}
    assert (
        hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        ).hexdigest()
        == on_disk["bundle_sha256"]
        == files.bundle_sha256
    )
    assert {k: v for k, v in body.items() if k not in ("log_head", "signer")} == {
        k: v for k, v in b.items() if k != "bundle_sha256"
    }
    assert on_disk["log_head"]["count"] == 1 and on_disk["signer"] is None
    assert on_disk["seal"]["bundle_sha256"] == files.bundle_sha256 and on_disk["seal"]["signature"] is None
    # required content is there, optional parts say why they are missing
    raw = evidence_path.read_bytes()
    assert b["evidence"]["sha256"] == hashlib.sha256(raw).hexdigest() and b["evidence"]["size"] == len(raw)
    model = b["analysis"]["models"]["simplenet"]
    assert re.fullmatch(r"[0-9a-f]{64}", model["weights_sha256"]) and re.fullmatch(
        r"[0-9a-f]{64}", model["state_sha256"]
    )
    assert b["regions"] is None and "regions" in b["not_run"]
    assert [c["check"] for c in b["checks"]] == ["metadata", "ela"]
    assert b["explanations"][0]["method"] == "gradcam"
    assert b["explanations"][0]["shape"] == list(report_data.crops[0].shape[:2])
    for key in ("python", "torch", "numpy", "forensics", "fpdf2"):
        assert b["environment"][key]


def test_bundle_hash_detects_any_change_and_schema_rejects_bad_hashes(report_data):
    b = copy.deepcopy(report_data.bundle)
    b["analysis"]["faces"][0]["scores"]["simplenet"]["p_fake"] += 1e-12
    with pytest.raises(ForensicsError, match="does not match the content"):
        validate_bundle(b)
    b = copy.deepcopy(report_data.bundle)
    b["evidence"]["sha256"] = "not-a-hash"
    b["bundle_sha256"] = bundle_hash(b)
    with pytest.raises(ForensicsError, match="evidence/sha256"):
        validate_bundle(b)


def test_required_parts_are_never_optional(report_data):
    b = report_data.bundle
    analysis = dict(b["analysis"], evidence=dict(b["evidence"]))
    case = Case("C-1", "x")
    no_hash = copy.deepcopy(analysis)
    no_hash["evidence"].pop("sha256")
    with pytest.raises(ForensicsError, match="evidence sha256"):
        build_bundle(case, no_hash)
    no_model_hash = copy.deepcopy(analysis)
    for m in no_model_hash["models"].values():
        m["weights_sha256"] = None
        m.pop("state_sha256", None)
    with pytest.raises(ForensicsError, match="neither a weights file hash nor a state hash"):
        build_bundle(case, no_model_hash)
    with pytest.raises(ForensicsError, match="no options"):
        build_bundle(case, dict(analysis, options={}))


def _pdf_text(path) -> tuple[str, int]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return "\n".join(p.extract_text() for p in reader.pages), len(reader.pages)


def test_pdf_holds_verdict_hashes_notes_and_page_numbers(report_data, written):
    files, _ = written
    text, n_pages = _pdf_text(files.pdf)
    flat = re.sub(r"\s+", " ", text)
    b = report_data.bundle
    a = b["analysis"]["faces"][0]["scores"]["simplenet"]["assessment"]
    assert a is not None and a["verdict"] in ("manipulated or generated", "camera original", "inconclusive")
    assert f"Result {VERDICT_WORDS[a['verdict']]}" in flat
    assert f"{lr_in_favour(a['likelihood_ratio'])}: {a['verbal']}" in flat
    for h in (
        files.bundle_sha256,
        b["evidence"]["sha256"],
        b["evidence"]["md5"],
        b["analysis"]["models"]["simplenet"]["weights_sha256"],
        files.log_head["head_hash"],
    ):
        assert h in text.replace("\n", " ").replace(" ", "") or h in flat
    assert NOTES in flat and "Dr. Ada Example" in flat and "C-2026-017" in flat
    assert f"page {n_pages} of {n_pages}" in flat and "page 1 of" in flat
    assert "Region relevance: not computed, because it was not requested." in flat
    an = analysis_of(b)
    caveat = face_size_caveat(an, an.faces[0], "simplenet")
    assert caveat and re.sub(r"\s+", " ", caveat) in flat
    # the bundle hash is printed in the integrity section, on the page that holds its heading
    from pypdf import PdfReader

    page = next(
        p.extract_text() for p in PdfReader(str(files.pdf)).pages if "9. Integrity and verification" in p.extract_text()
    )
    assert files.bundle_sha256 in page and f"{files.log_head['count']} entries, head" in page
    assert re.search(r"Signed by\s+unsigned", page)


def test_pdftoppm_renders_every_page(written, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: apt-get install -y poppler-utils")
    files, _ = written
    _, n_pages = _pdf_text(files.pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "20", str(files.pdf), str(tmp_path / "pg")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pngs = sorted(tmp_path.glob("pg*.png"))
    assert len(pngs) == n_pages >= 2
    from PIL import Image

    for p in pngs:
        arr = np.asarray(Image.open(p).convert("L"))
        assert arr.min() < 100  # something dark (text) was drawn on every page


def test_figures_and_crops_must_match_the_bundle(report_data):
    from forensics.report.pdf import render_pdf

    with pytest.raises(ForensicsError, match="not given to the renderer"):
        render_pdf(report_data.bundle, crops=report_data.crops, figures=report_data.figures[1:])
    bad = report_data.crops[0].copy()
    bad[0, 0, 0] ^= 1
    with pytest.raises(ForensicsError, match="face crop 0 differs"):
        render_pdf(report_data.bundle, crops=(bad,), figures=report_data.figures)


def test_verify_passes_fresh_and_fails_on_one_byte_or_one_number(
    report_data, written, evidence_path, detector, tmp_path
):
    files, _ = written
    bundle = load_bundle(files.bundle)
    ok = verify_bundle(bundle, evidence_path, detectors=[detector])
    assert ok.ok, ok.mismatches
    assert ok.compared > 100

    data = bytearray(evidence_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    altered = tmp_path / evidence_path.name
    altered.write_bytes(bytes(data))
    bad = verify_bundle(bundle, altered, detectors=[detector])
    assert not bad.ok
    assert any(m.startswith("evidence/sha256") for m in bad.mismatches)
    assert any(m.startswith("evidence/md5") for m in bad.mismatches)

    edited = copy.deepcopy(bundle)
    edited["analysis"]["faces"][0]["scores"]["simplenet"]["p_fake"] *= 1.001
    res = verify_bundle(edited, evidence_path, detectors=[detector])
    assert not res.ok
    assert any(m.startswith("bundle_sha256") for m in res.mismatches)
    assert any(m.startswith("analysis/faces/0/scores/simplenet/p_fake") for m in res.mismatches)
    # even with the hash recomputed (a careful forger), the re-run exposes the number
    edited["bundle_sha256"] = bundle_hash(edited)
    res = verify_bundle(edited, evidence_path, detectors=[detector])
    assert not res.ok and all("p_fake" in m for m in res.mismatches)


def test_compare_tolerance_rules():
    from forensics.report.rules import RULES

    assert (RULES.float_rel_tol, RULES.float_abs_tol) == (1e-6, 1e-9)
    assert compare({"x": 1.0}, {"x": 1.0 + 5e-7})[0] == []
    assert compare({"x": 1.0}, {"x": 1.0 + 5e-6})[0] != []
    assert compare({"x": 0.0}, {"x": 1e-10})[0] == []  # absolute tolerance near zero
    assert compare({"n": 3}, {"n": 4})[0] == ["n: recorded 3, re-run 4"]
    assert compare({"h": "ab"}, {"h": "ac"})[0] != []
    assert compare({"l": [1, 2]}, {"l": [1, 2, 3]})[0] == ["l: recorded 2 items, re-run 3"]
    assert compare({"b": True}, {"b": 1})[0] != []
    assert compare({"analysis": {"timings_ms": {"a": 1.0}}}, {"analysis": {"timings_ms": {"a": 9.0}}})[0] == []


def test_cli_report_verify_and_log(evidence_path, tmp_path, capsys):
    from forensics.cli import main

    db = tmp_path / "cases.sqlite"
    out = tmp_path / "out"
    rc = main(
        [
            "report",
            str(evidence_path),
            "--out",
            str(out),
            "--examiner",
            "E. Xaminer",
            "--case",
            "K-9",
            "--notes",
            "cli notes",
            *QUICK_REPORT_OPTIONS,
            "--case-db",
            str(db),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    bundle_path = next(out.glob("*.json"))
    b = load_bundle(bundle_path)
    assert b["analysis"]["models"]["simplenet"]["weights_sha256"] is None  # untrained: identified by its state hash
    assert b["analysis"]["faces"][0]["scores"]["simplenet"]["assessment"] is None
    text, _ = _pdf_text(next(out.glob("*.pdf")))
    assert "no verdict" in text and "cli notes" in text
    assert main(["verify-report", str(bundle_path), str(evidence_path), "--case-db", str(db)]) == 0
    data = bytearray(evidence_path.read_bytes())
    data[-10] ^= 0xFF
    altered = tmp_path / "altered.jpg"
    altered.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["verify-report", str(bundle_path), str(altered), "--no-log"]) == 1
    assert "MISMATCH evidence/sha256" in capsys.readouterr().out
    assert main(["verify-log", str(db)]) == 0
    from forensics.cases.audit import CaseLog

    with CaseLog(db) as log:
        kinds = [e.kind for e in log.entries()]
    assert kinds == ["analysis", "export", "verify-report"]


@pytest.mark.slow
def test_full_report_on_a_real_face(real_face_path, tmp_path):
    """MTCNN face, Grad-CAM and LRP, landmark regions and every check on a real LFW photo (untrained detector)."""
    from forensics.pipeline import AnalyzeOptions

    # saliency (absolute gradients) always has positive relevance, so its region table must exist; an untrained
    # net's LRP or Grad-CAM map may be all negative, and then the bundle must say why its table is missing
    data = prepare_report(
        real_face_path,
        Case("REAL-1", "Examiner"),
        detectors=["simplenet"],
        options=AnalyzeOptions(allow_untrained=True),
        explainers=("gradcam", "lrp-epsilon-plus-flat", "saliency"),
    )
    b = data.bundle
    validate_bundle(b)
    assert len(b["analysis"]["faces"]) == 1
    methods = {e["method"] for e in b["explanations"]}
    assert methods == {"gradcam", "lrp-epsilon-plus-flat", "saliency"}
    sal = [r for r in b["regions"] if r["method"] == "saliency"]
    assert len(sal) == 1 and sal[0]["shares"]["skin"] > 0 and sal[0]["segmenter"] == "landmarks"
    for m in methods:  # a region table per method, or the reason why not (e.g. no positive relevance)
        assert any(r["method"] == m for r in b["regions"]) or f"regions (face 0, {m})" in b["not_run"]
    for r in b["regions"]:
        assert abs(sum(r["shares"].values()) - 1.0) < 1e-6  # found regions + "unassigned" share out the whole map
        assert r["computed_by"] == "forensics.segmentation.regions.region_relevance"
    assert len(b["checks"]) >= 5
    files = write_report(data, tmp_path, log=False)
    text, n = _pdf_text(files.pdf)
    flat = re.sub(r"\s+", " ", text)
    assert n >= 3 and "Where the Gradient saliency relevance lies" in flat


def test_pdf_falls_back_to_core_fonts_without_dejavu(report_data, monkeypatch, tmp_path):
    import forensics.report.pdf as pdfmod

    monkeypatch.setattr(pdfmod, "FONT_DIR", tmp_path / "no-fonts")
    b = copy.deepcopy(report_data.bundle)
    b["case"]["notes"] = "Latin-1 é stays, the arrow \u2192 and \u4e2d become '?'"
    b["bundle_sha256"] = bundle_hash(b)
    out = tmp_path / "core.pdf"
    out.write_bytes(pdfmod.render_pdf(b, crops=report_data.crops, figures=report_data.figures))
    text, n = _pdf_text(out)
    flat = re.sub(r"\s+", " ", text)
    assert "Latin-1 é stays, the arrow ? and ? become '?'" in flat
    assert b["bundle_sha256"] in flat and f"page {n} of {n}" in flat


def test_validation_rows_give_each_rate_with_its_wilson_interval_and_each_resampling_in_words():
    from scipy.stats import binomtest

    from forensics.report.sections import validation_rows

    cal = {
        "fitted_on": "val (805 faces)",
        "band": [0.116, 0.952],
        "target_error": 0.05,
        "error_rates": {
            "false_positive_rate": 2 / 554,
            "false_positives": 2,
            "n_real": 554,
            "false_negative_rate": 12 / 251,
            "false_negatives": 12,
            "n_fake": 251,
            "inconclusive_real": 0.19,
            "inconclusive_fake": 0.434,
            "conditions": {"192px-q60": {"false_positives": 0, "n_real": 553, "false_negatives": 32, "n_fake": 251}},
        },
    }
    rows = {r.label: r.text for r in validation_rows({"calibration": cal})}
    ci = binomtest(2, 554).proportion_ci(method="wilson")  # independent reference for the interval
    assert rows["False accusations"].startswith(
        f"0.4 % (2 of 554; 95 % interval {100 * ci.low:.1f} % to {100 * ci.high:.1f} %)"
    )
    ci = binomtest(32, 251).proportion_ci(method="wilson")
    assert rows["After re-sampling to 192 px on the shorter side, JPEG quality 60"] == (
        "false accusations 0.0 % (0 of 553; 95 % interval 0.0 % to 0.7 %); missed fakes 12.7 % (32 of 251; 95 % "
        f"interval {100 * ci.low:.1f} % to {100 * ci.high:.1f} %)"
    )
    assert rows["Inconclusive"] == "19.0 % of camera originals and 43.4 % of manipulated or generated faces"
    assert validation_rows({})[0].kind == "caveat"


def test_pdf_carries_the_degradation_caveat_of_a_small_compressed_file(small_compressed_portrait, tmp_path):
    """A camera-original verdict of the shipped default on a 180 px / JPEG 50 file: the PDF prints the caveat that
    forensics.calibration.domain gives for it (the bundle keeps the evidence apart from the analysis)."""
    from forensics.calibration.domain import face_caveats
    from forensics.report.sections import analysis_of

    data = prepare_report(
        small_compressed_portrait,
        Case(case_id="C-2", examiner="E"),
        detectors=["ffd-mobilenetv2"],
        explainers=(),
        segmenter=None,
        checks=["metadata"],
    )
    b = data.bundle
    an = analysis_of(b)
    caveats = face_caveats(an, an.faces[0], "ffd-mobilenetv2")
    assert len(caveats) == 1 and "weak evidence" in caveats[0]
    files = write_report(data, tmp_path / "out", log=False)
    flat = re.sub(r"\s+", " ", _pdf_text(files.pdf)[0])
    assert re.sub(r"\s+", " ", caveats[0]) in flat


def test_tolerance_written_into_the_bundle_is_not_used(report_data, written, evidence_path, detector):
    """Attack 1: loosen verification.float_rel_tol to 10, change p_fake and the LR, recompute the hash."""
    files, _ = written
    forged = load_bundle(files.bundle)
    forged["verification"]["float_rel_tol"] = 10.0
    score = forged["analysis"]["faces"][0]["scores"]["simplenet"]
    score["p_fake"] = 0.5
    score["assessment"]["likelihood_ratio"] = 50.0
    forged["bundle_sha256"] = bundle_hash(forged)
    res = verify_bundle(forged, evidence_path, detectors=[detector])
    assert not res.ok
    assert any(m.startswith("verification/float_rel_tol") for m in res.mismatches)
    assert any(m.startswith("analysis/faces/0/scores/simplenet/p_fake") for m in res.mismatches)
    assert any("likelihood_ratio" in m for m in res.mismatches)


@pytest.fixture(scope="module")
def cli_report(evidence_path, tmp_path_factory):
    """A report written by the CLI (untrained SimpleNet, whole image): what an examiner hands over."""
    from forensics.cli import main

    out = tmp_path_factory.mktemp("cli")
    rc = main(
        [
            "report",
            str(evidence_path),
            "--out",
            str(out / "rep"),
            "--examiner",
            "E. Xaminer",
            "--case",
            "K-7",
            *QUICK_REPORT_OPTIONS,
            "--case-db",
            str(out / "cases.sqlite"),
        ]
    )
    assert rc == 0
    return next((out / "rep").glob("*.json")), out / "cases.sqlite"


def test_cli_ignores_a_tolerance_loosened_in_the_bundle(cli_report, evidence_path, tmp_path, capsys):
    from forensics.cli import main

    bundle_path, _ = cli_report
    forged = load_bundle(bundle_path)
    forged["verification"]["float_rel_tol"] = 10.0
    forged["analysis"]["faces"][0]["scores"]["simplenet"]["p_fake"] *= 1.5
    forged["bundle_sha256"] = bundle_hash(forged)
    forged.pop("seal", None)
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged), encoding="utf-8")
    capsys.readouterr()
    assert main(["verify-report", str(path), str(evidence_path), "--no-log"]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH analysis/faces/0/scores/simplenet/p_fake" in out and "verification/float_rel_tol" in out
