"""The comparison page of several runs (built by ``python -m sim.compare``)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim import outcomes as names
from sim.report.headline import HEADLINE, HEADLINE_OUTCOME, SECONDARY, SECONDARY_OUTCOME
from sim.report.labels import Z95, pct_se, rung_label, scale_ticks, sentence, signed, wrap
from sim.report.page import Page, esc, write_html_atomic
from sim.report.sample import PLOT_SAMPLE, sample_note, sampled
from sim.report.style import color, finish, legend_rows, rgba
from sim.runs import RunData

_UNITS = {"probability": "percentage points", "quantity": "points on the 0–100 scale", "utility": "utility"}
_DIGITS = {"probability": 1, "quantity": 1, "utility": 3}
_WHAT = {"probability": "probability", "quantity": "mean outcome", "utility": "mean utility"}


def _ecdf(values: np.ndarray, max_points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Empirical CDF points (x sorted, y = share ≤ x), thinned to at most ``max_points``."""
    x = np.sort(values[~np.isnan(values)])
    y = np.arange(1, x.size + 1) / max(x.size, 1)
    if x.size > max_points:
        idx = np.unique(np.linspace(0, x.size - 1, max_points).round().astype(int))
        x, y = x[idx], y[idx]
    return x, y


def _unit(label: str) -> str:
    """The unit in a label's closing parentheses (``… cost of conflict (months of … × cost)``), else ``''``."""
    m = re.search(r"\(([^()]*)\)\s*$", label)
    return m.group(1) if m else ""


def _is_war_cost(key: str) -> bool:
    return key.startswith(names.WAR_COST_PREFIX)


def _quantity_label(run: RunData, kind: str, key: str) -> str:
    """The registry's label of outcome ``key``: ``P(…)`` for a probability, the scale's 100 end for an issue, the
    actor for a cost of conflict."""
    if kind == "probability":
        return HEADLINE if key == HEADLINE_OUTCOME else SECONDARY if key == SECONDARY_OUTCOME else f"P({run.label(key)})"
    issue = run.issue_of(key)
    if issue is not None:
        return f"{run.label(key)}<br>(+ = towards {run.issue(issue)['scale_100']})"
    if _is_war_cost(key):
        return run.actor_name(key.removeprefix(names.WAR_COST_PREFIX))
    return run.label(key)


def _panel(run: RunData, kind: str, key: str) -> str:
    """The forest panel of an outcome: its kind, with quantities split into issue outcomes, costs of conflict and
    other quantities (their units differ)."""
    if kind != "quantity" or run.issue_of(key) is not None:
        return kind
    return "war costs" if _is_war_cost(key) else "other quantities"


def _panel_title(run: RunData, panel: str, keys: Sequence[str]) -> str:
    if panel in _WHAT:
        return f"Difference in {_WHAT[panel]} ({_UNITS[panel]})"
    if panel == "war costs":
        unit = _unit(run.label(keys[0])) if keys else ""
        return "Difference in mean cost of conflict" + (f" ({unit})" if unit else "")
    return "Difference in mean (in each outcome's own unit)"


def _digits(kind: str, key: str) -> int:
    return 3 if _is_war_cost(key) else _DIGITS[kind]


def _unit_of(run: RunData, kind: str, key: str) -> str:
    """Words for the unit of one outcome's difference (hover text)."""
    if kind == "quantity" and run.issue_of(key) is None:
        return _unit(run.label(key)) or "its own unit"
    return _UNITS[kind]


def forest_figure(runs: Sequence[RunData], diffs: pd.DataFrame, labels: Sequence[str]) -> go.Figure:
    """Differences against the baseline with 95 % intervals, one panel per kind of quantity (quantities split by
    their unit: issue outcomes on 0–100, costs of conflict, other quantities)."""
    base = runs[0]  # runs are compatible: any run's labels will do
    diffs = diffs.assign(panel=[_panel(base, k, key) for k, key in zip(diffs["kind"], diffs["key"])])
    order = ["probability", "quantity", "war costs", "other quantities", "utility"]
    panels = [k for k in order if k in set(diffs["panel"])]
    keys_of = {p: list(dict.fromkeys(diffs.loc[diffs["panel"] == p, "key"])) for p in panels}
    counts = [len(keys_of[p]) for p in panels]
    fig = make_subplots(rows=len(panels), cols=1, row_heights=counts, vertical_spacing=0.3 / max(len(panels), 1),
                        subplot_titles=[_panel_title(base, p, keys_of[p]) for p in panels])
    for i in sorted(diffs["run"].unique()):
        for row, panel in enumerate(panels, start=1):
            d = diffs[(diffs["run"] == i) & (diffs["panel"] == panel)]
            kind = str(d["kind"].iloc[0]) if len(d) else "quantity"
            digits = max((_digits(kind, k) for k in d["key"]), default=_DIGITS[kind])
            ys = [_quantity_label(base, kind, k) for k in d["key"]]
            hover = [
                f"<b>{esc(labels[i])}</b> vs baseline<br>{y.replace('<br>', ' ')}: {signed(r.estimate, digits)} "
                f"({_unit_of(base, kind, r.key)})<br>95 % interval {signed(r.low, digits)} to "
                f"{signed(r.high, digits)}<br>"
                f"baseline {r.baseline_mean:.{digits}f} → this run {r.run_mean:.{digits}f}<br>"
                f"{'paired (common random numbers)' if r.paired else 'unpaired (different seeds)'}"
                for y, r in zip(ys, d.itertuples())
            ]
            fig.add_trace(go.Scatter(
                x=d["estimate"], y=ys, mode="markers", name=labels[i], legendgroup=str(i), showlegend=row == 1,
                orientation="h", offsetgroup=str(i), alignmentgroup="forest",   # dodged: no run hides another
                marker={"color": color(i), "size": 10, "symbol": "circle" if d["paired"].all() else "diamond-open"},
                error_x={"type": "data", "symmetric": False, "array": (d["high"] - d["estimate"]).tolist(),
                         "arrayminus": (d["estimate"] - d["low"]).tolist(), "color": color(i), "thickness": 2},
                text=hover, hovertemplate="%{text}<extra></extra>",
            ), row=row, col=1)
    for row, _ in enumerate(panels, start=1):
        fig.add_vline(x=0, line_color="#555", line_width=1, row=row, col=1)
        fig.update_yaxes(autorange="reversed", row=row, col=1)
        fig.update_xaxes(zeroline=False, title={"text": "← lower than baseline · higher than baseline →",
                                                 "font": {"size": 11}}, row=row, col=1)
    fig.update_layout(scattermode="group", scattergap=0.5)
    height = 160 + sum(max(c, 1) * (34 + 12 * (len(labels) - 1)) for c in counts) + 90 * len(panels)
    return finish(fig, "Differences from the baseline run, with 95 % intervals", height=height,
                  rows=legend_rows([labels[i] for i in sorted(diffs["run"].unique())]))


def _everywhere(runs: Sequence[RunData], keys: Sequence[str]) -> list[str]:
    """The outcomes of ``keys`` that every run has (runs of different worlds share only some)."""
    return [k for k in keys if all(k in r.outcomes.columns and r.has(k) for r in runs)]


def issue_columns(run: RunData) -> list[str]:
    """The registry's quantities that are issue outcomes on 0–100."""
    return [k for k in run.of_kind("quantity") if run.issue_of(k) is not None]


def other_quantities(run: RunData) -> list[str]:
    """The registry's quantities that are neither issue outcomes nor costs of conflict (breakout time, …)."""
    return [k for k in run.of_kind("quantity") if run.issue_of(k) is None and not _is_war_cost(k)]


def ecdf_figure(runs: Sequence[RunData], labels: Sequence[str], kind: str, keys: Sequence[str] | None = None,
                title: str | None = None) -> go.Figure:
    """ECDFs of the registry's outcomes of one kind (``quantity``: issue outcomes, ``utility``: actor utilities)
    or of the outcomes ``keys``, one panel per outcome, one line per run."""
    base = runs[0]
    if keys is None:
        keys = issue_columns(base) if kind == "quantity" else base.of_kind(kind)
    keys = _everywhere(runs, keys)
    titles = [base.label(k) for k in keys]
    ncols = 2 if len(keys) > 1 else 1
    nrows = max(math.ceil(len(keys) / ncols), 1)
    spacing = 120 / (330 * nrows) if nrows > 1 else 0.1
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=titles, vertical_spacing=spacing,
                        horizontal_spacing=0.1)
    for j, key in enumerate(keys):
        row, col = j // ncols + 1, j % ncols + 1
        for i, run in enumerate(runs):
            x, y = _ecdf(run.outcomes[key].to_numpy(dtype=float))
            fig.add_trace(go.Scatter(
                x=x, y=100 * y, mode="lines", line={"color": color(i), "width": 2, "shape": "hv"}, name=labels[i],
                legendgroup=str(i), showlegend=j == 0,
                hovertemplate=f"{esc(labels[i])}<br>%{{y:.0f}} % of replicas ended at or below %{{x:.2f}}"
                "<extra></extra>",
            ), row=row, col=col)
        issue = base.issue_of(key)
        if issue is not None:
            meta = base.issue(issue)
            fig.update_xaxes(**scale_ticks(meta["scale_0"], meta["scale_100"], 16), row=row, col=col)
        elif kind == "utility":
            fig.update_xaxes(title={"text": "utility (higher = better)", "font": {"size": 11}}, row=row, col=col)
        fig.update_yaxes(title={"text": "% of replicas ≤ x", "font": {"size": 11}}, range=[0, 101],
                         ticksuffix=" %", row=row, col=col)
    what = "issue outcomes" if kind == "quantity" else "actor utilities"
    return finish(fig, title or f"Cumulative distributions of final {what}", height=140 + 330 * nrows,
                  rows=legend_rows(list(labels)))


def violin_sample(runs: Sequence[RunData]) -> int:
    """Replicas drawn per run in a violin: :data:`PLOT_SAMPLE` shared among the runs, at least 5,000 each."""
    return max(PLOT_SAMPLE // max(len(runs), 1), 5_000)


def outcome_violin_figure(runs: Sequence[RunData], labels: Sequence[str]) -> go.Figure:
    """One panel per issue, one horizontal violin per run, scale ends in words (drawn from a bounded sample of
    each run's replicas, :func:`violin_sample`)."""
    base = runs[0]
    columns = _everywhere(runs, issue_columns(base))
    fig = make_subplots(rows=max(len(columns), 1), cols=1, subplot_titles=[base.label(c) for c in columns],
                        vertical_spacing=0.35 / max(len(columns), 1))
    ylabels = [wrap(lab, 30) for lab in labels]
    limit = violin_sample(runs)
    for row, column in enumerate(columns, start=1):
        for i, run in enumerate(runs):
            v = sampled(run.outcomes[column].to_numpy(dtype=float), limit)
            fig.add_trace(go.Violin(
                x=v, y0=ylabels[i], orientation="h", name=labels[i], legendgroup=str(i),
                showlegend=row == 1, line_color=color(i), fillcolor=rgba(color(i), 0.35), box_visible=True,
                meanline_visible=True, points=False, spanmode="hard", width=0.85,
            ), row=row, col=1)
        issue = base.issue_of(column)
        if issue is not None:
            meta = base.issue(issue)
            fig.update_xaxes(**scale_ticks(meta["scale_0"], meta["scale_100"], 22), row=row, col=1)
        fig.update_yaxes(autorange="reversed", row=row, col=1)
    per_row = 60 + 55 * len(runs)
    return finish(fig, "Final issue outcomes by run", height=140 + (per_row + 60) * len(columns),
                  rows=legend_rows(list(labels)))


def utility_violin_figure(runs: Sequence[RunData], labels: Sequence[str]) -> go.Figure:
    """Horizontal violins of each actor's final utility, grouped by run (one trace per run and actor, the run's
    traces in one offset group; drawn from a bounded sample of each run's replicas)."""
    base = runs[0]
    fig = go.Figure()
    columns = _everywhere(runs, base.of_kind("utility"))
    actors = [base.label(c) for c in columns]
    limit = violin_sample(runs)
    for i, run in enumerate(runs):
        for j, (column, actor) in enumerate(zip(columns, actors)):
            fig.add_trace(go.Violin(x=sampled(run.outcomes[column].to_numpy(dtype=float), limit), y0=actor,
                                    orientation="h", name=labels[i], legendgroup=str(i), showlegend=j == 0,
                                    offsetgroup=str(i), alignmentgroup="utilities", line_color=color(i),
                                    fillcolor=rgba(color(i), 0.35), box_visible=True, meanline_visible=True,
                                    points=False, spanmode="hard"))
    fig.update_layout(violinmode="group", violingap=0.25, violingroupgap=0.05)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="Final utility with baseline preferences  (← worse for that actor · better →)")
    return finish(fig, "How each actor fares, by run", height=160 + len(actors) * (40 + 40 * len(runs)),
                  rows=legend_rows(list(labels)))


def war_cost_columns(run: RunData) -> list[str]:
    """The run's costs of conflict (``war_cost_<actor>``), in registry order."""
    return [k for k in run.of_kind("quantity") if _is_war_cost(k)]


def war_cost_figure(runs: Sequence[RunData], labels: Sequence[str]) -> go.Figure:
    """Grouped bars: each actor's mean cost of conflict per run, whiskers 95 % Monte Carlo intervals."""
    base = runs[0]
    columns = _everywhere(runs, war_cost_columns(base))
    actors = [_quantity_label(base, "quantity", c) for c in columns]
    fig = go.Figure()
    for i, run in enumerate(runs):
        have = [c for c in columns if c in run.outcomes]
        mean = np.array([float(run.outcomes[c].mean()) for c in have])
        n = max(len(run.outcomes), 2)
        se = np.array([float(run.outcomes[c].std(ddof=1)) / math.sqrt(n) for c in have])
        fig.add_trace(go.Bar(x=[actors[columns.index(c)] for c in have], y=mean, name=labels[i],
                             marker_color=color(i), customdata=se,
                             error_y={"type": "data", "array": Z95 * np.nan_to_num(se), "thickness": 1.2},
                             hovertemplate=f"{esc(labels[i])}<br>%{{x}}: mean %{{y:.3f}} ± %{{customdata:.3f}} se"
                             "<extra></extra>"))
    unit = _unit(base.label(columns[0])) if columns else ""
    fig.update_layout(barmode="group")
    fig.update_yaxes(title=wrap("Mean cost of conflict" + (f" ({unit})" if unit else ""), 40), rangemode="tozero")
    return finish(fig, "Costs of conflict by actor, by run", height=460, rows=legend_rows(list(labels)))


def max_rung_figure(runs: Sequence[RunData], labels: Sequence[str]) -> go.Figure:
    """Grouped bars: P(highest rung = k) per run, with 95 % Monte Carlo intervals."""
    rungs = runs[0].rungs
    x = [wrap(rung_label(k, rungs), 16) for k in range(len(rungs))]
    fig = go.Figure()
    for i, run in enumerate(runs):
        rows = {int(r["rung"]): r for r in run.summary.get("probabilities", {}).get("max_rung", [])}
        p = np.array([float(rows.get(k, {}).get("p", 0.0)) for k in range(len(rungs))])
        se = np.array([float(rows.get(k, {}).get("se", 0.0)) for k in range(len(rungs))])
        fig.add_trace(go.Bar(x=x, y=100 * p, name=labels[i], marker_color=color(i),
                             error_y={"type": "data", "array": 100 * Z95 * se, "thickness": 1.2},
                             customdata=100 * se,
                             hovertemplate=f"{esc(labels[i])}<br>%{{x}}: %{{y:.1f}} % of replicas "
                             "(± %{customdata:.1f} se)<extra></extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="% of replicas", ticksuffix=" %", rangemode="tozero")
    fig.update_xaxes(title="Highest rung of the escalation ladder reached (calm → regional war)")
    return finish(fig, "How far escalation went, by run", height=460, rows=legend_rows(list(labels)))


def _runs_table(page: Page, runs: Sequence[RunData], labels: Sequence[str], baseline: int, diffs: pd.DataFrame) -> None:
    rows = []
    for i, run in enumerate(runs):
        sw = f'<span class="swatch" style="background:{color(i)}"></span>'
        if i == baseline:
            role = "baseline"
        else:
            paired = bool(diffs.loc[diffs["run"] == i, "paired"].all()) if len(diffs) else False
            role = "paired with baseline" if paired else "unpaired (different seed or replicas)"
        rows.append([sw + esc(labels[i]), role, run.scenario_name, run.seed, f"{run.n_runs:,}", run.steps,
                     str(run.path)])
    page.table(["Run", "Role", "Scenario", "Seed", "Replicas", "Steps", "Folder"], rows, raw_cols=[0],
               numeric=[3, 4, 5])


def _probability_table(page: Page, runs: Sequence[RunData], labels: Sequence[str]) -> None:
    rows: list[list[str]] = []
    for key in _everywhere(runs, runs[0].of_kind("probability")):
        shares = [r.probability(key) for r in runs]
        label = (HEADLINE if key == HEADLINE_OUTCOME else SECONDARY if key == SECONDARY_OUTCOME
                 else sentence(runs[0].label(key)))
        rows.append([label, *(pct_se(c.get("p"), c.get("se")) for c in shares)])
    rungs = runs[0].rungs
    for k in range(len(rungs)):
        cells = []
        for r in runs:
            max_rung: list[dict[str, Any]] = r.summary["probabilities"].get("max_rung", [])
            row = next((x for x in max_rung if int(x["rung"]) == k), {})
            cells.append(pct_se(row.get("p"), row.get("se")))
        rows.append([f"{sentence(runs[0].label(names.MAX_RUNG))} = {rung_label(k, rungs)}", *cells])
    page.table(["Event", *labels], rows, numeric=list(range(1, len(runs) + 1)),
               caption="Share of replicas ± Monte Carlo standard error.")


def _difference_table(page: Page, runs: Sequence[RunData], labels: Sequence[str], diffs: pd.DataFrame) -> None:
    base = runs[0]
    others = sorted(diffs["run"].unique())
    keyed = diffs.set_index(["run", "kind", "key"])
    estimate, low, high = keyed["estimate"], keyed["low"], keyed["high"]
    rows = []
    for kind, key in dict.fromkeys(zip(diffs["kind"], diffs["key"])):
        digits = _digits(kind, key)
        cells = []
        for i in others:
            at = (i, kind, key)
            cells.append(f"{signed(estimate.loc[at], digits)} ({signed(low.loc[at], digits)} to "
                         f"{signed(high.loc[at], digits)})")
        unit = "pp" if kind == "probability" else ""
        name = _quantity_label(base, kind, key).replace("<br>", " ")
        if _is_war_cost(key):
            name = sentence(base.label(key))
        rows.append([name + (f" [{unit}]" if unit else ""), *cells])
    page.table(["Quantity (run − baseline)", *[labels[i] for i in others]], rows,
               numeric=list(range(1, len(others) + 1)),
               caption="Difference of means (probabilities in percentage points, pp; issue outcomes in points on "
                       "their 0–100 scale; other quantities in the unit their name gives) with its 95 % interval.")


def render_comparison(runs: Sequence[RunData], baseline: int, diffs: pd.DataFrame, labels: Sequence[str],
                      out: str | Path) -> Path:
    """Write the comparison page to ``out`` and return its path; ``diffs`` comes from ``difference_table``."""
    from sim.compare import not_comparable, shared_outcomes

    shared = set(shared_outcomes(runs))
    if len(diffs):
        diffs = diffs[diffs["key"].isin(shared)].reset_index(drop=True)
    page = Page(f"Comparison of {len(runs)} runs")
    page.html(f"<h1>Comparison of {len(runs)} runs</h1>")
    page.paragraph(f"Baseline: {labels[baseline]}. Colours identify runs throughout the page (one colour per "
                   "run, none repeated). Headline deal figure: " + HEADLINE + "; secondary: " + SECONDARY + ".",
                   cls="lead")
    _runs_table(page, runs, labels, baseline, diffs)
    lines = not_comparable(runs, labels)
    if lines:
        page.note("These runs model different worlds; they are compared on the outcomes they share. "
                  + " ".join(lines))
    if len(diffs):
        paired = diffs.groupby("run")["paired"].all()
        if paired.all():
            page.note("All runs share the baseline's seed and number of replicas (common random numbers: replica r "
                      "of each run used the same random stream). Differences are paired, replica by replica, so "
                      "their intervals are much narrower than the runs' own spreads.")
        else:
            bad = ", ".join(labels[i] for i in paired.index[~paired])
            page.note(f"Unpaired differences for: {bad}. These runs used a different seed or number of replicas "
                      "than the baseline, so replicas cannot be matched; differences compare the two samples as "
                      "independent and their intervals are wider.")
        page.section("Differences from the baseline", "differences")
        page.figure(forest_figure(runs, diffs, labels),
                    "Each dot is a run's difference from the baseline, the bar its 95 % interval. A bar that does not "
                    "cross the vertical zero line is a difference larger than Monte Carlo noise. Probabilities are "
                    "in percentage points; issue outcomes in points on their 0–100 scale (+ = towards the named "
                    "end); costs of conflict and other quantities in the unit their panel or name gives; utilities "
                    "in utility units (+ = better for that actor). Open diamonds = unpaired.")
        _difference_table(page, runs, labels, diffs)
    page.section("Probabilities side by side", "probabilities")
    _probability_table(page, runs, labels)
    page.section("Escalation", "escalation")
    page.figure(max_rung_figure(runs, labels),
                "For each rung, one bar per run: the share of replicas whose highest rung was that rung. Whiskers: "
                "95 % Monte Carlo intervals. Mass shifting to the right means more escalation.")
    page.section("Issue outcomes", "outcomes")
    page.figure(ecdf_figure(runs, labels, "quantity"),
                "Cumulative distributions: at each value on the horizontal axis, the share of replicas that ended at "
                "or below it. A curve further right means outcomes further towards the 100 end of that scale; where "
                "curves cross, runs differ in spread rather than simply in level.")
    note = sample_note(max(len(r.outcomes) for r in runs), violin_sample(runs))
    page.figure(outcome_violin_figure(runs, labels),
                "The same outcomes as violins: width = how often a value occurred; box = middle half of replicas; "
                "line = median, dashed = mean." + note)
    costs, others = war_cost_columns(runs[0]), other_quantities(runs[0])
    if costs or others:
        page.section("World and costs of conflict", "world")
        if others:
            page.figure(ecdf_figure(runs, labels, "quantity", others, "Cumulative distributions of the world state "
                                    "at the end"),
                        "Cumulative distributions of the world-state quantities at the end of the run (each in its "
                        "own unit, e.g. Iran's breakout time in months): at each value, the share of replicas that "
                        "ended at or below it. A curve further right means larger values in that run.")
        if costs:
            page.figure(war_cost_figure(runs, labels),
                        "Each actor's mean accumulated cost of conflict over all replicas, one bar per run (colours "
                        "as above); whiskers: 95 % Monte Carlo intervals. The costs enter the actors' utilities.")
    page.section("Actor utilities", "utilities")
    page.figure(ecdf_figure(runs, labels, "utility"),
                "Cumulative distributions of each actor's final utility (baseline preferences). A curve further "
                "right means the actor did better in that run.")
    page.figure(utility_violin_figure(runs, labels),
                "Each actor's final utility, one violin per run (colours as above). Further right = better for that "
                "actor." + note)
    return write_html_atomic(out, page.render())
