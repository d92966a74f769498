"""Colours and the common look of every figure."""

from __future__ import annotations

import plotly.graph_objects as go

#: One colour per run / series (colour-blind friendly, Okabe–Ito order).
PALETTE: list[str] = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
#: Escalation rungs from calm (green) to regional war (dark red).
RUNG_COLORS: list[str] = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027", "#7f0000"]
FAN_COLOR = "#2c6fbb"
DEAL_COLOR = "#1a9850"
WAR_COLOR = "#b2182b"


def color(i: int) -> str:
    """The i-th series colour: the palette first, then hues spaced by the golden angle (never a repeat)."""
    if i < len(PALETTE):
        return PALETTE[i]
    import colorsys

    k = i - len(PALETTE)
    hue = (0.11 + k * 0.381966) % 1.0
    light = (0.38, 0.52, 0.30)[k % 3]
    r, g, b = colorsys.hls_to_rgb(hue, light, 0.75)
    return f"#{round(255 * r):02X}{round(255 * g):02X}{round(255 * b):02X}"


def rgba(hex_color: str, alpha: float) -> str:
    """``#RRGGBB`` -> ``rgba(r,g,b,alpha)``."""
    h = hex_color.lstrip("#")
    r, g, b = (int(h[k : k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def rung_color(k: int) -> str:
    return RUNG_COLORS[min(max(k, 0), len(RUNG_COLORS) - 1)]


def legend_rows(names: list[str], width_chars: int = 140) -> int:
    """Rows a horizontal legend of ``names`` takes on a page-wide figure (about 7 px a character)."""
    rows, used = 1, 0
    for name in names:
        w = len(str(name)) + 6
        if used and used + w > width_chars:
            rows, used = rows + 1, 0
        used += w
    return rows


def finish(fig: go.Figure, title: str, height: int = 420, legend: bool = True, rows: int = 1) -> go.Figure:
    """Apply the common layout: white template, title in words, margins, legend above the plot (``rows``: the
    legend's rows; the top margin grows with them so the legend never runs into the title)."""
    extra = 24 * max(rows - 1, 0)
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 17}, "yref": "container", "y": 1.0,
               "yanchor": "top", "pad": {"t": 14}},
        height=height + extra,
        margin={"l": 70, "r": 30, "t": 100 + extra, "b": 70},
        font={"family": "Helvetica, Arial, sans-serif", "size": 12},
        hoverlabel={"align": "left"},
        showlegend=legend,
        # in the top margin, under the title (container coordinates): clear of the title and of subplot titles
        legend={"orientation": "h", "yref": "container", "yanchor": "top", "y": 1.0 - 46 / (height + extra),
                "xanchor": "left", "x": 0.0},
    )
    return fig
