"""The dashboard through Streamlit's AppTest (headless, in-process): every page, uploads, errors, caching.

Evidence comes from the shipped examples (ui/examples, public domain / CC0) or is generated here. Detectors: the
small untrained "simplenet" (explain-only) everywhere, the published Meso-4 weights when ../shared/peers exists.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")
import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
EXAMPLES = ROOT / "ui" / "examples"
VERDICTS = ("manipulated or generated", "camera original", "inconclusive")
TIMEOUT = 300


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()


def _app(detectors: list[str] | None = None, face_method: str = "auto", page: str = "pages/detect.py") -> AppTest:
    # one run of the app first: the sign-in gate (single-user mode here) opens the session's case, which pages that
    # keep their work in it read; AppTest runs a page switched to without the app script around it
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if detectors is not None:
        at.session_state["sidebar_detectors"] = detectors
    at.session_state["sidebar_face_method"] = face_method
    return at.run().switch_page(page).run()  # the landing page is the default


def _set_evidence(at: AppTest, path: Path) -> None:
    import hashlib

    from ui.state import EVIDENCE_KEY, Upload

    data = path.read_bytes()
    at.session_state[EVIDENCE_KEY] = Upload(path.name, data, hashlib.sha256(data).hexdigest(), "example")


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
    parts += [i.value for i in at.info] + [e.value for e in at.error] + [s.value for s in at.success]
    parts += [c.value for c in at.code]
    return "\n".join(str(p) for p in parts)


def _captions(at: AppTest) -> list[str]:
    return [c for img in at.image for c in img.captions]


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# --------------------------------------------------------------------------------------------------- landing page
def test_landing_page_says_what_each_page_is_for_and_in_which_order():
    from ui.guide import PAGES, STEPS

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _no_exception(at)
    assert [t.value for t in at.title] == ["Face forensics workbench"]
    text = _texts(at)
    assert all(what in text for *_, what in PAGES) and len(PAGES) == 8
    links = [el.proto.label for el in at.get("page_link")]
    assert links[:STEPS] == [f"{i}. {title}" for i, (_, title, _, _) in enumerate(PAGES[:STEPS], 1)]
    assert links[STEPS:] == [title for _, title, _, _ in PAGES[STEPS:]]


# --------------------------------------------------------------------------------------------------- Detect
def test_detect_upload_explain_only_detector_gives_no_verdict():
    at = _app(["simplenet"])
    _no_exception(at)
    assert "Choose a photo" in _texts(at)
    data = (EXAMPLES / "astronaut.jpg").read_bytes()
    at.file_uploader(key="detect_upload").upload("astronaut.jpg", data, "image/jpeg").run()
    _no_exception(at)
    text = _texts(at)
    import hashlib

    assert hashlib.sha256(data).hexdigest() in text  # the evidence hash is shown
    assert "Explain-only" in text and "no verdict" in text
    assert "Verdict:" not in text and not any(f"[{v}]" in text for v in VERDICTS)  # untrained: no verdict
    assert any("aligned crop" in c for c in _captions(at))  # the face crop
    assert "Face 1" in [h.value for h in at.subheader]  # numbered from 1, as the boxes of the overview and the PDF
    assert f"SHA-256 {hashlib.sha256(data).hexdigest()}" in [c.value for c in at.code]  # whole, not cut off
    overview = at.get("plotly_chart")[0].proto.spec
    assert '"customdata":[1]' in overview.replace(" ", "")  # the clickable number of face 1
    # the known failure modes: once for the whole evidence, not under every face
    assert sum(e.label.startswith("Where simplenet is known to fail") for e in at.expander) == 1


def test_detect_several_uploads_give_a_results_table_and_one_to_examine():
    import hashlib

    at = _app(["simplenet"])
    files = [(n, (EXAMPLES / n).read_bytes(), "image/jpeg") for n in ("astronaut.jpg", "coffee_no_face.jpg")]
    at.file_uploader(key="detect_upload").set_value(files).run()
    _no_exception(at)
    table = _batch_table(at)
    assert list(table["file"]) == ["astronaut.jpg", "coffee_no_face.jpg"]
    assert list(table["sha256"]) == [hashlib.sha256(d).hexdigest() for _, d, _ in files]
    assert list(table["faces"]) == [1, 0] and "face 1: no verdict" in table["result"][0]
    assert at.session_state["forensics_evidence"].name == "astronaut.jpg"  # the first is examined face by face
    at.selectbox(key="detect_batch_pick").set_value(1).run()
    _no_exception(at)
    assert at.session_state["forensics_evidence"].name == "coffee_no_face.jpg"
    assert any("No face analysed" in w.value for w in at.warning)
    assert len(_batch_table(at)) == 2  # the table stays while one file is examined


def _batch_table(at: AppTest):
    return next(df.value for df in at.dataframe if {"file", "result"} <= set(df.value.columns))


def test_detect_verdict_matches_calibration(peer_weights, monkeypatch):
    """A ready detector with a calibration: the page shows exactly the verdict and LR the library computes."""
    from forensics.calibration import fit_calibration
    from forensics.evidence import load_evidence
    from forensics.pipeline import AnalyzeOptions, analyze, get_detector

    rng = np.random.default_rng(0)
    logits = np.concatenate([rng.normal([1, -1], 1.0, (300, 2)), rng.normal([-1, 1], 1.0, (300, 2))])
    labels = np.array([0] * 300 + [1] * 300)
    cal = fit_calibration(logits, labels, fitted_on="synthetic scores (test)")
    det = get_detector("meso4-df")
    assert det.ready
    monkeypatch.setattr(det, "calibration", cal)
    expected = (
        analyze(
            load_evidence(EXAMPLES / "astronaut.jpg"),
            detectors=["meso4-df"],
            options=AnalyzeOptions(face_method="auto"),
        )
        .faces[0]
        .scores["meso4-df"]
        .assessment.to_dict()
    )
    at = _app(["meso4-df"])
    at.radio(key="detect_source").set_value("Shipped example").run()
    at.selectbox(key="detect_ex").set_value("astronaut.jpg").run()
    _no_exception(at)
    text = _texts(at)
    colour = {VERDICTS[0]: "red", VERDICTS[1]: "green", VERDICTS[2]: "orange"}[expected["verdict"]]
    assert f"Verdict: :{colour}[{expected['verdict']}]" in text
    assert expected["statement"] in text
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["calibrated p(fake)"] == f"{expected['p_fake']:.3f}"
    from forensics.formatting import lr_in_favour

    # one wording of the LR, the report's: in favour of the proposition it supports, never a bare fraction
    assert f"**LR {lr_in_favour(expected['likelihood_ratio'])}** ({expected['verbal']})" in text
    from forensics.calibration import Assessment
    from ui.verdicts import error_rate_sentence

    assert error_rate_sentence(Assessment.from_dict(expected)) in text and "Inconclusive band" in text
    # provenance: the model file hash is shown (the evidence metadata is a data frame too, on its own tab)
    assert any(det.weights_sha256 in str(df.value.to_dict()) for df in at.dataframe)


def test_detect_withholds_the_verdict_on_a_face_cut_by_the_border(tmp_path):
    """The shipped portrait cut through the face at the left edge: Detect says why there is no verdict, shows the
    score as a number only, and says how stable the score is."""
    from PIL import Image

    cut = tmp_path / "cut_left.jpg"
    with Image.open(EXAMPLES / "astronaut.jpg") as im:
        im.convert("RGB").crop((202, 0, 512, 512)).save(cut, quality=95)
    at = _app(["ffd-mobilenetv2"])
    _set_evidence(at, cut)
    at.run()
    _no_exception(at)
    text = _texts(at)
    assert "Verdict: :gray[no verdict]" in text and "Not a whole face, so no verdict" in text
    assert "of this face lies outside the image" in text and "shown as a number only" in text
    assert "Score under re-compression: p_fake" in text
    assert not any(f"Verdict: :{c}[{v}]" in text for c, v in zip(("red", "green", "orange"), VERDICTS, strict=True))


def test_detect_shows_the_default_detectors_known_failure_modes():
    """The verdict comes with the model card's failure modes (e.g. unseen sharp camera originals) on the same page."""
    from forensics.pipeline import get_detector

    failures = get_detector("ffd-mobilenetv2").info()["card"]["failure_modes"]
    assert any("sources it never saw" in f for f in failures)
    at = _app(["ffd-mobilenetv2"])
    at.radio(key="detect_source").set_value("Shipped example").run()
    at.selectbox(key="detect_ex").set_value("astronaut.jpg").run()
    _no_exception(at)
    box = [e for e in at.expander if e.label.startswith("Where ffd-mobilenetv2 is known to fail")]
    assert len(box) == 1 and f"({len(failures)}, from its model card)" in box[0].label
    assert all(f in "".join(m.value for m in box[0].markdown) for f in failures)
    assert not any("source pixels" in w.value for w in at.warning)  # a 147 px face crop: common in training


def test_detect_warns_when_the_face_is_larger_than_the_real_training_faces(tmp_path):
    """The same portrait scaled up 7x: the face crop now spans more source pixels than nearly all camera originals
    the default detector was trained on, and the verdict card says so with the card's own shares."""
    from PIL import Image

    from forensics.calibration.domain import face_size_caveat

    big = tmp_path / "astronaut_x7.png"
    with Image.open(EXAMPLES / "astronaut.jpg") as im:
        im.convert("RGB").resize((im.width * 7, im.height * 7), Image.Resampling.LANCZOS).save(big)
    at = _app(["ffd-mobilenetv2"])
    _set_evidence(at, big)
    at.run()
    _no_exception(at)
    warnings = [w.value for w in at.warning if "source pixels" in w.value]
    assert len(warnings) == 1 and "camera originals this detector was trained on" in warnings[0]
    from forensics.evidence import load_evidence
    from forensics.pipeline import AnalyzeOptions, analyze

    an = analyze(load_evidence(big), detectors=["ffd-mobilenetv2"], options=AnalyzeOptions(face_method="auto"))
    assert warnings[0] == face_size_caveat(an, an.faces[0], "ffd-mobilenetv2")


def test_detect_warns_that_camera_original_is_weak_on_a_small_compressed_file(small_compressed_portrait):
    """A "camera original" verdict on a 180 px / JPEG 50 file: the verdict card carries the library's degradation
    caveat, word for word."""
    from forensics.calibration.domain import face_caveats
    from forensics.evidence import load_evidence
    from forensics.pipeline import AnalyzeOptions, analyze

    small = small_compressed_portrait
    at = _app(["ffd-mobilenetv2"])
    _set_evidence(at, small)
    at.run()
    _no_exception(at)
    an = analyze(load_evidence(small), detectors=["ffd-mobilenetv2"], options=AnalyzeOptions(face_method="auto"))
    expected = face_caveats(an, an.faces[0], "ffd-mobilenetv2")
    assert len(expected) == 1 and "weak evidence" in expected[0]
    assert [w.value for w in at.warning if "weak evidence" in w.value] == expected


def test_detect_no_ready_detector_message(monkeypatch):
    import forensics.detectors as fd

    statuses = [s for s in fd.list_detectors() if s.name == "simplenet"]
    monkeypatch.setattr(fd, "list_detectors", lambda *a, **k: statuses)
    monkeypatch.setattr(fd, "default_detector_names", lambda *a, **k: [])
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()  # the landing page (with the sidebar)
    # (AppTest shows the sidebar of the first run only; later runs keep its widgets' state)
    assert at.multiselect(key="sidebar_detectors").options == ["simplenet (explain-only, no verdict)"]
    assert at.session_state["sidebar_detectors"] == []
    _set_evidence(at, EXAMPLES / "coffee_no_face.jpg")
    at.switch_page("pages/detect.py").run()
    _no_exception(at)
    assert any("No ready detector" in w.value for w in at.warning)
    assert any("No detector chosen" in i.value for i in at.info)


def test_bad_upload_shows_error_and_other_pages_work():
    at = _app(["simplenet"])
    at.file_uploader(key="detect_upload").upload("broken.jpg", b"\xff\xd8\xff\xe0 this is not a JPEG", "image/jpeg")
    at.run()
    _no_exception(at)
    assert at.error and "cannot be analysed" in at.error[0].value
    at.switch_page("pages/models.py").run()
    _no_exception(at)
    assert not at.error
    names = set(at.dataframe[0].value["detector"])
    assert {"simplenet", "mobilenetv2"} <= names


def test_local_path_source_loads_a_file_and_rejects_a_missing_one(tmp_path):
    at = _app(["simplenet"])
    at.radio(key="detect_source").set_value("Local file path").run()
    at.text_input(key="detect_path").set_value(str(tmp_path / "nope.jpg")).run()
    at.button(key="detect_load").click().run()
    _no_exception(at)
    assert at.error and "is not a readable file" in at.error[0].value
    assert "forensics_evidence" not in at.session_state
    at.text_input(key="detect_path").set_value(str(EXAMPLES / "coffee_no_face.jpg")).run()
    at.button(key="detect_load").click().run()
    _no_exception(at)
    up = at.session_state["forensics_evidence"]
    assert up.name == "coffee_no_face.jpg" and up.origin == "path"
    assert up.data == (EXAMPLES / "coffee_no_face.jpg").read_bytes()


def test_no_face_is_a_result_not_an_error():
    at = _app(["simplenet"])
    _set_evidence(at, EXAMPLES / "coffee_no_face.jpg")
    at.run()
    _no_exception(at)
    assert any("No face analysed" in w.value for w in at.warning)


def test_switching_pages_recomputes_nothing(monkeypatch):
    import forensics.pipeline as fp

    calls = []
    real = fp.analyze

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(fp, "analyze", counting)
    at = _app(["simplenet"])
    _set_evidence(at, EXAMPLES / "astronaut.jpg")
    at.run()
    assert len(calls) == 1
    at.switch_page("pages/models.py").run()
    at.switch_page("pages/detect.py").run()
    _no_exception(at)
    assert len(calls) == 1
    at.session_state["sidebar_face_method"] = "whole"  # an option that changes the numbers does recompute
    at.run()
    assert len(calls) == 2


# --------------------------------------------------------------------------------------------------- Explain
@pytest.mark.slow
def test_explain_page_gradcam_and_lrp_side_by_side():
    import json

    at = _app(["simplenet"])
    _set_evidence(at, EXAMPLES / "astronaut.jpg")
    at.switch_page("pages/explain.py").run()
    _no_exception(at)
    assert at.selectbox(key="explain_cam").value == "gradcam"
    assert at.selectbox(key="explain_lrp").value == "lrp-epsilon"  # DEFAULT_LRP: passes the sanity check
    assert sum(c.value.startswith("why") for c in at.caption) == 2  # two maps with their target class
    labels = [m.label for m in at.metric]
    assert "Spearman ρ" in labels and "deletion AUC" in labels and "insertion AUC" in labels
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    heat = [c for c in charts if any(t.get("type") == "heatmap" for t in c["data"])]
    assert len(heat) == 2 and len(charts) == 4  # two maps over the photo, one deletion/insertion chart per map
    for c in heat:  # a colour scale on every map, laid over the photo at the slider's opacity
        h = next(t for t in c["data"] if t["type"] == "heatmap")
        assert h["colorbar"]["title"]["text"].startswith("relevance") and h["opacity"] == 0.5
        assert c["data"][0]["type"] == "image"
    # agreement and faithfulness in words beside the numbers
    words = " ".join(i.value for i in at.info)
    assert "The two maps" in words and "faithful" in words
    for m in at.metric:
        if m.label in ("deletion AUC", "insertion AUC"):
            assert 0.0 <= float(m.value) <= 1.0
    # ROAD is a section of its own, after the deletion/insertion numbers, and off by default
    heads = [h.value for h in at.subheader]
    assert heads.index("ROAD: a separate, slower test") > heads.index("Agreement and faithfulness")
    at.slider(key="explain_opacity").set_value(0.8).run()
    _no_exception(at)
    h = next(t for c in at.get("plotly_chart") for t in json.loads(c.proto.spec)["data"] if t["type"] == "heatmap")
    assert h["opacity"] == 0.8


# --------------------------------------------------------------------------------------------------- ELA
def test_ela_page_sliders_and_non_jpeg_caveat():
    import json

    from forensics.checks import list_checks

    at = _app(["simplenet"])
    _set_evidence(at, EXAMPLES / "astronaut_edited.jpg")
    at.switch_page("pages/ela.py").run()
    _no_exception(at)
    assert "Error level analysis (ELA)" in _texts(at)
    # every finding in one table at the top, the copy-move check among them
    summary = at.dataframe[0].value
    assert list(summary["check"]) == [c.title for c in list_checks() if c.name == "ela"] + [
        c.title for c in list_checks() if c.name != "ela"
    ]
    assert "Copy-move (cloned areas)" in list(summary["check"])
    assert at.subheader[0].value == "All findings"
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    linked = charts[0]  # original and ELA with linked zoom
    assert [t["type"] for t in linked["data"]] == ["image", "image"]
    assert linked["layout"]["xaxis2"]["matches"] == "x" and linked["layout"]["yaxis2"]["matches"] == "y"
    # every map over the photo carries a colour scale; the spectrum appears once (its figure, not also an image)
    maps = [c for c in charts if any(t["type"] == "heatmap" and "colorbar" in t for t in c["data"])]
    assert maps and all(t.get("colorbar", {}).get("title") for c in maps for t in c["data"] if t["type"] == "heatmap")
    assert not any("log spectrum" in c for c in _captions(at))
    outliers = [c.value for c in at.caption if c.value.startswith("noise outliers")]
    assert outliers == ["noise outliers: none found (the map is empty)."] or "noise outliers over the photo" in [
        c.value for c in at.caption
    ]
    at.slider(key="ela_quality").set_value(75).run()
    _no_exception(at)
    assert any(c.value.startswith("original (512×512) and ELA at quality 75, gain ×20") for c in at.caption)
    # a PNG: the JPEG-only caveat appears
    from PIL import Image

    buf = io.BytesIO()
    Image.open(EXAMPLES / "astronaut.jpg").save(buf, format="PNG")
    png = ROOT / "cache" / "test_app_astronaut.png"
    png.parent.mkdir(exist_ok=True)
    png.write_bytes(buf.getvalue())
    try:
        _set_evidence(at, png)
        at.run()
        _no_exception(at)
        assert any("not JPEG" in w.value for w in at.warning)
    finally:
        png.unlink()


# --------------------------------------------------------------------------------------------------- Models
def test_models_page_lists_detectors_and_loads_a_card():
    at = _app(["simplenet"])
    at.switch_page("pages/models.py").run()
    _no_exception(at)
    from forensics.detectors import list_detectors

    table = at.dataframe[0].value
    assert list(table["detector"]) == [s.name for s in list_detectors()]
    ready = dict(zip(table["detector"], table["ready"], strict=True))["simplenet"]
    assert ready is False or ready == False  # noqa: E712 (a numpy bool_ from the table is not the False singleton)
    at.selectbox(key="models_card").set_value("simplenet").run()
    at.toggle(key="models_load").set_value(True).run()
    _no_exception(at)
    assert "No calibration: this detector gives no verdict." in _texts(at)
    # a card without a ROC curve says so, and how to record one
    assert any(i.value.startswith("No ROC curve in the card of simplenet") for i in at.info)
    assert not at.get("plotly_chart")  # neither a curve nor a calibration chart for it
    # the shipped default's card carries its evaluation as tables (per kind, per real source)
    at.selectbox(key="models_card").set_value("ffd-mobilenetv2").run()
    _no_exception(at)
    text = _texts(at)
    assert "AUC per kind, against all real faces / against the real faces of the same dataset family" in text
    assert "| utkface |" in text
    # and, first, the leave-source-out table of the sources it never saw
    assert "Sources it never saw (leave-source-out)" in text and "source:pixabay_portraits" in text
    # and the size histogram the Detect caveat reads, row for row
    from forensics.calibration.domain import SIDE_EDGES
    from forensics.pipeline import get_detector

    real = get_detector("ffd-mobilenetv2").info()["card"]["training_image_sides"]["counts"]["real"]
    assert any(e.label.startswith("Training images by size") for e in at.expander)
    assert "| real | " + " | ".join(map(str, real)) + " |" in text and len(real) == len(SIDE_EDGES)
    # the calibration shown is the one the verdicts use: temperature and one bias per class
    cal = get_detector("ffd-mobilenetv2").calibration
    assert cal is not None and len(cal.class_bias) == 3
    shown = ", ".join(f"{b:+.2f}" for b in cal.class_bias)
    assert f"**Calibration**: temperature {cal.temperature:.3g}, class biases ({shown})" in text
    # and its error rates per re-sampling, as the library tabulates them
    from forensics.calibration import error_rate_rows

    rows = error_rate_rows(cal.error_rates)
    assert [r["validation files"] for r in rows] == [
        "as they are",
        "re-sampled to 192px-q60",
        "re-sampled to 320px-q90",
    ]
    shown_rows = next(df.value for df in at.dataframe if "validation files" in df.value.columns)
    assert shown_rows.to_dict("records") == rows
    # the placeholder of training configs is filled in, and the calibration is drawn (LR curve, verdict zones)
    assert "{shared_data}" not in text and "fitted on validation faces of ../shared/data/val" in text
    import json

    cal_chart = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert [s_["label"]["text"] for s_ in cal_chart["layout"]["shapes"]] == [
        "camera original",
        "inconclusive",
        "manipulated or generated",
    ]
    # the ROC curve its card keeps is drawn, with where it was measured under it
    roc = get_detector("ffd-mobilenetv2").info()["card"]["roc"]
    roc_chart = json.loads(at.get("plotly_chart")[-2].proto.spec)
    assert roc_chart["data"][0]["x"] == roc["fpr"] and roc_chart["data"][0]["y"] == roc["tpr"]
    assert roc_chart["data"][0]["name"] == f"ffd-mobilenetv2 (AUC {roc['auc']:.3f})" and len(roc["fpr"]) <= 100
    sha = get_detector("ffd-mobilenetv2").weights_sha256
    assert roc["weights_sha256"] == sha and roc["data_dir"] == "../shared/data/val"
    assert any(c.value.startswith("Measured on ") and sha in c.value for c in at.caption)
    assert not any(i.value.startswith("No ROC curve") for i in at.info)
    # an AUC below chance anywhere in its card is pointed out, in words (its paired reenactment AUC at 256 px)
    from ui.model_card import below_chance

    low = below_chance(get_detector("ffd-mobilenetv2").info()["card"]["metrics"])
    said = [w.value for w in at.warning if "below chance" in w.value]
    assert len(said) == len(low) and all(f"AUC {auc:.2f} (" in w for w, (_, auc) in zip(said, low, strict=True))
    assert not any("evaluation" in w or "auc_per_kind" in w for w in said)


def test_models_page_says_a_ready_peer_without_calibration_gives_no_verdict(peer_weights):
    at = _app(["simplenet"], page="pages/models.py")
    at.selectbox(key="models_card").set_value("meso4-df").run()
    at.toggle(key="models_load").set_value(True).run()
    _no_exception(at)
    assert any("not calibrated: it never gives a verdict" in w.value for w in at.warning)


def test_below_chance_aucs_are_found_wherever_they_are_recorded():
    from ui.model_card import below_chance, flat_metrics

    metrics = {"peer": {"auc": {"value": 0.25, "ci95": [0.1, 0.4]}}, "own": {"auc": 0.94}, "x": {"AUC_df": 0.4}}
    assert below_chance(metrics) == [("peer / auc", 0.25), ("x / AUC_df", 0.4)]
    assert {"metric": "peer / auc / ci95", "value": "0.1, 0.4"} in flat_metrics(metrics)


# --------------------------------------------------------------------------------------------------- Report
@pytest.mark.slow
def test_report_page_builds_a_valid_bundle_and_pdf():
    import json

    from forensics.report.bundle import validate_bundle

    at = _app(["simplenet"])
    _set_evidence(at, EXAMPLES / "astronaut.jpg")
    at.switch_page("pages/report.py").run()
    _no_exception(at)
    assert any("Build report" in i.value for i in at.info)
    at.text_input[0].set_value("CASE-42")
    at.text_input[1].set_value("A. Tester")
    at.text_area[-1].set_value("My own conclusion, in Ελληνικά.")
    at.multiselect[-1].set_value(["gradcam"])
    at.button[-1].click().run()  # the form's submit button
    _no_exception(at)
    assert at.success and "bundle sha256" in at.success[0].value
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download PDF", "Download JSON bundle"]
    bundle = json.loads(at.json[-1].value)
    validate_bundle(bundle)  # schema and self-hash hold
    assert bundle["case"]["case_id"] == "CASE-42" and bundle["case"]["examiner"] == "A. Tester"
    assert bundle["case"]["conclusion"] == "My own conclusion, in Ελληνικά."
    assert bundle["evidence"]["sha256"] == at.session_state["forensics_evidence"].sha256
    assert any(e.label.startswith("Page 1") for e in at.expander)
    import os

    from forensics.cases.audit import CaseLog

    with CaseLog(os.environ["FORENSICS_CASE_DB"]) as log:  # the dashboard's export is logged like the CLI's
        exports = [e.payload for e in log.entries() if e.kind == "export"]
        assert log.verify().ok
    assert any(x["bundle_sha256"] == bundle["bundle_sha256"] for x in exports)
    assert bundle["log_head"]["count"] >= 1 and bundle["seal"]["signature"] is None
    at.run()  # a rerun does not export (or log) again
    with CaseLog(os.environ["FORENSICS_CASE_DB"]) as log:
        assert len([e for e in log.entries() if e.kind == "export"]) == len(exports)
    import shutil

    if shutil.which("pdftoppm"):  # a readable preview: one page at a time, full width, at 110 dpi
        assert any(c.startswith("page 1 of ") for c in _captions(at))
    # the real verify command, with the exported file's name (the CLI has verify-report, no "verify")
    code = [c.value for c in at.code]
    rep = next(iter(at.session_state["report_exports"].values()))
    assert f"python -m forensics verify-report {rep['files'].pdf.name} astronaut.jpg" in code


# --------------------------------------------------------------------------------------------------- Dataset stats
def _labelled_folder(root: Path) -> Path:
    from PIL import Image, ImageOps

    for label, name, src in (
        ("real/examples", "a", "astronaut.jpg"),
        ("fake/retouch/examples", "b", "astronaut_edited.jpg"),
    ):
        d = root / label
        d.mkdir(parents=True)
        img = Image.open(EXAMPLES / src)
        img.save(d / f"{name}1.jpg", quality=90)
        ImageOps.mirror(img).save(d / f"{name}2.jpg", quality=85)
    return root


@pytest.mark.slow
def test_dataset_stats_scans_with_progress_and_shows_metrics(tmp_path, monkeypatch):
    import forensics.paths

    monkeypatch.setattr(forensics.paths, "CACHE_DIR", tmp_path / "cache")
    folder = _labelled_folder(tmp_path / "data")
    at = _app(["simplenet"], face_method="whole")
    at.switch_page("pages/dataset_stats.py").run()
    _no_exception(at)
    assert any("No scan yet" in i.value for i in at.info)
    at.text_input(key="scan_folder").set_value(str(folder)).run()
    at.button(key="scan_go").click().run()
    _no_exception(at)
    assert at.success and "4 image(s) scanned" in at.success[0].value
    stores = list((tmp_path / "cache" / "scans").glob("*.sqlite"))
    assert len(stores) == 1
    table = at.dataframe[0].value.set_index("measure")  # one row per measure, one column per detector
    assert list(table.columns) == ["simplenet"]
    assert table.loc["real faces", "simplenet"] == "2" and table.loc["fake faces", "simplenet"] == "2"
    assert table.loc["AUC", "simplenet"] != "" and "auc" not in table.index
    assert len(at.get("plotly_chart")) >= 2  # ROC and DET at least
    problems = [c.split(" · ") for c in _captions(at) if c.count(" · ") >= 3]
    assert all(p[0].endswith(".jpg") and p[1] in ("real", "fake") for p in problems)  # file name and true class
    assert any(p[2] in ("false alarm", "missed", "inconclusive") for p in problems) or any(
        "No false alarm" in c.value for c in at.caption
    )
    conf = next(df.value for df in at.dataframe if "true class" in df.value.columns)
    assert list(conf["true class"]) == ["real", "fake"]
    assert int(conf.drop(columns="true class").to_numpy().sum()) == 4  # every face counted once, as a table
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert any('"DET"' in c for c in charts) or any("No DET curve to draw" in i.value for i in at.info)
    for c in charts:  # no chart squashed flat
        import json

        assert json.loads(c)["layout"].get("height", 450) >= 260
    # a second scan of the same folder resumes: nothing left to do
    at.button(key="scan_go").click().run()
    assert "0 image(s) scanned, 4 already in the store" in at.success[0].value


# --------------------------------------------------------------------------------------------------- Segment + LRP
def test_segment_page_regions_and_relevance_shares():
    at = _app(["simplenet"])
    _set_evidence(at, EXAMPLES / "astronaut.jpg")
    at.switch_page("pages/segment_lrp.py").run()
    _no_exception(at)
    # an untrained net's LRP map can hold no positive relevance: that is said, not raised
    assert not at.error or "no positive relevance" in at.error[0].value
    at.selectbox(key="segment_method").set_value("saliency").run()  # |gradient| is positive wherever it is non-zero
    _no_exception(at)
    assert not at.error
    assert len(at.get("plotly_chart")) == 3  # region mask figure, the heatmap with region outlines, the bars
    assert any(c.value.startswith("why") for c in at.caption)
    rows = at.dataframe[-1].value
    present = rows[~rows["absent"]]
    assert abs(present["share of the relevance"].sum() - 1.0) < 1e-6  # found regions + unassigned sum to one
    at.toggle(key="segment_occ").set_value(True).run()
    _no_exception(at)
    assert len(at.get("plotly_chart")) == 4  # the occlusion bars
    assert any(w.value.startswith("Blurring and the map disagree") for w in at.warning) or any(
        c.value.startswith("Blurring and the map agree") for c in at.caption
    )
    shown = _texts(at) + " ".join(at.radio(key="segment_value").options) + " ".join(at.dataframe[-1].value.columns)
    assert "pixel_share" not in shown and "occlusion_delta" not in shown  # no code names on screen


# --------------------------------------------------------------------------------------------------- plain text
_MARKDOWN_LIKE = ("markdown", "caption", "warning", "info", "error", "success", "subheader", "title", "header")


def _hostile_jpeg(tmp_path: Path) -> Path:
    """A JPEG whose EXIF carries Markdown (an image that would load from an external host, and a link)."""
    from PIL import Image

    img = Image.open(EXAMPLES / "astronaut.jpg").convert("RGB")
    exif = Image.Exif()
    exif[271] = "[click me](https://example.test/phish)"  # Make
    exif[272] = "<img src=https://example.test/i.png>"  # Model
    exif[305] = "![x](https://example.test/t.png)"  # Software
    path = tmp_path / "![n](https:__example.test_n.png).jpg"
    img.save(path, quality=90, exif=exif)
    return path


def test_metadata_and_file_names_are_shown_as_plain_text(tmp_path):
    """Attack 8: on Detect, EXIF text and the file name never reach an element that renders Markdown unescaped;
    the analysis is written to the case log as the CLI writes it."""
    import hashlib
    import os
    import re

    from forensics.cases.audit import CaseLog

    path = _hostile_jpeg(tmp_path)
    at = _app(["simplenet"], face_method="whole")
    _set_evidence(at, path)
    at.run()
    _no_exception(at)
    rendered = [str(getattr(el, "value", "")) for kind in _MARKDOWN_LIKE for el in at.get(kind)]
    active = re.compile(r"(?<!\\)!?(?<!\\)\[[^\]]*(?<!\\)\]\((?:https?:)|(?<!\\)<img|(?<!\\)https?(?<!\\):")
    assert rendered and not [t for t in rendered if active.search(t)], [t for t in rendered if active.search(t)]
    assert not at.get("table")  # st.table renders Markdown in its cells
    frames = "\n".join(str(df.value.to_dict()) for df in at.dataframe)
    assert "![x](https://example.test/t.png)" in frames and "[click me](https://example.test/phish)" in frames
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with CaseLog(os.environ["FORENSICS_CASE_DB"]) as log:
        mine = [
            e
            for e in log.entries()
            if e.kind == "analysis"
            and e.payload.get("source") == "dashboard"
            and e.payload["evidence"]["sha256"] == sha
        ]
    assert len(mine) == 1 and mine[0].payload["options"]["face_method"] == "whole"
