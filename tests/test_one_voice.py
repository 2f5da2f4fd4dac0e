"""One result, one voice (issues 32.1 and 33.1): every sentence about a detector's result comes from
``forensics.wording``; the command line, the dashboard and the court report say the same sentences, in the same order,
about the same analysis. The low verdict states a finding; a capped likelihood ratio and the misses on unseen kinds
are said with their figures."""

from __future__ import annotations

import dataclasses
import io
import re

import numpy as np
import pytest

from forensics.calibration import Calibration, fit_calibration
from forensics.calibration.novelty import Novelty
from forensics.calibration.stability import Rescored, Stability
from forensics.errors import ForensicsError
from forensics.pipeline.results import Analysis, DetectorScore, Withheld
from forensics.report.wording import CODE
from forensics.verdicts import Verdict
from forensics.wording.explanations import agreement_sentence, faithfulness_comparison, faithfulness_sentence
from forensics.wording.results import LABELS, lr_sentence, score_sentences, summary_sentence


def _calibration(**extra) -> Calibration:
    rng = np.random.default_rng(0)
    logits = np.concatenate([rng.normal([1, -1], 1.0, (300, 2)), rng.normal([-1, 1], 1.0, (300, 2))])
    cal = fit_calibration(logits, np.array([0] * 300 + [1] * 300), fitted_on="synthetic scores (test)")
    return dataclasses.replace(cal, **extra)


def _score(cal: Calibration | None, p: float, **extra) -> DetectorScore:
    return DetectorScore(
        detector="d",
        p_fake=p,
        probabilities={"real": 1 - p, "fake": p},
        logits=[0.0, 0.0],
        ready=extra.pop("ready", True),
        calibrated=cal is not None,
        assessment=None if cal is None else cal.assess(p),
        **extra,
    )


def test_the_low_verdict_states_a_finding_and_old_stores_still_read():
    assert Verdict.REAL == "no sign of manipulation found" and "original" not in Verdict.REAL
    assert Verdict("camera original") is Verdict.REAL  # scan stores and bundles written before the change
    assessment = {**_calibration().assess(0.001).to_dict(), "verdict": "camera original", "statement": "old"}
    score = {"detector": "d", "p_fake": 0.001, "ready": True, "calibrated": True, "assessment": assessment}
    face = {"index": 0, "box": [0, 0, 9, 9], "confidence": 1.0, "scores": {"d": score}}
    an = Analysis.from_dict({"evidence": {"sha256": "a" * 64}, "faces": [face], "face_method": "mtcnn"})
    assert an.faces[0].scores["d"].verdict is Verdict.REAL
    assert an.to_dict()["faces"][0]["scores"]["d"]["verdict"] == "no sign of manipulation found"


def test_the_likelihood_ratio_is_capped_at_the_calibrations_bounds_and_says_so():
    plain, capped = _calibration(), _calibration(lr_bounds=(0.1, 10.0))
    for p, bound in ((1e-4, 0.1), (0.9999, 10.0)):
        a, b = plain.assess(p), capped.assess(p)
        assert (a.likelihood_ratio < bound) if bound < 1 else (a.likelihood_ratio > bound)  # beyond the bound
        assert b.likelihood_ratio == pytest.approx(bound) and b.lr_bound == bound and a.lr_bound is None
        assert b.log10_lr == pytest.approx(np.log10(bound)) and b.verdict == a.verdict
        assert "capped at 10, the most the validation data support" in lr_sentence(b)
        assert "capped" not in lr_sentence(a)
    mid = 0.5 * sum(plain.band)
    assert capped.assess(mid).likelihood_ratio == plain.assess(mid).likelihood_ratio  # within the bounds: unchanged
    assert Calibration.from_dict(capped.to_dict()) == capped and "lr_bounds" not in plain.to_dict()
    for bad in ([2.0, 10.0], [0.1], [0.0, 5.0], "x"):
        with pytest.raises(ForensicsError, match="lr_bounds"):
            Calibration.from_dict({**plain.to_dict(), "lr_bounds": bad})


def test_misses_on_unseen_kinds_are_said_with_the_low_verdict_with_their_figure_or_as_not_measured():
    measured = _calibration(leave_out_miss_rate={"k": 12, "n": 260, "folds": ["lsoA-r0", "lsoB-r0"]})
    low = _score(measured, 1e-4)
    assert low.verdict is Verdict.REAL
    (unseen,) = [s for s in score_sentences(low, {"calibration": measured.to_dict()}) if s.topic == "unseen"]
    assert "12 of 260" in unseen.text and "4.6 %" in unseen.text and "lsoA-r0, lsoB-r0" in unseen.text
    assert unseen.tone == "caveat"
    (none,) = [s.text for s in score_sentences(_score(_calibration(), 1e-4), {}) if s.topic == "unseen"]
    assert none.endswith("fakes of kinds it was not trained on: not measured")
    high = _score(measured, 0.9999)
    assert high.verdict is Verdict.FAKE and not any(s.topic == "unseen" for s in score_sentences(high, {}))
    assert Calibration.from_dict(measured.to_dict()) == measured
    with pytest.raises(ForensicsError, match="leave_out_miss_rate"):
        Calibration.from_dict({**measured.to_dict(), "leave_out_miss_rate": {"k": 5, "n": 3}})


def _every_kind_of_score() -> list[DetectorScore]:
    cal = _calibration(lr_bounds=(0.2, 5.0), leave_out_miss_rate={"k": 3, "n": 40, "folds": ["f1"]})
    lo, hi = cal.band
    stab = Stability(
        (Rescored("JPEG 75", 0.5 * (lo + hi), Verdict.INCONCLUSIVE), Rescored("scale 0.5", 0.99, Verdict.FAKE)),
        0.5 * (lo + hi),
        0.99,
        Verdict.FAKE,
        True,
    )
    return [
        _score(cal, 0.999, stability=stab, novelty=Novelty(0.8, 1.5, 0.4)),
        _score(cal, 1e-4, novelty=Novelty(0.8, 1.5, 0.4)),
        _score(cal, 0.5 * (lo + hi)),
        dataclasses.replace(
            _score(cal, 0.999, stability=stab, novelty=Novelty(2.0, 1.5, 0.99)),
            assessment=None,
            withheld=Withheld(Verdict.INCONCLUSIVE, ("unlike the faces this detector was trained on: ...",)),
        ),
        _score(None, 0.3),
        _score(None, 0.3, ready=False),
    ]


def test_every_sentence_is_court_words_without_code():
    seen = set()
    for score in _every_kind_of_score():
        sentences = score_sentences(score, {}, caveats=("a caveat",))
        seen |= {s.topic for s in sentences}
        for s in [*sentences, dataclasses.replace(sentences[0], text=summary_sentence(1, "d", score))]:
            assert s.text and not CODE.search(s.text), s.text
            assert s.label == LABELS[s.topic]
    assert seen == set(LABELS)  # every topic is reached by one of the scores above
    ag = {"iou": {"0.1": 0.1}, "spearman": -0.2}
    fa = {"difference": 0.3, "deletion_auc": 0.2, "insertion_auc": 0.5}
    for text in (
        agreement_sentence("Grad-CAM", "LRP (epsilon rule)", ag),
        faithfulness_sentence("Grad-CAM", fa),
        faithfulness_comparison({"Grad-CAM": fa, "LRP": {**fa, "difference": 0.01}}),
    ):
        assert text and not CODE.search(text), text


def test_agreement_and_faithfulness_words_follow_one_set_of_thresholds():
    from forensics.wording import explanations as W

    def said(iou: float) -> str:
        return agreement_sentence("A", "B", {"iou": {W.AGREEMENT_TOP: iou}, "spearman": 0.0})

    assert "agree well" in said(W.AGREE_WELL) and "agree partly" in said(W.AGREE_WELL - 1e-9)
    assert "agree partly" in said(W.AGREE_PARTLY) and "largely disagree" in said(W.AGREE_PARTLY - 1e-9)
    assert W.faithfulness_words(W.FAITHFUL).startswith("faithful")
    assert W.faithfulness_words(W.FAITHFUL - 1e-9).startswith("partly faithful")
    assert W.faithfulness_words(W.PARTLY_FAITHFUL).startswith("not shown")
    near = {"A": {"difference": 0.3}, "B": {"difference": 0.3 - W.EVEN / 2}}
    assert "about equally faithful" in str(faithfulness_comparison(near))
    far = {"A": {"difference": 0.3}, "B": {"difference": 0.3 - 2 * W.EVEN}}
    assert str(faithfulness_comparison(far)).startswith("A is the more faithful")


# ------------------------------------------------------------------------------------ one analysis, three layouts
def _render_face_card(an, face_index):
    from ui.faces import face_view

    face_view(an, an.faces[face_index], an.crops[face_index])


def _dashboard_sentences(an, det: str) -> list[tuple[str, str]]:
    """(label, text) of every sentence the Detect page's card of the first face shows, in order."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_render_face_card, args=(an, 0), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = []
    for el in at.main:  # in page order
        value = str(getattr(el, "value", "") or "")
        if m := re.fullmatch(r"##### Verdict: :\w+\[(.*)\]", value):
            shown.append((LABELS["verdict"], m.group(1)))
            continue
        value = re.sub(r"^\*\*(.*)\*\*$", r"\1", value)
        label, _, text = value.partition(": ")
        if label in LABELS.values():
            shown.append((label, text.removesuffix(" (a whole-face check, shown beside the crop)")))
    return shown


def _cli_sentences(an, det: str) -> list[tuple[str, str]]:
    from forensics.commands.analyze import analysis_lines

    lines = analysis_lines(an)
    start = lines.index(f"  {det}")
    said = []
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        label, _, text = line.strip().partition(": ")
        said.append((label, text))
    return said


def _pdf_text(an, evidence_path) -> str:
    from pypdf import PdfReader

    from forensics.evidence import load_evidence
    from forensics.report.build import prepare_report
    from forensics.report.bundle import Case
    from forensics.report.pdf import render_pdf

    data = prepare_report(
        load_evidence(evidence_path),
        Case("C-1", "Examiner"),
        analysis=an,
        explainers=None,
        segmenter=None,
        checks=False,
    )
    assert data.bundle["analysis"]["faces"][0]["scores"] == an.to_dict()["faces"][0]["scores"]
    pdf = render_pdf(data.bundle, crops=data.crops, figures=data.figures)
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


@pytest.mark.slow
def test_one_analysis_reads_the_same_on_the_command_line_the_dashboard_and_the_pdf(
    small_compressed_portrait, monkeypatch
):
    """The default detector's low verdict on a small, compressed portrait, with a calibration that carries LR bounds
    and a measured miss rate on unseen kinds: each layout shows exactly the library's sentences, in its order."""
    from forensics.calibration.domain import face_caveats
    from forensics.errors import NoReadyDetectorError
    from forensics.evidence import load_evidence
    from forensics.pipeline import AnalyzeOptions, analyze, get_detector

    try:
        det = get_detector("ffd-mobilenetv2")
    except NoReadyDetectorError as exc:
        pytest.skip(f"no ready default detector: {exc}")
    if not det.ready or det.calibration is None:
        pytest.skip("the default detector has no trained weights or calibration here")
    cal = dataclasses.replace(
        det.calibration, lr_bounds=(0.5, 50.0), leave_out_miss_rate={"k": 31, "n": 296, "folds": ["lsoA-r0"]}
    )
    monkeypatch.setattr(det, "calibration", cal)
    an = analyze(load_evidence(small_compressed_portrait), detectors=[det], options=AnalyzeOptions(stability=True))
    face, name = an.faces[0], det.name
    expected = [
        (s.label, s.text)
        for s in score_sentences(face.scores[name], an.models[name], caveats=face_caveats(an, face, name))
    ]
    topics = {s.topic for s in score_sentences(face.scores[name], an.models[name])}
    assert face.scores[name].verdict is Verdict.REAL and {"unseen", "stability", "lr"} <= topics
    assert any("capped at 2" in text for _, text in expected)  # the bound caps this LR (1 / 0.5)

    assert _cli_sentences(an, name) == expected
    assert _dashboard_sentences(an, name) == expected
    pdf = _pdf_text(an, small_compressed_portrait)
    at = 0
    for _, text in expected:  # every sentence, in the same order
        found = pdf.find(" ".join(text.split()), at)
        assert found >= 0, text
        at = found
