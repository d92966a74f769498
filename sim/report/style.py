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
    """The i-th series colour."""
    return PALETTE[i % len(PALETTE)]


def rgba(hex_color: str, alpha: float) -> str:
    """``#RRGGBB`` -> ``rgba(r,g,b,alpha)``."""
    h = hex_color.lstrip("#")
    r, g, b = (int(h[k : k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def rung_color(k: int) -> str:
    return RUNG_COLORS[min(max(k, 0), len(RUNG_COLORS) - 1)]


def finish(fig: go.Figure, title: str, height: int = 420, legend: bool = True) -> go.Figure:
    """Apply the common layout: white template, title in words, margins, legend above the plot."""
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 17}},
        height=height,
        margin={"l": 70, "r": 30, "t": 100, "b": 70},
        font={"family": "Helvetica, Arial, sans-serif", "size": 12},
        hoverlabel={"align": "left"},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1.0},
    )
    return fig
