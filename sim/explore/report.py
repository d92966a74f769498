"""``explore.html``: Sobol bars with CIs, tornado, convergence, Morris plot, PRIM boxes, robustness table.

One self-contained page (plotly.js inlined once, :class:`sim.report.page.Page`), works offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sim.outcomes import DEAL, DEAL_EVER, WAR
from sim.report.page import Page, esc, write_html_atomic
from sim.report.style import WAR_COLOR, color, finish

if TYPE_CHECKING:
    from sim.explore.run import Exploration

#: Outcomes that get figures of their own (others appear in the heat map and the tables).
KEY_OUTCOMES = (DEAL_EVER, WAR, DEAL, "first_strike", "y")
TOP = 15


def _label(labels: dict[str, str], name: str) -> str:
    return labels.get(name, name)


def key_outcomes(outcomes: pd.DataFrame | list[str]) -> list[str]:
    """The outcomes with figures (and a convergence check) of their own, among those present."""
    present = list(dict.fromkeys(outcomes["outcome"] if isinstance(outcomes, pd.DataFrame) else outcomes))
    return [o for o in KEY_OUTCOMES if o in present] or present[:2]


def sobol_figure(rows: pd.DataFrame, title: str) -> go.Figure:
    """S1 and ST of the inputs with the largest ST, with their confidence intervals."""
    top = rows.sort_values("ST", ascending=False).head(TOP).iloc[::-1]
    fig = go.Figure()
    for col, name, c in (("S1", "first order S1", color(0)), ("ST", "total order ST", color(1))):
        fig.add_bar(y=top["parameter"], x=top[col], orientation="h", name=name, marker_color=c,
                    error_x={"type": "data", "array": top[f"{col}_conf"], "visible": True},
                    hovertemplate="%{y}<br>" + col + " = %{x:.3f}<extra></extra>")
    fig.update_layout(barmode="group", xaxis_title="share of the outcome's variance")
    return finish(fig, title, height=140 + 28 * len(top))


def tornado_figure(rows: pd.DataFrame, bars: dict[str, list[float]], names: list[str], title: str) -> go.Figure:
    """Mean outcome with each input in its lowest vs highest fifth, around the overall mean."""
    mean = bars["mean"][0]
    swing = pd.DataFrame({"parameter": names, "low": bars["low"], "high": bars["high"]})
    swing["range"] = (swing["high"] - swing["low"]).abs()
    top = swing.sort_values("range", ascending=False).head(TOP).iloc[::-1]
    fig = go.Figure()
    fig.add_bar(y=top["parameter"], x=top["low"] - mean, base=mean, orientation="h", name="input in its lowest 20 %",
                marker_color=color(4), hovertemplate="%{y}: %{x:.3f}<extra>low</extra>")
    fig.add_bar(y=top["parameter"], x=top["high"] - mean, base=mean, orientation="h",
                name="input in its highest 20 %", marker_color=color(5),
                hovertemplate="%{y}: %{x:.3f}<extra>high</extra>")
    fig.update_layout(barmode="overlay", xaxis_title="mean outcome")
    return finish(fig, title, height=140 + 28 * len(top))


def convergence_figure(conv: pd.DataFrame, outcome: str, title: str) -> go.Figure:
    """ST of the five leading inputs (at the largest N) as N doubles, with CIs."""
    rows = conv[conv["outcome"] == outcome]
    last = rows[rows["n"] == rows["n"].max()].sort_values("ST", ascending=False).head(5)
    fig = go.Figure()
    for i, p in enumerate(last["parameter"]):
        r = rows[rows["parameter"] == p].sort_values("n")
        fig.add_scatter(x=r["n"], y=r["ST"], mode="lines+markers", name=p, line={"color": color(i)},
                        error_y={"type": "data", "array": r["ST_conf"], "visible": True})
    fig.update_layout(xaxis={"type": "log", "title": "base samples N", "tickvals": sorted(set(rows["n"]))},
                      yaxis_title="total order ST")
    return finish(fig, title)


def grid_figure(sens: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """ST of every analysed outcome (columns) for the inputs that lead on any (rows), as sized dots."""
    piv = sens.pivot_table(index="parameter", columns="outcome", values="ST", sort=False).fillna(0.0)
    order = piv.max(axis=1).sort_values(ascending=False).head(25).index[::-1]
    long = piv.loc[order].reset_index().melt(id_vars="parameter", var_name="outcome", value_name="ST")
    long["ST"] = long["ST"].clip(lower=0.0)
    fig = go.Figure(go.Scatter(
        x=[_label(labels, o) for o in long["outcome"]], y=long["parameter"], mode="markers",
        marker={"size": 4 + 30 * np.sqrt(long["ST"].to_numpy()), "color": long["ST"], "colorscale": "Blues",
                "cmin": 0, "showscale": True, "colorbar": {"title": "ST"}, "line": {"width": 0.5, "color": "#52606d"}},
        hovertemplate="%{y}<br>%{x}<br>ST = %{marker.color:.3f}<extra></extra>"))
    fig.update_xaxes(tickangle=-35)
    return finish(fig, "Total-order indices of every outcome (inputs leading on any)", height=220 + 22 * len(order),
                  legend=False)


def morris_figure(rows: pd.DataFrame, title: str) -> go.Figure:
    """μ* against σ: far right = influential; high = non-linear or interacting."""
    fig = go.Figure()
    fig.add_scatter(x=rows["mu_star"], y=rows["sigma"], mode="markers", text=rows["parameter"],
                    marker={"color": color(0), "size": 8},
                    error_x={"type": "data", "array": rows["mu_star_conf"], "visible": True},
                    hovertemplate="%{text}<br>μ* = %{x:.3g}<br>σ = %{y:.3g}<extra></extra>", name="inputs")
    lead = rows.sort_values("mu_star", ascending=False).head(8)
    for _, r in lead.iterrows():
        fig.add_annotation(x=r["mu_star"], y=r["sigma"], text=str(r["parameter"]).split(".")[-1], showarrow=False,
                           yshift=10, font={"size": 10})
    fig.update_layout(xaxis_title="μ* (mean |elementary effect|)", yaxis_title="σ (spread of the effects)")
    return finish(fig, title, legend=False)


def trajectory_figure(box: dict[str, Any], title: str) -> go.Figure:
    """PRIM's peeling trajectory: density against coverage, colour = restricted inputs; the chosen box circled."""
    t = pd.DataFrame(box["trajectory"])
    fig = go.Figure()
    fig.add_scatter(x=t["coverage"], y=t["density"], mode="lines+markers", name="peeling trajectory",
                    marker={"color": t["restricted"], "colorscale": "Viridis", "showscale": True,
                            "colorbar": {"title": "restricted"}},
                    customdata=np.stack([t["mass"], t["restricted"]], axis=1),
                    hovertemplate="coverage %{x:.2f}<br>density %{y:.2f}<br>mass %{customdata[0]:.3f}"
                                  "<br>%{customdata[1]} inputs restricted<extra></extra>")
    fig.add_scatter(x=[box["coverage"]], y=[box["density"]], mode="markers", name="box reported",
                    marker={"size": 16, "symbol": "circle-open", "color": WAR_COLOR, "line": {"width": 3}})
    fig.update_layout(xaxis_title="coverage (share of the cases of interest inside)",
                      yaxis_title="density (share of the box's cases that are of interest)")
    return finish(fig, title)


def _fmt(x: Any, digits: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{digits}f}"


def render_explore_report(ex: "Exploration", path: Path, labels: dict[str, str]) -> Path:
    """Write ``explore.html`` for an exploration."""
    s = ex.settings
    page = Page(f"Exploration: {ex.scenario}")
    page.html("<style>table { display: block; overflow-x: auto; max-width: 100%; }</style>")  # long input names
    what = "the engine" if ex.target == "model" else f"the {ex.target} test function"
    page.html(f"<h1>What drives the outcomes: {esc(ex.scenario if ex.target == 'model' else ex.target)}</h1>")
    page.paragraph(f"Methods {', '.join(s.method)} on {what}; {s.replicates if ex.target == 'model' else 1} "
                   "replica(s) per design point (chance events resampled for each). Every design point is a "
                   "replica of the vectorised engine: the design supplies the uniforms that the random streams "
                   "supply in an ordinary run. Equations: docs/explore.md.", cls="lead")
    sens = ex.sensitivity
    if ex.target == "model":
        _answers(page, ex, labels)
    if "sobol" in s.method:
        _sobol_sections(page, ex, labels)
    if "morris" in s.method:
        _morris_section(page, sens[sens["method"] == "morris"], labels)
    if "prim" in ex.discovery:
        _prim_section(page, ex.discovery["prim"])
    if "robustness" in ex.discovery:
        _robustness_section(page, ex.discovery["robustness"])
    return write_html_atomic(path, page.render())


def _answers(page: Page, ex: "Exploration", labels: dict[str, str]) -> None:
    """The analyst's three questions in sentences, from whatever methods ran."""
    items = []
    sens = ex.sensitivity
    for method, col, what in (("sobol", "ST", "total-order index"), ("morris", "mu_star", "Morris μ*")):
        rows = sens[sens["method"] == method] if not sens.empty else sens
        for o in key_outcomes(rows) if not rows.empty else []:
            top = rows[rows["outcome"] == o].sort_values(col, ascending=False).head(5)
            top = top[top[col] > 0]
            if len(top):
                items.append(f"The five inputs that matter most for {_label(labels, o)} ({what}): "
                             + ", ".join(f"{p} ({v:.2f})" for p, v in zip(top["parameter"], top[col])) + ".")
        if items:
            break
    for item in ex.discovery.get("prim", []):
        if item["boxes"]:
            box = item["boxes"][0]
            strong = " and ".join(_bound(lim) for lim in box["limits"] if lim["qp"] < SIGNIFICANT)
            items.append(f"{item['label']} (base rate {item['base_rate']:.3f}) is most frequent where "
                         f"{strong or 'no single restriction is significant'}: there it happens in "
                         f"{box['density']:.1%} of replicas, and this region holds {box['coverage']:.0%} of all "
                         f"cases (PRIM).")
    rob: dict[str, Any] = ex.discovery.get("robustness") or {}
    for comp in rob.get("comparisons", []):
        deal = comp["outcomes"].get(DEAL_EVER)
        if deal:
            items.append(f"{comp['scenario']} raises {deal['label']} over {rob['baseline']} at {deal['higher']:.0%} "
                         f"of the input space and lowers it at {deal['lower']:.1%} (mean difference "
                         f"{deal['mean_difference']:+.3f} ± {deal['se']:.3f}, paired replicas).")
    if items:
        page.section("In short", "answers")
        page.bullets(items, cls="keyfacts")


def _sobol_sections(page: Page, ex: "Exploration", labels: dict[str, str]) -> None:
    sens = ex.sensitivity[ex.sensitivity["method"] == "sobol"]
    info = ex.info["sobol"]
    page.section("Sobol indices", "sobol",
                 f"Saltelli design with N = {info['base_samples']} base samples over {info['dimension']} inputs: "
                 f"{info['points']:,} design points, {info['evaluations']:,} engine replicas. S1 is the share of the "
                 "outcome's variance explained by an input alone, ST by the input with all its interactions; "
                 f"whiskers are {int(ex.settings.conf_level * 100)} % bootstrap intervals. An input whose ST is "
                 "about 0 can be fixed anywhere in its range without changing the outcome.")
    if "analytic" in ex.info:
        a = ex.info["analytic"]
        rows = sens.set_index("parameter")
        page.table(["input", "S1", "analytic S1", "ST", "analytic ST"],
                   [[p, f"{rows.loc[p, 'S1']:.3f} ± {rows.loc[p, 'S1_conf']:.3f}", f"{a['S1'][i]:.3f}",
                     f"{rows.loc[p, 'ST']:.3f} ± {rows.loc[p, 'ST_conf']:.3f}", f"{a['ST'][i]:.3f}"]
                    for i, p in enumerate(a["names"])], caption="Estimated against analytic indices.",
                   numeric=(1, 2, 3, 4))
    for o in key_outcomes(sens):
        rows = sens[sens["outcome"] == o]
        if not np.isfinite(rows["ST"]).any():
            page.note(f"{_label(labels, o)}: the outcome is the same at every design point (no variance to "
                      "apportion; e.g. an event that never happened in this design).")
            continue
        eta = info["noise_share"].get(o)
        note = (f" Chance noise is {_fmt(eta, 2)} of the variance of the per-point outcome (η)." if eta is not None
                and np.isfinite(eta) else "")
        page.figure(sobol_figure(rows, f"{_label(labels, o)}: the {min(TOP, len(rows))} inputs with the largest ST"),
                    "Bars: S1 (blue) and ST (orange) with bootstrap intervals, inputs ordered by ST." + note)
        bars = info["tornado"].get(o)
        if bars is not None and ex.target == "model":
            page.figure(tornado_figure(rows, bars, list(rows["parameter"]),
                                       f"{_label(labels, o)}: mean outcome with each input low or high"),
                        "Tornado: the mean outcome over the design's points with the input in the lowest 20 % of "
                        "its range (light) and in the highest 20 % (dark), around the overall mean; inputs ordered "
                        "by the width of the swing (other inputs vary freely). Each bar's end is a mean of "
                        f"about {int(0.4 * info['base_samples'])} points with a standard error of about "
                        f"{bars['se'][0]:.3f}: a swing narrower than a few of these is noise.")
        if len(info["convergence_sizes"]) > 1:
            page.figure(convergence_figure(ex.convergence, o, f"{_label(labels, o)}: convergence as N doubles"),
                        "ST of the five leading inputs from the first N base rows of the same design "
                        "(a Sobol sequence's prefix), with bootstrap intervals: stable values and shrinking "
                        "whiskers mean N is large enough.")
    if sens["outcome"].nunique() > 2 and np.isfinite(sens["ST"]).any():
        page.figure(grid_figure(sens, labels), "Each dot is an input's total-order index for one outcome (area "
                    "and colour grow with ST).")
    top = []
    for o in dict.fromkeys(sens["outcome"]):
        r = sens[sens["outcome"] == o].sort_values("ST", ascending=False).head(5)
        top.append([_label(labels, o), _fmt(info["noise_share"].get(o), 2)]
                   + [f"{p} ({st:.2f})" for p, st in zip(r["parameter"], r["ST"])])
    page.table(["outcome", "noise η", "1st (ST)", "2nd", "3rd", "4th", "5th"], top,
               caption="The five inputs with the largest total-order index for each outcome.")


def _morris_section(page: Page, rows: pd.DataFrame, labels: dict[str, str]) -> None:
    page.section("Morris screening", "morris",
                 "Elementary effects along random one-at-a-time trajectories: μ* (mean absolute effect) ranks "
                 "the inputs; σ (their spread) is large when an input acts non-linearly or through interactions.")
    for o in key_outcomes(rows):
        if not (rows.loc[rows["outcome"] == o, "mu_star"] > 0).any():
            page.note(f"{_label(labels, o)}: no elementary effect (the outcome did not change along any trajectory).")
            continue
        page.figure(morris_figure(rows[rows["outcome"] == o], f"{_label(labels, o)}: Morris μ* and σ"),
                    "Each point an input; the eight with the largest μ* are named; whiskers: bootstrap interval "
                    "of μ*.")
    top = []
    for o in dict.fromkeys(rows["outcome"]):
        r = rows[rows["outcome"] == o].sort_values("mu_star", ascending=False).head(5)
        top.append([_label(labels, o)] + [f"{p} ({m:.3g})" for p, m in zip(r["parameter"], r["mu_star"])])
    page.table(["outcome", "1st (μ*)", "2nd", "3rd", "4th", "5th"], top,
               caption="The five inputs with the largest μ* for each outcome.")


def _prim_section(page: Page, found: list[dict[str, Any]]) -> None:
    page.section("Under which conditions: PRIM boxes", "prim",
                 "Scenario discovery (PRIM): boxes in the input space where the outcome is much more frequent "
                 "than overall. Coverage: the share of all cases of interest inside the box; density: the share "
                 "of the box's cases that are of interest; mass: the box's share of all cases.")
    for item in found:
        page.heading(f"{item['label']}: base rate {_fmt(item['base_rate'])} over {item['cases']:,} replicas")
        if item.get("note"):
            page.note(item["note"])
        for b, box in enumerate(item["boxes"]):
            strong = [lim for lim in box["limits"] if lim["qp"] < SIGNIFICANT]
            words = " and ".join(_bound(lim) for lim in strong) or "no single restriction is significant"
            page.paragraph(f"Box {b + 1}: coverage {box['coverage']:.2f}, density {box['density']:.2f} "
                           f"({box['density'] / max(item['base_rate'], 1e-12):.1f}× the base rate), mass "
                           f"{box['mass']:.3f}, {box['restricted']} inputs restricted; the significant restrictions "
                           f"(quasi-p < {SIGNIFICANT}): {words}.")
            page.table(["input", "box", "range", "quasi-p"],
                       [[lim["parameter"], f"{lim['min']:.3g} – {lim['max']:.3g}",
                         f"{lim['low']:.3g} – {lim['high']:.3g}", f"{lim['qp']:.2g}"] for lim in box["limits"]],
                       numeric=(3,), caption="Restrictions in order of significance; a quasi-p of 0.05 or more "
                       "is a restriction the data do not clearly support (PRIM peels it, but chance could).")
            page.figure(trajectory_figure(box, f"{item['label']}, box {b + 1}: peeling trajectory"),
                        "Each point a box on PRIM's peeling trajectory, from the whole space (coverage 1, "
                        "density = base rate) to small dense boxes; circled: the box reported (the densest with "
                        "the minimum coverage).")


#: A box restriction is reported in words when its quasi-p value is below this.
SIGNIFICANT = 0.05


def _bound(lim: dict[str, Any]) -> str:
    """``x ≥ a``, ``x ≤ b`` or ``a ≤ x ≤ b`` for a restriction of a box."""
    lo, hi = lim["min"] > lim["low"], lim["max"] < lim["high"]
    if lo and hi:
        return f"{lim['min']:.3g} ≤ {lim['parameter']} ≤ {lim['max']:.3g}"
    return f"{lim['parameter']} ≥ {lim['min']:.3g}" if lo else f"{lim['parameter']} ≤ {lim['max']:.3g}"


def _robustness_section(page: Page, rob: dict[str, Any]) -> None:
    page.section(f"Where each scenario beats {rob['baseline']}", "robustness",
                 f"Each scenario against {rob['baseline']} at the same design points with the same chance events "
                 "(paired replicas). Shares are of the design points, i.e. of the input space.")
    rows = []
    for comp in rob["comparisons"]:
        o = comp["outcomes"]
        for name, good in ((DEAL_EVER, "higher"), (DEAL, "higher"), (WAR, "lower"), ("first_strike", "lower")):
            if name in o:
                r = o[name]
                rows.append([comp["scenario"], r["label"], f"{r['base']:.3f}", f"{r['scenario']:.3f}",
                             f"{r['mean_difference']:+.3f} ± {r['se']:.3f}", f"{r[good]:.2f}",
                             f"{r['equal']:.2f}", f"{r['lower' if good == 'higher' else 'higher']:.2f}"])
        if "wins" in comp:
            rows.append([comp["scenario"], "raises P(deal ever) without raising P(war)", "", "", "",
                         f"{comp['wins']:.2f}", "", ""])
    page.table(["scenario", "outcome", rob["baseline"], "scenario", "mean difference ± s.e.", "share better",
                "share equal", "share worse"], rows, numeric=(2, 3, 4, 5, 6, 7),
               caption="Better = higher for deals, lower for war. Shares are over design points; with few replicas "
                       "per point, chance can tip a point either way (docs/explore.md).")
