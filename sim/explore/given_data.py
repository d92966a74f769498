"""What drives a run's numbers, from its own replicas: binned first-order indices (given data, no design).

For input d with values x_d and outcome y over n replicas, the replicas are put into B bins of equal count by the
rank of x_d (B = min(20, ⌊n / 50⌋)); with ȳ_b the mean of bin b (n_b replicas) and ȳ the overall mean::

    η²_d  = Σ_b n_b (ȳ_b − ȳ)² / Σ_r (y_r − ȳ)²                (the correlation ratio: Var(E[y | x_d]) / Var(y))
    S1_d  = (η²_d − β) / (1 − β),   β = (B − 1) / (n − 1)         (bias-corrected: E[η²] = β for an idle input)
    floor = 3 √(2 (B − 1)) / (n − 1)                             (3 sd of η² for an input without effect)

An S1 below ``floor`` cannot be told from zero. These are first-order effects (each input alone, the others varying
as they were drawn); interactions are not counted, so a column's sum can be well below 1, and only the inputs the
run drew can appear (under ``uncertainty=knowledge``, not the decision and mechanism constants). A run report
shows them in "What drives these numbers" (:func:`drivers_section`); ``python -m sim.explore`` gives total-order
indices over every input.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.report.page import Page

#: Replicas read from parameters.parquet at most (evenly spaced), so a report stays bounded in memory.
MAX_REPLICAS = 50_000


def binned_first_order(x: np.ndarray, y: np.ndarray, bins: int | None = None) -> tuple[np.ndarray, float]:
    """S1 (P,) of inputs ``x`` (P, n) for outcome ``y`` (n,), bias-corrected, and the noise floor."""
    p, n = x.shape
    b = bins or max(min(20, n // 50), 2)
    y = np.asarray(y, dtype=np.float64)
    total = float(np.sum((y - y.mean()) ** 2))
    beta = (b - 1) / max(n - 1, 1)
    floor = 3.0 * np.sqrt(2.0 * (b - 1)) / max(n - 1, 1)
    if total == 0 or n < 2 * b:
        return np.full(p, np.nan), floor
    rank = np.argsort(np.argsort(x, axis=1, kind="stable"), axis=1, kind="stable")
    which = (rank * b) // n                                                  # (P, n) bin of each replica
    cell = (np.arange(p)[:, None] * b + which).ravel()                       # (input, bin) of each replica
    sums = np.bincount(cell, weights=np.tile(y, p), minlength=p * b).reshape(p, b)
    counts = np.bincount(cell, minlength=p * b).reshape(p, b).astype(np.float64)
    means = sums / np.maximum(counts, 1)
    eta2 = np.sum(counts * (means - y.mean()) ** 2, axis=1) / total
    return (eta2 - beta) / (1 - beta), floor


def read_parameters(path: Path, cap: int = MAX_REPLICAS) -> pd.DataFrame | None:
    """``parameters.parquet`` (every ⌈n / cap⌉-th replica when larger), or None where there is none."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return None
    f = pq.ParquetFile(path)
    stride = -(-f.metadata.num_rows // cap)
    parts = []
    for batch in f.iter_batches(batch_size=65_536):
        frame = batch.to_pandas()
        parts.append(frame[frame["replica"] % stride == 0] if stride > 1 else frame)
    return pd.concat(parts, ignore_index=True) if parts else None


def drivers(parameters: pd.DataFrame, outcomes: pd.DataFrame, names: list[str]) -> tuple[pd.DataFrame, float, int]:
    """Long table (outcome, parameter, S1) for the outcomes ``names``, the noise floor and n."""
    merged = parameters.merge(outcomes[["replica", *names]], on="replica", how="inner")
    inputs = [c for c in parameters.columns if c != "replica" and merged[c].nunique() > 1]
    x = merged[inputs].to_numpy(dtype=np.float64).T
    rows = []
    floor = float("nan")
    for name in names:
        y = merged[name].to_numpy(dtype=np.float64)
        ok = np.isfinite(y)
        s1, floor = binned_first_order(x[:, ok], y[ok])
        rows.append(pd.DataFrame({"outcome": name, "parameter": inputs, "S1": s1}))
    return pd.concat(rows, ignore_index=True), floor, len(merged)


def drivers_section(page: "Page", run: Any) -> None:
    """The run report's "What drives these numbers": the five inputs with the largest first-order index for the
    deal, the war and each issue, and how far that can be trusted."""
    page.section("What drives these numbers", "drivers",
                 "Which of the inputs drawn in this run explain most of the spread of each outcome, estimated from "
                 "this run's own replicas (parameters.parquet): S1 is the share of the outcome's variance that an "
                 "input explains alone (binned first-order index; docs/explore.md, 'Any run').")
    params = read_parameters(Path(run.path) / "parameters.parquet")
    registry = run.registry
    wanted = [o["name"] for o in registry if o["kind"] == "probability" and o["name"] in ("deal_ever", "war",
                                                                                          "first_strike")]
    wanted += [o["name"] for o in registry if o["kind"] == "quantity"]
    if params is None or params.shape[1] < 2 or not wanted:
        page.note("This run folder has no drawn inputs (parameters.parquet), so nothing can be attributed.")
        return
    table, floor, n = drivers(params, run.outcomes, wanted)
    labels = {o["name"]: o["label"] for o in registry}
    rows = []
    for name in wanted:
        t = table[table["outcome"] == name].sort_values("S1", ascending=False)
        if not np.isfinite(t["S1"]).any():
            rows.append([labels.get(name, name), "does not vary", "", "", "", "", ""])
            continue
        top = [f"{p} ({s:.2f})" if s > floor else f"{p} ({s:.2f}, within noise)"
               for p, s in zip(t["parameter"].head(5), t["S1"].head(5))]
        rows.append([labels.get(name, name), *top, f"{t['S1'].clip(lower=0).sum():.2f}"])
    page.table(["outcome", "1st (S1)", "2nd", "3rd", "4th", "5th", "sum of S1"], rows)
    page.paragraph(
        f"How far to trust this: from {n:,} replicas an index below {floor:.3f} cannot be told from zero (marked "
        "'within noise'). These are first-order effects of single inputs, with chance events and the other inputs "
        "varying as drawn; interactions are not counted (a sum well below 1 means interactions and chance matter), "
        "and only inputs this run drew can appear" + (
            " — under uncertainty=knowledge the decision and mechanism constants are held at their modes" if
            _uncertainty(run) == "knowledge" else "")
        + ". For total-order indices over every input, with confidence intervals: python -m sim.explore.",
        cls="muted")


def _uncertainty(run: Any) -> str:
    """The run's ``uncertainty`` setting (summary.json, else spec.json; ``knowledge`` for older folders)."""
    value = (run.summary or {}).get("uncertainty") or (run.spec.get("run") or {}).get("uncertainty")
    return str(value or "knowledge")
