"""The court report read as a court reads it: plain words (no code, paths, placeholders or seeds), sections in the
ENFSI order, the examiner's conclusion apart, figures as the dashboard prints them, every page rendered, any script
printed.

The detector is the real SimpleNet architecture with its seeded random initialisation saved as weights, a calibration
fitted on synthetic validation logits, and a model card written as developers write them (data folders, config files,
a seed, a placeholder) plus a leave-source-out table: the test doubles are the *data*, not library code. The evidence
is the shipped portrait's face saved as a JPEG and analysed with face_method="whole", so no shared data is needed.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import QUICK_REPORT_OPTIONS

from forensics.report import Case, bundle_hash
from forensics.report.build import prepare_report, write_report

DEV_CARD = {
    "training_data": "Face crops (forensics.faces, MTCNN) of ../shared/data/train, calibrated on {shared_data}/val. "
    "Split file: x.split.csv (paths + sha256).",
    "failure_modes": [
        "Large sharp photos of real people are at risk of being called 'generated': one run without "
        "ciplab (configs/holdout-ciplab.toml) flagged 18 of 25 (20 of 25 with seed 1, 22 of 25 for the "
        "two-seed soup).",
        "Reproduce with python -m forensics train --config configs/default.toml.",
    ],
    "leave_source_out": {
        "protocol": "Each source is left out of training and calibration in turn (configs/lso-*.toml) and examined.",
        "rows": [
            {
                "held_out": "ciplab",
                "what": "real source",
                "n_real": 25,
                "n_fake": 0,
                "false_accusation": [0.72, 0.52, 0.86],
                "inconclusive": [0.24, 0.11, 0.43],
                "auc": None,
            },
            {
                "held_out": "diffusion",
                "what": "fake kind",
                "n_real": 554,
                "n_fake": 40,
                "false_accusation": None,
                "inconclusive": [0.3, 0.18, 0.45],
                "auc": [0.81, 0.74, 0.87],
            },
        ],
    },
}
LEAKS = re.compile(
    r"[{}=]|\bNone\b|\.\./|shared_data|shared/data|configs/|\w+\.(?:toml|csv|py)\b|\bseeds?\b|"
    r"\bsoup\b|python -m|\b(?:allow_untrained|crop_size|weights_dirs|min_face_size|eigen_smooth)\b"
)
CJK_NAME, ARABIC_NAME, CYRILLIC_NAME = "山田太郎の写真", "صورة محمد", "Фото Ивана"


@pytest.fixture(scope="module")
def evidence_path(tmp_path_factory):
    from PIL import Image

    # a real face (the shipped portrait cut to its face): only a confirmed whole face gets a verdict (issue 18)
    path = tmp_path_factory.mktemp("ev") / "questioned.jpg"
    with Image.open(Path(__file__).resolve().parents[1] / "ui" / "examples" / "astronaut.jpg") as im:
        im.convert("RGB").crop((125, 30, 325, 190)).save(path, quality=88)  # 200 x 160
    return path


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    from safetensors.torch import save_file

    from forensics.calibration import fit_calibration
    from forensics.detectors import create_detector

    wdir = tmp_path_factory.mktemp("weights")
    base = create_detector("simplenet", weights="none")
    save_file({k: v.contiguous() for k, v in base.model.state_dict().items()}, str(wdir / "simplenet-c.safetensors"))
    det = create_detector("simplenet", weights=wdir / "simplenet-c.safetensors")
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    logits = np.stack([np.zeros(400), rng.normal(0, 1.5, 400) + np.where(labels == 1, 1.5, -1.5)], axis=1)
    det.calibration = fit_calibration(logits, labels, fitted_on="validation faces of {shared_data}/val")
    det.card = dataclasses.replace(
        det.card, training_data=DEV_CARD["training_data"], failure_modes=list(DEV_CARD["failure_modes"])
    )
    return det


@pytest.fixture(scope="module")
def data(evidence_path, detector):
    from forensics.pipeline import AnalyzeOptions

    case = Case(
        case_id="C-7",
        examiner="Dr. Ada Example",
        notes=f"Received with {CYRILLIC_NAME}.",
        conclusion="In my opinion the image gives no reliable indication either way.",
    )
    d = prepare_report(
        evidence_path,
        case,
        detectors=[detector],
        options=AnalyzeOptions(face_method="whole"),
        explainers=("gradcam", "saliency"),
        segmenter=None,
        checks=["metadata", "ela"],
    )
    # the leave-source-out figures are a card field the training writes; add them as a card would carry them
    d.bundle["analysis"]["models"]["simplenet"]["card"]["leave_source_out"] = copy.deepcopy(
        DEV_CARD["leave_source_out"]
    )
    d.bundle["bundle_sha256"] = bundle_hash(d.bundle)
    return d


@pytest.fixture(scope="module")
def pdf_path(data, tmp_path_factory):
    return write_report(data, tmp_path_factory.mktemp("out"), log=False).pdf


def _pages(path) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_no_code_paths_placeholders_or_seeds_on_any_page(pdf_path, data):
    pages = _pages(pdf_path)
    for n, page in enumerate(pages, 1):
        found = sorted({m.group(0) for m in LEAKS.finditer(page)})
        assert not found, f"page {n} shows {found}"
    flat = _flat(" ".join(pages))
    # what the developer text meant survives in words; what it named goes to the bundle only
    assert "Face crops of the training set, calibrated on the validation set." in flat
    assert "flagged 18 of 25" in flat and "Reproduce with" not in flat
    assert data.bundle["analysis"]["models"]["simplenet"]["card"]["failure_modes"] == DEV_CARD["failure_modes"]


def _headings(sections) -> dict[str, str]:
    """key -> heading as the PDF prints it: numbered in list order, the unnumbered ones as they are."""
    numbered = [s for s in sections if s.numbered]
    return {s.key: f"{numbered.index(s) + 1}. {s.title}" if s.numbered else s.title for s in sections}


def test_sections_follow_the_enfsi_order_and_the_conclusion_stands_apart(pdf_path, data):
    from forensics.report.pdf import SECTIONS

    flat = _flat(" ".join(_pages(pdf_path)))
    heads = _headings(SECTIONS)
    keys = [s.key for s in SECTIONS]
    enfsi = ["question", "items", "methods", "results", "checks", "limitations", "conclusion", "declaration"]
    assert [k for k in keys if k in enfsi] == enfsi  # the ENFSI guideline's order
    at = {k: flat.find(h) for k, h in heads.items()}
    assert all(i >= 0 for i in at.values()), [heads[k] for k, i in at.items() if i < 0]
    assert [at[k] for k in keys] == sorted(at.values())
    assert at["methods"] < flat.find("Validation of the method") < at["results"]

    def part(key: str) -> str:
        return flat[at[key] : at[keys[keys.index(key) + 1]]]

    assert data.bundle["case"]["conclusion"] in part("conclusion")
    assert "Likelihood ratio" not in part("conclusion")  # the automated findings stay out of the examiner's section
    assert "Signature" in part("declaration") and "Dr. Ada Example" in part("declaration")
    for term in ("Likelihood ratio (LR)", "Inconclusive", "Grad-CAM", "LRP", "ELA"):
        assert term in part("glossary")


def test_a_new_section_is_one_entry_and_numbers_and_references_follow(data, monkeypatch):
    """Sections are numbered when the PDF is drawn: one more writer in SECTIONS renumbers every later heading and
    every cross-reference (summary, declaration), with no number typed anywhere else (issue 32.7)."""
    from pypdf import PdfReader

    from forensics.report import pdf as P

    extra = P.Section("extra", "A section added for this test", lambda r, ctx: r.para("Body of the added section."))
    sections = (*P.SECTIONS[:2], extra, *P.SECTIONS[2:])
    monkeypatch.setattr(P, "SECTIONS", sections)
    out = P.render_pdf(data.bundle, crops=data.crops, figures=data.figures)
    flat = _flat(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(out)).pages))
    heads = _headings(sections)
    assert heads["extra"] == "3. A section added for this test" and heads["methods"].startswith("4. ")
    assert all(h in flat for h in heads.values()) and "Body of the added section." in flat
    n = {s.key: i for i, s in enumerate((s for s in sections if s.numbered), 1)}
    assert f"detailed in section {n['results']}. The examiner's own conclusion is section {n['conclusion']}" in flat
    assert f"which are set out in section {n['limitations']}" in flat and f"described in section {n['methods']}" in flat


def test_leave_source_out_table_and_figures_as_the_dashboard_prints_them(pdf_path, data):
    from forensics.wording.numbers import pct, pct_of

    flat = _flat(" ".join(_pages(pdf_path)))
    assert "Leave-source-out test: sources never seen in training" in flat
    assert "72.0 % (95 % interval 52.0 % to 86.0 %)" in flat and "0.81 (95 % interval 0.74 to 0.87)" in flat
    assert "Each source is left out of training and calibration in turn and examined." in flat
    er = data.bundle["analysis"]["models"]["simplenet"]["calibration"]["error_rates"]
    assert _flat(pct_of(er["false_positives"], er["n_real"])) in flat
    assert pct(er["false_positive_rate"]) == pct_of(er["false_positives"], er["n_real"]).split(" (")[0]
    a = data.bundle["analysis"]["faces"][0]["scores"]["simplenet"]["assessment"]
    assert f"Face finder {pct(data.bundle['analysis']['faces'][0]['confidence'])} confident" in flat
    assert a["verbal"] in flat


def test_without_leave_source_out_figures_the_report_says_so(data, tmp_path):
    from forensics.report.pdf import render_pdf

    b = copy.deepcopy(data.bundle)
    del b["analysis"]["models"]["simplenet"]["card"]["leave_source_out"]
    b["bundle_sha256"] = bundle_hash(b)
    out = tmp_path / "no-lso.pdf"
    out.write_bytes(render_pdf(b, crops=data.crops, figures=data.figures))
    flat = _flat(" ".join(_pages(out)))
    assert "holds no leave-source-out figures" in flat and "Leave-source-out test:" not in flat


def test_explanations_carry_faithfulness_and_agreement_in_words(data, pdf_path):
    exps = data.bundle["explanations"]
    assert [e["method"] for e in exps] == ["gradcam", "saliency"]
    assert set(exps[0]["faithfulness"]) >= {"deletion_auc", "insertion_auc", "difference"}
    iou = exps[1]["agreement"]["gradcam"]["iou"]["0.1"]
    assert 0.0 <= iou <= 1.0 and exps[0]["agreement"] == {}
    flat = _flat(" ".join(_pages(pdf_path)))
    assert "Gradient saliency and Grad-CAM" in flat and f"overlaps by {100 * iou:.1f} %" in flat
    assert "Faithfulness:" in flat


def test_overview_image_numbers_each_face_box(data):
    from forensics.report.overview import FACE_COLOUR, overview_image

    over = [f for f in data.figures if f.section == "overview"]
    assert len(over) == 1 and over[0].image.shape == (160, 200, 3)
    img = overview_image(np.zeros((2000, 1000, 3), np.uint8), [(100, 400, 500, 900)])
    assert img.shape == (1000, 500, 3)  # shrunk to 1000 px on the longer side, boxes scaled with it
    assert tuple(img[300, 50]) == FACE_COLOUR and tuple(img[300, 150]) == (0, 0, 0)  # left edge at x 50, dark inside
    assert tuple(img[196, 52]) == FACE_COLOUR and tuple(img[460, 52]) == (0, 0, 0)  # the number's tab sits above


def test_every_page_renders_with_poppler(pdf_path, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: bash scripts/setup.sh --with-browser installs it")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "30", str(pdf_path), str(tmp_path / "pg")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pngs = sorted(tmp_path.glob("pg*.png"))
    assert len(pngs) == len(_pages(pdf_path)) >= 5
    from PIL import Image

    for p in pngs:
        assert np.asarray(Image.open(p).convert("L")).min() < 100  # text was drawn on every page


def test_arabic_cjk_and_cyrillic_names_and_notes_are_printed(data, tmp_path):
    pytest.importorskip("noto_cjk_sans_jp_regular", reason="the CJK font package of requirements.txt is missing")
    pytest.importorskip("uharfbuzz", reason="the Arabic shaping package of requirements.txt is missing")
    from forensics.report.pdf import render_pdf

    b = copy.deepcopy(data.bundle)
    b["evidence"]["name"] = f"{CJK_NAME} {ARABIC_NAME}.jpg"
    b["case"]["notes"] = f"Received from {CYRILLIC_NAME}; {ARABIC_NAME}; {CJK_NAME}."
    b["case"]["conclusion"] = f"Свидетель {CYRILLIC_NAME}, 証人 {CJK_NAME}, الشاهد {ARABIC_NAME}."
    b["bundle_sha256"] = bundle_hash(b)
    out = tmp_path / "scripts.pdf"
    out.write_bytes(render_pdf(b, crops=data.crops, figures=data.figures))
    text = " ".join(_pages(out))
    squeezed = re.sub(r"[\s\x00]+", "", text)  # pypdf puts spaces or NULs between CJK glyphs
    assert CYRILLIC_NAME in text and ARABIC_NAME in text
    assert CJK_NAME in squeezed and "証人" in squeezed
    assert "could not be printed" not in text


def test_a_character_no_font_has_is_named_in_the_appendix(data, tmp_path, monkeypatch):
    import forensics.report.fonts as fonts
    from forensics.report.pdf import render_pdf

    monkeypatch.setattr(fonts, "cjk_font_path", lambda: None)  # as on a machine without the CJK package
    b = copy.deepcopy(data.bundle)
    b["case"]["notes"] = f"Name {CJK_NAME}"
    b["bundle_sha256"] = bundle_hash(b)
    out = tmp_path / "missing.pdf"
    out.write_bytes(render_pdf(b, crops=data.crops, figures=data.figures))
    flat = _flat(" ".join(_pages(out)))
    assert "could not be printed" in flat and "U+5C71" in flat and "noto-cjk-sans-jp-regular" in flat


def test_cli_conclusion_from_a_file(evidence_path, tmp_path):
    from forensics.cli import main
    from forensics.report import load_bundle

    f = tmp_path / "conclusion.txt"
    f.write_text("Мой вывод: no reliable indication.", encoding="utf-8")
    out = tmp_path / "out"
    rc = main(
        [
            "report",
            str(evidence_path),
            "--out",
            str(out),
            *QUICK_REPORT_OPTIONS,
            "--conclusion-file",
            str(f),
            "--case-db",
            str(tmp_path / "c.sqlite"),
        ]
    )
    assert rc == 0
    assert load_bundle(next(out.glob("*.json")))["case"]["conclusion"] == "Мой вывод: no reliable indication."
    assert (
        main(
            [
                "report",
                str(evidence_path),
                "--out",
                str(out),
                "--conclusion-file",
                str(tmp_path / "absent"),
                "--case-db",
                str(tmp_path / "c.sqlite"),
            ]
        )
        == 3
    )


def test_court_text_keeps_meaning_and_drops_code():
    from forensics.report.wording import court_text

    assert court_text("Calibrated on {shared_data}/val (805 faces).") == "Calibrated on the validation set (805 faces)."
    assert (
        court_text("A survey of ../shared/data validation images flagged 2 of 84.")
        == "A survey of validation images flagged 2 of 84."
    )
    # a parenthesis holding code goes, nested ones included; plain parentheses stay
    assert (
        court_text("One run (configs/x.toml; 20 of 25 with seed 1 (p(fake) 0.8)) flagged 18 of 25 (72 %).")
        == "One run flagged 18 of 25 (72 %)."
    )
    assert court_text("Good sentence. Split file: a.split.csv. Another good one.") == "Good sentence. Another good one."
    assert (
        court_text("Plain text stays exactly as it is: 4 of 25, 12.7 %.")
        == "Plain text stays exactly as it is: 4 of 25, 12.7 %."
    )
    assert court_text(None) == "" and court_text("allow_untrained=False") == ""


def test_number_formats_match_the_dashboard_and_an_independent_interval():
    from scipy.stats import binomtest

    from forensics.wording.numbers import lr_in_favour, lr_number, pct, pct_interval, pct_of, value_interval

    assert pct(0.0036101) == "0.4 %" and pct(None) == "n/a" and pct(float("nan")) == "n/a"
    ci = binomtest(32, 251).proportion_ci(method="wilson")
    assert pct_of(32, 251) == f"12.7 % (32 of 251; 95 % interval {100 * ci.low:.1f} % to {100 * ci.high:.1f} %)"
    assert pct_of(0, 0).startswith("n/a")
    assert lr_number(3.9646) == "3.96" and lr_number(0.05) == "20"
    assert lr_in_favour(0.05) == "20 in favour of the proposition that the face is a camera original"
    assert lr_in_favour(250.0).startswith("250 in favour of the proposition that the face is manipulated")
    assert pct_interval([0.12, None, None]) == "12.0 %" and pct_interval(None) == "n/a"
    assert value_interval([0.812, 0.74, 0.871]) == "0.81 (95 % interval 0.74 to 0.87)"
