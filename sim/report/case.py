"""The forecast section of a backtest case's run report: the dated questions, the forecasts, what happened.

A case's run folder (``python -m sim.validate backtest --reports``) holds ``case.json``
(:func:`sim.validation.backtest.case_document`); when it is there, :func:`case_section` opens the run report with
the analyst's view of that crisis: the questions as dated questions, the engine's probability with its Monte Carlo
error beside climatology's and persistence's, what actually happened with its source, the scores, the engine's
probability of each event by calendar date, and the knowledge base as of the baseline with its sources' dates.
Other runs have no ``case.json`` and the section is skipped. The rest of the page is the ordinary run report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import plotly.graph_objects as go

from sim.report.labels import num, pct, pct_se
from sim.report.page import Page, esc
from sim.report.style import DEAL_COLOR, WAR_COLOR, color, finish
from sim.runs import RunData

CASE_FILE = "case.json"
#: Words for the events of the case library (sim.cases.EVENTS).
EVENT_WORDS = {"first_strike": "a direct interstate strike", "war": "regional war (the top rung)",
               "deal_signed": "a nuclear deal signed", "snapback": "UN sanctions snapped back",
               "hormuz_closed": "the Strait of Hormuz closed", "new_sanctions": "a new round of US sanctions"}
EVENT_COLORS = {"first_strike": "#D55E00", "war": WAR_COLOR, "deal_signed": DEAL_COLOR, "snapback": "#CC79A7",
                "hormuz_closed": "#0072B2", "new_sanctions": "#E69F00"}
FORECASTERS = (("engine", "Engine"), ("climatology", "Climatology (ICB)"), ("persistence", "Persistence"))


def load_case_doc(run: RunData) -> dict[str, Any] | None:
    """The run folder's ``case.json``, or None if the run is not a backtest case."""
    path = run.path / CASE_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def long_date(iso: str | None) -> str:
    """``2024-04-13`` -> ``13 April 2024``."""
    if not iso:
        return "–"
    d = date.fromisoformat(iso)
    return f"{d.day} {d.strftime('%B')} {d.year}"


def _link(src: dict[str, Any]) -> str:
    """A cited source as HTML: title (link), site, date; an assumption as its reason."""
    if src.get("assumption"):
        return f"<em>assumption</em>: {esc(src.get('why', ''))}"
    title = f'<a href="{esc(src["url"])}">{esc(src["title"])}</a>' if src.get("url") else esc(src.get("title", ""))
    return f"{title}, {esc(src.get('site', ''))}, {esc(src.get('date') or '')}"


def _cell(q: dict[str, Any], key: str, binary: Callable[[dict[str, Any]], str],
          timing: Callable[[dict[str, Any]], str]) -> str:
    """One forecaster's cell of a question's row: ``timing`` or ``binary`` of its entry, "–" if it has none."""
    s = q.get(key)
    if s is None:
        return "–"
    return timing(s) if q["kind"] == "timing" else binary(s)


def _p_cell(q: dict[str, Any], key: str) -> str:
    return _cell(q, key, lambda s: pct_se(s["p"], s.get("se")) if key == "engine" else pct(s["p"]),
                 lambda s: f"median month {num(s.get('median_months'), 0)}")


def _outcome_cell(doc: dict[str, Any], q: dict[str, Any]) -> str:
    res = doc["resolution"].get(q["event"], {})
    when = res.get("date")
    if q["kind"] == "timing":
        head = (f"month {q['outcome']:.0f} ({long_date(when)})" if q["outcome"] < q["within_months"]
                else f"not by {long_date(q['by'])}")
    elif q["outcome"] >= 0.5:
        head = f"<strong>Yes</strong> — {esc(long_date(when))}"
    else:
        head = f"<strong>No</strong>{' (it came on ' + esc(long_date(when)) + ', after the window)' if when else ''}"
    return head if q["kind"] != "timing" else esc(head)


def _score_cell(q: dict[str, Any], key: str) -> str:
    return _cell(q, key, lambda s: f"Brier {s['brier']:.3f} · log {s['log']:.2f}", lambda s: f"CRPS {s['crps']:.2f}")


def _forecast_table(page: Page, doc: dict[str, Any]) -> None:
    rows = []
    for q in doc["questions"]:
        rows.append((esc(q["dated_text"]), _p_cell(q, "engine"), _p_cell(q, "climatology"), _p_cell(q, "persistence"),
                     _outcome_cell(doc, q)))
    page.table(["Question", "Engine ± MC error", "Climatology (ICB)", "Persistence", "What happened"], rows,
               numeric=[1, 2, 3], raw_cols=[0, 4],
               caption=f"Engine: share of {doc['n_runs']:,} Monte Carlo replicas in which the event happens in the "
                       "window (± its Monte Carlo standard error, the uncertainty from a finite number of replicas "
                       "only). Climatology: the ICB rate of crises with Iran spread over a typical crisis length; "
                       "persistence: the state at the baseline continues. Timing questions show the median month "
                       "(0 = the first month after the baseline; the horizon = not within it).")


def _scores_table(page: Page, doc: dict[str, Any]) -> None:
    rows = []
    for q in doc["questions"]:
        rows.append((q["id"], *(_score_cell(q, k) for k, _ in FORECASTERS)))
    page.table(["Question", *(label for _, label in FORECASTERS)], rows,
               caption="Losses (lower is better): Brier = (p − outcome)²; log = −ln p(outcome) with p clipped to "
                       "[0.01, 0.99]; CRPS in months for timing questions. A forecaster with no answer shows –.")
    means = []
    for key, label in FORECASTERS:
        vals = [q[key] for q in doc["questions"] if q["kind"] == "binary" and all(q.get(k) for k, _ in FORECASTERS)]
        if vals:
            means.append(f"{label}: Brier {sum(v['brier'] for v in vals) / len(vals):.3f}, "
                         f"log {sum(v['log'] for v in vals) / len(vals):.2f}")
    if means:
        page.paragraph("Means over this case's binary questions that all three answer — " + "; ".join(means)
                       + ". One case is a handful of questions: the scores across all cases are in "
                         "docs/validation.md §5 and backtest.json.", cls="muted")


def _happened(page: Page, doc: dict[str, Any]) -> None:
    items = []
    for ev, res in doc["resolution"].items():
        when = f"on {long_date(res['date'])}" if res.get("date") else f"not by {long_date(doc['end'])}"
        srcs = "; ".join(_link(s) + (f' (“{esc(s["where"])}”)' if s.get("where") else "")
                         for s in res.get("sources", []))
        items.append(f"<li><strong>{esc(EVENT_WORDS.get(ev, ev)).capitalize()}</strong>: {esc(when)}. "
                     f"{esc(res.get('note') or '')}" + (f"<br><span class=\"muted\">Source: {srcs}</span>" if srcs
                                                         else "") + "</li>")
    page.html("<ul>" + "".join(items) + "</ul>")


def curves_figure(doc: dict[str, Any]) -> go.Figure:
    """The engine's (solid) and climatology's (dotted) probability that each event has happened by each month's
    end, on calendar dates from the baseline; a vertical line where it actually happened."""
    fig = go.Figure()
    base = doc["baseline"]
    for i, (ev, cur) in enumerate(doc["curves"].items()):
        col = EVENT_COLORS.get(ev, color(i))
        x = [base, *cur["month_end"]]
        words = EVENT_WORDS.get(ev, ev)
        if cur.get("engine") is not None:
            fig.add_trace(go.Scatter(x=x, y=[0.0, *cur["engine"]], mode="lines+markers", line={"color": col},
                                     name=f"engine: {words}",
                                     hovertemplate="by %{x}: %{y:.1%}<extra>engine: " + words + "</extra>"))
        if cur.get("climatology") is not None:
            fig.add_trace(go.Scatter(x=x, y=[0.0, *cur["climatology"]], mode="lines", name=f"climatology: {words}",
                                     line={"color": col, "dash": "dot"},
                                     hovertemplate="by %{x}: %{y:.1%}<extra>climatology: " + words + "</extra>"))
        when = doc["resolution"].get(ev, {}).get("date")
        if when and when <= doc["end"]:
            fig.add_vline(x=when, line={"color": col, "width": 2, "dash": "dash"})
            fig.add_annotation(x=when, y=1.0, yref="y", text=f"actual: {words}, {long_date(when)}", showarrow=False,
                               xanchor="left", yanchor="top", font={"color": col, "size": 11}, textangle=0,
                               yshift=-14 * i)
    fig.update_yaxes(title_text="probability it has happened", range=[0, 1.05], tickformat=".0%")
    fig.update_xaxes(title_text=f"date (baseline {doc['baseline']}, horizon {doc['horizon_months']} months)",
                     type="date", range=[base, doc["end"]])
    return finish(fig, "When the engine expected each event, by calendar date", height=440)


def _knowledge(page: Page, doc: dict[str, Any]) -> None:
    cited = sorted((k for k in doc["knowledge"] if not k.get("assumption")), key=lambda k: (k["date"], k["path"]))
    assumed = [k for k in doc["knowledge"] if k.get("assumption")]
    latest = max((k["date"] for k in cited), default=None)
    page.section(f"Knowledge as of {long_date(doc['baseline'])}", "knowledge-as-of",
                 f"The values this case sets for its baseline, each from a public source dated on or before "
                 f"{doc['baseline']} (the loader refuses a later one: no look-ahead) or an assumption with its "
                 f"reason. {len(cited)} cited, {len(assumed)} assumed"
                 + (f"; the latest source is dated {latest}." if latest else ".")
                 + " Every other value is the shared knowledge base's (set from 2025 reporting: the main residual "
                   "look-ahead, docs/validation.md §5).")
    rows = [(k["date"], esc(k["path"]), esc(k["value"]), _link(k), esc(k.get("where", "")), esc(k.get("why", "")))
            for k in cited]
    rows += [("assumption", esc(k["path"]), esc(k["value"]), "–", "", esc(k.get("why", ""))) for k in assumed]
    page.table(["Source date", "Knowledge-base value", "Set to", "Source", "Locating phrase", "Why"], rows, raw_cols=[1, 2, 3, 4, 5])


def case_section(page: Page, run: RunData) -> bool:
    """Open a case's run report with its forecast; returns False (and adds nothing) if the run is not a case."""
    doc = load_case_doc(run)
    if doc is None:
        return False
    page.section(f"Forecast as of {long_date(doc['baseline'])}: {doc['title']}", "forecast")
    page.paragraph(f"Backtest case {doc['name']}: a forecast made with only what was known on "
                   f"{long_date(doc['baseline'])}, for the {doc['horizon_months']} months to "
                   f"{long_date(doc['end'])}, scored against what happened. {doc.get('description') or ''}",
                   cls="lead")
    _forecast_table(page, doc)
    page.heading("What happened")
    _happened(page, doc)
    if doc.get("curves"):
        page.figure(curves_figure(doc),
                    "Solid line: share of the engine's replicas in which the event has happened by the end of each "
                    "month after the baseline (markers; the engine counts whole months, the line only joins them); dotted: climatology's probability for the same window. Dashed "
                    "vertical line: the date it actually happened (no line: it did not happen within the horizon). "
                    "A good forecast has its steep rise before the line, and stays low for events that did not "
                    "come.")
    page.heading("Scores")
    _scores_table(page, doc)
    _knowledge(page, doc)
    return True


__all__ = ["CASE_FILE", "case_section", "curves_figure", "load_case_doc", "long_date"]
