"""Display arrays and Plotly figures for classic-check Findings (built here, never shown here).

Example:
    >>> import numpy as np
    >>> from forensics.checks import Finding
    >>> f = Finding(check="noise", title="t", measured={}, direction="neutral", reliability="", caveats=(),
    ...             images={"noise_level": np.zeros((4, 4), np.float32)}, summary="")
    >>> finding_images_rgb(f)["noise_level"].shape
    (4, 4, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forensics.viz.overlay import colorize

# Colour map per image name prefix (maps in [0, 1]); everything else uses inferno.
_CMAPS = {
    "log_spectrum": "viridis",
    "spectrum_peaks": "inferno",
    "noise_outliers": "gray",
    "thumbnail_difference": "inferno",
    "ghost_map": "magma",
    "ela_block_energy": "magma",
    "double_jpeg_map": "magma",
}
DIRECTION_COLOURS = {"supports manipulation": "#c0392b", "supports an original": "#27ae60", "neutral": "#7f8c8d"}


def to_rgb(name: str, arr: np.ndarray) -> np.ndarray:
    """One Finding image as uint8 RGB: RGB images pass through, [0, 1] maps are coloured (by name)."""
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[2] == 3 and a.dtype == np.uint8:
        return a
    if a.ndim == 2:
        cmap = next((c for prefix, c in _CMAPS.items() if name.startswith(prefix)), "inferno")
        return colorize(a.astype(np.float64), cmap)
    raise ValueError(f"image {name!r} has unsupported shape {a.shape} / dtype {a.dtype}")


def finding_images_rgb(finding: Any) -> dict[str, np.ndarray]:
    """Every image of a Finding as uint8 RGB, ready for st.image or PNG export."""
    return {name: to_rgb(name, arr) for name, arr in finding.images.items()}


def image_figure(image: np.ndarray, title: str = "", *, height: int = 420):
    """A Plotly figure showing one uint8 RGB image with pixel coordinates on hover."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Image(z=np.asarray(image)))
    fig.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return fig


def ghost_curve_figure(finding: Any):
    """Mean squared difference against re-save quality (JPEG ghosts); the ghost quality is marked."""
    import plotly.graph_objects as go

    q, d = np.asarray(finding.series["ghost_curve"])
    fig = go.Figure(go.Scatter(x=q, y=d, mode="lines+markers", name="whole image"))
    gq = finding.measured.get("ghost_quality")
    if gq is not None:
        fig.add_vline(
            x=gq,
            line_dash="dash",
            line_color=DIRECTION_COLOURS["supports manipulation"],
            annotation_text=f"ghost q{gq}",
        )
    fq = finding.measured.get("file_quality_estimate")
    if fq is not None:
        fig.add_vline(x=fq, line_dash="dot", annotation_text=f"file ~q{fq}")
    fig.update_layout(
        title="JPEG ghosts: difference after re-saving",
        xaxis_title="re-save quality",
        yaxis_title="mean squared difference",
        height=360,
    )
    return fig


def spectrum_figure(finding: Any):
    """Azimuthally averaged log power spectrum against spatial frequency (cycles/pixel)."""
    import plotly.graph_objects as go

    r, p = np.asarray(finding.series["azimuthal_spectrum"])
    fig = go.Figure(go.Scatter(x=r, y=p, mode="lines", name="azimuthal mean"))
    for k in (0.25, 0.5):
        fig.add_vline(x=k, line_dash="dot", line_color="#999", annotation_text=f"{k:g}")
    fig.update_layout(
        title="Azimuthally averaged power spectrum",
        xaxis_title="frequency (cycles/pixel)",
        yaxis_title="log power (dB)",
        height=360,
    )
    return fig


def spectrum_peaks_figure(finding: Any):
    """2-D log spectrum with the listed peaks marked (zero frequency at the centre)."""
    import plotly.graph_objects as go

    lp = finding.images["log_spectrum"]
    t = lp.shape[0]
    f = (np.arange(t) - t // 2) / t
    fig = go.Figure(go.Heatmap(z=lp, x=f, y=f, colorscale="Viridis", showscale=False))
    peaks = finding.measured.get("peaks") or []
    if peaks:
        fig.add_trace(
            go.Scatter(
                x=[p["fx"] for p in peaks],
                y=[p["fy"] for p in peaks],
                mode="markers",
                marker={"symbol": "circle-open", "size": 14, "color": "red"},
                text=[f"{p['excess_db']:.1f} dB{' (JPEG grid)' if p['jpeg_grid'] else ''}" for p in peaks],
                name="peaks",
            )
        )
    fig.update_layout(
        title="Log power spectrum and peaks",
        xaxis_title="fx (cycles/pixel)",
        yaxis_title="fy (cycles/pixel)",
        height=420,
        yaxis_scaleanchor="x",
    )
    return fig


def dct_histogram_figure(finding: Any):
    """Histograms of quantised DCT coefficients at the lowest frequencies (double JPEG: periodic gaps)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, arr in finding.series.items():
        if not name.startswith("dct_hist_"):
            continue
        k, c = np.asarray(arr)
        fig.add_trace(go.Bar(x=k, y=c, name=f"frequency ({name.removeprefix('dct_hist_')})", opacity=0.7))
    fig.update_layout(
        barmode="overlay",
        title="Quantised DCT coefficient histograms",
        xaxis_title="value k",
        yaxis_title="count",
        yaxis_type="log",
        height=360,
    )
    return fig


# images a figure of ``finding_figures`` already shows (the log spectrum is the peaks figure's background)
SHOWN_BY_FIGURE = {"spectrum_peaks": ("log_spectrum",)}
SPECTRAL = ("log_spectrum", "spectrum_peaks")  # frequency-domain maps: not registered to the photo
MAP_SCALES = {
    "ghost_map": ("Magma", "difference<br>(0 low, 1 high)"),
    "noise_level": ("Inferno", "noise level"),
    "noise_residual": ("Inferno", "residual"),
    "noise_outliers": ("Reds", "outlier block"),
    "copy_move_map": ("Hot", "1 source,<br>0.5 copy"),
    "ela_block_energy": ("Magma", "error level"),
    "double_jpeg_map": ("Magma", "double JPEG<br>likelihood"),
    "thumbnail_difference": ("Inferno", "difference"),
}


def photo_maps(finding: Any) -> dict[str, np.ndarray]:
    """The 2-D maps of a Finding that lie over the photo (same frame), spectra left out."""
    return {k: v for k, v in finding.images.items() if np.asarray(v).ndim == 2 and not k.startswith(SPECTRAL)}


def other_images(finding: Any) -> dict[str, np.ndarray]:
    """The Finding's images that are neither photo maps nor shown by one of its figures, as uint8 RGB."""
    shown = {i for f, imgs in SHOWN_BY_FIGURE.items() if f in finding_figures(finding) for i in imgs}
    return {k: to_rgb(k, v) for k, v in finding.images.items() if k not in shown and k not in photo_maps(finding)}


def map_over_photo_figure(
    photo: np.ndarray, name: str, arr: np.ndarray, *, opacity: float = 0.6, height: int = 380, max_side: int = 800
):
    """One [0, 1] map over the photo (shrunk to ``max_side``), with its colour scale: the map is registered to the
    photo whatever its own resolution (block maps are resized onto it)."""
    from forensics.viz.heatmap import heatmap_figure
    from forensics.viz.overlay import _resize

    img = np.asarray(photo)
    scale = min(1.0, max_side / max(img.shape[:2]))
    if scale < 1.0:
        img = _resize(img, (max(1, round(img.shape[0] * scale)), max(1, round(img.shape[1] * scale))))
    colorscale, title = MAP_SCALES.get(name, ("Inferno", name.replace("_", " ")))
    return heatmap_figure(img, arr, opacity=opacity, height=height, scale_title=title, colorscale=colorscale)


def linked_images_figure(images: dict[str, np.ndarray], *, height: int = 460, max_side: int = 1200):
    """Images of one frame side by side with linked axes: zooming or panning one zooms the other the same way."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from forensics.viz.heatmap import png_uri
    from forensics.viz.overlay import _resize

    first = np.asarray(next(iter(images.values())))
    h, w = first.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    fig = make_subplots(rows=1, cols=len(images), subplot_titles=list(images), horizontal_spacing=0.02)
    for i, img in enumerate(images.values(), 1):
        a = np.asarray(img)  # the same frame (a display copy may be reduced): drawn at the first image's size
        fig.add_trace(
            go.Image(
                source=png_uri(_resize(a, size)),
                dx=1 / scale,
                dy=1 / scale,
                hovertemplate="x %{x:.0f}, y %{y:.0f}<extra></extra>",
            ),
            row=1,
            col=i,
        )
    fig.update_xaxes(matches="x", showticklabels=False, range=[0, w])
    fig.update_yaxes(matches="y", showticklabels=False, range=[h, 0], scaleanchor="x")
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 30, "b": 0}, dragmode="zoom")
    return fig


def findings_summary_rows(findings: list[Any]) -> list[dict[str, Any]]:
    """One row per Finding for the summary table at the top of the checks page (reliability is on each card)."""
    return [
        {"check": f.title, "points to": f.direction if f.applicable else "not applicable", "finding": f.summary}
        for f in findings
    ]


def finding_figures(finding: Any) -> dict[str, Any]:
    """Every Plotly figure that applies to one Finding, keyed by a short name."""
    figs: dict[str, Any] = {}
    if "ghost_curve" in finding.series:
        figs["ghost_curve"] = ghost_curve_figure(finding)
    if "azimuthal_spectrum" in finding.series:
        figs["azimuthal_spectrum"] = spectrum_figure(finding)
    if "log_spectrum" in finding.images:
        figs["spectrum_peaks"] = spectrum_peaks_figure(finding)
    if any(k.startswith("dct_hist_") for k in finding.series):
        figs["dct_histograms"] = dct_histogram_figure(finding)
    return figs
