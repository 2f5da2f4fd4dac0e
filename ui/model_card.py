"""The model card of one loaded detector (Models page)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from forensics.calibration import error_rate_rows


def model_card(info: dict[str, Any]) -> None:
    """The model card of one loaded detector: training data, licence, metrics, intended use, failure modes."""
    card = info.get("card") or {}
    st.markdown(f"**{info.get('name')}** · {info.get('architecture')} · input {info.get('input_size')} px · "
                f"classes {', '.join(info.get('classes') or ())} · ready: {info.get('ready')}")
    rows = [("training data", card.get("training_data", "")), ("licence", card.get("licence", "")),
            ("intended use", card.get("intended_use", "")), ("reproduce", card.get("reproduce", "")),
            ("weights file", info.get("weights_file") or "-"), ("weights sha256", info.get("weights_sha256") or "-")]
    st.table({"item": [r[0] for r in rows], "value": [str(r[1]) for r in rows]})
    lso = card.get("leave_source_out")
    if lso:
        from forensics.training.leave_out import table_markdown

        st.markdown("**Sources it never saw (leave-source-out)**: the measurement that predicts evidence from a new "
                    "camera, generator or swap tool; in-sample validation does not.")
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
    if card.get("metrics"):
        st.markdown("**Recorded metrics**")
        st.json(card["metrics"], expanded=False)
    cal = info.get("calibration")
    if cal:
        bias = ", ".join(f"{b:+.2f}" for b in cal.get("class_bias") or [])
        st.markdown(f"**Calibration**: temperature {cal['temperature']:.3g}"
                    + (f", class biases ({bias})" if bias else "") + ", inconclusive band "
                    f"[{cal['band'][0]:.3f}, {cal['band'][1]:.3f}), fitted on {cal.get('fitted_on') or '?'}")
        rows = error_rate_rows(cal.get("error_rates") or {})
        if rows:
            st.caption("Errors of this band on the validation faces, as the files are and after each re-sampling the "
                       "threshold was fitted to hold under:")
            st.dataframe(rows, hide_index=True, key="models_error_rates")
        st.json(cal.get("error_rates", {}), expanded=False)
    else:
        st.caption("No calibration: this detector gives no verdict.")

