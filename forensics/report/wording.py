"""Plain words for a court: text from model cards and checks without paths, code names or seeds; fixed texts of the
report (declaration, glossary); the appendix of settings written in words.

Model cards and check descriptions are written for developers: they name data folders, config files, modules and
training seeds. ``court_text`` keeps what a court can read and drops the rest (the JSON bundle keeps the original):
known data folders become "the training set" / "the validation set", a parenthesis holding code is removed, and a
sentence still holding code is dropped (or cut before it, when it is the only sentence).

    >>> court_text("Face crops of ../shared/data/train (forensics.faces, MTCNN). Split file: x.split.csv.")
    'Face crops of the training set.'
    >>> condition_words("192px-q60")
    '192 px on the shorter side, JPEG quality 60'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from forensics.verdicts import Verdict
from forensics.wording.numbers import num

_DATA_WORDS = (
    (re.compile(r"\{shared_data\}/?val\b|(?:\.\./)?shared/data/val\b"), "the validation set"),
    (re.compile(r"\{shared_data\}/?train\b|(?:\.\./)?shared/data/train\b"), "the training set"),
    (re.compile(r"(?:\{shared_data\}|(?:\.\./)?shared/data)/?\s+(?=validation|training|camera|real)"), ""),
    (re.compile(r"\{shared_data\}|(?:\.\./)?shared/data\b/?"), "the project's reference images"),
    (re.compile(r"\bscores? p\((?:fake|generated)\)"), "scores"),
    (re.compile(r"\bp\((?:fake|generated)\)|\bp_fake\b"), "score"),
)
# code: braces, '=', file names, dotted module names, folder paths, seeds, commands
CODE = re.compile(
    r"[{}=`]|\b[\w.-]+\.(?:toml|csv|py|json|safetensors|md|jpg|jpeg|png|pt|sqlite)\b|"
    r"\bforensics\.\w|(?:\.\.?/|~/|\b(?:configs|runs|weights|ui|cache|shared|data|tests|scripts)/)|"
    r"\bseeds?\b|\bsoup\b|python -m|\b[a-z]+_[a-z_]+\b"
)
_SENTENCE = re.compile(r"(?<=[.;!?])\s+(?=[A-Z'\"(])")


def _drop_code_parentheses(s: str) -> str:
    """Remove every top-level ``( ... )`` (nested ones included) whose content holds code."""
    out, depth, start = [], 0, 0
    keep_from = 0
    for i, ch in enumerate(s):
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            if depth == 0 and CODE.search(s[start + 1 : i]):
                out.append(s[keep_from:start].rstrip())
                keep_from = i + 1
    out.append(s[keep_from:])
    return "".join(out)


def court_text(s: Any) -> str:
    """``s`` with data folders in words and code removed (see the module docstring); "" when nothing remains."""
    text = " ".join(str(s or "").split())
    for pat, words in _DATA_WORDS:
        text = pat.sub(words, text)
    text = _drop_code_parentheses(text)
    sentences = [x.strip() for x in _SENTENCE.split(text) if x.strip()]
    kept = [x for x in sentences if not CODE.search(x)]
    if not kept and sentences:  # one long sentence: keep what comes before the first code, cut at a clause
        first_code = CODE.search(sentences[0])
        head = sentences[0][: first_code.start() if first_code else len(sentences[0])]
        cut = max(head.rfind(": "), head.rfind("; "), head.rfind(", "))
        kept = [head[:cut].rstrip(" ,;:") + "." if cut > 20 else ""]
    out = " ".join(k for k in kept if k)
    out = re.sub(r"\s+([,.;:])", r"\1", out)
    out = re.sub(r"[;,]\s*\.", ".", out)
    return out.strip()


def condition_words(name: str) -> str:
    """A re-sampling condition of the calibration ("192px-q60") in words."""
    from forensics.calibration import parse_condition_name

    try:
        side, quality = parse_condition_name(name)
    except (ValueError, TypeError):
        return court_text(name) or "another re-sampling"
    return f"{side} px on the shorter side, JPEG quality {quality}"


def declaration(ref: Callable[[str], str]) -> tuple[str, ...]:
    """The examiner's declaration; ``ref(key)`` names a section by its number in the report being drawn."""
    return (
        "I declare that this report sets out the examination I carried out and the results I obtained. The automated "
        f"findings in the sections up to {ref('limitations')} were produced by the software and models described in "
        f"{ref('methods')}, whose identities (SHA-256 hashes) are recorded in this report; I have reviewed them. The "
        f"conclusion in {ref('conclusion')} is my own opinion, within my expertise, and is kept apart from the "
        "automated findings. I understand that my duty is to the court, that I must be objective and unbiased, and "
        f"that I must state the limits of my examination, which are set out in {ref('limitations')}. I confirm that "
        "the evidence file was not modified by the examination.",
    )


GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "Likelihood ratio (LR)",
        "How many times more probable the detector's score is if one proposition is true than if the other is. An LR "
        "of 20 in favour of a proposition means the score is 20 times more probable under it. It is not the "
        "probability that the proposition is true: that also depends on the other evidence and on prior odds, which "
        "are for the court.",
    ),
    (
        "Verbal scale",
        "The words used for the size of an LR, after the ENFSI guideline: weak support (2 to 10), "
        "moderate (10 to 100), moderately strong (100 to 1,000), strong (1,000 to 10,000), very strong (10,000 or "
        "more); between 1/2 and 2 the findings support neither proposition.",
    ),
    (
        "Inconclusive",
        "A score inside the band where, on the validation faces, the detector could not tell camera originals from "
        "manipulated or generated faces reliably enough. No verdict is given; the LR is still stated.",
    ),
    (
        "False accusation rate",
        "The share of camera-original validation faces the detector called manipulated or generated (a false "
        "positive).",
    ),
    (
        "Missed fake rate",
        f"The share of manipulated or generated validation faces the detector called '{Verdict.REAL}' (a false "
        "negative).",
    ),
    (
        "95 % interval",
        "The range within which the true rate lies with 95 % confidence, given how many faces it was measured on "
        "(Wilson interval for rates, bootstrap for other figures).",
    ),
    (
        "Leave-source-out test",
        "A test in which one source of images (a camera collection, a kind of fake) is left out of training and "
        "calibration and then examined: how the method does on sources it has never seen.",
    ),
    (
        "Grad-CAM",
        "Gradient-weighted class activation mapping: a coarse map of the image regions that raised the detector's "
        "score, computed from one of its last layers.",
    ),
    (
        "LRP",
        "Layer-wise relevance propagation: a pixel-level map that shares the detector's output among the input pixels "
        "by passing it back through the network layer by layer.",
    ),
    (
        "Explanation agreement",
        "How much two explanation maps of the same face agree: the overlap of their most relevant pixels.",
    ),
    (
        "Explanation faithfulness",
        "Whether the pixels a map calls relevant really drive the score: removing them first should lower the score "
        "faster than removing other pixels.",
    ),
    (
        "ELA",
        "Error level analysis: the image is saved again as JPEG and the difference is shown; regions with a different "
        "compression history can stand out. It directs the eye and does not decide.",
    ),
    (
        str(Verdict.REAL).capitalize(),
        "The verdict for a face in which the detector found no trace of manipulation or generation. It states what "
        "this detector found, not that the face is original: it does not exclude methods the detector was not "
        "trained on, and how often such methods were missed is stated with each such verdict.",
    ),
    ("SHA-256", "A 64-character fingerprint of a file or of data: any change to the content changes it."),
)


def _yes(v: Any) -> str:
    return "yes" if v else "no"


def settings_rows(bundle: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The appendix: every analysis and report setting, written in words (the bundle has the machine form)."""
    an = bundle.get("analysis") or {}
    o = an.get("options") or {}
    ro = bundle.get("report_options") or {}
    env = bundle.get("environment") or {}
    from forensics.explainers import method_title
    from forensics.faces.detect import FACE_METHODS
    from forensics.segmentation import segmenter_title

    def finder(name: Any) -> str:
        m = FACE_METHODS.get(str(name))
        return m.title if m is not None else str(name or "not recorded")

    rows = [
        ("Face finder requested", finder(o.get("face_method"))),
        ("Face finder used", finder(an.get("face_method"))),
        ("Smallest face analysed", f"{o.get('min_face_size')} pixels" if o.get("min_face_size") else "no limit"),
        ("Most faces analysed", str(o.get("max_faces")) if o.get("max_faces") else "no limit"),
        (
            "Margin around each face",
            "the default" if o.get("margin") is None else f"{100 * float(o['margin']):.0f} % of the face box",
        ),
        ("Face crop size", "the detector's default" if o.get("crop_size") is None else f"{o['crop_size']} pixels"),
        ("Detectors", ", ".join(o.get("detectors") or an.get("models") or []) or "the default"),
        ("Detectors without trained weights allowed", _yes(o.get("allow_untrained"))),
        ("Explanation methods", ", ".join(method_title(m) for m in ro.get("explainers") or []) or "none"),
        ("Detector explained", str(ro.get("explained_detector") or "none")),
        (
            "Face regions from",
            segmenter_title(str(ro["segmenter"])) if ro.get("segmenter") else "not computed",
        ),
        (
            "Classic checks",
            "all" if ro.get("checks") is True else ", ".join(ro["checks"]) if ro.get("checks") else "not run",
        ),
        ("Additional weight folders", "yes (listed in the JSON bundle)" if ro.get("weights_dirs") else "none"),
        ("Computing device", "the main processor (CPU)" if an.get("device") == "cpu" else str(an.get("device"))),
        (
            "Software",
            f"forensics {env.get('forensics', '?')} with Python {env.get('python', '?')}, PyTorch "
            f"{env.get('torch', '?')}, fpdf2 {env.get('fpdf2', '?')} (every version is in the JSON bundle)",
        ),
    ]
    tol = (bundle.get("verification") or {}).get("float_rel_tol")
    if tol is not None:
        rows.append(("Re-run tolerance", f"numbers must agree to within {num(100 * float(tol), 4)} % on a re-run"))
    return rows
