"""Stories of single replicas: which ones to show, their rung-by-step timeline and their event list."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sim.report.labels import num, rung_label, rung_ticks
from sim.report.style import DEAL_COLOR, finish, rgba, rung_color
from sim.runs import RunData

#: Marker categories: (label, symbol, colour), checked in this order.
_CATEGORIES = {
    "collapse": ("deal collapsed", "x", "#b2182b"),
    "deal": ("deal reached", "star", DEAL_COLOR),
    "up": ("escalation (rung up)", "triangle-up", "#d73027"),
    "down": ("de-escalation (rung down)", "triangle-down", "#4575b4"),
    "other": ("other event (same rung)", "circle", "#777777"),
}


@dataclass(frozen=True)
class Story:
    """A replica worth showing, with a title and why it was chosen."""

    title: str
    replica: int
    why: str


def _pool(run: RunData) -> pd.DataFrame:
    """Outcomes of the replicas with logged events, else of those with a stored path, else of all replicas."""
    ids = set(run.events["replica"].astype(int)) or set(run.trajectories["replica"].astype(int))
    out = run.outcomes
    pool = out[out["replica"].isin(ids)]
    return pool if len(pool) else out


def _typicality(pool: pd.DataFrame, all_out: pd.DataFrame, median_rung: float) -> pd.Series:
    """Smaller = more typical: rung distance to the median, then standardized outcome distance to medians."""
    cols = [c for c in all_out.columns if c.startswith("outcome_")]
    spread = all_out[cols].std(ddof=0).replace(0, 1).fillna(1)
    dist = ((pool[cols] - all_out[cols].median()) / spread).pow(2).sum(axis=1).pow(0.5)
    return 10 * (pool["max_escalation"].astype(float) - median_rung).abs() + dist


def pick_stories(run: RunData) -> tuple[list[Story], list[str]]:
    """Up to three replicas (typical, reached a deal, reached the highest rung) and notes on any not shown."""
    out = run.outcomes
    pool = _pool(run)
    rungs = run.rungs
    stories: list[Story] = []
    notes: list[str] = []
    if pool.empty:
        return stories, ["No replicas to show."]

    deal_usual = bool(out["deal"].mean() >= 0.5)
    median_rung = float(out["max_escalation"].median())
    rung_words = (rung_label(int(median_rung), rungs) if median_rung.is_integer()
                  else f"between {rung_label(int(median_rung), rungs)} and {rung_label(int(median_rung) + 1, rungs)}")
    candidates = pool[pool["deal"] == deal_usual]
    candidates = candidates if len(candidates) else pool
    typical = int(candidates.loc[_typicality(candidates, out, median_rung).idxmin(), "replica"])
    stories.append(Story(
        "A typical replica", typical,
        f"Most replicas end {'with' if deal_usual else 'without'} a deal and the median highest rung is "
        f"{rung_words}; this replica matches that and has final outcomes closest to the medians.",
    ))

    reached = pool[pool["deal_step"].notna()]
    if len(reached):
        for keep in (reached["deal"] & ~reached["deal_broken"], reached["deal"]):  # prefer a deal that held
            if keep.any():
                reached = reached[keep]
                break
        mid = float(out["deal_step"].dropna().median())
        order = (reached["deal_step"].astype(float) - mid).abs()
        pick = int(reached.loc[order.idxmin(), "replica"])
        if pick == typical:
            notes.append(f"The typical replica above (replica {pick}) is also the example of a deal.")
        else:
            stories.append(Story("A replica that reached a deal", pick,
                                 f"Among replicas with a story that reached a US–Iran deal, the one whose deal came "
                                 f"closest to the median time to a deal (month {num(mid, 0)})."))
    else:
        notes.append("No stored replica reached a US–Iran deal, so there is no deal story to show.")

    top = int(pool["max_escalation"].max())
    overall = int(out["max_escalation"].max())
    shown = {s.replica for s in stories}
    highest = pool[(pool["max_escalation"] == top) & ~pool["replica"].isin(shown)]
    if top < overall:
        notes.append(f"Some replicas reached {rung_label(overall, rungs)}, but none of those has a logged story; "
                     f"the highest rung among replicas with an event log is {rung_label(top, rungs)}.")
    if len(highest):
        counts = run.events["replica"].value_counts()
        n_events = highest["replica"].map(counts).fillna(0)
        pick = int(highest.loc[n_events.idxmax(), "replica"])
        where = "observed" if top == overall else "among replicas with an event log"
        stories.append(Story(f"A replica that reached the highest rung {where} ({rung_label(top, rungs)})", pick,
                             "Among replicas with a story at the highest rung any of them reached, the one with "
                             "the most logged events."))
    else:
        notes.append(f"The highest rung observed ({rung_label(top, rungs)}) was reached only by a replica shown "
                     "above.")
    return stories, notes


def replica_path(run: RunData, replica: int) -> pd.DataFrame:
    """``step, escalation, deal`` for one replica: stored trajectory, else rebuilt from its events."""
    traj = run.trajectories
    if len(traj):
        path = traj[traj["replica"] == replica]
        if len(path):
            path = path if "deal" in path else path.assign(deal=False)
            return path.sort_values("step")[["step", "escalation", "deal"]].reset_index(drop=True)
    ev = run.events[run.events["replica"] == replica].sort_values("step", kind="stable")
    steps = run.steps or (int(ev["step"].max()) if len(ev) else 0)
    row = run.outcomes.loc[run.outcomes["replica"] == replica].iloc[0]
    rung = np.full(steps + 1, int(ev["rung_before"].iloc[0]) if len(ev) else int(row["final_escalation"]))
    deal = np.zeros(steps + 1, dtype=bool)
    for e in ev.itertuples():
        rung[int(e.step):] = int(e.rung_after)
        if e.event == "deal_reached":
            deal[int(e.step):] = True
        elif e.event == "deal_collapse":
            deal[int(e.step):] = False
    return pd.DataFrame({"step": np.arange(steps + 1), "escalation": rung, "deal": deal})


def _category(events: pd.DataFrame) -> str:
    codes = set(events["event"])
    if "deal_collapse" in codes:
        return "collapse"
    if "deal_reached" in codes:
        return "deal"
    delta = int(events["rung_after"].iloc[-1]) - int(events["rung_before"].iloc[0])
    return "up" if delta > 0 else "down" if delta < 0 else "other"


def _event_text(run: RunData, e: pd.Series) -> str:
    before, after = int(e["rung_before"]), int(e["rung_after"])
    move = f"rung {before} → {after}" if before != after else f"stays at rung {after}"
    name = run.actor_name(str(e["actor"])) if isinstance(e["actor"], str) and e["actor"] else ""
    text = str(e["description"])
    who = f"{name}: " if name and not text.startswith(name) else ""
    return f"{who}{text} ({move})"


def _deal_spans(path: pd.DataFrame, last: int) -> list[tuple[float, float]]:
    """Step intervals with a deal in force; one still in force at the end runs to the plot's right edge."""
    spans, start = [], None
    for step, on in zip(path["step"].astype(int), path["deal"].astype(bool)):
        if on and start is None:
            start = step
        if not on and start is not None:
            spans.append((start, step))
            start = None
    if start is not None:
        spans.append((start, last + 0.5))
    return spans


def timeline_figure(run: RunData, story: Story) -> go.Figure:
    """Rung by step for one replica, deal periods shaded, one hoverable marker per step with events."""
    rungs = run.rungs
    path = replica_path(run, story.replica)
    last = int(path["step"].max()) if len(path) else max(run.steps, 1)
    fig = go.Figure()
    for k in range(len(rungs)):
        fig.add_hrect(y0=k - 0.5, y1=k + 0.5, fillcolor=rgba(rung_color(k), 0.10), line_width=0, layer="below")
    for i, (x0, x1) in enumerate(_deal_spans(path, last)):
        extra = {"annotation_text": "deal in force", "annotation_position": "top left"} if i == 0 else {}
        fig.add_vrect(x0=x0, x1=x1, fillcolor=rgba(DEAL_COLOR, 0.18), line_width=0, layer="below", **extra)
    if path["deal"].any():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="deal in force (shaded)",
                                 marker={"symbol": "square", "size": 12, "color": rgba(DEAL_COLOR, 0.35)}))
    fig.add_trace(go.Scatter(
        x=path["step"], y=path["escalation"], mode="lines", line={"color": "#333", "width": 2.5, "shape": "hv"},
        name="escalation rung", customdata=[rung_label(int(v), rungs) for v in path["escalation"]],
        hovertemplate="step %{x}: %{customdata}<extra></extra>",
    ))
    ev = run.events[run.events["replica"] == story.replica].sort_values("step", kind="stable")
    groups: dict[str, list[tuple[int, int, str]]] = {c: [] for c in _CATEGORIES}
    on_path = dict(zip(path["step"].astype(int), path["escalation"].astype(int)))
    for step, at_step in ev.groupby("step", sort=True):
        lines = "<br>".join(_event_text(run, e) for _, e in at_step.iterrows())
        rung = on_path.get(int(step), int(at_step["rung_after"].iloc[-1]))  # markers sit on the plotted path
        groups[_category(at_step)].append((int(step), rung, f"<b>Step {int(step)}</b><br>{lines}"))
    for cat, items in groups.items():
        if not items:
            continue
        label, symbol, col = _CATEGORIES[cat]
        fig.add_trace(go.Scatter(
            x=[i[0] for i in items], y=[i[1] for i in items], mode="markers", name=label, text=[i[2] for i in items],
            marker={"symbol": symbol, "size": 13, "color": col, "line": {"color": "white", "width": 1}},
            hovertemplate="%{text}<extra></extra>",
        ))
    fig.update_yaxes(title="Escalation rung", **rung_ticks(rungs))
    fig.update_xaxes(title="Month (simulation step)", range=[-0.5, last + 0.5])
    return finish(fig, f"{story.title}: replica {story.replica}", height=430)


def story_sentence(run: RunData, replica: int) -> str:
    """One sentence on how a replica ended."""
    row = run.outcomes.loc[run.outcomes["replica"] == replica].iloc[0]
    rungs = run.rungs
    if pd.isna(row["deal_step"]):
        deal = "never reached a US–Iran deal"
    else:
        end = "a deal was in force at the end" if bool(row["deal"]) else "no deal was in force at the end"
        broke = " (a deal collapsed along the way)" if bool(row["deal_broken"]) or not bool(row["deal"]) else ""
        deal = f"first reached a US–Iran deal in month {int(row['deal_step'])}; {end}{broke}"
    ends = "; ".join(f"{run.issue(i)['label']} {num(float(row[f'outcome_{i}']), 0)}" for i in run.issue_ids)
    return (f"Replica {replica} {deal}; highest rung {rung_label(int(row['max_escalation']), rungs)}, final rung "
            f"{rung_label(int(row['final_escalation']), rungs)}. Final outcomes (0–100): {ends}.")


def event_lines(run: RunData, replica: int, limit: int = 60) -> list[str]:
    """The replica's logged events as short lines, ``Step 6 · Iran: ... (rung 1 → 2)``."""
    ev = run.events[run.events["replica"] == replica].sort_values("step", kind="stable")
    lines = [f"Month {int(e['step'])} · {_event_text(run, e)}" for _, e in ev.head(limit).iterrows()]
    if len(ev) > limit:
        lines.append(f"… and {len(ev) - limit} more events")
    return lines
