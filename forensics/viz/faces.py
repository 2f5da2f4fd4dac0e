"""The overview of the whole evidence on Detect: every face box numbered (from 1, as the court report numbers
faces), drawn by what became of the face, as a Plotly figure whose numbered markers can be clicked to pick a face.

    >>> import numpy as np
    >>> marks = [FaceMark(1, (10, 10, 50, 60), ANALYSED, "face 1"), FaceMark(None, (70, 5, 90, 30), SKIPPED, "small")]
    >>> fig = overview_figure(np.zeros((100, 120, 3), np.uint8), marks)
    >>> [s.line.dash for s in fig.layout.shapes]
    ['solid', 'dot']
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from forensics.pipeline.results import Analysis

ANALYSED, NO_VERDICT, SKIPPED = "analysed", "no verdict", "left out"
# colour, dash and legend wording of each kind of box (colour-blind safe: the dash differs too)
STYLES: dict[str, tuple[str, str, str]] = {
    ANALYSED: ("#1f77b4", "solid", "analysed, verdict given"),
    NO_VERDICT: ("#ff7f0e", "dash", "analysed, no verdict (see its card)"),
    SKIPPED: ("#7f7f7f", "dot", "left out (too small, low confidence, ...)"),
}
MAX_SIDE = 1000  # px of the shown copy: the figure carries a PNG, not a JSON array of pixels


@dataclass(frozen=True)
class FaceMark:
    number: int | None  # 1-based face number; None for a detection left out
    box: tuple[float, float, float, float]
    kind: str  # ANALYSED, NO_VERDICT or SKIPPED
    hover: str


def face_marks(analysis: Analysis) -> list[FaceMark]:
    """The marks of an Analysis: a face with a verdict from any detector is ANALYSED, one without (withheld,
    explain-only or uncalibrated) NO_VERDICT; detections left out are SKIPPED with their reason."""
    marks = []
    for f in analysis.faces:
        given = {d: s.assessment.verdict for d, s in f.scores.items() if s.assessment is not None}
        hover = f"Face {f.index + 1}: " + ("; ".join(f"{d}: {v}" for d, v in given.items()) or "no verdict")
        marks.append(FaceMark(f.index + 1, _box(f.box), ANALYSED if given else NO_VERDICT, hover))
    for s in analysis.skipped_faces:
        if s.get("box"):
            marks.append(FaceMark(None, _box(s["box"]), SKIPPED, f"left out: {s.get('reason', '')}"))
    return marks


def _box(box: Any) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return x0, y0, x1, y1


def _png_uri(image: np.ndarray) -> tuple[str, float]:
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[..., :3]))
    scale = min(1.0, MAX_SIDE / max(img.size))
    if scale < 1.0:
        img = img.resize(
            (max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.BILINEAR
        )
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), scale


def overview_figure(image: np.ndarray, marks: Sequence[FaceMark], *, height: int = 460):
    """The image with one box per mark and, for numbered faces, a clickable marker carrying the number
    (``customdata`` = the 1-based face number)."""
    import plotly.graph_objects as go

    uri, scale = _png_uri(image)
    h, w = (round(s * scale) for s in np.asarray(image).shape[:2])
    fig = go.Figure(go.Image(source=uri, hoverinfo="skip"))
    for kind, (colour, dash, legend) in STYLES.items():
        mine = [m for m in marks if m.kind == kind]
        for m in mine:
            x0, y0, x1, y1 = (v * scale for v in m.box)
            fig.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, line={"color": colour, "width": 3, "dash": dash})
        numbered = [m for m in mine if m.number is not None]
        xs = [(m.box[0] + m.box[2]) / 2 * scale for m in mine]
        ys = [(m.box[1] + m.box[3]) / 2 * scale for m in mine]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers+text" if numbered else "markers",
                name=legend,
                text=[str(m.number) if m.number is not None else "" for m in mine],
                textposition="middle center",
                textfont={"color": "white", "size": 16},
                customdata=[m.number for m in mine],
                hovertext=[m.hover for m in mine],
                hoverinfo="text",
                marker={
                    "size": 28 if numbered else 10,
                    "color": colour,
                    "opacity": 0.85,
                    "line": {"color": "white", "width": 1},
                },
                showlegend=bool(mine),
            )
        )
    fig.update_layout(
        height=height,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        dragmode="pan",
        legend={"orientation": "h", "y": -0.02, "yanchor": "top"},
        xaxis={"visible": False, "range": [0, w]},
        yaxis={"visible": False, "range": [h, 0], "scaleanchor": "x"},
    )
    return fig
