"""Figures for face regions: a coloured mask overlay (array or Plotly figure) and per-region relevance bar charts.

Approximate (heuristic) regions are marked "≈" and hatched; absent regions are listed in the title with no bar.
Compute and draw stay apart: these functions only draw what ``forensics.segmentation`` and its ``regions`` give.
"""

from __future__ import annotations

from typing import Any

import numpy as np

REGION_COLOURS: dict[str, tuple[int, int, int]] = {
    "left eye": (230, 25, 75),
    "right eye": (255, 120, 150),
    "eyes": (230, 25, 75),
    "left eyebrow": (245, 130, 48),
    "right eyebrow": (190, 90, 20),
    "eyebrows": (245, 130, 48),
    "mouth": (240, 50, 230),
    "glasses": (255, 225, 25),
    "nose": (70, 240, 240),
    "skin": (60, 180, 75),
    "ears": (170, 110, 40),
    "neck": (0, 130, 200),
    "hair": (145, 30, 180),
    "background": (128, 128, 128),
    "unassigned": (60, 60, 60),  # dark: it was white, invisible on the charts' white background
}
_FALLBACK = [(0, 128, 128), (128, 0, 0), (128, 128, 0), (0, 0, 128), (250, 190, 212)]


def colour(region: str) -> tuple[int, int, int]:
    """The fixed RGB colour of a region (stable across figures)."""
    if region in REGION_COLOURS:
        return REGION_COLOURS[region]
    return _FALLBACK[sum(map(ord, region)) % len(_FALLBACK)]


def label(region: str, approximate: bool) -> str:
    return f"≈ {region}" if approximate else region


def mask_overlay(
    crop: np.ndarray, regions: Any, *, alpha: float = 0.45, outline: bool = True, include_background: bool = False
) -> np.ndarray:
    """uint8 RGB copy of ``crop`` with each region tinted in its colour (background left untinted by default)
    and, with ``outline``, a 1-pixel border around each region."""
    import cv2

    img = np.asarray(crop, dtype=np.uint8)
    if img.shape[:2] != tuple(regions.shape):
        raise ValueError(f"crop {img.shape[:2]} and masks {tuple(regions.shape)} differ: segment this crop")
    out = img.astype(np.float32)
    for r in regions.regions():
        if r == "background" and not include_background:
            continue
        m = regions.masks[r]
        out[m] = (1 - alpha) * out[m] + alpha * np.array(colour(r), dtype=np.float32)
        if outline:
            edge = m & ~cv2.erode(m.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            out[edge] = colour(r)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _absent_text(absent: dict[str, str]) -> str:
    return ("absent: " + ", ".join(sorted(absent))) if absent else ""


def mask_figure(crop: np.ndarray, regions: Any, *, alpha: float = 0.45, title: str | None = None):
    """Plotly figure of the overlay with one legend entry per region ("≈" = approximate); hovering shows the region."""
    import plotly.graph_objects as go

    ov = mask_overlay(crop, regions, alpha=alpha, include_background=True)
    lab, names = regions.label_map()
    hover = np.array(names + ["unassigned"], dtype=object)[np.where(lab < 0, len(names), lab)]
    fig = go.Figure(go.Image(z=ov, customdata=hover[..., None], hovertemplate="%{customdata[0]}<extra></extra>"))
    total = float(lab.size)
    for r in names:
        share = regions.masks[r].sum() / total
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"size": 12, "color": f"rgb{colour(r)}", "symbol": "square"},
                name=f"{label(r, regions.approximate.get(r, False))} ({share:.0%})",
            )
        )
    head = title or f"Face regions ({regions.segmenter})"
    sub = _absent_text(regions.absent)
    fig.update_layout(
        title={"text": head + (f"<br><sup>{sub}</sup>" if sub else "")},
        showlegend=True,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"title": {"text": "≈ = heuristic"}},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


VALUE_NAMES = {
    "share": "share of the relevance",
    "pixel_share": "share of the most relevant 20 % of pixels",
    "density": "density (share ÷ area; 1 = as much as a uniform map)",
}


def region_bar_chart(table: Any, *, value: str = "share", title: str | None = None):
    """Bars of ``value`` ("share", "pixel_share" or "density") per region, area share beside them in grey for
    reference (not for density); approximate regions hatched and marked "≈"; absent ones listed in the title."""
    import plotly.graph_objects as go

    if value not in ("share", "pixel_share", "density"):
        raise ValueError(f"value must be share, pixel_share or density, got {value!r}")
    rows = [r for r in table.rows if not r.absent]
    xs = [label(r.region, r.approximate) for r in rows]
    ys = [(getattr(r, value) if getattr(r, value) is not None else 0.0) for r in rows]
    names = VALUE_NAMES
    fig = go.Figure()
    # each bar in its region's colour (as in the region figure): a legend swatch would show only the first colour,
    # so this trace has none and the axis names the regions
    fig.add_trace(
        go.Bar(
            x=xs,
            y=ys,
            name=names[value],
            showlegend=False,
            marker={
                "color": [f"rgb{colour(r.region)}" for r in rows],
                "line": {"color": "black", "width": 1},
                "pattern": {"shape": ["/" if r.approximate else "" for r in rows]},
            },
            hovertemplate="%{x}: %{y:.3f}<extra></extra>",
        )
    )
    if value == "density":
        fig.add_hline(y=1.0, line_dash="dot", annotation_text="uniform")
    else:
        fig.add_trace(
            go.Bar(
                x=xs,
                y=[r.area_share for r in rows],
                name="area share (uniform map)",
                marker={"color": "rgba(160,160,160,0.6)"},
                hovertemplate="%{x}: %{y:.3f}<extra></extra>",
            )
        )
    head = title or f"{names[value].capitalize()} per region" + (f" — {table.method}" if table.method else "")
    sub = _absent_text(table.absent)
    fig.update_layout(
        barmode="group",
        title={"text": head + (f"<br><sup>{sub}</sup>" if sub else "")},
        yaxis_title=names[value],
        margin={"l": 40, "r": 10, "t": 70, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def occlusion_chart(table: Any, *, title: str | None = None):
    """Change of the explained class's probability when each region is blurred (negative = region supported it)."""
    import plotly.graph_objects as go

    rows = [r for r in table.rows if not r.absent and r.occlusion_delta is not None]
    if not rows:
        raise ValueError("the table has no occlusion column: call region_relevance with detector= and crop=")
    fig = go.Figure(
        go.Bar(
            x=[label(r.region, r.approximate) for r in rows],
            y=[r.occlusion_delta for r in rows],
            marker={
                "color": [f"rgb{colour(r.region)}" for r in rows],
                "line": {"color": "black", "width": 1},
                "pattern": {"shape": ["/" if r.approximate else "" for r in rows]},
            },
        )
    )
    target = (table.occlusion or {}).get("target_name", "")
    base = table.baseline_probability
    fig.update_layout(
        title=title or f"Blurring a region: change of p({target}) from {base:.3f}",
        yaxis_title="probability change",
        margin={"l": 40, "r": 10, "t": 60, "b": 40},
    )
    return fig
