"""The Detect overview: one box per face, drawn by what became of it, numbered as the report numbers faces."""

from __future__ import annotations

import numpy as np

from forensics.viz.faces import ANALYSED, NO_VERDICT, SKIPPED, STYLES, face_marks, overview_figure


def _analysis():
    from forensics.pipeline.results import Analysis

    assessment = {
        "verdict": "inconclusive",
        "inconclusive": True,
        "p_fake": 0.5,
        "likelihood_ratio": 1.0,
        "log10_lr": 0.0,
        "verbal": "",
        "supports": None,
        "statement": "",
        "threshold": 0.6,
        "band": [0.4, 0.6],
        "false_positive_rate": 0.05,
        "false_negative_rate": 0.05,
    }
    score = {"detector": "d", "p_fake": 0.5, "ready": True, "calibrated": True}
    given = {"d": {**score, "assessment": assessment}}
    withheld = {"d": {**score, "assessment": None, "withheld": {"verdict": "no verdict", "reasons": ["cut"]}}}
    return Analysis.from_dict(
        {
            "faces": [
                {"index": 0, "box": [10, 10, 50, 60], "confidence": 0.9, "scores": given},
                {"index": 1, "box": [60, 10, 90, 40], "confidence": 0.9, "scores": withheld},
            ],
            "skipped_faces": [{"box": [100, 5, 110, 15], "reason": "too small"}, {"reason": "no box"}],
        }
    )


def test_marks_follow_what_became_of_each_face():
    marks = face_marks(_analysis())
    assert [(m.number, m.kind) for m in marks] == [(1, ANALYSED), (2, NO_VERDICT), (None, SKIPPED)]
    assert "d: inconclusive" in marks[0].hover and "too small" in marks[2].hover


def test_overview_boxes_are_registered_and_drawn_by_kind():
    img = np.zeros((2400, 3000, 3), np.uint8)  # larger than the shown copy: boxes scale with it
    marks = face_marks(_analysis())
    fig = overview_figure(img, marks)
    scale = 1000 / 3000
    shapes = fig.layout.shapes
    assert [s.line.dash for s in shapes] == [STYLES[k][1] for k in (ANALYSED, NO_VERDICT, SKIPPED)]
    assert (shapes[0].x0, shapes[0].y0, shapes[0].x1, shapes[0].y1) == tuple(v * scale for v in (10, 10, 50, 60))
    numbered = [t for t in fig.data[1:] if t.mode == "markers+text"]
    assert [list(t.customdata) for t in numbered] == [[1], [2]]  # the click gives the face number
    assert fig.data[0].source.startswith("data:image/png;base64,")  # the photo travels inside the figure
    assert list(fig.layout.yaxis.range) == [800, 0] and list(fig.layout.xaxis.range) == [0, 1000]
