"""Figure builders for one run: escalation, time to deal, outcome and utility distributions, fan charts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim import outcomes as names
from sim.report.headline import baseline_month, month_axis, month_name
from sim.report.labels import Z95, num, pct, rung_label, rung_ticks, scale_ticks, sentence, wrap
from sim.report.sample import binned, sampled
from sim.report.style import DEAL_COLOR, FAN_COLOR, color, finish, rgba, rung_color
from sim.runs import RunData


def max_rung_figure(run: RunData) -> go.Figure:
    """Bar chart: share of replicas whose highest rung was k, with 95 % Monte Carlo intervals."""
    rungs = run.rungs
    rows = {int(r["rung"]): r for r in run.summary.get("probabilities", {}).get("max_rung", [])}
    if not rows:  # fall back to the outcomes table
        counts = run.outcomes[names.MAX_RUNG].value_counts(normalize=True)
        n = len(run.outcomes)
        rows = {k: {"p": float(counts.get(k, 0.0))} for k in range(len(rungs))}
        for r in rows.values():
            r["se"] = float(np.sqrt(r["p"] * (1 - r["p"]) / max(n, 1)))
    ks = list(range(len(rungs)))
    p = np.array([float(rows.get(k, {}).get("p", 0.0)) for k in ks])
    se = np.array([float(rows.get(k, {}).get("se", 0.0)) for k in ks])
    labels = [wrap(rung_label(k, rungs), 16) for k in ks]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=100 * p,
            marker_color=[rung_color(k) for k in ks],
            marker_line={"color": "#555", "width": 0.5},
            error_y={"type": "data", "array": 100 * Z95 * se, "color": "#333", "thickness": 1.2},
            customdata=np.stack([100 * se, [rung_label(k, rungs) for k in ks]], axis=1),
            hovertemplate="Highest rung reached: <b>%{customdata[1]}</b><br>"
            "%{y:.1f} % of replicas (± %{customdata[0]:.1f} standard error)<extra></extra>",
            showlegend=False,
        )
    )
    for label, value, err in zip(labels, p, se):
        fig.add_annotation(x=label, y=100 * (value + Z95 * err), text=pct(value), showarrow=False, yshift=10,
                           font={"size": 12, "color": "#222"})
    fig.update_yaxes(title="% of replicas", rangemode="tozero", ticksuffix=" %")
    fig.update_xaxes(title="Highest rung of the escalation ladder reached during the run (calm → regional war)")
    return finish(fig, "How far did escalation go? Highest rung reached per replica", height=440, legend=False)


def no_deal_curve(deal_step: pd.Series, steps: int) -> pd.DataFrame:
    """Kaplan–Meier-style curve: share of replicas with no deal reached yet, by step 0..steps.

    All replicas are followed to the last step, so the estimate is the plain share with ``deal_step > t``
    (never = censored at the end); ``se`` is the binomial standard error.
    """
    n = len(deal_step)
    first = deal_step.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    t = np.arange(steps + 1)
    happened = first[~np.isnan(first)]
    # counts by month over all replicas (memory independent of n × steps): share with first > t
    by_step = np.bincount(np.clip(happened, 0, steps + 1).astype(np.int64), minlength=steps + 2)[: steps + 1]
    surv = 1.0 - np.cumsum(by_step) / n if n else np.ones(len(t))
    se = np.sqrt(surv * (1 - surv) / max(n, 1))
    return pd.DataFrame({"step": t, "p_no_deal": surv, "se": se})


def survival_figure(run: RunData) -> go.Figure:
    """Step curve: P(no deal reached yet) by step, with a 95 % band (the deal named by the registry)."""
    first = run.outcomes[names.DEAL_STEP]
    steps = run.steps or int(first.max() if first.notna().any() else 1)
    curve = no_deal_curve(first, steps)
    lo = np.clip(curve["p_no_deal"] - Z95 * curve["se"], 0, 1)
    hi = np.clip(curve["p_no_deal"] + Z95 * curve["se"], 0, 1)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=curve["step"], y=100 * lo, mode="lines", line={"width": 0, "shape": "hv"},
                             hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=curve["step"], y=100 * hi, mode="lines", line={"width": 0, "shape": "hv"},
                             fill="tonexty", fillcolor=rgba(DEAL_COLOR, 0.18), hoverinfo="skip", name="95 % interval"))
    fig.add_trace(
        go.Scatter(
            x=curve["step"],
            y=100 * curve["p_no_deal"],
            mode="lines",
            line={"color": DEAL_COLOR, "width": 3, "shape": "hv"},
            name="No deal reached yet",
            customdata=100 * (1 - curve["p_no_deal"]),
            text=[month_name(baseline_month(run.spec), int(t)) for t in curve["step"]],
            hovertemplate="By %{text} (month %{x}): %{y:.1f} % of replicas had not yet signed a deal "
            "(%{customdata:.1f} % had)<extra></extra>",
        )
    )
    reached = first.notna().sum()
    if reached == 0:
        fig.add_annotation(x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, bgcolor="#fffbea",
                           text=f"No replica reached a {run.deal_name} within {steps} steps", font={"size": 14})
    else:
        end = float(curve["p_no_deal"].iloc[-1])
        fig.add_annotation(x=steps, y=100 * end, text=f"never reached a deal: {pct(end)}", showarrow=True,
                           arrowhead=2, ax=-70, ay=-35 if end < 0.8 else 35, bgcolor="white")
        below = curve.index[curve["p_no_deal"] <= 0.5]
        if len(below):
            t50 = int(curve.loc[below[0], "step"])
            fig.add_annotation(x=t50, y=50, text=f"half of replicas had signed a deal by "
                               f"{month_name(baseline_month(run.spec), t50)} (month {t50})", showarrow=True,
                               arrowhead=2, ax=60, ay=-40)
    fig.update_yaxes(title="% of replicas with no deal yet", range=[0, 103], ticksuffix=" %")
    fig.update_xaxes(**month_axis(baseline_month(run.spec), steps), range=[0, steps])
    return finish(fig, f"Time to a {run.deal_name}: share of replicas still without one", height=420)


def outcome_histograms_figure(run: RunData) -> go.Figure:
    """One histogram per issue of the final outcome (0–100), start and median marked, scale ends in words."""
    columns = [c for c in run.of_kind("quantity") if run.issue_of(c)]
    issues = [str(run.issue_of(c)) for c in columns]
    metas = [{**run.issue(i), "label": run.label(c)} for i, c in zip(issues, columns)]
    fig = make_subplots(rows=max(len(issues), 1), cols=1, subplot_titles=[m["label"] for m in metas],
                        vertical_spacing=min(0.5 / max(len(issues), 1), 0.12))
    stats = run.summary.get("outcomes", {})
    for row, (issue, column, meta) in enumerate(zip(issues, columns, metas), start=1):
        values = run.outcomes[column].to_numpy(dtype=float)
        low, high, counts = binned(values)              # counted over all replicas: the page stays small
        share = 100 * counts / max(int(counts.sum()), 1)
        fig.add_trace(
            go.Bar(
                x=(low + high) / 2, y=share, width=high - low, marker_color=color(row - 1),
                marker_line={"color": "white", "width": 0.5}, opacity=0.85, name=meta["label"], showlegend=False,
                customdata=np.stack([low, high, counts], axis=1),
                hovertemplate=f"{meta['label']}<br>final outcome %{{customdata[0]:g}}–%{{customdata[1]:g}}: "
                "%{y:.1f} % of replicas (%{customdata[2]:,})<extra></extra>",
            ),
            row=row, col=1,
        )
        start = stats.get(issue, {}).get("start")
        median = float(np.median(values)) if len(values) else None
        start_left = start is not None and median is not None and start < median
        for value, name, symbol, dash, word, left in (
            (start, "Start of run (mean over replicas)", "diamond", "dash", "start", start_left),
            (median, "Median final outcome", "triangle-up", "solid", "median", not start_left),
        ):
            if value is None:
                continue
            fig.add_vline(x=value, line_dash=dash, line_color="#222", line_width=1.5, row=row, col=1,
                          annotation_text=f"{word} {num(value, 0)}", annotation_font_size=11,
                          annotation_bgcolor="rgba(255,255,255,0.85)",
                          annotation_position="top left" if left else "top right")
            fig.add_trace(
                go.Scatter(x=[value], y=[0], mode="markers", marker={"symbol": symbol, "size": 12, "color": "#222"},
                           name=name, legendgroup=name, showlegend=row == 1, cliponaxis=False,
                           hovertemplate=f"{meta['label']}<br>{name}: {num(value)}<extra></extra>"),
                row=row, col=1,
            )
        fig.update_xaxes(**scale_ticks(meta["scale_0"], meta["scale_100"], 22), row=row, col=1)
        fig.update_yaxes(title="% of replicas", ticksuffix=" %", row=row, col=1)
    fig.update_layout(bargap=0)
    height = 150 + 250 * len(issues)
    return finish(fig, "Where each issue ends up: final outcomes across replicas", height=height)


def utility_figure(run: RunData) -> go.Figure:
    """Horizontal violins of each actor's final utility (baseline preferences), drawn from a bounded sample of
    replicas (:mod:`sim.report.sample`)."""
    fig = go.Figure()
    actors = run.of_kind("utility")
    for i, column in enumerate(actors):
        values = sampled(run.outcomes[column].to_numpy(dtype=float))
        name = run.label(column)
        fig.add_trace(
            go.Violin(
                x=values, y0=name, orientation="h", name=name, line_color=color(i),
                fillcolor=rgba(color(i), 0.35), box_visible=True, meanline_visible=True, points=False,
                spanmode="hard", showlegend=False, scalemode="width", width=0.8,
                hoveron="violins+kde",
            )
        )
    fig.update_xaxes(title="Final utility with baseline preferences  (← worse for that actor · better →)",
                     zeroline=True, zerolinecolor="#bbb")
    fig.update_yaxes(autorange="reversed")
    return finish(fig, "How each actor fares: distribution of final utility across replicas",
                  height=140 + 80 * len(actors), legend=False)


_PCT = {"q05": "5th percentile", "q25": "25th percentile", "q75": "75th percentile", "q95": "95th percentile"}


def _nudge(k: int, total: int, size: float) -> float:
    return 0.0 if total <= 1 else size * (k / (total - 1) - 0.5)


def add_fan(fig: go.Figure, q: pd.DataFrame, shape: str = "linear", fmt: str = ".1f", fan_color: str = FAN_COLOR,
            row: int | None = None, col: int | None = None, legend: bool = True,
            hover: list[str] | None = None) -> None:
    """Add the 5–95 % and 25–75 % bands and the median of per-step quantiles ``q`` (rows sorted by step, columns
    ``step, q05 … q95``) to ``fig`` (a subplot with ``row``/``col``); ``hover``: text per step shown with the
    median instead of its value."""
    x = q["step"].to_numpy()
    at = {"row": row, "col": col} if row is not None else {}
    for lo, hi, label, alpha in (("q05", "q95", "90 % of replicas (5th–95th percentile)", 0.15),
                                 ("q25", "q75", "middle half (25th–75th percentile)", 0.35)):
        edge = {"width": 0.5, "color": rgba(fan_color, 0.4), "shape": shape}
        fig.add_trace(go.Scatter(x=x, y=q[lo], mode="lines", line=edge, showlegend=False, name=_PCT[lo],
                                 legendgroup=lo, hovertemplate=f"{_PCT[lo]}: %{{y:{fmt}}}<extra></extra>"), **at)
        fig.add_trace(go.Scatter(x=x, y=q[hi], mode="lines", line=edge, fill="tonexty", name=label, legendgroup=lo,
                                 showlegend=legend, fillcolor=rgba(fan_color, alpha),
                                 hovertemplate=f"{_PCT[hi]}: %{{y:{fmt}}}<extra></extra>"), **at)
    median_hover = ("<b>median: %{customdata}</b><extra></extra>" if hover is not None
                    else f"<b>median: %{{y:{fmt}}}</b><extra></extra>")
    fig.add_trace(go.Scatter(x=x, y=q["q50"], mode="lines", line={"color": fan_color, "width": 3, "shape": shape},
                             name="median", legendgroup="median", showlegend=legend, customdata=hover,
                             hovertemplate=median_hover), **at)


def fan_figure(run: RunData, variable: str, n_samples: int | None = None) -> go.Figure:
    """Fan chart over time: 5–95 % and 25–75 % bands, median (and mean), a few sample replicas."""
    is_esc = variable == "escalation"
    if n_samples is None:
        n_samples = 3 if is_esc else 5  # rung paths overlap a lot; fewer keep the chart legible
    q = run.quantiles[run.quantiles["variable"] == variable].sort_values("step")
    shape = "hv" if is_esc else "linear"
    fig = go.Figure()
    x = q["step"].to_numpy()
    fmt = ".1f"
    add_fan(fig, q, shape=shape, fmt=fmt)
    if is_esc and "mean" in q:
        fig.add_trace(go.Scatter(x=x, y=q["mean"], mode="lines", line={"color": "#222", "width": 2, "dash": "dot"},
                                 name="mean rung", hovertemplate="mean rung: %{y:.2f}<extra></extra>"))
    traj = run.trajectories
    col = variable
    if len(traj) and col in traj:
        replicas = sorted(traj["replica"].unique())[:n_samples]
        for k, r in enumerate(replicas):
            path = traj[traj["replica"] == r].sort_values("step")
            y = path[col].to_numpy(dtype=float) + (_nudge(k, len(replicas), 0.3) if is_esc else 0.0)
            if is_esc:
                custom = [rung_label(int(v), run.rungs) for v in path[col]]
                hover = f"replica {r}: %{{customdata}}<extra></extra>"
            else:
                custom, hover = None, f"replica {r}: %{{y:{fmt}}}<extra></extra>"
            fig.add_trace(go.Scatter(
                x=path["step"], y=y, mode="lines", line={"color": "rgba(90,90,90,0.75)", "width": 1, "shape": shape},
                name="sample replicas", legendgroup="samples", showlegend=k == 0, customdata=custom,
                hovertemplate=hover,
            ))
    if is_esc:
        fig.update_yaxes(title="Escalation rung", **rung_ticks(run.rungs))
        title = "Escalation over time: the rung of the ladder, across replicas"
    else:
        meta = run.issue(run.issue_of(variable) or variable)
        ticks = scale_ticks(meta["scale_0"], meta["scale_100"], 22, axis="y")
        fig.update_yaxes(title=f"{meta['label']} (0–100)", **ticks)
        title = f"{sentence(run.label(variable))}, over time" if run.has(variable) else f"{meta['label']} over time"
    fig.update_xaxes(**month_axis(baseline_month(run.spec), int(x.max()) if len(x) else run.steps))
    fig.update_layout(hovermode="x unified")
    return finish(fig, title, height=430)
