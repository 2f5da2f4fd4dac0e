"""The model card of one loaded detector (Models page)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from forensics.calibration import error_rate_rows
from ui.common import plain


def flat_metrics(metrics: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Every number or short text of a (nested) metrics dict as a row: where it is, and its value."""
    if isinstance(metrics, dict):
        return [r for k, v in metrics.items() for r in flat_metrics(v, f"{prefix} / {k}" if prefix else str(k))]
    if isinstance(metrics, (list, tuple)):
        if all(isinstance(v, (int, float)) for v in metrics) and len(metrics) <= 3:
            return [{"metric": prefix, "value": ", ".join(f"{v:.4g}" for v in metrics)}]
        return [r for i, v in enumerate(metrics) for r in flat_metrics(v, f"{prefix} [{i}]")]
    if isinstance(metrics, float):
        return [{"metric": prefix, "value": f"{metrics:.4g}"}]
    return [{"metric": prefix, "value": str(metrics)}]


_STRUCTURE = {"evaluation", "conditions", "models", "auc_per_kind", "auc", "value"}  # container keys, not facts


def below_chance(metrics: Any, path: str = "") -> list[tuple[str, float]]:
    """Every AUC under 0.5 in a metrics dict (an AUC's value is a number or {"value": number, ...})."""
    out = []
    if isinstance(metrics, dict):
        for k, v in metrics.items():
            here = f"{path} / {k}" if path else str(k)
            val = v.get("value") if isinstance(v, dict) and "value" in v else v
            if "auc" in str(k).lower() and isinstance(val, (int, float)) and val < 0.5:
                out.append((here, float(val)))
            elif isinstance(v, dict):
                out += below_chance(v, here)
    return out


def model_card(info: dict[str, Any]) -> None:
    """The model card of one loaded detector: training data, licence, metrics, intended use, failure modes."""
    card = info.get("card") or {}
    st.markdown(
        f"**{info.get('name')}** · {info.get('architecture')} · input {info.get('input_size')} px · "
        f"classes {', '.join(info.get('classes') or ())} · ready: {info.get('ready')}"
    )
    if info.get("ready") and not info.get("calibration"):
        st.warning(
            "Ready (its weights are verified) but not calibrated: it never gives a verdict. Its scores are "
            "shown as numbers only and carry no stated error rate.",
            icon=":material/block:",
        )
    for where, auc in below_chance(card.get("metrics") or {}):
        where = ", ".join(p for p in where.split(" / ") if p not in _STRUCTURE and p != info.get("name"))
        st.warning(
            f"AUC {auc:.2f} ({where or 'overall'}) is below chance (0.5): on those faces its scores point the "
            "wrong way more often than not. Do not read its scores on such evidence.",
            icon=":material/trending_down:",
        )
    rows = [
        ("training data", card.get("training_data", "")),
        ("licence", card.get("licence", "")),
        ("intended use", card.get("intended_use", "")),
        ("reproduce", card.get("reproduce", "")),
        ("weights file", info.get("weights_file") or "-"),
        ("weights sha256", info.get("weights_sha256") or "-"),
    ]
    st.table({"item": [r[0] for r in rows], "value": [str(r[1]) for r in rows]})
    lso = card.get("leave_source_out")
    if lso:
        from forensics.training.leave_out import table_markdown

        st.markdown(
            "**Sources it never saw (leave-source-out)**: the measurement that predicts evidence from a new "
            "camera, generator or swap tool; in-sample validation does not."
        )
        st.caption(lso.get("protocol", ""))
        st.markdown("\n".join(table_markdown(lso["rows"])))
    if card.get("failure_modes"):
        st.markdown("**Known failure modes**")
        for f in card["failure_modes"]:
            st.markdown(f"- {f}")
    sides = card.get("training_image_sides")
    if sides:
        from forensics.training.export import side_table

        with st.expander(f"Training images by size ({sides['measure']}): what the size caveat on Detect reads"):
            st.markdown("\n".join(side_table(sides)))
    evaluation = (card.get("metrics") or {}).get("evaluation")
    if evaluation:
        from forensics.training.export import evaluation_tables

        with st.expander("Evaluation (per kind, per real source, against the Meso-4 peer and the floor)"):
            st.markdown("\n".join(evaluation_tables(evaluation, card["metrics"].get("evaluation_command", ""))))
    roc_chart(str(info.get("name")), card.get("roc"), info.get("weights_sha256"))
    if card.get("metrics"):
        st.markdown("**Recorded metrics**")
        with st.expander("As a table"):
            st.dataframe(
                flat_metrics({k: v for k, v in card["metrics"].items() if k != "evaluation"}),
                hide_index=True,
                width="stretch",
                key="models_metrics",
            )
        with st.expander("As recorded (JSON)"):
            st.json(card["metrics"], expanded=False)
    cal = info.get("calibration")
    if cal:
        bias = ", ".join(f"{b:+.2f}" for b in cal.get("class_bias") or [])
        st.markdown(
            f"**Calibration**: temperature {cal['temperature']:.3g}"
            + (f", class biases ({bias})" if bias else "")
            + ", inconclusive band "
            f"[{cal['band'][0]:.3f}, {cal['band'][1]:.3f}), fitted on {fitted_on(cal)}"
        )
        from forensics.viz.calibration import calibration_figure

        st.plotly_chart(
            calibration_figure(cal), width="stretch", key="models_calibration", config={"displayModeBar": False}
        )
        st.caption(
            "What a calibrated score means: the likelihood ratio it stands for (the curve) and the verdict it "
            "draws (the shaded zones)."
        )
        rows = error_rate_rows(cal.get("error_rates") or {})
        if rows:
            st.caption(
                "Errors of this band on the validation faces, as the files are and after each re-sampling the "
                "threshold was fitted to hold under:"
            )
            st.dataframe(rows, hide_index=True, key="models_error_rates")
        lr_validation(cal)
        with st.expander("Error rates as recorded (JSON)"):
            st.json(cal.get("error_rates", {}), expanded=False)
    else:
        st.caption("No calibration: this detector gives no verdict.")


def roc_chart(name: str, roc: dict[str, Any] | None, weights_sha256: str | None) -> None:
    """The ROC curve the card keeps, with where it was measured under it; a message when the card has none."""
    st.markdown("**ROC curve**")
    if not roc:
        st.info(
            f"No ROC curve in the card of {plain(name)}: its figures were not measured by an evaluation that "
            f"stores one (`python -m forensics evaluate DATA_DIR --detector {plain(name)} --update-card "
            f"{plain(name)}`).",
            icon=":material/show_chart:",
        )
        return
    from forensics.viz.curves import stored_roc_figure

    st.plotly_chart(stored_roc_figure(roc, name), width="stretch", key="models_roc", config={"displayModeBar": False})
    st.caption(plain(roc_provenance(roc)))
    if weights_sha256 and roc.get("weights_sha256") != weights_sha256:
        st.warning(
            "This curve was measured on other weights than the ones loaded now: re-run the evaluation before "
            "relying on it.",
            icon=":material/history:",
        )


def roc_provenance(roc: dict[str, Any]) -> str:
    """Where a card's ROC curve was measured, in one sentence."""
    return (
        f"Measured on {roc.get('n_real')} camera originals and {roc.get('n_fake')} manipulated or generated faces "
        f"of {roc.get('data_dir')} ({roc.get('condition')}), weights sha256 {roc.get('weights_sha256')}, on "
        f"{roc.get('measured')}, by: {roc.get('command')}"
    )


def fitted_on(cal: dict[str, Any]) -> str:
    """Where the calibration was fitted, with the ``{shared_data}`` placeholder of training configs filled in."""
    return str(cal.get("fitted_on") or "?").replace("{shared_data}", "../shared/data")


def lr_validation(cal: dict[str, Any]) -> None:
    """How the likelihood ratios were validated (Cllr, bounds, Tippett plots) and how the low edge was chosen."""
    from forensics.viz.calibration import tippett_figure
    from forensics.wording.results import low_edge_sentence, lr_validation_sentences

    edge = low_edge_sentence(cal)
    if edge:
        st.markdown(f"**Low edge of the band**: {edge}.")
    checks = cal.get("lr_validation") or []
    if not checks:
        st.caption("The likelihood ratios of this detector have not been validated (no Cllr, no bounds).")
        return
    st.markdown("**Likelihood ratios validated**")
    for label, text in lr_validation_sentences(cal):
        st.text(f"{label}: {text}")
    cols = st.columns(min(3, len(checks)))
    for i, v in enumerate(checks):
        with cols[i % len(cols)]:
            st.plotly_chart(
                tippett_figure(v), width="stretch", key=f"models_tippett_{i}", config={"displayModeBar": False}
            )
            st.caption(f"Tippett plot: {v['data']}")
