"""A heatmap over its face crop as a Plotly figure: the photo, the map at a chosen opacity with its colour scale,
and optionally the face-region outlines, all in the crop's pixel coordinates (so map and regions are registered).

    >>> import numpy as np
    >>> fig = heatmap_figure(np.zeros((8, 8, 3), np.uint8), np.eye(4), opacity=0.4)
    >>> fig.data[1].opacity, fig.data[1].zmax, fig.data[1].z.shape
    (0.4, 1.0, (8, 8))
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

COLORSCALE = "Inferno"  # Plotly's inferno: the ramp of forensics.viz.overlay's default and of the PDF's maps
SCALE_TITLE = "relevance<br>(0 none, 1 most)"


def png_uri(image: np.ndarray) -> str:
    """An RGB uint8 image as a PNG data URI (the figure carries the photo, no external file)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[..., :3])).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def region_outlines(regions: Any) -> dict[str, list[np.ndarray]]:
    """Outer contours (N x 2 arrays of x, y pixel coordinates) of every found region except the background."""
    import cv2

    out = {}
    for r in regions.regions():
        if r == "background":
            continue
        cs, _ = cv2.findContours(regions.masks[r].astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        out[r] = [c[:, 0, :].astype(np.float64) for c in cs if len(c) >= 3]
    return out


def heatmap_figure(
    crop: np.ndarray,
    heat: np.ndarray,
    *,
    opacity: float = 0.5,
    title: str = "",
    regions: Any = None,
    height: int = 380,
    scale_title: str = SCALE_TITLE,
    colorscale: str = COLORSCALE,
):
    """``heat`` (values in [0, 1], any resolution: resized to the crop) over ``crop`` at ``opacity``, with a colour
    bar; ``regions`` (RegionMasks of the same crop) adds one outline per region, in its region colour."""
    import plotly.graph_objects as go

    from forensics.viz.overlay import _resize
    from forensics.viz.regions import colour, label

    img = np.asarray(crop)
    h, w = img.shape[:2]
    z = np.clip(_resize(np.asarray(heat, dtype=np.float32), (h, w)), 0.0, 1.0)
    fig = go.Figure(go.Image(source=png_uri(img), hoverinfo="skip"))
    fig.add_trace(
        go.Heatmap(
            z=np.round(z, 3),
            zmin=0.0,
            zmax=1.0,
            colorscale=colorscale,
            opacity=float(opacity),
            # under the photo, not beside it: a side bar took a third of a narrow column
            colorbar={
                "title": {"text": scale_title.replace("<br>", " "), "side": "top"},
                "orientation": "h",
                "thickness": 10,
                "y": -0.02,
                "yanchor": "top",
                "len": 0.9,
            },
            hovertemplate="x %{x}, y %{y}: %{z:.2f}<extra></extra>",
        )
    )
    if regions is not None:
        for r, contours in region_outlines(regions).items():
            for i, c in enumerate(contours):
                xs = np.append(c[:, 0], c[0, 0])
                ys = np.append(c[:, 1], c[0, 1])
                fig.add_trace(
                    go.Scatter(
                        x=xs,
                        y=ys,
                        mode="lines",
                        line={"color": f"rgb{colour(r)}", "width": 2},
                        name=label(r, regions.approximate.get(r, False)),
                        legendgroup=r,
                        showlegend=i == 0,
                        hoverinfo="name",
                    )
                )
    fig.update_layout(
        height=height,
        margin={"l": 0, "r": 0, "t": 30 if title else 0, "b": 60},
        title={"text": title} if title else None,
        legend={"orientation": "h", "y": -0.02},
        xaxis={"visible": False, "range": [-0.5, w - 0.5]},
        yaxis={"visible": False, "range": [h - 0.5, -0.5], "scaleanchor": "x"},
    )
    return fig
