"""Every sentence about explanation maps: how two maps agree, how faithful a map is, which of several is the more
faithful, and what was measured about a method (localisation on known edits, the randomisation sanity check).

One set of thresholds, used by the dashboard, the ``explain`` command and the court report alike:

- agreement: the overlap (intersection over union) of the two maps' most relevant tenth of the pixels; at least
  ``AGREE_WELL`` "agree well", at least ``AGREE_PARTLY`` "agree partly", else "largely disagree" (two random maps
  overlap by about 0.05). The rank correlation over all pixels is quoted beside it;
- faithfulness: insertion AUC minus deletion AUC of the map; at least ``FAITHFUL`` "faithful", above
  ``PARTLY_FAITHFUL`` "partly faithful", else "not shown to be faithful"; two maps within ``EVEN`` of each other are
  "about equally faithful".

    >>> agreement_sentence("Grad-CAM", "LRP", {"iou": {"0.1": 0.6}, "spearman": 0.7})[:33]
    'Grad-CAM and LRP agree well: thei'
    >>> faithfulness_words(0.1)[:15]
    'partly faithful'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forensics.wording.numbers import pct

AGREEMENT_TOP = "0.1"  # key of the top-k IoU the words are read from: the most relevant tenth of the pixels
AGREE_WELL = 0.5
AGREE_PARTLY = 0.25
FAITHFUL = 0.2
PARTLY_FAITHFUL = 0.05
EVEN = 0.05
# a region's relevance and its blurring disagree when the map gives it at least REGION_SHARE of the relevance but
# blurring it does not lower the score, or blurring lowers the score by BLUR_DROP though the map gives it less
REGION_SHARE = 0.05
BLUR_DROP = 0.05


def map_sentence(title: str, target_name: str, probability: float) -> str:
    """What a map shows: the class it explains and that class's calibrated probability (not the face's score, which
    sums every fake class: the verdict reads that)."""
    return f"{title} map of what raised the detector's probability of '{target_name}' ({pct(probability)})"


def agreement_sentence(title_a: str, title_b: str, ag: Mapping[str, Any]) -> str:
    """How two maps of the same face agree, in words (the thresholds above), with the figures."""
    iou = (ag.get("iou") or {}).get(AGREEMENT_TOP)
    rho = ag.get("spearman")
    if iou is None:
        return f"{title_a} and {title_b} cannot be compared: one of the maps is constant (nothing to rank)"
    words = "agree well" if iou >= AGREE_WELL else "agree partly" if iou >= AGREE_PARTLY else "largely disagree"
    text = (
        f"{title_a} and {title_b} {words}: their most relevant tenth of the pixels overlaps by {pct(iou)} "
        "(intersection over union)"
    )
    if rho is not None:
        text += f"; rank correlation over all pixels {rho:.2f}"
    if iou < AGREE_PARTLY:
        text += "; they point at different pixels, so neither should be read alone"
    return text


def faithfulness_words(difference: float) -> str:
    """A map's faithfulness (insertion AUC minus deletion AUC) in words."""
    if difference >= FAITHFUL:
        return (
            "faithful: removing its most relevant pixels first lowers the probability much faster than removing others"
        )
    if difference > PARTLY_FAITHFUL:
        return "partly faithful: its most relevant pixels matter, but not much more than the rest"
    return (
        "not shown to be faithful: removing its most relevant pixels first changes the probability little more "
        "than removing others"
    )


def faithfulness_sentence(title: str, f: Mapping[str, Any]) -> str | None:
    """One map's faithfulness with its figures; None when it was not computed."""
    if f.get("difference") is None:
        return None
    return (
        f"{title} is {faithfulness_words(float(f['difference']))} (probability left after deleting pixels in order "
        f"of relevance, averaged: {pct(f.get('deletion_auc'))}; after inserting them: {pct(f.get('insertion_auc'))})"
    )


def faithfulness_comparison(by_title: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Which of several maps of one face is the more faithful; None for fewer than two measured maps."""
    diffs = {t: float(f["difference"]) for t, f in by_title.items() if f and f.get("difference") is not None}
    if len(diffs) < 2:
        return None
    best = max(diffs, key=lambda t: diffs[t])
    other = min(diffs, key=lambda t: diffs[t])
    if diffs[best] <= PARTLY_FAITHFUL:
        return "no map is shown to be faithful here: read them as pictures of the model, not of the evidence"
    if diffs[best] - diffs[other] < EVEN:
        return f"{best} and {other} are about equally faithful here"
    return f"{best} is the more faithful here: the pixels it marks move the probability more than those {other} marks"


def localisation_sentence(n: int, pointing: float, chance: float) -> str:
    """How often a method pointed at an edited part of faces with known edits."""
    return (
        f"on {n} edits with known regions, this method pointed at an edited part in {pointing:.0%} "
        f"(chance {chance:.0%})"
    )


def measured_sentence(title: str, note: Mapping[str, Any], loaded_sha256: str | None) -> str:
    """What was measured about a method on a detector (``forensics.explainers.measured.method_note``'s figures):
    localisation on known edits (held-out edits first), the cascading randomisation check, and whether on the weights
    that are loaded."""
    parts = []
    loc = note.get("localisation")
    if loc and loc.get("faces"):
        held = loc.get("held_out")
        if held:
            parts.append(
                localisation_sentence(int(held["faces"]), float(held["pointing"]), float(held["chance"]))
                + f" on held-out edits; on all {int(loc['faces'])}, training edits included, "
                f"{float(loc['pointing']):.0%} (chance {float(loc['chance']):.0%})"
            )
        else:
            parts.append(localisation_sentence(int(loc["faces"]), float(loc["pointing"]), float(loc["chance"])))
    else:
        parts.append("localisation not measured")
    san = note.get("sanity")
    if san:
        verdict = (
            "passed"
            if san.get("passed")
            else "FAILED: the map survives randomising the model's weights, so it shows the image more than the "
            "decision"
        )
        rho = san.get("worst_median_spearman")
        parts.append(
            f"sanity check (cascading randomisation) {verdict}"
            + ("" if rho is None else f" (median rank correlation {float(rho):.2f})")
        )
    else:
        parts.append("sanity check not measured")
    text = f"{title}: " + "; ".join(parts) + "."
    if note.get("measured") and not note.get("same_weights"):
        text += (
            f" Measured on weights {str(note.get('measured_on_sha256'))[:12]}, not on the loaded file "
            f"{str(loaded_sha256)[:12] if loaded_sha256 else '(untrained)'}: figures of another model."
        )
    return text


def blur_disagreement_sentences(table: Any) -> list[str]:
    """Regions where blurring and the map tell different stories (thresholds above): a difference worth a second
    look, not a test. ``table`` is a region table with the blur-one-region changes (``occlusion_delta``)."""
    out = []
    for r in table.present:
        if r.occlusion_delta is None or r.region == "unassigned":
            continue
        if r.share >= REGION_SHARE and r.occlusion_delta >= 0:
            out.append(
                f"{r.region}: the map gives it {r.share:.0%} of the relevance, but blurring it does not lower "
                f"the score (change {r.occlusion_delta:+.3f})."
            )
        elif r.share < REGION_SHARE and r.occlusion_delta <= -BLUR_DROP:
            out.append(
                f"{r.region}: blurring it lowers the score by {-r.occlusion_delta:.3f}, but the map gives it "
                f"only {r.share:.0%} of the relevance."
            )
    return out
