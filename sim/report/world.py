"""The "World" section of a run report: the state of the world over time (what actors do, apart from what they
declare), strikes and wars by month, and each actor's cost of conflict.

Data, all of it bounded whatever the number of replicas:

- per-step quantiles over all replicas of the recorder's world-state variables (``trajectory_quantiles.parquet``,
  variables named as in :data:`sim.recorder.WORLD_VARIABLES`: ``breakout`` in months, ``access`` × 100,
  ``stockpile`` in significant quantities, the policies in force on their issues' 0–100 scales, and the states
  coded 0, 1, 2 … ``hormuz``, ``strike_level``, ``channel``, ``deal_stage``; variables a run lacks are left out);
- the registry's outcomes (``outcomes.parquet``, counted over all replicas): the months first events happened
  (``first_strike_step``, ``war_step``, ``deal_signed_step``, ``snapback_step``, ``hormuz_closed_step``), the
  probabilities and each actor's cost of conflict (``war_cost_<actor>``, group ``war costs``).

Per-replica paths of the world state are not stored, so the coded states are shown through their per-step
quantiles, and as shares only where the data hold shares: the share of replicas in which an event had first
happened by each month.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim import outcomes as names
from sim.report.figures import add_fan
from sim.report.headline import baseline_month, month_axis
from sim.report.labels import Z95, num, pct, pct_se, scale_ticks, sentence, wrap
from sim.report.page import Page
from sim.report.style import DEAL_COLOR, WAR_COLOR, color, finish, rgba
from sim.runs import RunData


@dataclass(frozen=True)
class Continuous:
    """A world-state variable on a continuous scale: its recorder name, title, axis and what it is."""

    variable: str
    title: str
    axis: str
    what: str
    issue_of: tuple[str, str] | None = None   #: (mechanism, field) in the spec naming the issue whose scale it uses


#: The continuous world-state variables the section shows, in this order (the recorder's names).
CONTINUOUS: tuple[Continuous, ...] = (
    Continuous("breakout", "Iran's breakout time", "Breakout time (months)",
               "Iran's breakout time in force: the months it would need to produce enough weapon-grade uranium for "
               "one weapon, as the nuclear mechanism tracks the programme (shorter = closer to a bomb). It "
               "shortens where Iran chooses to advance, lengthens as a deal in force is implemented and is set "
               "back by strikes on the facilities. This is the state of the programme, not a declared position."),
    Continuous("access", "Inspectors' access to Iran's programme", "Access (% of full access)",
               "Inspectors' access in force, in % of full access (100 = full verification): it shrinks where "
               "Iran advances and after strikes, and grows as a deal's terms are implemented."),
    Continuous("stockpile", "Iran's stockpile of highly enriched uranium", "Stockpile (significant quantities)",
               "Iran's stockpile of uranium enriched to 60 %, in significant quantities (42 kg of 60 % uranium "
               "each, about what one weapon needs once enriched further), as the nuclear mechanism tracks it."),
    Continuous("sanctions_us", "US sanctions on Iran in force", "US sanctions in force (0–100)",
               "US sanctions on Iran in force (not the declared US position): they move month by month toward the "
               "US position on the sanctions issue, or toward the deal's terms while a deal holds. The sanctions "
               "issue's value 'in force' also counts the UN sanctions once Europe triggers the snapback; this "
               "chart is the US instrument alone.", ("policy", "sanctions_issue")),
    Continuous("ukraine_support", "Western military support to Ukraine in force",
               "Support to Ukraine in force (0–100)",
               "Western military support to Ukraine in force: it moves month by month toward the "
               "capability-weighted positions of the suppliers, so it lags what they declare.",
               ("policy", "support_issue")),
    Continuous("proxy_activity", "Proxy activity Iran actually exercises", "Proxy activity in force (0–100)",
               "Proxy activity Iran actually exercises (not what it declares): it moves toward the target Iran "
               "chooses each month.", ("policy", "proxy_issue")),
)


@dataclass(frozen=True)
class Discrete:
    """A world-state variable coded 0, 1, 2 …: its recorder name, title and the names of its codes."""

    variable: str
    title: str
    states: tuple[str, ...]
    ordered: bool = True        #: the codes are ordered (the mean of the code means something)


#: The coded world-state variables (codes as in sim/mechanics/hormuz.py, escalation.py and deal.py).
DISCRETE: tuple[Discrete, ...] = (
    Discrete("hormuz", "Strait of Hormuz", ("open", "harassed", "closed")),
    Discrete("strike_level", "Interstate track", ("no strikes", "limited strikes", "sustained strikes",
                                                  "regional war")),
    Discrete("channel", "Negotiating channel", ("none", "direct", "mediated"), ordered=False),
    Discrete("deal_stage", "Stage of the deal", ("none", "talks", "framework", "signed", "implemented",
                                                 "collapsed"), ordered=False),
)

#: Months of first events shown as cumulative shares (outcome, colour), in this order.
_FIRST_EVENTS: tuple[tuple[str, str], ...] = (
    (names.FIRST_STRIKE_STEP, "#E69F00"),
    (names.WAR_STEP, WAR_COLOR),
    (names.DEAL_SIGNED_STEP, DEAL_COLOR),
    (names.SNAPBACK_STEP, "#0072B2"),
    (names.HORMUZ_CLOSED_STEP, "#CC79A7"),
)


def world_variables(run: RunData) -> set[str]:
    """The world-state variables this run's ``trajectory_quantiles.parquet`` holds."""
    known = {c.variable for c in CONTINUOUS} | {d.variable for d in DISCRETE}
    q = run.quantiles
    return set(q["variable"].astype(str)) & known if len(q) else set()


def war_cost_columns(run: RunData) -> list[str]:
    """The run's war-cost outcomes (``war_cost_<actor>``), in registry order."""
    return [str(o["name"]) for o in run.registry if str(o["name"]).startswith(names.WAR_COST_PREFIX)]


def has_world(run: RunData) -> bool:
    """True if the run has anything for the World section (world trajectories, strike/war months, war costs)."""
    return bool(world_variables(run)) or any(run.has(n) for n in (names.FIRST_STRIKE_STEP, names.WAR_STEP)) \
        or bool(war_cost_columns(run))


def _issue_scale(run: RunData, item: Continuous) -> dict[str, str] | None:
    """The issue whose 0–100 scale ``item`` uses (from the spec's mechanism settings), None if unknown."""
    if item.issue_of is None:
        return None
    mech, key = item.issue_of
    issue = ((run.spec.get("spec") or {}).get("mechanics") or {}).get(mech, {}).get(key)
    return run.issue(str(issue)) if issue and str(issue) in run.issue_ids else None


def _series(run: RunData, variable: str) -> pd.DataFrame:
    q = run.quantiles
    return q[q["variable"] == variable].sort_values("step").reset_index(drop=True)


def world_fan_figure(run: RunData, item: Continuous) -> go.Figure:
    """Fan chart of a continuous world-state variable: median, middle half and 90 % of replicas by month."""
    q = _series(run, item.variable)
    fig = go.Figure()
    add_fan(fig, q)
    fig.add_trace(go.Scatter(x=q["step"], y=q["mean"], mode="lines", line={"color": "#222", "width": 1.5,
                                                                            "dash": "dot"},
                             name="mean", hovertemplate="mean: %{y:.2f}<extra></extra>"))
    scale = _issue_scale(run, item)
    if scale is not None:
        fig.update_yaxes(title=item.axis, **scale_ticks(scale["scale_0"], scale["scale_100"], 22, axis="y"))
    elif item.variable == "access":
        fig.update_yaxes(title=item.axis, range=[-2, 102], ticksuffix=" %")
    else:
        fig.update_yaxes(title=item.axis, rangemode="tozero")
    fig.update_xaxes(**month_axis(baseline_month(run.spec), int(q["step"].max()) if len(q) else run.steps))
    fig.update_layout(hovermode="x unified")
    return finish(fig, f"{item.title}, over time", height=430)


def _fan_caption(run: RunData, item: Continuous) -> str:
    text = item.what
    scale = _issue_scale(run, item)
    if scale is not None:
        text += (f" Scale as the issue '{scale['label']}': 0 = {scale['scale_0']}, 100 = {scale['scale_100']}.")
    if item.variable == "breakout" and run.has(names.BREAKOUT):
        v = run.outcomes[names.BREAKOUT].to_numpy(dtype=float)
        v = v[~np.isnan(v)]
        if len(v):
            q05, q50, q95 = np.quantile(v, [0.05, 0.5, 0.95])
            se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan
            text += (f" At the end of the run, over all replicas and unbinned: median {num(q50)} months, mean "
                     f"{num(float(v.mean()), 2)} ± {num(se, 2)} (± standard error), 90 % of replicas between "
                     f"{num(q05)} and {num(q95)}.")
    unit = {"breakout": "months", "access": "percentage points", "stockpile": "significant quantities"}.get(
        item.variable, "points")
    return text + (f" The recorder bins values at 0.1 {unit}, so the percentiles move in steps of 0.1; the dotted "
                   "line is the exact mean.")


def states_figure(run: RunData, items: list[Discrete]) -> go.Figure:
    """One panel per coded state (Hormuz, interstate track, deal stage): its per-step quantiles as step lines on
    the named codes, the mean code dotted where the codes are ordered."""
    fig = make_subplots(rows=len(items), cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=[_state_title(run, d) for d in items])
    for row, item in enumerate(items, start=1):
        q = _series(run, item.variable)
        words = [item.states[int(v)] if 0 <= int(v) < len(item.states) else f"code {int(v)}"
                 for v in np.rint(q["q50"].to_numpy(dtype=float))]
        add_fan(fig, q, shape="hv", fmt=".0f", row=row, col=1, legend=row == 1, hover=words)
        if item.ordered:
            fig.add_trace(go.Scatter(x=q["step"], y=q["mean"], mode="lines", name="mean of the code",
                                     legendgroup="mean", showlegend=row == 1,
                                     line={"color": "#222", "width": 1.5, "dash": "dot"},
                                     hovertemplate="mean code: %{y:.3f}<extra></extra>"), row=row, col=1)
        k = len(item.states)
        fig.update_yaxes(tickvals=list(range(k)), ticktext=[wrap(f"{i} · {s}", 18) for i, s in
                                                              enumerate(item.states)],
                         range=[-0.3, k - 0.7], row=row, col=1)
    fig.update_xaxes(**month_axis(baseline_month(run.spec), run.steps), row=len(items), col=1)
    fig.update_layout(hovermode="x unified")
    return finish(fig, "States of the world by month: quantiles across replicas", height=150 + 270 * len(items))


def _state_title(run: RunData, item: Discrete) -> str:
    return f"Stage of the {run.deal_name}" if item.variable == "deal_stage" else item.title


def _states_caption(run: RunData, items: list[Discrete]) -> str:
    parts = []
    for item in items:
        last = _series(run, item.variable).iloc[-1]
        top = item.states[min(max(int(round(float(last["q95"]))), 0), len(item.states) - 1)]
        parts.append(f"{_state_title(run, item)}: in the last month the 95th percentile is '{top}'"
                     + (f", the mean code {num(float(last['mean']), 2)}" if item.ordered else ""))
    return ("Each state is coded 0, 1, 2 … (the names on the left). The run stores per-step quantiles of the codes "
            "over all replicas, not the share of replicas in each state, so the chart shows those quantiles: the line "
            "is the median state, the bands hold the middle half and 90 % of replicas. Read a band's edge as a share: "
            "where the light band reaches 'harassed', more than 5 % of replicas had the strait harassed or closed "
            "that month; where it stays at the bottom, at most 5 % were above it. The dotted line is the mean of "
            "the code (0 … 2 for the strait, 0 … 3 for the interstate track), which moves even when every quantile "
            "stays at 0. The channel's codes and the deal's stages are not an order ('mediated' is coded above "
            "'direct', 'collapsed' above 'implemented'), so no mean is drawn for them. " + "; ".join(parts) + ".")


def _first_months(run: RunData, name: str, steps: int) -> np.ndarray:
    """Counts of replicas by the month ``name`` first happened (0 … steps), over all replicas."""
    v = run.outcomes[name].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    v = v[~np.isnan(v)]
    return np.bincount(np.clip(v, 0, steps).astype(np.int64), minlength=steps + 1)[: steps + 1]


def _steps(run: RunData, columns: list[str]) -> int:
    if run.steps:
        return run.steps
    top = [run.outcomes[c].max() for c in columns if run.outcomes[c].notna().any()]
    return int(max(top)) if top else 1


def first_events_figure(run: RunData, events: list[tuple[str, str]]) -> go.Figure:
    """Cumulative shares: the share of replicas in which each event had first happened by each month, with 95 %
    intervals (counted over all replicas)."""
    steps = _steps(run, [e for e, _ in events])
    n = max(len(run.outcomes), 1)
    t = np.arange(steps + 1)
    fig = go.Figure()
    for name, col in events:
        share = np.cumsum(_first_months(run, name, steps)) / n
        se = np.sqrt(share * (1 - share) / n)
        label = _event_name(run, name)
        for edge, fill in ((np.clip(share - Z95 * se, 0, 1), None), (np.clip(share + Z95 * se, 0, 1), "tonexty")):
            fig.add_trace(go.Scatter(x=t, y=100 * edge, mode="lines", line={"width": 0, "shape": "hv"}, fill=fill,
                                     fillcolor=rgba(col, 0.18), hoverinfo="skip", showlegend=False,
                                     legendgroup=name))
        fig.add_trace(go.Scatter(x=t, y=100 * share, mode="lines", line={"color": col, "width": 2.5, "shape": "hv"},
                                 name=label, legendgroup=name, customdata=100 * se,
                                 hovertemplate=f"{label}<br>by month %{{x}}: %{{y:.1f}} % of replicas "
                                 "(± %{customdata:.1f} se)<extra></extra>"))
    fig.update_yaxes(title="% of replicas in which it had happened", ticksuffix=" %", rangemode="tozero")
    fig.update_xaxes(**month_axis(baseline_month(run.spec), steps), range=[0, steps])
    return finish(fig, "By month: share of replicas in which each event had happened at least once", height=460)


def _event_name(run: RunData, name: str) -> str:
    """Short words for a first-event outcome: its label without ``month (the) … first``."""
    label = run.label(name)
    short = re.sub(r"^month (of )?(the )?", "", label)
    short = re.sub(r" \(world state\)$", "", short)
    return sentence(short)


def strikes_wars_figure(run: RunData, columns: list[str]) -> go.Figure:
    """Grouped bars: how many replicas had their first interstate strike / regional war begin in each month."""
    steps = _steps(run, columns)
    n = max(len(run.outcomes), 1)
    months = np.arange(steps + 1)
    fig = go.Figure()
    for name in columns:
        counts = _first_months(run, name, steps)
        col = WAR_COLOR if name == names.WAR_STEP else "#E69F00"
        label = _event_name(run, name)
        fig.add_trace(go.Bar(x=months, y=counts, name=label, marker_color=col,
                             customdata=100 * counts / n,
                             hovertemplate=f"{label}<br>month %{{x}}: %{{y:,}} replicas "
                             "(%{customdata:.1f} % of all)<extra></extra>"))
    fig.update_layout(barmode="group", bargap=0.15)
    fig.update_yaxes(title="Replicas (count)", rangemode="tozero")
    fig.update_xaxes(**month_axis(baseline_month(run.spec), steps), range=[-0.5, steps + 0.5])
    return finish(fig, "Strikes and wars by month: replicas whose first strike or war began that month", height=440)


def _p_text(run: RunData, name: str, words: str) -> str:
    p = run.probability(name)
    return f"P({words}) = {pct_se(p.get('p'), p.get('se'))}" if p else ""


def _strikes_caption(run: RunData, columns: list[str]) -> str:
    n = len(run.outcomes)
    parts = []
    for name, bool_name in ((names.FIRST_STRIKE_STEP, names.FIRST_STRIKE), (names.WAR_STEP, names.WAR)):
        if name not in columns:
            continue
        happened = int(run.outcomes[name].notna().sum())
        p = _p_text(run, bool_name, run.label(bool_name)) if run.has(bool_name) else \
            f"{pct(happened / max(n, 1))} of replicas"
        t = run.timing(name)
        when = (f", median month {num(t['median'], 0)} (middle half {num(t.get('q25'), 0)}–{num(t.get('q75'), 0)})"
                if t.get("median") is not None else "")
        parts.append(f"{p}: {happened:,} of {n:,} replicas{when}")
    return ("Each bar counts the replicas (of all replicas) whose first event of that kind fell in that month; "
            "replicas in which it never happened are not drawn. " + "; ".join(parts) + ". ± is the Monte Carlo "
            "standard error. A replica counts once per kind, in its first month.")


def _unit(label: str) -> str:
    """The unit in a label's closing parentheses (``… (months of regional war equivalent × cost)``)."""
    m = re.search(r"\(([^()]*)\)\s*$", label)
    return m.group(1) if m else ""


def _cost_stats(run: RunData, columns: list[str]) -> list[dict[str, Any]]:
    out = run.outcomes
    war = out[names.WAR].to_numpy(dtype=bool) if names.WAR in out else None
    rows = []
    for c in columns:
        v = out[c].to_numpy(dtype=float)
        n = len(v)
        mean = float(np.nanmean(v)) if n else math.nan
        se = float(np.nanstd(v, ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        row = {"column": c, "actor": run.actor_name(c.removeprefix(names.WAR_COST_PREFIX)), "mean": mean, "se": se,
               "q50": float(np.nanmedian(v)) if n else math.nan,
               "q95": float(np.nanquantile(v, 0.95)) if n else math.nan,
               "any": float(np.mean(v > 0)) if n else math.nan}
        if war is not None:
            row["war"] = float(v[war].mean()) if war.any() else math.nan
            row["no_war"] = float(v[~war].mean()) if (~war).any() else math.nan
        rows.append(row)
    return rows


def war_costs_figure(run: RunData, stats: list[dict[str, Any]], unit: str) -> go.Figure:
    """Bars: each actor's mean cost of conflict over all replicas, whiskers 95 % Monte Carlo intervals."""
    actors = [s["actor"] for s in stats]
    mean = np.array([s["mean"] for s in stats])
    se = np.nan_to_num(np.array([s["se"] for s in stats]))
    fig = go.Figure(go.Bar(
        x=actors, y=mean, marker_color=[color(i) for i in range(len(stats))],
        error_y={"type": "data", "array": Z95 * se, "color": "#333", "thickness": 1.2},
        customdata=se, showlegend=False,
        hovertemplate="%{x}: mean %{y:.3f} ± %{customdata:.3f} (standard error)<extra></extra>",
    ))
    for a, m, s in zip(actors, mean, se):
        fig.add_annotation(x=a, y=m + Z95 * s, text=f"{m:.3f} ± {s:.3f}", showarrow=False, yshift=10,
                           font={"size": 12, "color": "#222"})
    fig.update_yaxes(title=wrap(f"Mean cost of conflict ({unit})" if unit else "Mean cost of conflict", 40),
                     rangemode="tozero")
    return finish(fig, "Who pays for the fighting: each actor's mean cost of conflict", height=440, legend=False)


def _world_outcomes_table(page: Page, run: RunData) -> None:
    """Every outcome of the registry's ``world`` group, by its kind's rule."""
    rows: list[tuple[str, str]] = []
    n = max(len(run.outcomes), 1)
    for o in run.registry:
        if o.get("group") != "world":
            continue
        name, kind = str(o["name"]), str(o["kind"])
        label = sentence(run.label(name))
        if kind == "probability":
            prob = run.probability(name)
            rows.append((label, f"{pct_se(prob.get('p'), prob.get('se'))} of replicas"))
        elif kind == "step":
            happened = run.outcomes[name].notna().to_numpy()
            share = float(happened.mean()) if len(happened) else math.nan
            t = run.timing(name)
            when = (f"; median month {num(t['median'], 0)} (middle half {num(t.get('q25'), 0)}–"
                    f"{num(t.get('q75'), 0)})" if t.get("median") is not None else "")
            se = math.sqrt(share * (1 - share) / n)
            rows.append((label, f"happened in {pct_se(share, se)} of replicas{when}"))
        elif kind == "quantity":
            v = run.outcomes[name].to_numpy(dtype=float)
            v = v[~np.isnan(v)]
            if len(v):
                q05, q50, q95 = np.quantile(v, [0.05, 0.5, 0.95])
                se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan
                rows.append((label, f"mean {num(float(v.mean()), 2)} ± {num(se, 2)}, median {num(q50)}, "
                                    f"90 % of replicas {num(q05)} – {num(q95)}"))
    if rows:
        page.table(["World-state outcome (over all replicas)", "Value"], rows,
                   caption="Months count from the baseline (month 0). ± is the Monte Carlo standard error.")


def world_section(page: Page, run: RunData) -> None:
    """The "World" section: world state over time, coded states, first events, strikes and wars, war costs."""
    if not has_world(run):
        return
    page.section("World", "world",
                 "The state of the world as the actors make it, apart from what they declare in the bargaining: "
                 "Iran's nuclear programme, the policies in force, the Strait of Hormuz, the interstate track of "
                 "escalation and the deal's stage. Fan charts as above: the dark line is the median across all "
                 "replicas at each month, the dark band the middle half, the light band 90 % of them. There are no "
                 "sample lines: per-replica paths of the world state are not stored.")
    present = world_variables(run)
    if not present:
        page.note("This run's trajectory_quantiles.parquet holds no world-state variables (breakout, sanctions, "
                  "support to Ukraine, proxy activity, Hormuz, interstate track, channel, deal stage), so their "
                  "charts over "
                  "time are not shown; the months of first events and the war costs below come from "
                  "outcomes.parquet.")
    for item in CONTINUOUS:
        if item.variable in present:
            page.figure(world_fan_figure(run, item), _fan_caption(run, item))
    discrete = [d for d in DISCRETE if d.variable in present]
    if discrete:
        page.figure(states_figure(run, discrete), _states_caption(run, discrete))
    events = [(e, c) for e, c in _FIRST_EVENTS if run.has(e)]
    if not run.has(names.DEAL_SIGNED_STEP) and run.has(names.DEAL_STEP):
        events.insert(2, (names.DEAL_STEP, DEAL_COLOR))
    if events:
        page.figure(first_events_figure(run, events),
                    "Share of all replicas in which each event had happened at least once by the end of each month "
                    "(cumulative, so a line never falls: a strait closed and reopened still counts). Shaded: 95 % "
                    "Monte Carlo interval. Counted from the month each event first happened (outcomes.parquet), "
                    "over all replicas.")
    _world_outcomes_table(page, run)
    sw = [c for c in (names.FIRST_STRIKE_STEP, names.WAR_STEP) if run.has(c)]
    if sw:
        page.heading("Strikes and wars by month")
        page.figure(strikes_wars_figure(run, sw), _strikes_caption(run, sw))
    costs = war_cost_columns(run)
    if costs:
        page.heading("Costs of conflict")
        stats = _cost_stats(run, costs)
        unit = _unit(run.label(costs[0]))
        page.figure(war_costs_figure(run, stats, unit),
                    "Mean over all replicas of each actor's accumulated cost of conflict"
                    + (f" ({unit})" if unit else "") + "; whiskers: 95 % Monte Carlo interval, labels: mean ± "
                    "standard error. Costs accrue in every month of proxy fighting, strikes or war (and a closed "
                    "strait), in proportion to its scale, and enter each actor's utility; replicas without any "
                    "fighting cost nothing.")
        has_war = names.WAR in run.outcomes
        rows = []
        for s in stats:
            row = [s["actor"], f"{num(s['mean'], 3)} ± {num(s['se'], 3)}", num(s["q50"], 3), num(s["q95"], 3),
                   pct(s["any"])]
            if has_war:
                row += [num(s.get("war"), 3), num(s.get("no_war"), 3)]
            rows.append(row)
        heads = ["Actor", "Mean ± se", "Median", "95th percentile", "Replicas with any cost"]
        if has_war:
            heads += [f"Mean with {run.label(names.WAR)}", f"Mean without {run.label(names.WAR)}"]
        page.table(heads, rows, numeric=list(range(1, len(heads))),
                   caption="Cost of conflict per actor over all replicas" + (f", in {unit}" if unit else "") + ".")
