"""Backtests: the engine forecasts each dated case of ``scenarios/cases`` and is scored against what happened.

For every question three forecasters give a probability (binary questions) or a distribution of the month of the
event, censored at the horizon (timing questions):

- **engine**: the share of Monte Carlo replicas (the case's knowledge base drawn from its ranges, run for its
  horizon) in which the event happens in time. Events map onto engine outcomes in :data:`EVENT_OUTCOMES`, the one
  place of that mapping: Model 2's names when the run's outcome registry has them, else today's fallbacks;
- **climatology**: the ICB base rate of crises of this kind (:data:`CLIMATOLOGY_GROUP`), spread evenly over the
  median ICB crisis duration of that group (an event "within N months" of a crisis that lasts D months gets
  ``p · min(1, N / D)``);
- **persistence**: the baseline state continues: strikes go on if the ladder is at strikes (rung >= 4) at the
  baseline, war goes on if at war, and nothing new happens (no deal, no snapback); probabilities 1 - EPS / EPS.

Scores are losses (:mod:`sim.validation.scores`): Brier and log for binary questions, CRPS (months) for timing
questions; means over the questions all three answer, with CIs from resampling cases. The one parameter fitted
on the cases, the weight of a blend of the engine with climatology, is fitted leave-one-case-out
(:func:`loco_blend`), and only its held-out scores are reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.cases import Case, Question, engine_config
from sim.validation import scores as sc

#: The ICB group whose rates are the climatology: crises in which Iran was an actor (20 crises, 48 actor records;
#: ICB v16). Every case involves Iran; narrower groups (Iran and Israel) have too few crises for a rate.
CLIMATOLOGY_GROUP = "crises_IRN"
#: Which ICB rate stands for each event: serious clashes or war (violence >= 3) ↔ an interstate strike; full-scale
#: war (4) ↔ the top rung; a compromise outcome ↔ a signed deal. Other events have no ICB analogue.
ICB_METRIC = {"first_strike": "p_serious", "war": "p_war", "deal_signed": "p_compromise"}
FORECASTERS = ("engine", "climatology", "persistence")


# --- the engine's outcomes -------------------------------------------------------------------------------------
#: event → Model 2's outcome name: the 1-based month of the first occurrence (-1 if none), read as 0-based months
#: after the baseline. A run whose registry lacks the name (its mechanism is switched off) does not answer.
EVENT_OUTCOMES: dict[str, str] = {
    "first_strike": "first_strike_step",
    "war": "war_step",
    "deal_signed": "deal_signed_step",
    "snapback": "snapback_step",
    "hormuz_closed": "hormuz_closed_step",
    "new_sanctions": "new_sanctions_step",
}


@dataclass
class EngineRun:
    """One case's Monte Carlo run: its outcome columns, rung trajectories (T + 1, R) and registry names."""

    columns: dict[str, np.ndarray]
    rung: np.ndarray
    registry: set[str]
    n_runs: int
    seconds: float

    def event_steps(self, event: str) -> tuple[np.ndarray | None, str]:
        """Per-replica 0-based month of the event (-1: not within the run) and which outcome gave it."""
        name = EVENT_OUTCOMES[event]
        if name not in self.registry:
            return None, "no engine outcome"
        s = self.columns[name].astype(int)               # the engine's steps are 1-based months, -1 none
        return np.where(s >= 1, s - 1, -1), name


_BASE: list[dict[str, Any]] = []


def base_config() -> dict[str, Any]:
    """The plain default config with the status-quo scenario, composed once per process."""
    if not _BASE:
        from hydra import initialize_config_dir

        from sim.run import CONF_DIR, compose_config, plain, register_configs

        register_configs()
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            _BASE.append(plain(compose_config(["scenario=status_quo"])))
    return _BASE[0]


def fitted_value(value: float, why: str) -> dict[str, Any]:
    """A constant fixed at ``value`` (a calibration's grid point), with the reason as its source."""
    return {"low": value, "mode": value, "high": value, "dist": "fixed", "source": {"seed": "assumption", "why": why}}


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            raise KeyError(f"{dotted}: no such config key")
        node = node[part]
    if parts[-1] not in node:
        raise KeyError(f"{dotted}: no such config key")
    node[parts[-1]] = value


def case_spec(case: Case, n_runs: int, seed: int, overrides: dict[str, Any] | None = None, *,
              inherited: str = "base", **run: Any) -> Any:
    """The validated run spec of a case (its knowledge base, world state and horizon), with config ``overrides``
    (dotted keys, e.g. a calibrated constant) set last; ``inherited`` as in :func:`sim.cases.engine_config`."""
    from sim.run import baseline_knowledge
    from sim.spec import build_spec

    settings = {"workers": 1, "report": False, "trajectory_replicas": n_runs, "event_replicas": 0, **run}
    data = engine_config(case, base_config(), inherited=inherited, n_runs=n_runs, seed=seed, **settings)
    for key, value in (overrides or {}).items():
        _set(data, key, value)
    return build_spec(data, origin=str(case.path or case.name), baseline=baseline_knowledge())


def run_engine(case: Case, n_runs: int = 4096, seed: int = 20250311,
               overrides: dict[str, Any] | None = None, inherited: str = "base") -> EngineRun:
    """Run the engine on a case for its horizon (in this process); ``inherited``: the values the case does not set
    (:data:`sim.cases.INHERITED`)."""
    from sim.experiment import InProcess, run_experiment
    from sim.registry import declared_outcomes

    t0 = time.perf_counter()
    spec = case_spec(case, n_runs, seed, overrides, inherited=inherited)
    chunks = run_experiment(spec, executor=InProcess())
    cols = {k: np.concatenate([c.outcomes[k] for c in chunks]) for k in chunks[0].outcomes}
    rung = np.concatenate([c.traj_rung for c in chunks], axis=1)
    return EngineRun(columns=cols, rung=rung, registry={o.name for o in declared_outcomes(spec)}, n_runs=n_runs,
                     seconds=time.perf_counter() - t0)


# --- forecasts -------------------------------------------------------------------------------------------------
@dataclass
class Forecast:
    """A forecast of one question: P(event within the window) and, for timing, censored month samples."""

    p: float
    samples: np.ndarray | None
    how: str


def _censor(steps: np.ndarray, horizon: int) -> np.ndarray:
    s = np.asarray(steps, float)
    return np.where((s < 0) | (s >= horizon), float(horizon), s)


def engine_forecast(run: EngineRun, q: Question, horizon: int) -> Forecast | None:
    steps, how = run.event_steps(q.event)
    if steps is None:
        return None
    p = float(np.mean((steps >= 0) & (steps < q.within_months)))
    return Forecast(p=p, samples=_censor(steps, horizon) if q.kind == "timing" else None, how=how)


@dataclass(frozen=True)
class Climatology:
    """ICB rates of one group and its median crisis duration in months."""

    group: str
    rates: dict[str, float]
    duration_months: float
    n_crises: int


def load_climatology(data_dir: Path | None = None, group: str = CLIMATOLOGY_GROUP) -> Climatology:
    """The ICB base rates and the median actor crisis duration (trigger to termination) of ``group`` (any group of
    :func:`sim.validation.icb.icb_base_rates`)."""
    import json

    from sim.validation.data import _dir, load_icb
    from sim.validation.icb import _groups, icb_base_rates

    rates = icb_base_rates(data_dir)
    if group not in set(rates["group"]):
        raise ValueError(f"unknown ICB group {group!r}; allowed: {', '.join(rates['group'])}")
    row = rates[rates["group"] == group].iloc[0]
    records = load_icb(data_dir)
    with open(_dir(data_dir) / "icb" / "icb_durations.json", encoding="utf-8") as fh:
        durations = json.load(fh)["records"]
    same = [(r["crisno"], r["actor"]) for r in durations] == list(zip(records["crisno"], records["actor"]))
    if not same:
        raise ValueError("icb_durations.json and icb_actor_crises.json records are not in the same order")
    mask = {name: m for name, _, m in _groups(records)}[group].to_numpy()
    days = np.array([np.nan if r["trgterra"] is None else float(r["trgterra"]) for r in durations])[mask]
    return Climatology(group=group, rates={m: float(row[m]) for m in set(ICB_METRIC.values())},
                       duration_months=float(np.nanmedian(days)) / (365.25 / 12), n_crises=int(row["n_crises"]))


def climatology_forecast(clim: Climatology, q: Question, horizon: int, n: int = 1000) -> Forecast | None:
    metric = ICB_METRIC.get(q.event)
    if metric is None:
        return None
    rate, d = clim.rates[metric], clim.duration_months
    p = rate * min(1.0, q.within_months / d)
    samples = None
    if q.kind == "timing":                                # event at a uniform time in [0, D) with P = rate
        u = (np.arange(n) + 0.5) / n
        samples = np.where(u < rate, np.floor(u / rate * d), float(horizon))
        samples = np.minimum(samples, float(horizon))
    return Forecast(p=p, samples=samples, how=f"ICB {clim.group} {metric}")


def persistence_forecast(case: Case, q: Question, horizon: int) -> Forecast:
    rung = case.world.escalation_rung.value
    ongoing = {"first_strike": rung >= 4, "war": rung >= 6}.get(q.event, False)
    p = 1.0 - sc.EPS if ongoing else sc.EPS
    samples = np.full(1, 0.0 if ongoing else float(horizon)) if q.kind == "timing" else None
    return Forecast(p=p, samples=samples, how=f"baseline rung {rung} continues")


# --- scoring ---------------------------------------------------------------------------------------------------
def _score(f: Forecast | None, q: Question, y: float) -> dict[str, Any] | None:
    if f is None:
        return None
    out: dict[str, Any] = {"p": f.p, "how": f.how}
    if q.kind == "binary":
        out["brier"] = float(sc.brier(f.p, y))
        out["log"] = float(sc.log_loss(f.p, y))
    else:
        assert f.samples is not None
        out["crps"] = sc.crps(f.samples, y)
        out["median_months"] = float(np.median(f.samples))
    return out


def question_scores(case: Case, run: EngineRun, clim: Climatology) -> list[dict[str, Any]]:
    """Every question of ``case`` with its outcome and the three forecasters' probabilities and scores (the
    ``questions`` of a case in ``backtest.json``); the engine's entry has its Monte Carlo standard error ``se``."""
    from sim.cases import dated_text, last_day

    qs: list[dict[str, Any]] = []
    h = case.horizon_months
    for q in case.questions:
        y = case.outcome(q)
        f = {"engine": engine_forecast(run, q, h), "climatology": climatology_forecast(clim, q, h),
             "persistence": persistence_forecast(case, q, h)}
        scored = {k: _score(v, q, y) for k, v in f.items()}
        eng = scored["engine"]
        if eng is not None:
            eng["se"] = float(np.sqrt(eng["p"] * (1.0 - eng["p"]) / run.n_runs))
        qs.append({"id": q.id, "text": q.text, "dated_text": dated_text(q, case.baseline),
                   "by": last_day(case.baseline, q.within_months).isoformat(), "event": q.event, "kind": q.kind,
                   "within_months": q.within_months, "outcome": y, "p": None if eng is None else eng["p"], **scored})
    return qs


def loco_blend(rows: list[dict[str, Any]], grid: np.ndarray | None = None) -> dict[str, Any]:
    """Blend ``w · engine + (1 - w) · climatology`` on binary questions, ``w`` fitted leave-one-case-out.

    For each case, ``w`` minimises the mean log loss on the other cases' questions (grid 0, 0.05, ..., 1) and is
    applied to the held-out case; the scores returned are those held-out ones. ``rows`` are the scored binary
    questions (``case``, ``y``, ``engine``, ``climatology``). The in-sample ``w`` is reported, not scored.
    """
    grid = np.linspace(0.0, 1.0, 21) if grid is None else grid
    cases = np.array([r["case"] for r in rows])
    y = np.array([r["y"] for r in rows], float)
    pe = np.array([r["engine"] for r in rows], float)
    pc = np.array([r["climatology"] for r in rows], float)

    def best(mask: np.ndarray) -> float:
        losses = [float(sc.log_loss(w * pe[mask] + (1 - w) * pc[mask], y[mask]).mean()) for w in grid]
        return float(grid[int(np.argmin(losses))])
    p_out, weights = np.empty_like(y), {}
    for name in np.unique(cases):
        held = cases == name
        w = best(~held)
        weights[str(name)] = w
        p_out[held] = w * pe[held] + (1 - w) * pc[held]
    return {"p": p_out, "weights": weights, "w_in_sample": best(np.ones_like(y, bool)),
            "brier": sc.brier(p_out, y), "log": sc.log_loss(p_out, y)}


#: The constant fitted on the cases by default, and its grid: the ladder's monthly de-escalation probability
#: (config range 0.2-0.5, mode 0.35, "set, not fitted"); it sets how long strikes and proxy attacks last.
CALIBRATE = ("mechanics.escalation.deescalation", (0.15, 0.25, 0.35, 0.5))


def calibrate_loco(cases: list[Case], param: str, values: tuple[float, ...], *, n_runs: int, seed: int,
                   keep: set[tuple[str, str]], inherited: str = "base") -> dict[str, Any]:
    """Fit one engine constant on the cases by leave-one-case-out, scoring only held-out forecasts.

    Every case is run once per grid value. For each held-out case the value with the lowest mean log loss on the
    *other* cases' binary questions (those in ``keep``: ``(case, question)`` pairs all forecasters answer) is chosen
    and that run's forecasts of the held-out case are scored. Returns per-question held-out scores
    (``scored[(case, q)]``), the value chosen for each held-out case and the in-sample best (reported, not scored).
    """
    per_value: dict[float, dict[tuple[str, str], dict[str, Any]]] = {}
    for v in values:
        why = f"calibration grid point {v:g} of {param} (leave-one-case-out over the backtest cases)"
        table: dict[tuple[str, str], dict[str, Any]] = {}
        for case in cases:
            run = run_engine(case, n_runs=n_runs, seed=seed, overrides={param: fitted_value(v, why)},
                             inherited=inherited)
            for q in case.questions:
                if (case.name, q.id) in keep:
                    sc_ = _score(engine_forecast(run, q, case.horizon_months), q, case.outcome(q))
                    assert sc_ is not None
                    table[(case.name, q.id)] = {**sc_, "kind": q.kind}
        per_value[v] = table

    def loss(v: float, names: set[str]) -> float:
        logs = [r["log"] for (c, _), r in per_value[v].items() if c in names and r["kind"] == "binary"]
        return float(np.mean(logs)) if logs else float("inf")
    all_names = {c.name for c in cases}
    chosen = {c.name: min(values, key=lambda v: loss(v, all_names - {c.name})) for c in cases}
    scored = {key: per_value[chosen[key[0]]][key] for key in per_value[values[0]]}
    return {"param": param, "values": list(values), "chosen_by_held_out_case": chosen, "scored": scored,
            "in_sample_best_not_scored": min(values, key=lambda v: loss(v, all_names)),
            "in_sample_log_by_value": {f"{v:g}": loss(v, all_names) for v in values}}


def evaluate(cases: list[Case], *, n_runs: int = 4096, seed: int = 20250311, n_boot: int = 2000,
             data_dir: Path | None = None, progress: Callable[[str], None] | None = None,
             calibrate: tuple[str, tuple[float, ...]] | None = CALIBRATE,
             climatology_group: str = CLIMATOLOGY_GROUP, inherited: str = "base") -> dict[str, Any]:
    """Forecast and score every question of every case; the JSON document of ``python -m sim.validate backtest``.
    ``inherited``: what the knowledge-base values a case does not set are (:data:`sim.cases.INHERITED`: the
    shared base's, or their scales' whole ranges for the look-ahead sensitivity; checked by
    :func:`sim.cases.engine_config`); recorded in ``settings``."""
    clim = load_climatology(data_dir, climatology_group)
    doc_cases: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for case in cases:
        run = run_engine(case, n_runs=n_runs, seed=seed, inherited=inherited)
        if progress:
            progress(f"{case.name}: {n_runs} replicas × {case.horizon_months} months in {run.seconds:.1f} s")
        qs = question_scores(case, run, clim)
        for q in qs:
            rows.append({"case": case.name, "q": q["id"], "kind": q["kind"], "y": q["outcome"],
                         "scored": {k: q[k] for k in FORECASTERS}})
        doc_cases.append({"name": case.name, "title": case.title, "baseline": case.baseline.isoformat(),
                          "horizon_months": case.horizon_months, "n_sources": len(case.sources),
                          "n_assumptions": sum(s.assumption for s in case.sources.values()), "questions": qs})
    common = [r for r in rows if all(r["scored"][k] is not None for k in FORECASTERS)]
    summary: dict[str, Any] = {}
    for k in FORECASTERS:
        summary[k] = _summary([r for r in common], k, n_boot, seed)
    binary = [r for r in common if r["kind"] == "binary"]
    blend = loco_blend([{"case": r["case"], "y": r["y"], "engine": r["scored"]["engine"]["p"],
                         "climatology": r["scored"]["climatology"]["p"]} for r in binary])
    cnames = [r["case"] for r in binary]
    summary["engine_climatology_blend_loco"] = {
        "brier": sc.bootstrap_by_case(blend["brier"], cnames, n_boot, seed)[0],
        "log": sc.bootstrap_by_case(blend["log"], cnames, n_boot, seed)[0],
        "brier_ci": list(sc.bootstrap_by_case(blend["brier"], cnames, n_boot, seed)[1:]),
        "log_ci": list(sc.bootstrap_by_case(blend["log"], cnames, n_boot, seed)[1:]),
        "weights_by_held_out_case": blend["weights"], "w_in_sample_not_scored": blend["w_in_sample"],
        "n_binary": len(binary)}
    summary["differences"] = {f"engine_minus_{k}": _difference(binary, k, n_boot, seed)
                              for k in ("climatology", "persistence")}
    calibration = None
    if calibrate is not None:
        t0 = time.perf_counter()
        calibration = calibrate_loco(cases, calibrate[0], tuple(calibrate[1]), n_runs=n_runs, seed=seed,
                                     keep={(r["case"], r["q"]) for r in common}, inherited=inherited)
        for r in common:
            r["scored"]["engine_calibrated_loco"] = calibration["scored"][(r["case"], r["q"])]
        for c in doc_cases:
            for q in c["questions"]:
                q["engine_calibrated_loco"] = calibration["scored"].get((c["name"], q["id"]))
        summary["engine_calibrated_loco"] = {
            **_summary(common, "engine_calibrated_loco", n_boot, seed), "param": calibration["param"],
            "values": calibration["values"], "chosen_by_held_out_case": calibration["chosen_by_held_out_case"],
            "in_sample_best_not_scored": calibration["in_sample_best_not_scored"],
            "in_sample_log_by_value_not_scored": calibration["in_sample_log_by_value"]}
        summary["differences"]["engine_calibrated_loco_minus_climatology"] = _difference(
            binary, "climatology", n_boot, seed, first="engine_calibrated_loco")
        if progress:
            progress(f"calibration of {calibrate[0]} over {list(calibrate[1])}: "
                     f"{len(calibrate[1]) * len(cases)} runs in {time.perf_counter() - t0:.1f} s")
    unscored = [f"{r['case']}.{r['q']}" for r in rows if r not in common]
    return {"cases": doc_cases, "summary": summary,
            "reliability": {k: sc.reliability_bins([r["scored"][k]["p"] for r in binary], [r["y"] for r in binary])
                            for k in FORECASTERS},
            "settings": {"n_runs": n_runs, "seed": seed, "n_boot": n_boot, "inherited": inherited,
                         "log_floor": sc.EPS,
                         "climatology_group": clim.group, "climatology_rates": clim.rates,
                         "climatology_duration_months": clim.duration_months, "icb_crises": clim.n_crises,
                         "scores": "losses: lower is better (brier, log = -ln p(outcome), crps in months)",
                         "unscored_questions": unscored}}


def _summary(rows: list[dict[str, Any]], k: str, n_boot: int, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    binary = [r for r in rows if r["kind"] == "binary"]
    timing = [r for r in rows if r["kind"] == "timing"]
    for metric, sub in (("brier", binary), ("log", binary), ("crps", timing)):
        if not sub:
            out[metric], out[f"{metric}_ci"] = None, None
            continue
        m, lo, hi = sc.bootstrap_by_case([r["scored"][k][metric] for r in sub], [r["case"] for r in sub],
                                         n_boot, seed)
        out[metric], out[f"{metric}_ci"] = m, [lo, hi]
    out["n_binary"], out["n_timing"] = len(binary), len(timing)
    return out


def _difference(rows: list[dict[str, Any]], k: str, n_boot: int, seed: int, first: str = "engine") -> dict[str, Any]:
    cases = [r["case"] for r in rows]
    out: dict[str, Any] = {}
    for metric in ("brier", "log"):
        d = [r["scored"][first][metric] - r["scored"][k][metric] for r in rows]
        m, lo, hi = sc.bootstrap_by_case(d, cases, n_boot, seed)
        out[metric], out[f"{metric}_ci"] = m, [lo, hi]
    return out


def reliability_figure(doc: dict[str, Any], path: Path) -> Path:
    """Write the reliability diagram (binary questions, three forecasters) as an offline HTML page."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                             line={"dash": "dot", "color": "grey"}))
    for k, bins in doc["reliability"].items():
        fig.add_trace(go.Scatter(x=[b["p_mean"] for b in bins], y=[b["observed"] for b in bins],
                                 mode="lines+markers", name=k, text=[f"n={b['n']}" for b in bins],
                                 marker={"size": [8 + 3 * b["n"] for b in bins]}))
    n = doc["summary"]["engine"]["n_binary"]
    fig.update_layout(title=f"Backtest reliability: {n} binary questions of {len(doc['cases'])} cases "
                            "(marker size: questions in the bin)",
                      xaxis_title="forecast probability (bin mean)", yaxis_title="observed frequency",
                      xaxis_range=[-0.02, 1.02], yaxis_range=[-0.02, 1.02], template="plotly_white")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    return path


def engine_run_from_folder(run_dir: Path) -> EngineRun:
    """The :class:`EngineRun` of a finished run folder (its outcomes, stored rung trajectories and registry)."""
    from sim.runs import load_run

    run = load_run(run_dir)
    cols = {c: run.outcomes[c].to_numpy() for c in run.outcomes.columns}
    for c in cols:                                    # a step stored as missing (never happened) is -1 in memory
        if c.endswith("_step"):
            cols[c] = run.outcomes[c].astype("Float64").fillna(-1).to_numpy(dtype=float)
    tr = run.trajectories
    rung = (tr.pivot(index="step", columns="replica", values="escalation").to_numpy() if not tr.empty
            else np.zeros((0, len(run.outcomes))))
    return EngineRun(columns=cols, rung=rung, registry={str(r["name"]) for r in run.registry},
                     n_runs=len(run.outcomes), seconds=0.0)


def _raw_value(case: Case, dotted: str) -> str:
    """The value a case file sets at ``dotted`` (``knowledge.actors.iran.resolve``), as text."""
    from sim.yamlio import load_yaml

    if case.path is None:
        return ""
    node: Any = load_yaml(case.path)
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return ""
        node = node[part]
    if not isinstance(node, dict):
        return str(node)
    if "value" in node:
        return str(node["value"])
    if {"low", "mode", "high"} <= set(node):
        return f"{node['mode']:g} (range {node['low']:g}–{node['high']:g})"
    return ""


def _source_doc(src: Any) -> dict[str, Any]:
    return {"title": src.title, "site": src.site, "date": src.date.isoformat() if src.date else None, "url": src.url,
            "where": src.where, "why": src.why, "assumption": src.assumption}


def case_document(case: Case, run: EngineRun, clim: Climatology, seed: int | None = None) -> dict[str, Any]:
    """Everything a case's report shows above the run report (``case.json`` in its run folder): the dated
    questions with the three forecasters' probabilities, the outcomes with their sources, the scores, the engine's
    and climatology's cumulative probability of each event by calendar month, and the knowledge base as of the
    baseline with its sources' dates. Read by :mod:`sim.report.case`."""
    from sim.cases import EVENTS, last_day

    h = case.horizon_months
    curves: dict[str, Any] = {}
    for ev in sorted({q.event for q in case.questions}, key=EVENTS.index):
        steps, how = run.event_steps(ev)
        metric = ICB_METRIC.get(ev)
        months = range(h)
        curves[ev] = {
            "month_end": [last_day(case.baseline, m + 1).isoformat() for m in months],
            "engine": None if steps is None else [float(np.mean((steps >= 0) & (steps <= m))) for m in months],
            "climatology": (None if metric is None else
                            [clim.rates[metric] * min(1.0, (m + 1) / clim.duration_months) for m in months]),
            "how": how}
    resolution = {ev: {"date": r.date.isoformat() if r.date else None, "note": r.note,
                       "sources": [_source_doc(s) for s in r.sources]} for ev, r in case.resolution.items()}
    knowledge = [{"path": k, "value": _raw_value(case, k), **_source_doc(src)} for k, src in case.sources.items()]
    return {"name": case.name, "title": case.title, "baseline": case.baseline.isoformat(), "horizon_months": h,
            "end": last_day(case.baseline, h).isoformat(), "description": case.description, "n_runs": run.n_runs,
            "seed": seed, "questions": question_scores(case, run, clim), "curves": curves, "resolution": resolution,
            "knowledge": knowledge,
            "climatology": {"group": clim.group, "rates": clim.rates, "duration_months": clim.duration_months,
                            "n_crises": clim.n_crises}}


#: The file of a case's run folder that makes its report a case report (:mod:`sim.report.case`).
CASE_FILE = "case.json"


def write_case_reports(cases: list[Case], folder: Path, *, n_runs: int, seed: int, data_dir: Path | None = None,
                       climatology_group: str = CLIMATOLOGY_GROUP, inherited: str = "base") -> list[Path]:
    """A run folder with its report (``report.html``, like any run's) for each case: ``folder/<case>/``; the
    report opens with the case's forecast (:func:`case_document`, written to ``case.json`` first)."""
    import json

    from sim.report.run_report import render_run_report
    from sim.run import execute

    clim = load_climatology(data_dir, climatology_group)
    out = []
    for case in cases:
        spec = case_spec(case, n_runs, seed, inherited=inherited, report=False, event_replicas=50)
        run_dir = Path(execute(spec, Path(folder) / case.name)["run_dir"])
        doc = case_document(case, engine_run_from_folder(run_dir), clim, seed=seed)
        (run_dir / CASE_FILE).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        render_run_report(run_dir)
        out.append(run_dir)
    return out


def format_table(doc: dict[str, Any]) -> str:
    """The per-question table and the summary, as text."""
    lines = [f"{'case':<22}{'baseline':<12}{'question':<26}{'y':>5}{'engine':>9}{'climat.':>9}{'persist.':>9}"]
    for c in doc["cases"]:
        for q in c["questions"]:
            def cell(k: str) -> str:
                s = q[k]
                if s is None:
                    return f"{'—':>9}"
                return f"{s['p']:>9.2f}" if q["kind"] == "binary" else f"{s['median_months']:>8.1f}m"
            y = f"{q['outcome']:.0f}" if q["kind"] == "binary" else f"{q['outcome']:.0f}m"
            lines.append(f"{c['name']:<22}{c['baseline']:<12}{q['id']:<26}{y:>5}"
                         + "".join(cell(k) for k in FORECASTERS))
    s = doc["summary"]
    lines.append("")
    lines.append("means over the questions all three answer (losses: lower is better; 95 % CI resampling cases)")
    for k in (*FORECASTERS, "engine_climatology_blend_loco", "engine_calibrated_loco"):
        if k not in s:
            continue
        row = s[k]
        parts = []
        for metric in ("brier", "log", "crps"):
            if row.get(metric) is not None:
                lo, hi = row[f"{metric}_ci"]
                parts.append(f"{metric} {row[metric]:.3f} [{lo:.3f}, {hi:.3f}]")
        lines.append(f"  {k:<42}" + "   ".join(parts))
    for k, d in s["differences"].items():
        lines.append(f"  {k:<42}brier {d['brier']:+.3f} [{d['brier_ci'][0]:+.3f}, {d['brier_ci'][1]:+.3f}]   "
                     f"log {d['log']:+.3f} [{d['log_ci'][0]:+.3f}, {d['log_ci'][1]:+.3f}]")
    w = s["engine_climatology_blend_loco"]["weights_by_held_out_case"]
    lines.append("  blend weight on the engine, fitted without the case: "
                 + ", ".join(f"{k} {v:.2f}" for k, v in w.items()))
    if "engine_calibrated_loco" in s:
        cal = s["engine_calibrated_loco"]
        lines.append(f"  {cal['param']} fitted without the case: "
                     + ", ".join(f"{k} {v:g}" for k, v in cal["chosen_by_held_out_case"].items())
                     + f" (in-sample best {cal['in_sample_best_not_scored']:g}, not scored)")
    unscored = doc["settings"]["unscored_questions"]
    if unscored:
        lines.append(f"not scored (some forecaster has no answer): {', '.join(unscored)}")
    return "\n".join(lines)
