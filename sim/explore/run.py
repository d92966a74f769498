"""The exploration's application layer: designs → evaluations → indices, boxes, comparisons → files. No printing.

:func:`explore` computes everything in memory; :func:`write_outputs` then writes each file atomically
(``sensitivity.parquet``, ``convergence.parquet``, ``discovery.json``, ``explore.json``, ``explore.html``).
Only ``explore.json`` holds wall-clock times: the other files are identical, byte for byte, for the same seed and
settings whatever ``chunk_size`` and ``workers``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.explore.designs import MatrixDesign, SaltelliDesign, morris_design, space_filling
from sim.explore.evaluate import Design, EngineEvaluator, Evaluator, FunctionEvaluator, Outputs, analysed_outcomes
from sim.explore.functions import FUNCTIONS
from sim.explore.inputs import DesignSpace, values_of
from sim.explore.pool import map_in_order
from sim.explore.report import key_outcomes
from sim.explore.settings import ExploreSettings
from sim.explore.sensitivity import convergence_sizes, morris_table, sobol_table

if TYPE_CHECKING:
    from sim.spec import RunSpec

Progress = Callable[[int], None]


@dataclass
class Target:
    """What a sensitivity design evaluates: input names, outcomes (name, kind, label), and how."""

    names: tuple[str, ...]
    outcomes: list[tuple[str, str, str]]
    make: Callable[[Progress | None], Evaluator]
    replicates: int


@dataclass
class Exploration:
    """Everything an exploration computed."""

    settings: ExploreSettings
    target: str                                           #: "model" or a test function's name
    scenario: str
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)
    convergence: pd.DataFrame = field(default_factory=pd.DataFrame)
    discovery: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def sensitivity_target(spec: "RunSpec", settings: ExploreSettings) -> Target:
    """The engine (every live input of the spec; the chosen registry outcomes) or an analytic test function."""
    if settings.function != "model":
        tf = FUNCTIONS[settings.function]
        return Target(tf.names, [("y", "quantity", f"{settings.function}(x)")],
                      lambda progress: FunctionEvaluator(("y",), tf.fn), 1)
    space = DesignSpace.of(spec)
    outcomes = select_outcomes(spec, settings.outcomes)
    names = tuple(o for o, _, _ in outcomes)
    return Target(space.paths, outcomes,
                  lambda progress: EngineEvaluator(spec, space, settings.replicates, names, on_chunk=progress),
                  settings.replicates)


def select_outcomes(spec: "RunSpec", chosen: list[str] | str) -> list[tuple[str, str, str]]:
    """The analysed registry outcomes, all or the chosen ones (names checked by the command line)."""
    every = analysed_outcomes(spec)
    return every if chosen == "all" else [o for o in every if o[0] in chosen]


def design_evaluations(spec: "RunSpec", settings: ExploreSettings, n_compared: int) -> int:
    """How many engine replicas the exploration runs (for the progress bar)."""
    if settings.function != "model":
        return 0
    d = DesignSpace.of(spec).dimension
    k = settings.replicates
    total = 0
    if "sobol" in settings.method:
        total += settings.n * (d + 2) * k
    if "morris" in settings.method:
        total += settings.n * (d + 1) * k
    if "prim" in settings.method or "robustness" in settings.method:
        total += settings.points * k * (1 + (n_compared if "robustness" in settings.method else 0))
    return total


def _outputs(evaluator: Evaluator, design: Design) -> tuple[Outputs, float]:
    t0 = time.perf_counter()
    values = evaluator(design)
    return Outputs(values), time.perf_counter() - t0


def run_sobol(spec: "RunSpec", settings: ExploreSettings, progress: Progress | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Sobol indices at N and the convergence table at N/2^c, …, N; and what was run."""
    target = sensitivity_target(spec, settings)
    design = SaltelliDesign(len(target.names), settings.n, spec.run.seed)
    out, seconds = _outputs(target.make(progress), design)
    sizes = convergence_sizes(settings.n, settings.convergence)
    means = {name: out.mean(name) for name, _, _ in target.outcomes}
    key = set(key_outcomes([name for name, _, _ in target.outcomes]))
    tasks = [(name, target.names, means[name], n, settings.resamples, settings.conf_level, spec.run.seed)
             for name, _, _ in target.outcomes for n in (sizes if name in key else [settings.n])]
    t0 = time.perf_counter()
    conv = map_in_order(_sobol_task, tasks, spec.run.workers if settings.function == "model" else 1)
    analysis = time.perf_counter() - t0
    noise = {name: out.noise_share(name) for name, _, _ in target.outcomes}
    rows = [t.drop(columns="n").assign(method="sobol", noise_share=noise[str(t["outcome"].iloc[0])])
            for t in conv if int(t["n"].iloc[0]) == settings.n]
    conv = [t for t in conv if str(t["outcome"].iloc[0]) in key]
    tornado = {name: tornado_bars(design, means[name]) for name, _, _ in target.outcomes}
    info = {"design": "saltelli", "base_samples": settings.n, "dimension": len(target.names),
            "points": design.size, "replicates": target.replicates, "evaluations": design.size * target.replicates,
            "seconds": seconds, "analysis_seconds": analysis, "noise_share": noise, "convergence_sizes": sizes,
            "tornado": tornado}
    return pd.concat(rows, ignore_index=True), pd.concat(conv, ignore_index=True), info


def _sobol_task(task: tuple[str, tuple[str, ...], np.ndarray, int, int, float, int]) -> pd.DataFrame:
    name, names, y, n, resamples, conf_level, seed = task
    return sobol_table(name, names, y, n, resamples=resamples, conf_level=conf_level, seed=seed)


def tornado_bars(design: SaltelliDesign, y: np.ndarray, tail: float = 0.2) -> dict[str, list[float]]:
    """For each input, the mean outcome over the design's A and B points whose uniform is in its lowest and in
    its highest ``tail`` (a given-data swing: ``low`` and ``high`` lists, in input order)."""
    g = design.group_size
    x = np.vstack([design.a, design.b])
    yab = np.concatenate([y[0::g][: design.n], y[g - 1::g][: design.n]])
    low = [float(yab[x[:, d] <= tail].mean()) for d in range(design.dimension)]
    high = [float(yab[x[:, d] >= 1 - tail].mean()) for d in range(design.dimension)]
    se = float(yab.std() / np.sqrt(max(tail * yab.size, 1)))               # of a tail's mean
    return {"low": low, "high": high, "mean": [float(yab.mean())], "se": [se]}


def run_morris(spec: "RunSpec", settings: ExploreSettings, progress: Progress | None = None
               ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Morris screening (μ*, σ) over the same inputs and outcomes."""
    target = sensitivity_target(spec, settings)
    design = morris_design(target.names, settings.n, settings.levels, spec.run.seed)
    out, seconds = _outputs(target.make(progress), design)
    rows = []
    noise = {}
    for name, kind, label in target.outcomes:
        noise[name] = out.noise_share(name)
        rows.append(morris_table(name, target.names, design.points, out.mean(name), settings.levels,
                                 resamples=settings.resamples, conf_level=settings.conf_level, seed=spec.run.seed)
                    .assign(method="morris", noise_share=noise[name]))
    info = {"design": "morris", "trajectories": settings.n, "levels": settings.levels,
            "dimension": len(target.names), "points": design.size, "replicates": target.replicates,
            "evaluations": design.size * target.replicates, "seconds": seconds, "noise_share": noise}
    return pd.concat(rows, ignore_index=True), info


def run_discovery(spec: "RunSpec", settings: ExploreSettings, compared: dict[str, "RunSpec"],
                  progress: Progress | None = None) -> dict[str, Any]:
    """PRIM boxes of the discovered outcomes and the robustness of each comparison, on one space-filling design
    over the inputs of the explored scenario and of those compared with it."""
    from sim.explore.discovery import prim_boxes
    from sim.explore.robustness import compare

    do_prim, do_robust = "prim" in settings.method, "robustness" in settings.method
    others = compared if do_robust else {}
    space = DesignSpace.of(spec, *others.values())
    design: MatrixDesign = space_filling(space.dimension, settings.points, spec.run.seed)
    probabilities = [(o, label) for o, kind, label in analysed_outcomes(spec) if kind == "probability"]
    names = tuple(dict.fromkeys([o for o, _ in probabilities] + list(settings.discover)))
    k = settings.replicates
    base, seconds = _outputs(EngineEvaluator(spec, space, k, names, on_chunk=progress), design)
    info: dict[str, Any] = {"design": "sobol sequence", "points": design.size, "dimension": space.dimension,
                            "replicates": k, "evaluations": design.size * k, "seconds": {spec.about.name: seconds}}
    result: dict[str, Any] = {"scenario": spec.about.name, "points": design.size, "replicates": k}
    if do_prim:
        values = values_of(spec, space, design.points.T)
        keep = [d for d in range(space.dimension) if np.all(np.isfinite(values[d])) and np.ptp(values[d]) > 0]
        x = pd.DataFrame({space.paths[d]: np.repeat(values[d], k) for d in keep})
        labels = dict(probabilities)
        result["prim"] = [{"outcome": o, "label": labels.get(o, o),
                           **prim_boxes(x, base.values[o].reshape(-1) > 0.5, peel_alpha=settings.peel_alpha,
                                        mass_min=settings.mass_min, min_coverage=settings.min_coverage,
                                        boxes=settings.boxes, inputs=settings.prim_inputs)}
                          for o in settings.discover]
    if do_robust:
        rows = []
        for name, other_spec in others.items():
            other, sec = _outputs(EngineEvaluator(other_spec, space, k, names, on_chunk=progress), design)
            info["seconds"][name] = sec
            rows.append(compare(name, base.values, other.values, probabilities))
        result["robustness"] = {"baseline": spec.about.name, "comparisons": rows}
    return {"result": result, "info": info}


def explore(spec: "RunSpec", settings: ExploreSettings, compared: dict[str, "RunSpec"] | None = None,
            progress: Progress | None = None) -> Exploration:
    """Run every method the settings ask for."""
    ex = Exploration(settings, settings.function, spec.about.name)
    frames = []
    t0 = time.perf_counter()
    if "sobol" in settings.method:
        sob, ex.convergence, ex.info["sobol"] = run_sobol(spec, settings, progress)
        frames.append(sob)
    if "morris" in settings.method:
        mor, ex.info["morris"] = run_morris(spec, settings, progress)
        frames.append(mor)
    if frames:
        ex.sensitivity = _ordered(pd.concat(frames, ignore_index=True))
    if "prim" in settings.method or "robustness" in settings.method:
        disc = run_discovery(spec, settings, compared or {}, progress)
        ex.discovery, ex.info["discovery"] = disc["result"], disc["info"]
    ex.info["seconds"] = time.perf_counter() - t0
    if settings.function != "model":
        s1, st = FUNCTIONS[settings.function].indices()
        ex.info["analytic"] = {"names": list(FUNCTIONS[settings.function].names), "S1": s1, "ST": st}
    return ex


_COLUMNS = ("method", "outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf", "mu_star", "mu_star_conf", "mu",
            "sigma", "noise_share")


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in _COLUMNS if c in df.columns]].reset_index(drop=True)


def write_outputs(ex: Exploration, folder: Path, document: dict[str, Any], labels: dict[str, str]) -> list[Path]:
    """Write the exploration's files into ``folder`` (each atomically); returns them."""
    from sim.explore.report import render_explore_report
    from sim.io import write_json, write_parquet

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if not ex.sensitivity.empty:
        write_parquet(folder / "sensitivity.parquet", ex.sensitivity)
        written.append(folder / "sensitivity.parquet")
    if not ex.convergence.empty:
        write_parquet(folder / "convergence.parquet", ex.convergence)
        written.append(folder / "convergence.parquet")
    if ex.discovery:
        write_json(folder / "discovery.json", ex.discovery)
        written.append(folder / "discovery.json")
    write_json(folder / "explore.json", {**document, "runs": ex.info})
    written.append(folder / "explore.json")
    written.append(render_explore_report(ex, folder / "explore.html", labels))
    return written
