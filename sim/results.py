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
from typing import Any

import numpy as np
import pandas as pd

from sim import PROJECT_ROOT
from sim.events import COLUMNS as EVENT_COLUMNS
from sim.io import write_json, write_parquet
from sim.experiment import ChunkResult
from sim.recorder import histogram_quantiles
from sim.mechanics.escalation import RUNGS
from sim.spec import RunSpec

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


# --- merging -------------------------------------------------------------------------------------------------
def outcomes_frame(chunks: list[ChunkResult]) -> pd.DataFrame:
    """One row per replica, in replica order."""
    cols = {k: np.concatenate([c.outcomes[k] for c in chunks]) for k in chunks[0].outcomes}
    df = pd.DataFrame({"replica": np.concatenate([c.replica for c in chunks]).astype(np.int64), **cols})
    df["deal_step"] = df["deal_step"].astype("Int32").mask(df["deal_step"] < 0)
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
             "escalation": c.traj_rung.ravel().astype(np.int8), "deal": c.traj_deal.ravel()}
        for k, iid in enumerate(spec.issue_ids):
            d[f"outcome_{iid}"] = c.traj_outcome[:, k, :].ravel()
        frames.append(pd.DataFrame(d))
    if not frames:
        return pd.DataFrame(columns=["replica", "step", "escalation", "deal",
                                     *[f"outcome_{i}" for i in spec.issue_ids]])
    return pd.concat(frames, ignore_index=True).sort_values(["replica", "step"], kind="stable")


def quantiles_frame(spec: RunSpec, chunks: list[ChunkResult]) -> pd.DataFrame:
    """Per-step quantiles and means over all replicas, from the merged histograms."""
    hist = sum(c.hist for c in chunks if c.hist is not None)
    sums = np.concatenate([c.sums for c in chunks], axis=-1).sum(axis=-1)    # block order: chunking-invariant
    counts = sum(c.counts for c in chunks)
    q = histogram_quantiles(hist, QUANTILES)                       # (T, V, 5)
    variables = ["escalation", *[f"outcome_{i}" for i in spec.issue_ids]]
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


def summarise(spec: RunSpec, outcomes: pd.DataFrame, quantiles: pd.DataFrame) -> dict[str, Any]:
    """Probabilities and quantiles with Monte Carlo standard errors (summary.json)."""
    start = quantiles[quantiles["step"] == 0].set_index("variable")["mean"]
    rung = outcomes["max_escalation"].to_numpy()
    steps = outcomes["deal_step"].dropna().to_numpy(dtype=float)
    return {
        "n_runs": int(len(outcomes)),
        "probabilities": {
            "deal": proportion(outcomes["deal"].to_numpy()),
            "war": proportion(outcomes["war"].to_numpy()),
            "deal_broken": proportion(outcomes["deal_broken"].to_numpy()),
            "deal_ever": proportion(outcomes["deal_step"].notna().to_numpy()),
            "max_rung": [{"rung": k, "name": name, **proportion(rung == k)} for k, name in enumerate(RUNGS)],
        },
        "outcomes": {i: {**describe(outcomes[f"outcome_{i}"].to_numpy()), "start": float(start[f"outcome_{i}"])}
                     for i in spec.issue_ids},
        "utilities": {a: describe(outcomes[f"utility_{a}"].to_numpy()) for a in spec.actor_ids},
        "deal_step": ({"median": float(np.median(steps)), "q25": float(np.quantile(steps, 0.25)),
                       "q75": float(np.quantile(steps, 0.75))} if len(steps)
                      else {"median": None, "q25": None, "q75": None}),
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


def spec_document(spec: RunSpec) -> dict[str, Any]:
    """spec.json: the validated spec plus what the report needs in plain form."""
    kb = spec.knowledge
    return {
        "scenario": {"name": spec.about.name, "title": spec.about.title, "description": spec.about.description,
                     "sources": [s.model_dump() for s in spec.about.sources],
                     "changes": [{"path": c.path, "baseline": c.baseline, "value": c.value,
                                  "source": c.source.model_dump()} for c in spec.changes],
                     "mechanics": spec.mechanics.model_dump()},
        "actor_ids": spec.actor_ids, "actors": {a: {"name": kb.actors[a].name} for a in spec.actor_ids},
        "issue_ids": spec.issue_ids,
        "issues": {i: {"label": kb.issues[i].label, "scale_0": kb.issues[i].scale_0,
                       "scale_100": kb.issues[i].scale_100} for i in spec.issue_ids},
        "rungs": list(RUNGS), "n_runs": spec.run.n_runs, "seed": spec.run.seed, "steps": spec.run.steps,
        "step_unit": "month",
        "overrides": spec.overrides,
        "spec": spec.model_dump(mode="json"),
    }


def write_results(run_dir: Path, spec: RunSpec, chunks: list[ChunkResult]) -> dict[str, Any]:
    """Write every results file of the contract; returns the summary."""
    outcomes = outcomes_frame(chunks)
    quantiles = quantiles_frame(spec, chunks)
    write_parquet(run_dir / "outcomes.parquet", outcomes)
    write_parquet(run_dir / "trajectories.parquet", trajectories_frame(spec, chunks))
    write_parquet(run_dir / "trajectory_quantiles.parquet", quantiles)
    write_parquet(run_dir / "events.parquet", events_frame(chunks))
    summary = summarise(spec, outcomes, quantiles)
    write_json(run_dir / "summary.json", summary)
    return summary
