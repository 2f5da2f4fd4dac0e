"""What each section of the court report says, as data: lists of ``Row(label, text, kind)`` built from the bundle.

The PDF (pdf.py) only lays these rows out, so a new line about a face or about integrity is one more row here,
computed from the bundle, and needs no layout code. ``kind`` picks the style: "" plain, "mono" (hashes),
"verdict" (coloured by verdict), "caveat" (amber), "muted" (grey).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from forensics.calibration.novelty import NOT_MEASURED
from forensics.formatting import lr_in_favour, num, pct, pct_interval, pct_of, value_interval
from forensics.pipeline.results import Analysis, DetectorScore, FaceAnalysis
from forensics.report.bundle import NotRun
from forensics.report.wording import condition_words, court_text
from forensics.verdicts import Direction, Verdict

VERDICT_WORDS = {
    Verdict.FAKE: "manipulated or generated",
    Verdict.REAL: "camera original",
    Verdict.INCONCLUSIVE: "inconclusive (no verdict either way)",
}
METHOD_NAMES = {
    "gradcam": "Grad-CAM",
    "lrp-epsilon": "LRP (epsilon rule)",
    "lrp-epsilon-plus-flat": "LRP",
    "saliency": "Gradient saliency",
    "lrp-hse-mix": "LRP (mixed rules)",
    "lrp-gamma-epsilon-zero": "LRP (mixed rules)",
}


class Row(NamedTuple):
    label: str
    text: str
    kind: str = ""


def analysis_of(bundle: Mapping[str, Any]) -> Analysis:
    """The bundle's analysis, typed (read back from its JSON once, at the edge), with the evidence the bundle keeps
    beside it."""
    return Analysis.from_dict({**bundle["analysis"], "evidence": bundle["evidence"]})


def face_number(face: FaceAnalysis) -> int:
    """Faces are numbered from 1 in the report (the bundle and the dashboard count from 0)."""
    return face.index + 1


# ------------------------------------------------------------------------------------------------ summary
def summary_lines(an: Analysis) -> list[str]:
    """One sentence per face and detector: the automated finding, its LR in words, and faces left out."""
    out = []
    for f in an.faces:
        for det, s in f.scores.items():
            a = s.assessment
            if a is not None:
                out.append(
                    f"Face {face_number(f)}, detector {det}: {VERDICT_WORDS.get(a.verdict, a.verdict)}. "
                    f"Likelihood ratio {lr_in_favour(a.likelihood_ratio)} ({a.verbal})."
                    + (
                        " Unstable: the verdict changes when the file is re-compressed or re-scaled."
                        if s.stability is not None and s.stability.unstable
                        else ""
                    )
                )
            elif s.withheld is not None:  # whole-face checks or novelty withheld the verdict (issue 18)
                w = s.withheld
                out.append(
                    f"Face {face_number(f)}, detector {det}: {court_text(w.verdict) or w.verdict}, "
                    f"because {'; '.join(w.reasons)}."
                )
            else:
                out.append(f"Face {face_number(f)}, detector {det}: no verdict, because {_no_verdict_reason(s)}.")
    for sk in an.skipped_faces:
        out.append(f"A face-like region was not analysed, because {reason_words(sk.get('reason'))}.")
    out.extend(an.coverage.sentences() if an.coverage is not None else ())  # what was not looked at
    if not an.faces:
        out.append(f"No face was analysed: {court_text(an.no_face_reason) or 'no face was found'}.")
    return out


def _no_verdict_reason(score: DetectorScore) -> str:
    return "the detector has no trained weights" if not score.ready else "the detector has no calibration"


# ------------------------------------------------------------------------------------------------ validation
def validation_rows(model: Mapping[str, Any]) -> list[Row]:
    """The detector's measured error rates (with 95 % intervals), its inconclusive shares and re-sampled checks."""
    cal = model.get("calibration") or {}
    er = cal.get("error_rates") or {}
    if not er or "n_real" not in er:
        return [
            Row(
                "Error rates",
                "not measured: the detector has no calibration on validation faces, so it gives no verdict",
                "caveat",
            )
        ]
    n_real, n_fake = er.get("n_real"), er.get("n_fake")
    rows = [
        Row(
            "Measured on",
            f"{int(n_real or 0) + int(n_fake or 0)} validation faces kept apart from training: "
            f"{n_real} camera originals and {n_fake} manipulated or generated faces",
        ),
        Row(
            "False accusations",
            f"{pct_of(er.get('false_positives'), n_real)} of camera originals were called manipulated or generated",
        ),
        Row(
            "Missed fakes",
            f"{pct_of(er.get('false_negatives'), n_fake)} of manipulated or generated faces were "
            "called camera originals",
        ),
        Row(
            "Inconclusive",
            f"{pct(er.get('inconclusive_real'))} of camera originals and "
            f"{pct(er.get('inconclusive_fake'))} of manipulated or generated faces",
        ),
    ]
    for name, r in (er.get("conditions") or {}).items():
        rows.append(
            Row(
                f"After re-sampling to {condition_words(name)}",
                f"false accusations {pct_of(r.get('false_positives'), r.get('n_real'))}; missed fakes "
                f"{pct_of(r.get('false_negatives'), r.get('n_fake'))}",
            )
        )
    band = cal.get("band")
    if band:
        rows.append(
            Row(
                "Decision rule",
                f"a score of {num(band[1])} or more is called manipulated or generated, "
                f"below {num(band[0])} camera original, in between inconclusive; the band "
                f"was chosen to keep each error under {pct(cal.get('target_error', 0.05))}",
            )
        )
    return rows


LSO_HEADER = ("Left out", "What", "Faces (real / fake)", "False accusations", "Inconclusive", "AUC")


def leave_source_out(card: Mapping[str, Any]) -> tuple[str, list[tuple[str, ...]]] | None:
    """(protocol, table rows) of the model card's leave-source-out figures; None when the card has none."""
    lso = card.get("leave_source_out")
    if not lso or not lso.get("rows"):
        return None
    rows: list[tuple[str, ...]] = [
        (
            court_text(r.get("held_out")) or str(r.get("held_out")),
            str(r.get("what", "")),
            f"{r.get('n_real', 0)} / {r.get('n_fake', 0)}",
            pct_interval(r.get("false_accusation")),
            pct_interval(r.get("inconclusive")),
            value_interval(r.get("auc")),
        )
        for r in lso["rows"]
    ]
    return court_text(lso.get("protocol")) or "not described", rows


def failure_modes(card: Mapping[str, Any]) -> list[str]:
    return [t for t in (court_text(f) for f in card.get("failure_modes") or []) if t]


def training_words(card: Mapping[str, Any]) -> str:
    """Training data in words, with the number of training images per kind when the card counts them."""
    text = court_text(card.get("training_data"))
    counts = (card.get("training_image_sides") or {}).get("counts") or {}
    if counts:
        per = ", ".join(f"{sum(c)} {k}" for k, c in counts.items() if sum(c))
        text += f" Training images by kind: {per}."
    return text.strip()


# ------------------------------------------------------------------------------------------------ per face
def face_rows(face: FaceAnalysis) -> list[Row]:
    """Where the face is and how sure the face finder was."""
    x0, y0, x1, y1 = (float(v) for v in face.box)
    rows = [
        Row(
            "Position",
            f"from ({x0:.0f}, {y0:.0f}) to ({x1:.0f}, {y1:.0f}) pixels; box {face_number(face)} in the overview image",
        ),
        Row("Face finder", f"{pct(face.confidence)} confident that this is a face"),
    ]
    c = face.checks
    if c is not None:  # whole-face checks (issue 18): a face that fails them gets no verdict
        rows.append(
            Row(
                "Whole-face checks",
                ("passed" if c.passed else "failed: " + "; ".join(c.failures))
                + f" (outside the image {pct(c.outside_fraction)}, padded "
                f"{pct(c.padded_fraction)}, landmarks confirmed: "
                f"{'yes' if c.landmarks_confirmed else 'no'})",
                "" if c.passed else "caveat",
            )
        )
    return rows


def detector_rows(an: Analysis, face: FaceAnalysis, det: str) -> list[Row]:
    """One detector's result for one face: verdict, LR in words, score and band, error rates, caveats."""
    from forensics.calibration.domain import face_caveats

    s = face.scores[det]
    model = an.models.get(det, {})
    a = s.assessment
    novelty = str(NOT_MEASURED["summary"]) if s.novelty is None else s.novelty.summary()
    if a is None and s.withheld is not None:  # whole-face checks or novelty withheld the verdict (issue 18)
        w = s.withheld
        rows = [Row("Result", court_text(w.verdict) or w.verdict, "muted")]
        rows += [Row("Why", court_text(why) or why) for why in w.reasons]
        rows.append(Row("Score", f"{num(s.p_fake)} (calibrated; shown for completeness only)", "muted"))
        if s.stability is not None:
            rows.append(Row("Stability", s.stability.score_summary()))
        rows.append(Row("Novelty", novelty))
        return rows
    if a is None:
        return [
            Row("Result", f"no verdict: {_no_verdict_reason(s)}", "muted"),
            Row(
                "Score",
                f"{num(s.p_fake)} (uncalibrated; it carries no evidential value and is shown for completeness only)",
                "muted",
            ),
        ]
    lo, hi = a.band
    rows = [
        Row("Result", VERDICT_WORDS.get(a.verdict, a.verdict), "verdict"),
        Row("Likelihood ratio", f"{lr_in_favour(a.likelihood_ratio)}: {a.verbal}"),
        Row(
            "Score",
            f"{num(s.p_fake)} on a scale from 0 (camera original) to 1 (manipulated or generated); "
            f"inconclusive from {num(lo)} to below {num(hi)}",
        ),
    ]
    er = (model.get("calibration") or {}).get("error_rates") or {}
    if "n_real" in er:
        rows.append(
            Row(
                "Error rates at this rule",
                f"false accusations {pct_of(er.get('false_positives'), er['n_real'])}; "
                f"missed fakes {pct_of(er.get('false_negatives'), er.get('n_fake'))}",
            )
        )
    if s.stability is not None:
        rows.append(Row("Stability", s.stability.summary(), "caveat" if s.stability.unstable else ""))
    rows.append(Row("Novelty", novelty))
    for caveat in face_caveats(an, face, det):
        rows.append(Row("Caveat", caveat, "caveat"))
    return rows


def explanation_lines(bundle: Mapping[str, Any], face: FaceAnalysis) -> list[str]:
    """What each explanation map shows, how faithful it is and how two maps agree, in words."""
    out = []
    exps = [e for e in (bundle.get("explanations") or []) if e["face"] == face.index]
    for e in exps:
        name = METHOD_NAMES.get(e["method"], e["method"])
        line = (
            f"{name} map of what raised the detector's probability of '{e.get('target_name')}' "
            f"({pct(e.get('probability'))})."
        )
        fa = e.get("faithfulness")
        if isinstance(fa, Mapping) and fa.get("difference") is not None:
            d = float(fa["difference"])
            verdict = (
                "faithful: removing its most relevant pixels first lowers the probability much faster than "
                "adding them back restores it"
                if d >= 0.2
                else "partly faithful: its most relevant pixels matter, but not much more than the rest"
                if d > 0.05
                else "not shown to be faithful: removing its most relevant pixels first changes the "
                "probability little more than removing others"
            )
            line += (
                f" Faithfulness: {verdict} (probability left after deleting pixels in order of relevance, "
                f"averaged: {pct(fa.get('deletion_auc'))}; after inserting them: {pct(fa.get('insertion_auc'))})."
            )
        measured = e.get("measured")
        if isinstance(measured, Mapping) and measured.get("text"):
            # what was measured about the method on this detector: localisation on known edits, sanity check (issue 22)
            line += " Measured for this method: " + str(measured["text"])
        out.append(line)
    for e in exps:
        for other, ag in (e.get("agreement") or {}).items():
            iou = (ag.get("iou") or {}).get("0.1")
            if iou is None:
                continue
            words = "agree well" if iou >= 0.5 else "agree partly" if iou >= 0.25 else "largely disagree"
            out.append(
                f"{METHOD_NAMES.get(e['method'], e['method'])} and {METHOD_NAMES.get(other, other)} {words}: "
                f"their most relevant tenth of the pixels overlaps by {pct(iou)} (intersection over union)."
            )
    return out


# ------------------------------------------------------------------------------------------------ checks
CHECK_HEADER = ("Check", "Points towards", "Reliability", "Finding")
DIRECTION_WORDS = {
    Direction.SUPPORTS_MANIPULATION: "manipulation",
    Direction.SUPPORTS_ORIGINAL: "an original",
    Direction.NEUTRAL: "neither",
}


def check_table(bundle: Mapping[str, Any]) -> list[tuple[str, ...]]:
    return [
        (
            court_text(c.get("title") or c["check"]) or c["check"],
            DIRECTION_WORDS.get(c["direction"], c["direction"]),
            court_text(c.get("reliability")),
            court_text(c.get("summary")),
        )
        for c in bundle.get("checks") or []
    ]


# ------------------------------------------------------------------------------------------------ limitations
def applicable_limitations(bundle: Mapping[str, Any], an: Analysis) -> list[str]:
    """The general limitations plus those this evidence raises: caveats, parts not run, no-verdict detectors."""
    out = [court_text(t) or t for t in bundle.get("limitations", [])]
    for f in an.faces:
        for det, s in f.scores.items():
            if s.assessment is None:
                out.append(f"Face {face_number(f)}: detector {det} gave no verdict ({_no_verdict_reason(s)}).")
    if an.skipped_faces:
        out.append(
            f"{len(an.skipped_faces)} face-like region(s) were not analysed; the findings say nothing about them."
        )
    for part, why in (bundle.get("not_run") or {}).items():
        out.append(f"Not carried out: {part_words(part)}, because {reason_words(why)}.")
    return out


_PARTS = {
    "explanations": "explanation maps",
    "explanations (some methods)": "some explanation methods",
    "regions": "region shares",
    "checks": "classic checks",
}


def part_words(part: str) -> str:
    """A key of the bundle's ``not_run`` in words ("regions (face 0, gradcam)" -> region shares of face 1 ...)."""
    n = NotRun.from_entry(part, "")
    if n.part == "regions" and n.face is not None:
        return f"region shares of face {n.face + 1} for {METHOD_NAMES.get(n.method or '', n.method)}"
    return _PARTS.get(part, court_text(part) or "a part of the examination")


def reason_words(why: Any) -> str:
    """A recorded reason in court words; when it is all code, a pointer to the bundle (never a wrong reason)."""
    text = court_text(why)
    if text in ("not requested", "not requested."):
        return "it was not requested"
    return text.rstrip(".") or "of a technical reason recorded in the JSON bundle"


# ------------------------------------------------------------------------------------------------ integrity
def integrity_rows(bundle: Mapping[str, Any]) -> list[Row]:
    """Hashes that tie this PDF to its JSON bundle, to the evidence and to the case log; who signed it."""
    head = bundle.get("log_head")
    signer = bundle.get("signer")
    return [
        Row("JSON bundle SHA-256", bundle["bundle_sha256"], "mono"),
        Row("Evidence SHA-256", bundle["evidence"]["sha256"], "mono"),
        Row(
            "Case log at export",
            f"{head['count']} entries, head {head['head_hash']}" if head else "not logged",
            "mono" if head else "",
        ),
        Row("Signed by", f"{signer['name']} (Ed25519 key {signer['key_id']})" if signer else "unsigned"),
    ]


def signature_rows(bundle: Mapping[str, Any]) -> list[Row]:
    """The examiner's signature block: name, date and place lines to sign by hand."""
    case = bundle["case"]
    return [Row("Examiner", case["examiner"]), Row("Date", ""), Row("Place", ""), Row("Signature", "")]
