"""Stories of single replicas: which ones to show, their rung-by-step timeline and their event list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import SupportsInt, cast

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sim import outcomes as names
from sim.report.headline import baseline_month, month_axis, month_name
from sim.report.labels import mid_sentence, num, rung_label, rung_ticks, sentence
from sim.report.style import DEAL_COLOR, finish, rgba, rung_color
from sim.runs import RunData

#: Marker categories: (label, symbol, colour), checked in this order.
_CATEGORIES = {
    "collapse": ("deal collapsed", "x", "#b2182b"),
    "signed": ("deal reached", "star", DEAL_COLOR),
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


def _typicality(pool: pd.DataFrame, all_out: pd.DataFrame, median_rung: float, cols: list[str]) -> pd.Series:
    """Smaller = more typical: rung distance to the median, then standardized distance of the outcomes ``cols``
    (the registry's issue outcomes) to their medians."""
    spread = all_out[cols].std(ddof=0).replace(0, 1).fillna(1)
    dist = ((pool[cols] - all_out[cols].median()) / spread).pow(2).sum(axis=1).pow(0.5)
    return 10 * (pool[names.MAX_RUNG].astype(float) - median_rung).abs() + dist


def _issue_columns(run: RunData) -> list[str]:
    """The registry's quantities that are issue outcomes on 0–100 (not war costs or breakout time)."""
    return [c for c in run.of_kind("quantity") if run.issue_of(c)]


def pick_stories(run: RunData) -> tuple[list[Story], list[str]]:
    """Up to three replicas (typical, reached a deal, reached the highest rung) and notes on any not shown."""
    out = run.outcomes
    pool = _pool(run)
    rungs = run.rungs
    stories: list[Story] = []
    notes: list[str] = []
    if pool.empty:
        return stories, ["No replicas to show."]

    deal_name = run.deal_name
    deal_usual = bool(out[names.DEAL].mean() >= 0.5)
    median_rung = float(out[names.MAX_RUNG].median())
    rung_words = (rung_label(int(median_rung), rungs) if median_rung.is_integer()
                  else f"between {rung_label(int(median_rung), rungs)} and {rung_label(int(median_rung) + 1, rungs)}")
    candidates = pool[pool[names.DEAL] == deal_usual]
    candidates = candidates if len(candidates) else pool
    typicality = _typicality(candidates, out, median_rung, _issue_columns(run))
    typical = int(candidates["replica"].loc[typicality.idxmin()])
    stories.append(Story(
        "A typical replica", typical,
        f"Most replicas end {'with' if deal_usual else 'without'} a deal and the median highest rung is "
        f"{rung_words}; this replica matches that and has final outcomes closest to the medians.",
    ))

    reached = pool[pool[names.DEAL_STEP].notna()]
    if len(reached):
        held = reached[names.DEAL] & ~reached[names.DEAL_BROKEN]
        for keep in (held, reached[names.DEAL]):  # prefer a deal that held
            if keep.any():
                reached = reached[keep]
                break
        mid = float(out[names.DEAL_STEP].dropna().median())
        order = (reached[names.DEAL_STEP].astype(float) - mid).abs()
        pick = int(reached["replica"].loc[order.idxmin()])
        if pick == typical:
            notes.append(f"The typical replica above (replica {pick}) is also the example of a deal.")
        else:
            stories.append(Story("A replica that reached a deal", pick,
                                 f"Among replicas with a story that reached a {deal_name}, the one whose deal came "
                                 f"closest to the median time to a deal (month {num(mid, 0)})."))
    else:
        notes.append(f"No stored replica reached a {deal_name}, so there is no deal story to show.")

    top = int(pool[names.MAX_RUNG].max())
    overall = int(out[names.MAX_RUNG].max())
    shown = {s.replica for s in stories}
    highest = pool[(pool[names.MAX_RUNG] == top) & ~pool["replica"].isin(shown)]
    if top < overall:
        notes.append(f"Some replicas reached {rung_label(overall, rungs)}, but none of those has a logged story; "
                     f"the highest rung among replicas with an event log is {rung_label(top, rungs)}.")
    if len(highest):
        counts = run.events["replica"].value_counts()
        n_events = highest["replica"].map(counts).fillna(0)
        pick = int(highest["replica"].loc[n_events.idxmax()])
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
            path = path if names.DEAL in path else path.assign(**{names.DEAL: False})
            return path.sort_values("step")[["step", "escalation", names.DEAL]].reset_index(drop=True)
    ev = run.events[run.events["replica"] == replica].sort_values("step", kind="stable")
    steps = run.steps or (int(ev["step"].max()) if len(ev) else 0)
    row = run.outcomes.loc[run.outcomes["replica"] == replica].iloc[0]
    rung = np.full(steps + 1, int(ev["rung_before"].iloc[0]) if len(ev) else int(row[names.FINAL_RUNG]))
    deal = np.zeros(steps + 1, dtype=bool)
    for step, rung_after, event in zip(ev["step"].astype(int), ev["rung_after"].astype(int), ev["event"]):
        rung[step:] = rung_after
        if event == "deal_reached":
            deal[step:] = True
        elif event == "deal_collapse":
            deal[step:] = False
    return pd.DataFrame({"step": np.arange(steps + 1), "escalation": rung, names.DEAL: deal})


def _category(events: pd.DataFrame) -> str:
    codes = set(events["event"])
    if "deal_collapse" in codes:
        return "collapse"
    if "deal_reached" in codes:
        return "signed"
    delta = int(events["rung_after"].iloc[-1]) - int(events["rung_before"].iloc[0])
    return "up" if delta > 0 else "down" if delta < 0 else "other"


def _proper(run: RunData) -> set[str]:
    """Names that keep their capital mid-sentence: the actors' names and ids."""
    return {run.actor_name(a) for a in run.actor_ids} | set(run.actor_ids)


def lower_labels(run: RunData, text: str) -> str:
    """``text`` with every issue label after its first character written as it reads mid-sentence
    (:func:`sim.report.labels.mid_sentence`: ``… concedes on sanctions on Iran …``)."""
    proper = _proper(run)
    for issue in run.issue_ids:
        label = run.issue(issue)["label"]
        low = mid_sentence(label, proper)
        if low != label and label in text[1:]:
            text = text[:1] + text[1:].replace(label, low)
    return text


#: Events that are moves of declared positions (bargaining), not acts in the world.
_POSITION_EVENTS = ("exchange",)


def _event_text(run: RunData, e: pd.Series) -> str:
    before, after = int(e["rung_before"]), int(e["rung_after"])
    move = f"rung {before} → {after}" if before != after else f"stays at rung {after}"
    name = run.actor_name(str(e["actor"])) if isinstance(e["actor"], str) and e["actor"] else ""
    text = lower_labels(run, str(e["description"]))
    if str(e["event"]) in _POSITION_EVENTS:
        war = len(run.rungs) - 1
        text = text.replace(" concedes on ", " softens its declared position on ", 1)
        if max(before, after) >= war:
            text += " — a shift of declared positions only, while the regional war goes on"
    who = f"{name}: " if name and not text.startswith(name) else ""
    return f"{who}{text if who else sentence(text)} ({move})"


def _deal_spans(path: pd.DataFrame, last: int) -> list[tuple[float, float]]:
    """Step intervals with a deal in force; one still in force at the end runs to the plot's right edge."""
    spans: list[tuple[float, float]] = []
    start: int | None = None
    for step, on in zip(path["step"].astype(int), path[names.DEAL].astype(bool)):
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
    if path[names.DEAL].any():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="deal in force (shaded)",
                                 marker={"symbol": "square", "size": 12, "color": rgba(DEAL_COLOR, 0.35)}))
    fig.add_trace(go.Scatter(
        x=path["step"], y=path["escalation"], mode="lines", line={"color": "#333", "width": 2.5, "shape": "hv"},
        name="escalation rung", customdata=[rung_label(int(v), rungs) for v in path["escalation"]],
        hovertemplate="month %{x}: %{customdata}<extra></extra>",
    ))
    ev = run.events[run.events["replica"] == story.replica].sort_values("step", kind="stable")
    groups: dict[str, list[tuple[int, int, str]]] = {c: [] for c in _CATEGORIES}
    on_path = dict(zip(path["step"].astype(int), path["escalation"].astype(int)))
    for key, at_step in ev.groupby("step", sort=True):
        step = int(cast(SupportsInt, key))
        lines = "<br>".join(_event_text(run, e) for _, e in at_step.iterrows())
        rung = on_path.get(step, int(at_step["rung_after"].iloc[-1]))  # markers sit on the plotted path
        when = month_name(baseline_month(run.spec), step)
        groups[_category(at_step)].append((step, rung, f"<b>{when} (month {step})</b><br>{lines}"))
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
    fig.update_xaxes(**month_axis(baseline_month(run.spec), last), range=[-0.5, last + 0.5])
    return finish(fig, f"{story.title}: replica {story.replica}", height=430)


def story_sentence(run: RunData, replica: int) -> str:
    """One sentence on how a replica ended."""
    row = run.outcomes.loc[run.outcomes["replica"] == replica].iloc[0]
    rungs = run.rungs
    if pd.isna(row[names.DEAL_STEP]):
        deal = f"never reached a {run.deal_name}"
    else:
        in_force = bool(row[names.DEAL])
        end = "a deal was in force at the end" if in_force else "no deal was in force at the end"
        broke = " (a deal collapsed along the way)" if bool(row[names.DEAL_BROKEN]) or not in_force else ""
        month = int(row[names.DEAL_STEP])
        deal = (f"first reached a {run.deal_name} in month {month} "
                f"({month_name(baseline_month(run.spec), month, short=False)}); {end}{broke}")
    ends = "; ".join(f"{run.label(c)} {num(float(row[c]), 0)}" for c in _issue_columns(run))
    text = (f"Replica {replica} {deal}; {run.label(names.MAX_RUNG)} {rung_label(int(row[names.MAX_RUNG]), rungs)}, "
            f"{run.label(names.FINAL_RUNG)} {rung_label(int(row[names.FINAL_RUNG]), rungs)}. "
            f"Final outcomes (0–100): {ends}.")
    return lower_labels(run, text)


def event_lines(run: RunData, replica: int, limit: int = 60) -> list[str]:
    """The replica's logged events as short lines, ``Sep 2025 (month 6) · Iran: ... (rung 1 → 2)``."""
    ev = run.events[run.events["replica"] == replica].sort_values("step", kind="stable")
    start = baseline_month(run.spec)
    lines = [f"{month_name(start, int(e['step']))} (month {int(e['step'])}) · {_event_text(run, e)}"
             for _, e in ev.head(limit).iterrows()]
    if len(ev) > limit:
        lines.append(f"… and {len(ev) - limit} more events")
    return lines
