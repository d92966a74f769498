"""The HTML report of a sweep: ``render_sweep_report(multirun_dir)`` writes ``sweep.html`` from ``sweep.parquet``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim import outcomes as names
from sim.report.labels import Z95, num, pct_se, pretty_path, scale_ticks
from sim.report.page import Page, esc, write_html_atomic
from sim.report.headline import HEADLINE, HEADLINE_OUTCOME, SECONDARY, SECONDARY_OUTCOME
from sim.report.style import DEAL_COLOR, WAR_COLOR, color, finish, legend_rows
from sim.runs import RunFolderError, job_dirs, registry_for

_FIXED = {"job", "run_dir", "overrides", "status", "error"}
#: ``sweep.parquet`` figure columns: ``p_<probability>`` (and ``_se``), ``mean_<rung>``, ``median_<quantity>``.
_FIGURES = ("p_", "mean_", "median_")


def swept_keys(sweep: pd.DataFrame) -> list[str]:
    """The swept-key columns of ``sweep.parquet`` (everything that is not a job id or a figure)."""
    return [c for c in sweep.columns if c not in _FIXED and not c.startswith(_FIGURES)
            and not pd.api.types.is_numeric_dtype(sweep[c])]


def _figure_outcomes(sweep: pd.DataFrame) -> list[str]:
    """Outcome names behind the figure columns (for sweeps whose jobs' spec.json has no registry)."""
    found = [c.removeprefix(prefix) for c in sweep.columns for prefix in _FIGURES
             if c.startswith(prefix) and not c.endswith("_se")]
    return list(dict.fromkeys(found))


def _first_spec(multirun: Path, sweep: pd.DataFrame) -> dict[str, Any]:
    """``spec.json`` of the first job that has one (for issue labels and rung names); ``{}`` if none."""
    candidates = [multirun / str(d) for d in sweep.get("run_dir", [])] + job_dirs(multirun)
    for d in candidates:
        f = d / "spec.json"
        if f.is_file():
            try:
                spec = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(spec, dict):
                return spec
    return {}


def _axis(sweep: pd.DataFrame, keys: list[str]) -> tuple[str | None, list[str], pd.Series, pd.Series, bool]:
    """Choose the x key (the first numeric key that varies, else the first that varies), the group keys (the other
    varying keys), x values and groups."""
    varying = [k for k in keys if sweep[k].astype(str).nunique() > 1]
    if not varying:
        return None, [], sweep["job"].astype(str), pd.Series("all jobs", index=sweep.index), False
    numeric_keys = [k for k in varying if pd.to_numeric(sweep[k], errors="coerce").notna().all()]
    xkey = numeric_keys[0] if numeric_keys else varying[0]       # a swept number goes on the x-axis
    rest = [k for k in varying if k != xkey]
    numeric = pd.to_numeric(sweep[xkey], errors="coerce")
    is_num = bool(numeric.notna().all())
    x = numeric if is_num else sweep[xkey].astype(str)
    if rest:
        groups = sweep[rest].astype(str).apply(lambda r: ", ".join(f"{k}={v}" for k, v in r.items()), axis=1)
    else:
        groups = pd.Series("", index=sweep.index)
    return xkey, rest, x, groups, is_num


def _positions(x: pd.Series) -> tuple[pd.Series, dict[str, Any]]:
    """Numeric positions of the x values (categories at 0, 1, …) and the axis ticks for them."""
    if pd.api.types.is_numeric_dtype(x):
        values = sorted(x.unique())
        ticks = {"tickvals": values, "ticktext": [f"{v:g}" for v in values]} if len(values) <= 12 else {}
        return x.astype(float), ticks
    cats = list(dict.fromkeys(x))
    return x.map({c: i for i, c in enumerate(cats)}).astype(float), {"tickvals": list(range(len(cats))),
                                                                      "ticktext": cats}


def dodge(x: pd.Series, groups: pd.Series, share: float = 0.25) -> pd.Series:
    """x positions moved apart so that no point hides another: the points at one x value (one per group, and
    repeated jobs of a group) are spread evenly over ``share`` of the smallest gap between x values, centred on
    the true value."""
    pos = x.astype(float).reset_index(drop=True)
    g = groups.astype(str).reset_index(drop=True)
    values = np.sort(pos.unique())
    gap = float(np.min(np.diff(values))) if len(values) > 1 else 1.0
    out = pos.to_numpy().copy()
    for _, at in pos.groupby(pos):
        idx = at.index.to_numpy()
        keys = [f"{g[i]}#{int((g[idx[:j]] == g[i]).sum())}" for j, i in enumerate(idx)]
        slots = list(dict.fromkeys(sorted(keys, key=lambda k: (list(dict.fromkeys(g)).index(k.split("#")[0]), k))))
        k = len(slots)
        if k > 1:
            out[idx] += (np.array([slots.index(key) for key in keys]) / (k - 1) - 0.5) * share * gap
    return pd.Series(out, index=x.index)


def _traces(fig: go.Figure, x: pd.Series, y: pd.Series, err: pd.Series | None, groups: pd.Series, order: np.ndarray,
            base_color: str | None, unit: str, row: int | None = None, show_legend: bool = True,
            numeric: bool = True, name: str | None = None, dash: str = "solid", hollow: bool = False,
            label: pd.Series | None = None) -> None:
    """One trace per group at the dodged positions ``x``; lines join points only along a numeric axis.
    ``label``: the true x value shown on hover."""
    mode = "lines+markers" if numeric else "markers"
    label = label if label is not None else x
    for g_i, group in enumerate(dict.fromkeys(groups[order])):
        idx = np.asarray([i for i in order if groups.iloc[i] == group], dtype=np.intp)
        col = color(g_i) if (base_color is None or group) else base_color
        trace_name = name or group or "jobs"
        fig.add_trace(go.Scatter(
            x=x.iloc[idx], y=y.iloc[idx], mode=mode, name=trace_name,
            legendgroup=f"{group}{name or ''}",
            showlegend=show_legend and (bool(group) and not name or bool(name) and g_i == 0),
            line={"color": col, "width": 2, "dash": dash},
            marker={"size": 11, "color": "white" if hollow else col, "line": {"color": col, "width": 2},
                    "symbol": "circle"},
            error_y={"type": "data", "array": (Z95 * err.iloc[idx]).tolist(), "thickness": 1.2, "color": col}
            if err is not None else None,
            customdata=np.stack([label.iloc[idx].astype(str), (err.iloc[idx] if err is not None else
                                                               pd.Series(0.0, index=idx)).to_numpy()], axis=1),
            hovertemplate=f"%{{customdata[0]}}: %{{y:.2f}}{unit}"
            + (" (± %{customdata[1]:.2f} se)" if err is not None else "")
            + f"<extra>{esc(trace_name if not (name and group) else f'{name}, {group}')}</extra>",
        ), row=row, col=1 if row else None)


def zoomed(values: Sequence[np.ndarray | pd.Series], full: tuple[float, float], pad: float = 0.12) -> list[float]:
    """A y-range around the data (points and whiskers), padded, kept inside ``full``; at least a tenth of it."""
    v = np.concatenate([np.asarray(a, dtype=float) for a in values]) if values else np.array([])
    v = v[np.isfinite(v)]
    if not v.size:
        return list(full)
    lo, hi = float(v.min()), float(v.max())
    span = max(hi - lo, (full[1] - full[0]) / 10)
    mid = (lo + hi) / 2
    lo, hi = mid - span / 2 * (1 + 2 * pad), mid + span / 2 * (1 + 2 * pad)
    edge_lo, edge_hi = full[0] - 0.02 * (full[1] - full[0]), full[1] + 0.02 * (full[1] - full[0])
    if lo < edge_lo:                          # slide the window inside the scale, keeping its height
        lo, hi = edge_lo, min(hi + edge_lo - lo, edge_hi)
    if hi > edge_hi:
        lo, hi = max(lo - (hi - edge_hi), edge_lo), edge_hi
    return [lo, hi]


def add_context(fig: go.Figure, row: int, window: list[float], values: np.ndarray, full: tuple[float, float],
                unit: str = "") -> None:
    """The narrow right-hand panel of ``row``: the whole scale (``full``), the zoomed window shaded and each
    job's value as a tick, so that the zoom of the main panel is read against the whole scale."""
    fig.add_shape(type="rect", x0=-0.5, x1=0.5, y0=window[0], y1=window[1], fillcolor="rgba(44,111,187,0.15)",
                  line={"color": "rgba(44,111,187,0.6)", "width": 1}, row=row, col=2)
    v = np.asarray(values, dtype=float)
    fig.add_trace(go.Scatter(x=np.zeros(v.size), y=v, mode="markers", showlegend=False, hoverinfo="skip",
                             marker={"symbol": "line-ew-open", "size": 14, "color": "#333"}), row=row, col=2)
    fig.update_xaxes(visible=False, range=[-1, 1], row=row, col=2)
    fig.update_yaxes(range=[full[0] - 0.02 * (full[1] - full[0]), full[1] + 0.02 * (full[1] - full[0])],
                     side="right", ticksuffix=unit, tickvals=list(np.linspace(full[0], full[1], 5)), row=row, col=2)


def render_sweep_report(multirun_dir: str | Path) -> Path:
    """Write ``sweep.html`` in a multirun folder from its ``sweep.parquet`` and return its path."""
    root = Path(multirun_dir)
    file = root / "sweep.parquet"
    if not file.is_file():
        raise RunFolderError(f"{root}: not a finished multirun folder (sweep.parquet is missing)")
    try:
        table = pd.read_parquet(file).sort_values("job").reset_index(drop=True)
    except Exception as err:
        raise RunFolderError(f"{file}: cannot read ({str(err).splitlines()[0] if str(err) else err})") from err
    if "status" not in table:                 # written before failed jobs were listed: every row completed
        table = table.assign(status="complete", error=None)
    done = (table["status"] == "complete").to_numpy()
    sweep = table[done].reset_index(drop=True)
    failed = table[~done].reset_index(drop=True)
    spec = _first_spec(root, table)
    keys = swept_keys(table)
    xkey, rest, x, groups, is_num = _axis(sweep, keys)
    order = np.argsort(x.to_numpy(), kind="stable") if is_num else np.arange(len(sweep))
    xtitle = f"{pretty_path(xkey, spec)}  ({xkey})" if xkey else "Job number"
    pos, ticks = _positions(x)
    xd = dodge(pos, groups)
    # the headline and the secondary deal figure share a panel: dodged together, so neither hides the other
    both = dodge(pd.concat([pos, pos], ignore_index=True),
                 pd.concat([groups + " | headline", groups + " | secondary"], ignore_index=True))
    xd_head = pd.Series(both.iloc[: len(pos)].to_numpy(), index=pos.index)
    xd_second = pd.Series(both.iloc[len(pos):].to_numpy(), index=pos.index)
    xaxis: dict[str, Any] = {"title": xtitle, **ticks}
    registry = registry_for(spec, _figure_outcomes(sweep))
    issue_of = {names.issue_outcome(i): i for i in spec.get("issue_ids") or spec.get("issues", {})}
    medians = [o["name"] for o in names.by_kind(registry, "quantity") if f"median_{o['name']}" in sweep]
    probabilities = [o["name"] for o in names.by_kind(registry, "probability") if f"p_{o['name']}" in sweep]
    war_col, rung_col = f"p_{names.WAR}", f"mean_{names.MAX_RUNG}"
    head_col, second_col = f"p_{HEADLINE_OUTCOME}", f"p_{SECONDARY_OUTCOME}"
    if head_col not in sweep:              # an old sweep without deal_ever: the deal in force is all there is
        head_col = second_col
    war_label = names.label(registry, names.WAR)
    page = Page(f"Sweep report: {root.name}")
    swept = [k for k in keys if k == xkey or k in rest]
    page.html(f"<h1>Sweep over {esc('; '.join(pretty_path(k, spec) for k in swept) or 'jobs')}</h1>")
    page.paragraph(f"{len(table)} jobs in {root.resolve()}. Each job is a full Monte Carlo run; the points below are "
                   "its headline figures, whiskers are 95 % Monte Carlo intervals. Points at one swept value are "
                   "spread sideways so none hides another (hover for the exact value); each panel is zoomed to the "
                   "data, and the narrow strip on its right shows the whole scale with the zoomed window shaded.",
                   cls="lead")
    if len(failed):
        first = failed.iloc[0]
        page.note(f"{len(failed)} of {len(table)} jobs did not complete and are left out of the figures: "
                  + "; ".join(f"job {r['job']} ({r['overrides'] or 'defaults'}): {r['status']}" for _, r in
                              failed.head(8).iterrows())
                  + ("; …" if len(failed) > 8 else "")
                  + f". First error: {first['error']}. The jobs table below lists every job with its error.")
    if not len(sweep):
        page.paragraph("No job completed, so there are no figures.", cls="muted")
        _jobs_table(page, root, table, keys, [], registry)
        return write_html_atomic(root / "sweep.html", page.render())
    constant = [k for k in keys if k != xkey and k not in rest]
    if constant:
        page.paragraph("Held fixed: " + "; ".join(f"{k} = {sweep[k].iloc[0]}" for k in constant), cls="muted")
    if rest:
        page.paragraph(f"One colour per combination of {', '.join(rest)}.", cls="muted")
    numeric = pd.api.types.is_numeric_dtype(x)
    n_groups = len(dict.fromkeys(groups))
    rows_legend = legend_rows(list(dict.fromkeys(groups))) if n_groups > 1 else 1

    page.section("Deal and war probabilities", "probabilities")
    panels = [(head_col, DEAL_COLOR, HEADLINE if head_col != second_col else SECONDARY),
              (war_col, WAR_COLOR, f"P({war_label}: top rung reached)")]
    fig = make_subplots(rows=2, cols=2, shared_xaxes=False, vertical_spacing=0.14, column_widths=[0.93, 0.07],
                        horizontal_spacing=0.02, subplot_titles=[panels[0][2], "", panels[1][2], ""])
    for row, (col, c, _) in enumerate(panels, start=1):
        y, se_p = 100 * sweep[col], 100 * sweep[f"{col}_se"]
        two = row == 1 and head_col != second_col and second_col in sweep
        _traces(fig, xd_head if two else xd, y, se_p, groups, order, c, " %", row=row, show_legend=row == 1,
                numeric=numeric, label=x)
        shown = [y + Z95 * se_p, y - Z95 * se_p]
        if two:
            y2 = 100 * sweep[second_col]
            e2 = 100 * sweep[f"{second_col}_se"]
            _traces(fig, xd_second, y2, e2, groups, order, "#7a7a7a", " %", row=row, show_legend=True,
                    numeric=numeric, name=f"secondary (dotted, hollow): {SECONDARY}", dash="dot", hollow=True,
                    label=x)
            shown += [y2 + Z95 * e2, y2 - Z95 * e2]
        window = zoomed(shown, (0.0, 100.0))
        fig.update_yaxes(title="% of replicas", ticksuffix=" %", range=window, row=row, col=1)
        fig.update_xaxes(**{**xaxis, "title": xtitle if row == 2 else None}, row=row, col=1)
        add_context(fig, row, window, y.to_numpy(), (0.0, 100.0), " %")
    page.figure(finish(fig, "How the chance of a deal and of war changes across the sweep", height=660,
                       rows=rows_legend + 1),
                f"Top: {HEADLINE} (filled points, the headline deal figure) and, dotted with hollow points, "
                f"{SECONDARY}; bottom: P({war_label}), the share reaching the top rung of the escalation ladder. "
                "Each point is one job at the swept value on the horizontal axis; whiskers are 95 % Monte Carlo "
                "intervals, so points whose whiskers overlap may not really differ. Strip on the right: the whole "
                "0–100 % scale, the zoomed window shaded.")

    page.section("Escalation", "escalation")
    rungs = [str(r) for r in spec.get("rungs", [])] or [f"rung {k}" for k in range(7)]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.93, 0.07], horizontal_spacing=0.02)
    rung_se = sweep[f"{rung_col}_se"] if f"{rung_col}_se" in sweep else None
    _traces(fig, xd, sweep[rung_col], rung_se, groups, order, "#d73027", "", row=1, numeric=numeric, label=x)
    full = (0.0, float(len(rungs) - 1))
    shown = [sweep[rung_col]] + ([sweep[rung_col] + Z95 * rung_se, sweep[rung_col] - Z95 * rung_se]
                                 if rung_se is not None else [])
    window = zoomed(shown, full)
    fig.update_yaxes(title=f"Mean highest rung reached (0 = {rungs[0]} … {len(rungs) - 1} = {rungs[-1]})",
                     range=window, tickformat=".1f", row=1, col=1)
    fig.update_xaxes(**xaxis, row=1, col=1)
    add_context(fig, 1, window, sweep[rung_col].to_numpy(), full)
    page.figure(finish(fig, "Average highest rung of the escalation ladder", height=480, rows=rows_legend),
                "Mean over replicas of the highest rung reached (0 = calm … 6 = regional war), whiskers 95 % Monte "
                "Carlo intervals of the mean" + ("" if rung_se is not None else " (not in this sweep table: "
                                                 "rebuild it with python -m sim.sweep DIR)")
                + ". Higher means runs typically escalated further before they ended. Strip on the right: the "
                "whole ladder, the zoomed window shaded.")

    page.section("Issue outcomes", "outcomes")
    titles = [names.label(registry, c) for c in medians]
    fig = make_subplots(rows=max(len(medians), 1), cols=2, column_widths=[0.93, 0.07], horizontal_spacing=0.02,
                        subplot_titles=[t for title in (titles or [""]) for t in (title, "")],
                        vertical_spacing=min(0.4 / max(len(medians), 1), 0.1))
    for row, column in enumerate(medians, start=1):
        meta = spec.get("issues", {}).get(issue_of.get(column, column), {})
        se_col = f"median_{column}_se"
        se = sweep[se_col] if se_col in sweep else None
        y = sweep[f"median_{column}"]
        _traces(fig, xd, y, se, groups, order, color(row - 1), "", row=row, show_legend=row == 1, numeric=numeric,
                label=x)
        window = zoomed([y] + ([y + Z95 * se, y - Z95 * se] if se is not None else []), (0.0, 100.0))
        ticks = scale_ticks(meta.get("scale_0", "0"), meta.get("scale_100", "100"), 22, axis="y")
        fig.update_yaxes(title=None, range=window, row=row, col=1)
        fig.update_xaxes(**{**xaxis, "title": xtitle if row == len(medians) else None}, row=row, col=1)
        add_context(fig, row, window, y.to_numpy(), (0.0, 100.0))
        fig.update_yaxes(tickvals=ticks["tickvals"], ticktext=ticks["ticktext"], row=row, col=2)
    page.figure(finish(fig, "Median final outcome of each issue across the sweep", height=140 + 280 * len(medians),
                       rows=rows_legend),
                "One panel per issue: the median final outcome over replicas at each swept value, with 95 % "
                "intervals for the median; each panel is zoomed to its data. Strip on the right: the whole 0–100 "
                "scale with its ends named, the zoomed window shaded.")

    jobs = pd.concat([sweep.iloc[order], failed], ignore_index=True)   # completed in axis order, then the others
    _jobs_table(page, root, jobs, keys, probabilities, registry)
    return write_html_atomic(root / "sweep.html", page.render())


def _jobs_table(page: Page, root: Path, jobs: pd.DataFrame, keys: list[str], probabilities: list[str],
                registry: list[dict[str, Any]]) -> None:
    """Every job: number, status, swept values, headline figures (completed jobs), folder link, error, overrides."""
    page.section("Jobs", "jobs")
    rung_col = f"mean_{names.MAX_RUNG}"
    rows = []
    for _, r in jobs.iterrows():
        report = root / str(r["run_dir"]) / "report.html"
        link = (f'<a href="{esc(Path(str(r["run_dir"])) / "report.html")}">report</a>'
                if report.is_file() and r["status"] == "complete" else esc(r["run_dir"]))
        cells = [pct_se(_value(r.get(f"p_{n}")), _value(r.get(f"p_{n}_se"))) for n in probabilities]
        values = ["" if pd.isna(r.get(k)) else r.get(k) for k in keys]
        rows.append([r["job"], r["status"], *values, *cells, num(r.get(rung_col), 2), link, r["error"] or "",
                     r["overrides"]])
    heads = [HEADLINE if n == HEADLINE_OUTCOME else SECONDARY if n == SECONDARY_OUTCOME
             else f"P({names.label(registry, n)})" for n in probabilities]
    heads = [f"{h} (headline)" if n == HEADLINE_OUTCOME else h for h, n in zip(heads, probabilities)]
    page.table(["Job", "Status", *keys, *heads, f"Mean {names.label(registry, names.MAX_RUNG)}", "Folder", "Error",
                "Overrides"], rows, numeric=[0], raw_cols=[len(keys) + len(probabilities) + 3])


def _value(x: Any) -> float | None:
    """A figure from the table, None when missing (a failed job's empty cell)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(v) else v
