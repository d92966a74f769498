"""The live what-if page: ``python -m sim.app [explore=DIR | pilot=RUN_DIR] [port=8050] [host=127.0.0.1]
[replicas=2000] [seed=N]``, then open http://127.0.0.1:8050.

Pick a scenario, move the inputs that matter most and the scenario's levers, and the key probabilities, the
distributions and the paired differences against the status quo update (:mod:`sim.whatif` computes them:
``replicas`` replicas per run on one core, the status quo cached while only levers move).

Which inputs are shown (:mod:`sim.drivers`; the page says which): with ``explore=DIR``, the largest Sobol
total-order indices of that explore folder's ``sensitivity.parquet``; with ``pilot=RUN_DIR``, the largest rank
correlations with P(war) and P(deal ever) in that run's ``parameters.parquet``; otherwise the same from a pilot
of the status quo computed at start-up with every constant drawn (``uncertainty=all``). Dash serves its
JavaScript itself: the page works offline. It listens on 127.0.0.1 unless ``host=`` says otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import ConfigError

#: Paths the levers set: left out of the inputs (a lever already moves them).
LEVER_PATHS: tuple[str, ...] = ()
N_INPUTS = 6
DEFAULTS = {"explore": None, "pilot": None, "port": "8050", "host": "127.0.0.1", "replicas": "2000", "seed": None}


@dataclass(frozen=True)
class InputControl:
    """A control of the page: an input, its range, its mode and whether it is drawn per replica."""

    path: str
    low: float
    mode: float
    high: float
    drawn: bool
    score: float


def input_controls(engine: Any, ranking: Any) -> list[InputControl]:
    """The ranking's inputs (less those a lever sets) with their ranges from the status quo's spec."""
    from sim.uncertainty import input_tables

    table, _ = input_tables(engine.spec("status_quo"))
    out = []
    for path, score in zip(ranking.paths, ranking.scores):
        if path in LEVER_PATHS or path not in table.paths:
            continue
        k = table.paths.index(path)
        if table.high[k] > table.low[k]:
            out.append(InputControl(path, float(table.low[k]), float(table.mode[k]), float(table.high[k]),
                                    bool(table.drawn[k]), float(score)))
    return out[:N_INPUTS]


def _step(low: float, high: float) -> float:
    span = high - low
    return 1.0 if span >= 20 else 0.5 if span >= 5 else round(span / 50, 4) or 0.001


def layout(engine: Any, controls: list[InputControl], method: str) -> Any:
    """The page: controls on the left, numbers and figures on the right."""
    from dash import dcc, html

    from sim.run import scenario_names

    base = engine.config("status_quo")
    actors = list(base.get("actors", {}))
    deal = base.get("mechanics", {}).get("deal", {})
    deadline = int(deal.get("deadline", 2))
    inputs = []
    for n, c in enumerate(controls):
        kind = "drawn per replica within the range set (both ends together fix it)" if c.drawn else \
            "a constant, held at the value set"
        slider = (dcc.RangeSlider(id=f"input-{n}", min=c.low, max=c.high, step=_step(c.low, c.high),
                                  value=[c.low, c.high], marks=None, tooltip={"placement": "bottom"})
                  if c.drawn else
                  dcc.Slider(id=f"input-{n}", min=c.low, max=c.high, step=_step(c.low, c.high), value=c.mode,
                             marks=None, tooltip={"placement": "bottom"}))
        inputs.append(html.Div([html.Label(f"{c.path} ({c.score:.2f})", title=kind), slider],
                               className="control"))
    for n in range(len(controls), N_INPUTS):
        inputs.append(html.Div(dcc.Slider(id=f"input-{n}", min=0, max=1, value=0), style={"display": "none"}))
    names = scenario_names()
    return html.Div([
        html.H1("What if …? Live scenarios"),
        html.P(["Each change runs ", html.B(f"{engine.replicas:,} replicas"), " of the scenario on one core; the "
                "status quo is run under the same inputs with the same seed, so replica r sees the same random "
                "numbers in both and the differences are paired (common random numbers). Inputs hold for both "
                "runs; levers change the scenario only."]),
        html.Div([
            html.Div([
                html.H3("Scenario"),
                dcc.RadioItems(id="scenario", options=[{"label": n, "value": n} for n in names],
                               value="grand_bargain" if "grand_bargain" in names else names[0]),
                html.H3("Inputs that matter most"),
                html.P(id="ranking-method", children=f"Ranked by {method}.", className="note"),
                *inputs,
                html.H3("Levers"),
                html.Label("Mediator"),
                dcc.RadioItems(id="mediator", value="scenario",
                               options=[{"label": "as the scenario has it", "value": "scenario"},
                                        {"label": "none", "value": "none"},
                                        {"label": "neutral (no stake, no ally)", "value": "neutral"}]
                               + [{"label": a, "value": a} for a in actors if a not in deal.get("parties", [])]),
                html.Label("Brokered exchanges available"),
                dcc.Checklist(id="links", options=[], value=[]),
                html.Label("The US ultimatum: months of talks before they count as stalled (the military option)"),
                dcc.Slider(id="deadline", min=1, max=12, step=1, value=deadline,
                           marks={m: str(m) for m in (1, 2, 3, 6, 9, 12)}),
                html.Label("Months simulated"),
                dcc.Slider(id="steps", min=6, max=48, step=6, value=int(base.get("steps", 24)),
                           marks={m: str(m) for m in range(6, 49, 6)}),
            ], style={"flex": "0 0 360px", "paddingRight": "24px"}),
            html.Div([
                html.P(id="status", className="note"),
                html.Table(id="probabilities"),
                dcc.Graph(id="difference-figure"),
                dcc.Graph(id="rung-figure"),
                dcc.Graph(id="issues-figure"),
                html.P(["The same numbers from the command line: ", html.Code(id="command")], className="note"),
            ], style={"flex": "1 1 auto"}),
        ], style={"display": "flex"}),
    ], style={"fontFamily": "system-ui, sans-serif", "margin": "16px"})


def _table(rows: list[dict[str, Any]]) -> list[Any]:
    from dash import html

    head = html.Tr([html.Th(t) for t in ("", "scenario", "status quo", "difference (paired, 95 %)")])
    body = []
    for r in rows:
        if r["kind"] != "probability":
            continue
        body.append(html.Tr([
            html.Td(r["label"]),
            html.Td(f"{r['scenario']:.1f} % ± {r['scenario_se']:.1f}", id=f"p-{r['name']}"),
            html.Td(f"{r['status_quo']:.1f} %", id=f"q-{r['name']}"),
            html.Td(f"{r['difference']:+.1f} pp [{r['low']:+.1f}, {r['high']:+.1f}]", id=f"d-{r['name']}"),
        ]))
    return [head, *body]


def figures(ev: Any, scenario: str) -> tuple[Any, Any, Any]:
    """Paired differences (forest plot), highest rung reached (bars), issue outcomes (violins)."""
    import numpy as np
    import plotly.graph_objects as go

    from sim import outcomes as names

    rows = ev.rows
    diff = go.Figure(go.Scatter(
        x=[r["difference"] for r in rows], y=[r["label"] for r in rows], mode="markers",
        error_x={"type": "data", "symmetric": False, "array": [r["high"] - r["difference"] for r in rows],
                 "arrayminus": [r["difference"] - r["low"] for r in rows]}))
    diff.add_vline(x=0, line_dash="dot")
    diff.update_layout(title=f"{scenario} − status quo, paired (probabilities in pp, issues in points)",
                       height=360, margin={"l": 10, "r": 10, "t": 50, "b": 30}, yaxis={"autorange": "reversed"})
    rungs = go.Figure()
    for label, out in ((scenario, ev.scenario), ("status quo", ev.baseline)):
        counts = np.bincount(out.columns[names.MAX_RUNG].astype(int), minlength=7) / out.replicas
        rungs.add_bar(x=list(range(len(counts))), y=counts, name=label)
    rungs.update_layout(title="Highest rung reached (share of replicas)", barmode="group", height=300,
                        margin={"l": 10, "r": 10, "t": 50, "b": 30}, xaxis_title="rung")
    issues = go.Figure()
    for label, out in ((scenario, ev.scenario), ("status quo", ev.baseline)):
        cols = [c for c in out.columns if c.startswith(names.ISSUE_PREFIX)]
        for n, col in enumerate(cols):
            values = out.columns[col][:: max(out.replicas // 1000, 1)]       # at most ~1,000 points a violin
            issues.add_violin(x=values, y=[col.removeprefix(names.ISSUE_PREFIX)] * len(values), name=label,
                              legendgroup=label, showlegend=n == 0, orientation="h", line_width=1, points=False,
                              side="positive" if label == scenario else "negative")
    issues.update_layout(title="Issue outcomes (0–100): scenario above, status quo below", height=420,
                         violinmode="overlay", margin={"l": 10, "r": 10, "t": 50, "b": 30})
    return diff, rungs, issues


def create_app(engine: Any, controls: list[InputControl], method: str) -> Any:
    """The Dash app over a :class:`sim.whatif.WhatIf` engine."""
    from dash import Dash, Input, Output, html

    from sim.whatif import InputSetting, Levers, link_key

    app = Dash(__name__, title="geosim: what if …?")
    app.layout = layout(engine, controls, method)

    @app.callback(Output("links", "options"), Output("links", "value"), Input("scenario", "value"))
    def _links(scenario: str) -> tuple[list[dict[str, str]], list[str]]:
        links = engine.config(scenario).get("mechanics", {}).get("exchange", {}).get("brokers", [])
        options = [{"label": f"{link_key(x)}" + (f" ({x['note']})" if x.get("note") else ""),
                    "value": link_key(x)} for x in links]
        return options, [o["value"] for o in options]

    @app.callback(Output("probabilities", "children"), Output("difference-figure", "figure"),
                  Output("rung-figure", "figure"), Output("issues-figure", "figure"), Output("status", "children"),
                  Output("command", "children"),
                  Input("scenario", "value"), Input("mediator", "value"), Input("links", "value"),
                  Input("deadline", "value"), Input("steps", "value"),
                  *[Input(f"input-{n}", "value") for n in range(N_INPUTS)])
    def _update(scenario: str, mediator: str, links: list[str], deadline: int, steps: int,
                *values: Any) -> tuple[Any, ...]:
        settings = []
        for c, v in zip(controls, values):
            lo, hi = (float(v[0]), float(v[1])) if c.drawn else (float(v), float(v))
            if (c.drawn and (lo, hi) != (c.low, c.high)) or (not c.drawn and lo != c.mode):
                settings.append(InputSetting(c.path, lo, hi, c.drawn))
        known = [link_key(x) for x in engine.config(scenario).get("mechanics", {}).get("exchange", {})
                 .get("brokers", [])]
        levers = Levers(mediator=None if mediator == "scenario" else mediator,
                        links=tuple(k for k in known if k in (links or [])) if set(links or []) != set(known) else
                        None, deadline=int(deadline), steps=int(steps))
        try:
            ev = engine.evaluate(scenario, settings, levers)
        except ConfigError as exc:
            from dash import no_update

            return (no_update, no_update, no_update, no_update, html.Span(f"not valid: {exc}",
                                                                           style={"color": "#b00"}), no_update)
        diff, rungs, issues = figures(ev, scenario)
        status = (f"{ev.computed:,} replicas simulated for this change in {ev.seconds:.2f} s"
                  + (" (status quo from the cache)" if ev.computed <= engine.replicas else ""))
        command = " ".join(["python -m sim", f"scenario={scenario}", *engine.settings(),
                            *engine.overrides(scenario, settings, levers)])
        return _table(ev.rows), diff, rungs, issues, status, command

    return app


def parse_args(argv: Sequence[str]) -> dict[str, Any]:
    """``key=value`` arguments (:data:`DEFAULTS`); ConfigError with one line for anything else."""
    out: dict[str, Any] = dict(DEFAULTS)
    for arg in argv:
        key, eq, value = arg.partition("=")
        if not eq or key not in DEFAULTS:
            raise ConfigError(f"{arg}: unknown argument; allowed: {', '.join(f'{k}=' for k in DEFAULTS)}")
        out[key] = value
    for key in ("port", "replicas"):
        if not str(out[key]).isdigit() or int(out[key]) < 1:
            raise ConfigError(f"{key}={out[key]}: got {out[key]!r}; allowed: a whole number ≥ 1")
    if out["seed"] is not None and not str(out["seed"]).isdigit():
        raise ConfigError(f"seed={out['seed']}: got {out['seed']!r}; allowed: a whole number ≥ 0")
    if out["explore"] and out["pilot"]:
        raise ConfigError("explore= and pilot=: got both; allowed: one source of the ranking of inputs")
    for key in ("explore", "pilot"):
        if out[key] and not Path(out[key]).is_dir():
            raise ConfigError(f"{key}={out[key]}: no such folder; allowed: "
                              + ("an explore folder holding sensitivity.parquet" if key == "explore" else
                                 "a run folder holding parameters.parquet"))
    return out


def build(args: dict[str, Any]) -> Any:
    """The engine, the ranking and the app for parsed arguments."""
    from sim.drivers import from_pilot, from_sensitivity
    from sim.whatif import WhatIf, pilot_ranking

    seed = int(args["seed"]) if args["seed"] is not None else None
    engine = WhatIf(int(args["replicas"]), seed)
    top = N_INPUTS + len(LEVER_PATHS)
    if args["explore"]:
        ranking = from_sensitivity(args["explore"], top)
    elif args["pilot"]:
        ranking = from_pilot(args["pilot"], top)
    else:
        ranking = pilot_ranking(top, int(args["replicas"]), seed)
    return create_app(engine, input_controls(engine, ranking), ranking.method)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sim.app``; bad input: one line on stderr, exit status 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print((__doc__ or "").strip())
        return 0
    try:
        args = parse_args(argv)
        app = build(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"what-if page on http://{args['host']}:{args['port']}/ (Ctrl-C stops it)", flush=True)
    app.run(host=args["host"], port=int(args["port"]), debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
