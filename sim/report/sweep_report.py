"""The HTML report of a sweep: ``render_sweep_report(multirun_dir)`` writes ``sweep.html`` from ``sweep.parquet``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim import outcomes as names
from sim.report.labels import Z95, num, pct_se, pretty_path, rung_ticks, scale_ticks
from sim.report.page import Page, esc, write_html_atomic
from sim.report.style import DEAL_COLOR, WAR_COLOR, color, finish
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
    """Choose the x key (first key that varies), the group keys (the other varying keys), x values and groups."""
    varying = [k for k in keys if sweep[k].astype(str).nunique() > 1]
    if not varying:
        return None, [], sweep["job"].astype(str), pd.Series("all jobs", index=sweep.index), False
    xkey, rest = varying[0], varying[1:]
    numeric = pd.to_numeric(sweep[xkey], errors="coerce")
    is_num = bool(numeric.notna().all())
    x = numeric if is_num else sweep[xkey].astype(str)
    if rest:
        groups = sweep[rest].astype(str).apply(lambda r: ", ".join(f"{k}={v}" for k, v in r.items()), axis=1)
    else:
        groups = pd.Series("", index=sweep.index)
    return xkey, rest, x, groups, is_num


def _traces(fig: go.Figure, x: pd.Series, y: pd.Series, err: pd.Series | None, groups: pd.Series, order: np.ndarray,
            base_color: str | None, unit: str, row: int | None = None, show_legend: bool = True) -> None:
    """One trace per group; lines join points only along a numeric axis (categories are not a sequence)."""
    mode = "lines+markers" if pd.api.types.is_numeric_dtype(x) else "markers"
    for g_i, group in enumerate(dict.fromkeys(groups[order])):
        idx = np.asarray([i for i in order if groups.iloc[i] == group], dtype=np.intp)
        col = color(g_i) if (base_color is None or group) else base_color
        fig.add_trace(go.Scatter(
            x=x.iloc[idx], y=y.iloc[idx], mode=mode, name=group or "jobs",
            legendgroup=group, showlegend=show_legend and bool(group),
            line={"color": col, "width": 2}, marker={"size": 11, "color": col},
            error_y={"type": "data", "array": (Z95 * err.iloc[idx]).tolist(), "thickness": 1.2}
            if err is not None else None,
            customdata=err.iloc[idx] if err is not None else None,
            hovertemplate=f"%{{x}}: %{{y:.1f}}{unit}" + (" (± %{customdata:.1f} se)" if err is not None else "")
            + f"<extra>{esc(group)}</extra>",
        ), row=row, col=1 if row else None)


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
    xaxis: dict[str, Any] = {"title": xtitle}
    if is_num and x.nunique() <= 12:
        xaxis.update(tickvals=sorted(x.unique()), ticktext=[f"{v:g}" for v in sorted(x.unique())])
    registry = registry_for(spec, _figure_outcomes(sweep))
    issue_of = {names.issue_outcome(i): i for i in spec.get("issue_ids") or spec.get("issues", {})}
    medians = [o["name"] for o in names.by_kind(registry, "quantity") if f"median_{o['name']}" in sweep]
    probabilities = [o["name"] for o in names.by_kind(registry, "probability") if f"p_{o['name']}" in sweep]
    deal_col, war_col, rung_col = f"p_{names.DEAL}", f"p_{names.WAR}", f"mean_{names.MAX_RUNG}"
    deal_label, war_label = names.label(registry, names.DEAL), names.label(registry, names.WAR)
    page = Page(f"Sweep report: {root.name}")
    swept = [k for k in keys if k == xkey or k in rest]
    page.html(f"<h1>Sweep over {esc('; '.join(pretty_path(k, spec) for k in swept) or 'jobs')}</h1>")
    page.paragraph(f"{len(table)} jobs in {root.resolve()}. Each job is a full Monte Carlo run; the points below are "
                   "its headline figures, whiskers are 95 % Monte Carlo intervals.", cls="lead")
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
        page.paragraph(f"One line per combination of {', '.join(rest)}.", cls="muted")

    page.section("Deal and war probabilities", "probabilities")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=[f"P({deal_label})", f"P({war_label}: top rung reached)"])
    for row, (col, c) in enumerate(((deal_col, DEAL_COLOR), (war_col, WAR_COLOR)), start=1):
        _traces(fig, x, 100 * sweep[col], 100 * sweep[f"{col}_se"], groups, order, c, " %", row=row,
                show_legend=row == 1)
        fig.update_yaxes(title="% of replicas", ticksuffix=" %", rangemode="tozero", row=row, col=1)
    fig.update_xaxes(**xaxis, row=2, col=1)
    page.figure(finish(fig, "How the chance of a deal and of war changes across the sweep", height=620),
                f"Top: P({deal_label}), the share of replicas; bottom: P({war_label}), the share reaching the "
                "top rung of the escalation ladder. Each point is one job at the swept value on the horizontal axis; "
                "whiskers are 95 % Monte Carlo intervals, so points whose whiskers overlap may not really differ.")

    page.section("Escalation", "escalation")
    rungs = [str(r) for r in spec.get("rungs", [])] or [f"rung {k}" for k in range(7)]
    fig = go.Figure()
    _traces(fig, x, sweep[rung_col], None, groups, order, "#d73027", "")
    fig.update_yaxes(title="Mean highest rung reached", **rung_ticks(rungs))
    fig.update_xaxes(**xaxis)
    page.figure(finish(fig, "Average highest rung of the escalation ladder", height=460),
                "Mean over replicas of the highest rung reached (0 = calm … 6 = regional war). Higher means "
                "runs typically escalated further before they ended.")

    page.section("Issue outcomes", "outcomes")
    titles = [names.label(registry, c) for c in medians]
    fig = make_subplots(rows=max(len(medians), 1), cols=1, subplot_titles=titles or [""],
                        vertical_spacing=min(0.4 / max(len(medians), 1), 0.1))
    for row, column in enumerate(medians, start=1):
        meta = spec.get("issues", {}).get(issue_of.get(column, column), {})
        se_col = f"median_{column}_se"
        se = sweep[se_col] if se_col in sweep else None
        _traces(fig, x, sweep[f"median_{column}"], se, groups, order, color(row - 1), "", row=row,
                show_legend=row == 1)
        fig.update_yaxes(**scale_ticks(meta.get("scale_0", "0"), meta.get("scale_100", "100"), 22, axis="y"),
                         row=row, col=1)
        fig.update_xaxes(**{**xaxis, "title": xtitle if row == len(medians) else None}, row=row, col=1)
    page.figure(finish(fig, "Median final outcome of each issue across the sweep", height=140 + 280 * len(medians)),
                "One panel per issue: the median final outcome over replicas (0–100; the scale ends are named on the "
                "left) at each swept value, with 95 % intervals for the median.")

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
    heads = [f"P({names.label(registry, n)})" for n in probabilities]
    page.table(["Job", "Status", *keys, *heads, f"Mean {names.label(registry, names.MAX_RUNG)}", "Folder", "Error",
                "Overrides"], rows, numeric=[0], raw_cols=[len(keys) + len(probabilities) + 3])


def _value(x: Any) -> float | None:
    """A figure from the table, None when missing (a failed job's empty cell)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(v) else v
