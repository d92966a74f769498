"""Results: merge chunk results, summarise with Monte Carlo errors, write the run folder atomically.

Files (the contract the report and comparison rely on; README "Outputs"): ``spec.json``, ``manifest.json``,
``outcomes.parquet``, ``trajectories.parquet``, ``trajectory_quantiles.parquet``, ``events.parquet``,
``summary.json``. Every file is written to a temporary name and renamed into place, so an interrupted run never
leaves a truncated file; the manifest's ``status`` says whether the run completed.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim import PROJECT_ROOT
from sim.events import COLUMNS as EVENT_COLUMNS
from sim.io import write_json, write_parquet
from sim.chunk import ChunkResult
from sim.recorder import WORLD_VARIABLES, histogram_quantiles
from sim import outcomes as names

if TYPE_CHECKING:
    from sim.spec import RunSpec

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


# --- merging -------------------------------------------------------------------------------------------------
def outcomes_frame(chunks: list[ChunkResult], registry: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per replica, in replica order; ``step`` outcomes are nullable integers (NA: never happened)."""
    cols = {k: np.concatenate([c.outcomes[k] for c in chunks]) for k in chunks[0].outcomes}
    df = pd.DataFrame({"replica": np.concatenate([c.replica for c in chunks]).astype(np.int64), **cols})
    for o in names.by_kind(registry, "step"):
        df[o["name"]] = df[o["name"]].astype("Int32").mask(df[o["name"]] < 0)
    return df.sort_values("replica", kind="stable").reset_index(drop=True)


class ParametersWriter:
    """Streams ``parameters.parquet`` chunk by chunk (results arrive in replica order), so a million replicas ×
    150 inputs never sit in memory; drops each chunk's inputs once written. Atomic: a temporary file renamed into
    place by :meth:`close`, removed by :meth:`abort`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self.writer: Any = None

    def __call__(self, chunk: ChunkResult) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(parameters_frame([chunk]), preserve_index=False)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.tmp, table.schema)
        self.writer.write_table(table)
        chunk.parameters = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            os.chmod(self.tmp, 0o644)
            os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.tmp.unlink(missing_ok=True)


def parameters_frame(chunks: list[ChunkResult]) -> pd.DataFrame:
    """``parameters.parquet``: one row per replica, one column per input that varies (named by its override key),
    holding the value the replica drew (or the mode it was held at)."""
    paths = chunks[0].parameter_paths
    values = np.concatenate([c.parameters for c in chunks if c.parameters is not None], axis=1) if paths else \
        np.zeros((0, sum(len(c.replica) for c in chunks)))
    df = pd.DataFrame({"replica": np.concatenate([c.replica for c in chunks]).astype(np.int64),
                       **{p: values[n] for n, p in enumerate(paths)}})
    return df.sort_values("replica", kind="stable").reset_index(drop=True)


def trajectories_frame(spec: RunSpec, chunks: list[ChunkResult]) -> pd.DataFrame:
    """Long format: one row per stored replica and step."""
    frames = []
    for c in chunks:
        T, n = c.traj_rung.shape
        if n == 0:
            continue
        d = {"replica": np.tile(c.traj_replica.astype(np.int64), T),
             "step": np.repeat(np.arange(T, dtype=np.int16), n),
             "escalation": c.traj_rung.ravel().astype(np.int8), names.DEAL: c.traj_deal.ravel()}
        for k, iid in enumerate(spec.issue_ids):
            d[names.issue_outcome(iid)] = c.traj_outcome[:, k, :].ravel()
        frames.append(pd.DataFrame(d))
    if not frames:
        return pd.DataFrame(columns=["replica", "step", "escalation", names.DEAL,
                                     *[names.issue_outcome(i) for i in spec.issue_ids]])
    return pd.concat(frames, ignore_index=True).sort_values(["replica", "step"], kind="stable")


def quantiles_frame(spec: RunSpec, chunks: list[ChunkResult]) -> pd.DataFrame:
    """Per-step quantiles and means over all replicas, from the merged histograms."""
    hist = np.sum([c.hist for c in chunks if c.hist is not None], axis=0)
    sums = np.concatenate([c.sums for c in chunks], axis=-1).sum(axis=-1)    # block order: chunking-invariant
    counts = np.sum([c.counts for c in chunks], axis=0)
    q = histogram_quantiles(hist, QUANTILES)                       # (T, V, 5)
    variables = ["escalation", *[names.issue_outcome(i) for i in spec.issue_ids]]
    variables += list(WORLD_VARIABLES)[:q.shape[1] - len(variables)]     # the world state the recorder kept
    rows = []
    for t in range(q.shape[0]):
        for v, name in enumerate(variables):
            rows.append({"step": t, "variable": name, **{f"q{int(p * 100):02d}": q[t, v, n]
                                                          for n, p in enumerate(QUANTILES)},
                         "mean": sums[t, v] / max(counts[t], 1)})
    return pd.DataFrame(rows)


def events_frame(chunks: list[ChunkResult]) -> pd.DataFrame:
    rows = {c: [v for ch in chunks for v in ch.events.get(c, [])] for c in EVENT_COLUMNS}
    df = pd.DataFrame(rows)
    return df.astype({"replica": "int64", "step": "int16", "rung_before": "int8", "rung_after": "int8"}
                     ).sort_values(["replica", "step"], kind="stable").reset_index(drop=True)


# --- summary -------------------------------------------------------------------------------------------------
def proportion(x: np.ndarray) -> dict[str, float]:
    """A probability with its Monte Carlo standard error ``sqrt(p (1 - p) / n)``."""
    n = max(len(x), 1)
    p = float(np.mean(x)) if len(x) else float("nan")
    return {"p": p, "se": float(np.sqrt(p * (1 - p) / n))}


def median_se(x: np.ndarray) -> float:
    """Monte Carlo standard error of the sample median from order statistics (half the ±1 SE rank interval)."""
    n = len(x)
    if n < 4:
        return float("nan")
    xs = np.sort(x)
    half = 0.5 * np.sqrt(n)
    lo, hi = int(np.floor(n / 2 - half)), int(np.ceil(n / 2 + half))
    return float((xs[min(hi, n - 1)] - xs[max(lo, 0)]) / 2)


def describe(x: np.ndarray) -> dict[str, float]:
    n = len(x)
    qs = np.quantile(x, QUANTILES)
    return {"mean": float(np.mean(x)), "se": float(np.std(x, ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
            **{f"q{int(p * 100):02d}": float(v) for p, v in zip(QUANTILES, qs)}, "q50_se": median_se(x)}


def timing(x: pd.Series) -> dict[str, float | None]:
    """Median and quartiles of a ``step`` outcome among the replicas where it happened."""
    steps = x.dropna().to_numpy(dtype=float)
    if not len(steps):
        return {"median": None, "q25": None, "q75": None}
    return {"median": float(np.median(steps)), "q25": float(np.quantile(steps, 0.25)),
            "q75": float(np.quantile(steps, 0.75))}


def summarise(spec: RunSpec, outcomes: pd.DataFrame, quantiles: pd.DataFrame, registry: list[dict[str, Any]],
              rungs: tuple[str, ...]) -> dict[str, Any]:
    """Probabilities and quantiles with Monte Carlo standard errors (summary.json), by the registry's rules.

    ``probabilities`` holds every probability outcome plus ``max_rung`` (the share at each rung of the highest
    rung reached); ``outcomes`` the issue outcomes (with their start), ``utilities`` the actors', ``timing`` every
    step outcome (``deal_step`` also at the top level).
    """
    start = quantiles[quantiles["step"] == 0].set_index("variable")["mean"]
    probs: dict[str, Any] = {o["name"]: proportion(outcomes[o["name"]].to_numpy()) for o in names.by_kind(registry, "probability")}
    rung = outcomes[names.MAX_RUNG].to_numpy()
    probs["max_rung"] = [{"rung": k, "name": name, **proportion(rung == k)} for k, name in enumerate(rungs)]
    timings = {o["name"]: timing(outcomes[o["name"]]) for o in names.by_kind(registry, "step")}
    return {
        "n_runs": int(len(outcomes)),
        "uncertainty": spec.run.uncertainty,
        "probabilities": probs,
        "outcomes": {i: {**describe(outcomes[names.issue_outcome(i)].to_numpy()),
                         "start": float(start[names.issue_outcome(i)])} for i in spec.issue_ids},
        "utilities": {a: describe(outcomes[names.utility_outcome(a)].to_numpy()) for a in spec.actor_ids},
        "timing": timings,
        names.DEAL_STEP: timings.get(names.DEAL_STEP, {"median": None, "q25": None, "q75": None}),
    }


# --- provenance ----------------------------------------------------------------------------------------------
def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("geosim", "numpy", "mesa", "pydantic", "hydra-core", "omegaconf", "pandas", "pyarrow", "plotly"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str | None:
    """The project's git commit (with ``+dirty`` if the work tree has changes), or None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=5)
        if head.returncode:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def run_registry(spec: RunSpec) -> tuple[list[dict[str, Any]], tuple[str, ...], list[dict[str, Any]]]:
    """The run's outcome registry (plain), the ladder's rungs and the uncertain inputs (imported lazily: this
    module does not import the mechanisms at import time)."""
    from sim.mechanics.escalation import RUNGS
    from sim.registry import declared_outcomes
    from sim.uncertainty import input_tables, spec_inputs

    table, _ = input_tables(spec)
    inputs = [{"path": p, "low": u.low, "mode": u.mode, "high": u.high, "dist": u.dist,
               "drawn": bool(d), "source": u.source.model_dump()}
              for (p, u), d in zip(spec_inputs(spec), table.drawn)]
    return names.document(declared_outcomes(spec)), RUNGS, inputs


def spec_document(spec: RunSpec) -> dict[str, Any]:
    """spec.json: the validated spec plus what the report needs in plain form (with the outcome registry and
    every uncertain input with its range, source and whether this run draws it)."""
    registry, rungs, inputs = run_registry(spec)
    kb = spec.knowledge
    return {
        "scenario": {"name": spec.about.name, "title": spec.about.title, "description": spec.about.description,
                     "sources": [s.model_dump() for s in spec.about.sources],
                     "changes": [{"path": c.path, "baseline": c.baseline, "value": c.value,
                                  "source": c.source.model_dump()} for c in spec.changes],
                     "mechanics": {k: v.model_dump() for k, v in spec.mechanics.items()},
                     "decisions": spec.decisions.model_dump(), "schedule": spec.schedule},
        "actor_ids": spec.actor_ids, "actors": {a: {"name": kb.actors[a].name} for a in spec.actor_ids},
        "issue_ids": spec.issue_ids,
        "issues": {i: {"label": kb.issues[i].label, "scale_0": kb.issues[i].scale_0,
                       "scale_100": kb.issues[i].scale_100} for i in spec.issue_ids},
        "outcomes": registry, "inputs": inputs,
        "rungs": list(rungs), "n_runs": spec.run.n_runs, "seed": spec.run.seed, "steps": spec.run.steps,
        "step_unit": "month",
        "overrides": spec.overrides,
        "spec": spec.model_dump(mode="json"),
    }


def write_results(run_dir: Path, spec: RunSpec, chunks: list[ChunkResult]) -> dict[str, Any]:
    """Write every results file of the contract; returns the summary."""
    registry, rungs, _ = run_registry(spec)
    outcomes = outcomes_frame(chunks, registry)
    quantiles = quantiles_frame(spec, chunks)
    write_parquet(run_dir / "outcomes.parquet", outcomes)
    if all(c.parameters is not None for c in chunks):             # else streamed by a ParametersWriter
        write_parquet(run_dir / "parameters.parquet", parameters_frame(chunks))
    write_parquet(run_dir / "trajectories.parquet", trajectories_frame(spec, chunks))
    write_parquet(run_dir / "trajectory_quantiles.parquet", quantiles)
    write_parquet(run_dir / "events.parquet", events_frame(chunks))
    summary = summarise(spec, outcomes, quantiles, registry, rungs)
    write_json(run_dir / "summary.json", summary)
    return summary
