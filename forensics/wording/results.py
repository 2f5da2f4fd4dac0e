"""Every sentence about one detector's result on one face, and the report's one-line summary of it.

``score_sentences`` gives the whole card, in order, as ``Sentence(topic, text, tone)``: the command line prints
``label: text`` lines, the dashboard lays them out as a card (``tone`` picks the colour or the warning box) and the
court report as rows of its results table. Nothing else words a result.

The low verdict states a finding, never authenticity ("no sign of manipulation found"); with it come the error rate
it carries on validation and, from the calibration, how often the detector missed fakes of kinds it was never trained
on (or that this was not measured). A likelihood ratio capped at the calibration's bounds says so.

    >>> from forensics.calibration.novelty import Novelty
    >>> novelty_sentence(None)
    'novelty not measured: this detector has no novelty model'
    >>> novelty_sentence(Novelty(2.0, 1.5, 0.99))[:40]
    'novelty 2.00 (beyond the threshold 1.50;'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from forensics.verdicts import Verdict
from forensics.wording.numbers import lr_in_favour, lr_number, pct, pct_of

if TYPE_CHECKING:
    from forensics.calibration.fitted import Assessment
    from forensics.calibration.novelty import Novelty
    from forensics.calibration.stability import Stability
    from forensics.pipeline.results import DetectorScore

UNLIKE = "unlike the faces this detector was trained on"

# the label each topic is printed under (command line, report rows); the dashboard shows the same words
LABELS: dict[str, str] = {
    "verdict": "Result",
    "why": "Why",
    "lr": "Likelihood ratio",
    "score": "Score",
    "error": "Known error rate",
    "unseen": "Unseen kinds of fakes",
    "stability": "Stability",
    "novelty": "Novelty",
    "caveat": "Caveat",
}


@dataclass(frozen=True)
class Sentence:
    """One sentence about a result. ``tone``: "" plain, "verdict" (coloured by verdict), "caveat" (a warning),
    "muted" (shown for completeness)."""

    topic: str
    text: str
    tone: str = ""

    @property
    def label(self) -> str:
        return LABELS[self.topic]


def quoted(verdict: Verdict | str) -> str:
    """A verdict inside a sentence: ``'no sign of manipulation found'``."""
    return f"'{verdict}'"


# ------------------------------------------------------------------------------------------- single sentences
def no_verdict_reason(score: DetectorScore) -> str:
    """Why a detector gives no verdict at all (as opposed to a verdict withheld for one face)."""
    what = "has no trained weights (explain-only)" if not score.ready else "has no calibration"
    return f"the detector {what}, so its score carries no evidential value"


def novelty_sentence(novelty: Novelty | None) -> str:
    """How far the face lies from the detector's training faces, or that this was not measured."""
    if novelty is None:
        return "novelty not measured: this detector has no novelty model"
    where = "beyond" if novelty.beyond else "within"
    return (
        f"novelty {novelty.score:.2f} ({where} the threshold {novelty.threshold:.2f}; farther from this detector's "
        f"training faces than {novelty.percentile:.1%} of held-out training faces)"
    )


def novelty_reason(novelty: Novelty) -> str:
    """Why a verdict becomes inconclusive for a face beyond the novelty threshold."""
    return f"{UNLIKE}: {novelty_sentence(novelty)}"


def stability_sentence(stability: Stability, *, verdict_given: bool = True) -> str:
    """Whether the verdict holds when the file is re-compressed and re-scaled, with the spread of the score; the
    spread alone when no verdict is given (nothing to call unstable then)."""
    names = ", ".join(c.condition for c in stability.conditions)
    spread = (
        f"score {stability.p_fake_min:.3f} to {stability.p_fake_max:.3f} (spread {stability.spread:.3f}) over the "
        f"file as it is and re-saved as {names}"
    )
    if not verdict_given or stability.verdict_changes is None or stability.verdict is None:
        return spread
    moved = stability.changed()
    if not moved:
        return f"stable: the verdict stays {quoted(stability.verdict)}; {spread}"
    changes = ", ".join(f"{quoted(c.verdict or Verdict.NONE)} under {c.condition}" for c in moved)
    return f"unstable: the verdict {quoted(stability.verdict)} becomes {changes}; {spread}"


def lr_sentence(a: Assessment) -> str:
    """The likelihood ratio in favour of the proposition it supports, its ENFSI words, and its cap when the
    calibration's bounds capped it."""
    cap = "" if a.lr_bound is None else f" (capped at {lr_number(a.lr_bound)}, the most the validation data support)"
    return f"{lr_in_favour(a.likelihood_ratio)}{cap}: {a.verbal}"


def score_sentence(score: DetectorScore) -> str:
    """The score and, with a verdict, the band that turns it into one."""
    a = score.assessment
    if a is not None:
        lo, hi = a.band
        return (
            f"calibrated score {a.p_fake:.3f} on a scale from 0 to 1: below {lo:.3f} the verdict is "
            f"{quoted(Verdict.REAL)}, from {hi:.3f} {quoted(Verdict.FAKE)}, in between {quoted(Verdict.INCONCLUSIVE)}"
        )
    if score.withheld is not None:
        return f"calibrated score {score.p_fake:.3f}, shown as a number only: no verdict is drawn from it for this face"
    return f"uncalibrated score {score.p_fake:.3f}, shown for completeness only"


def _share(k: Any, n: Any, rate: float) -> str:
    return pct_of(k, n) if k is not None and n else pct(rate)


def error_rate_sentence(a: Assessment, calibration: Mapping[str, Any] | None) -> str:
    """The error rate measured on validation that bears on the verdict actually given."""
    er = (calibration or {}).get("error_rates") or {}
    if a.verdict == Verdict.FAKE:
        return (
            f"{_share(er.get('false_positives'), er.get('n_real'), a.false_positive_rate)} of the camera originals "
            f"in validation were called {quoted(Verdict.FAKE)} at this rule (false accusations)"
        )
    if a.verdict == Verdict.REAL:
        return (
            f"{_share(er.get('false_negatives'), er.get('n_fake'), a.false_negative_rate)} of the manipulated or "
            f"generated faces in validation were called {quoted(Verdict.REAL)} at this rule (missed fakes)"
        )
    return (
        "an inconclusive result claims neither proposition, so it has no false-accusation or miss rate; how often "
        "validation faces fell in the band is stated with the detector's validation"
    )


def unseen_kinds_sentence(calibration: Mapping[str, Any] | None) -> str:
    """How often the detector missed fakes of kinds it was not trained on (leave-out folds), or "not measured"."""
    head = "how often this detector missed fakes of kinds it was not trained on"
    m = (calibration or {}).get("leave_out_miss_rate")
    if not m or not m.get("n"):
        return f"{head}: not measured"
    folds = [str(f) for f in m.get("folds") or ()]
    where = f" (leave-out folds {', '.join(folds)})" if folds else ""
    kind = f" of the {m['kind']}, the kind it missed most often," if m.get("kind") else ""
    return f"{head}: {pct_of(m['k'], m['n'])}{kind} were called {quoted(Verdict.REAL)} in leave-out tests{where}"


# ------------------------------------------------------------------------------------------- the whole card
def score_sentences(
    score: DetectorScore, model: Mapping[str, Any] | None = None, *, caveats: Sequence[str] = ()
) -> list[Sentence]:
    """Everything said about one detector's result on one face, in order. ``model`` is the analysis' record of
    the detector (its ``calibration`` holds the counts behind the error rates); ``caveats`` are
    ``forensics.calibration.domain.face_caveats`` for this face."""
    cal = (model or {}).get("calibration") or {}
    a = score.assessment
    if not score.ready or (a is None and score.withheld is None):
        return [
            Sentence("verdict", str(Verdict.NONE), "muted"),
            Sentence("why", no_verdict_reason(score)),
            Sentence("score", score_sentence(score), "muted"),
        ]
    if a is None:
        assert score.withheld is not None
        out = [Sentence("verdict", str(score.withheld.verdict), "muted")]
        out += [Sentence("why", why, "caveat") for why in score.withheld.reasons]
        out.append(Sentence("score", score_sentence(score), "muted"))
        if score.stability is not None:
            out.append(Sentence("stability", stability_sentence(score.stability, verdict_given=False)))
        out.append(Sentence("novelty", novelty_sentence(score.novelty)))
        return out
    out = [
        Sentence("verdict", str(a.verdict), "verdict"),
        Sentence("lr", lr_sentence(a)),
        Sentence("score", score_sentence(score)),
        Sentence("error", error_rate_sentence(a, cal)),
    ]
    if a.verdict == Verdict.REAL:
        out.append(Sentence("unseen", unseen_kinds_sentence(cal), "caveat"))
    if score.stability is not None:
        out.append(
            Sentence("stability", stability_sentence(score.stability), "caveat" if score.stability.unstable else "")
        )
    out.append(Sentence("novelty", novelty_sentence(score.novelty)))
    out += [Sentence("caveat", c, "caveat") for c in caveats]
    return out


def summary_sentence(face_number: int, detector: str, score: DetectorScore) -> str:
    """One sentence per face and detector for the report's summary: the finding, its LR, and why none was given."""
    head = f"Face {face_number}, detector {detector}"
    a = score.assessment
    if a is not None:
        unstable = (
            " Unstable: the verdict changes when the file is re-compressed or re-scaled."
            if score.stability is not None and score.stability.unstable
            else ""
        )
        return f"{head}: {a.verdict}. Likelihood ratio {lr_sentence(a)}.{unstable}"
    if score.withheld is not None and score.ready:
        return f"{head}: {score.withheld.verdict}, because {'; '.join(score.withheld.reasons)}."
    return f"{head}: {Verdict.NONE}, because {no_verdict_reason(score)}."


# ------------------------------------------------------------------------------------------- the detector's validation
def lr_validation_sentences(calibration: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(label, sentence) per likelihood-ratio validation the calibration records (``lr_validation``: validation
    faces and each leave-out fold): log-likelihood-ratio cost and the bounds the data support, then the cap applied."""
    cal = calibration or {}
    out = []
    for v in cal.get("lr_validation") or ():
        lo, hi = v["elub"]
        out.append(
            (
                "Likelihood ratios checked on",
                f"{v['data']}: log-likelihood-ratio cost (Cllr) {v['cllr']:.3f} (0 is perfect, 1 is a detector "
                f"that always says 1), of which {v['cllr_cal']:.3f} is lost to calibration (Cllr-min "
                f"{v['cllr_min']:.3f}); {v['misleading_real']} of {v['n_real']} camera originals and "
                f"{v['misleading_fake']} of {v['n_fake']} manipulated or generated faces got a ratio pointing the "
                f"wrong way; these faces support ratios from 1 in {lr_number(10**-lo)} to {lr_number(10**hi)} "
                "at most (empirical lower and upper bounds)",
            )
        )
    bounds = cal.get("lr_bounds")
    if bounds:
        out.append(
            (
                "Likelihood ratios capped",
                f"every reported ratio lies between 1 in {lr_number(1 / float(bounds[0]))} and "
                f"{lr_number(float(bounds[1]))}: the narrowest bounds the checks above support",
            )
        )
    return out


def low_edge_sentence(calibration: Mapping[str, Any] | None) -> str | None:
    """How the low edge of the band (below it: no sign of manipulation found) was chosen, when leave-out folds
    chose it; None when validation alone did."""
    le = (calibration or {}).get("low_edge")
    if not le:
        return None
    share = le.get("real_share_below")
    return (
        f"the score below which {quoted(Verdict.REAL)} is said was lowered from {le['validation_edge']:.3f} "
        f"(validation) to {le['chosen']:.3f} so that at most {pct(le.get('target'))} of the fakes of each kind left "
        f"out of training fell below it in leave-out tests; {pct(share)} of validation camera originals score "
        "below it"
    )
