"""The inputs that matter most, for the what-if page: from a sensitivity analysis, else from a pilot run.

* :func:`from_sensitivity`: an explore folder's ``sensitivity.parquet`` (``python -m sim.explore``: columns
  ``outcome, parameter, S1, S1_conf, ST, ST_conf``): inputs ranked by their largest total-order index ``ST`` over
  the key outcomes (``war``, ``deal_ever``; every outcome if neither is there).
* :func:`from_pilot`: the fallback, a pilot run's drawn inputs (``parameters.parquet`` and ``outcomes.parquet`` of
  a run folder, or a pilot computed here) ranked by the largest absolute Spearman rank correlation with those
  outcomes. Rank correlation sees monotone effects of single inputs; interactions and non-monotone effects need
  the Sobol indices.

:class:`Ranking` says which of the two it is (the page shows it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import outcomes as names
from sim.errors import ConfigError

KEY_OUTCOMES = (names.WAR, names.DEAL_EVER)


@dataclass(frozen=True)
class Ranking:
    """Inputs by importance (most first), their scores, and where the ranking comes from (one sentence)."""

    paths: tuple[str, ...]
    scores: tuple[float, ...]
    method: str


def from_sensitivity(folder: str | Path, top: int = 6) -> Ranking:
    """The inputs with the largest ``ST`` in ``folder/sensitivity.parquet`` (ConfigError with one line)."""
    file = Path(folder) / "sensitivity.parquet"
    try:
        table = pd.read_parquet(file)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"explore={folder}: cannot read {file} ({exc}); allowed: a folder written by python -m "
                          "sim.explore") from None
    missing = [c for c in ("outcome", "parameter", "ST") if c not in table.columns]
    if missing:
        raise ConfigError(f"explore={folder}: {file.name} has no column {missing[0]!r}; allowed: the columns of "
                          "python -m sim.explore (outcome, parameter, S1, S1_conf, ST, ST_conf)")
    key = table[table["outcome"].isin(KEY_OUTCOMES)]
    used = key if len(key) else table
    score = used.groupby("parameter")["ST"].max().sort_values(ascending=False, kind="stable")
    outcomes = ", ".join(sorted(used["outcome"].unique()))
    return Ranking(tuple(score.index[:top]), tuple(float(v) for v in score.values[:top]),
                   f"Sobol total-order indices (ST, largest over {outcomes}) from {file}")


def _ranks(x: np.ndarray) -> np.ndarray:
    return pd.Series(x).rank(method="average").to_numpy()


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (0 where either is constant)."""
    rx, ry = _ranks(x), _ranks(y)
    sx, sy = rx.std(), ry.std()
    return 0.0 if sx == 0 or sy == 0 else float(np.mean((rx - rx.mean()) * (ry - ry.mean())) / (sx * sy))


def rank_by_correlation(parameters: pd.DataFrame, outcomes: pd.DataFrame, top: int = 6,
                        source: str = "a pilot run") -> Ranking:
    """Inputs (columns of ``parameters``, aligned with ``outcomes`` by row) by largest |Spearman ρ| with the key
    outcomes."""
    keys = [k for k in KEY_OUTCOMES if k in outcomes.columns]
    scores = {}
    for col in parameters.columns:
        if col == "replica":
            continue
        x = parameters[col].to_numpy(dtype=float)
        scores[col] = max(abs(spearman(x, outcomes[k].to_numpy(dtype=float))) for k in keys)
    order = sorted(scores, key=lambda c: -scores[c])[:top]
    return Ranking(tuple(order), tuple(scores[c] for c in order),
                   f"|Spearman rank correlation| with {', '.join(keys)} in {source} ({len(parameters):,} replicas); "
                   "pass explore=DIR for Sobol indices")


def from_pilot(run_dir: str | Path, top: int = 6) -> Ranking:
    """The fallback ranking from a run folder's ``parameters.parquet`` and ``outcomes.parquet``."""
    folder = Path(run_dir)
    try:
        params = pd.read_parquet(folder / "parameters.parquet")
        outs = pd.read_parquet(folder / "outcomes.parquet")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"pilot={run_dir}: cannot read its parameters.parquet and outcomes.parquet ({exc}); "
                          "allowed: a run folder of python -m sim") from None
    outs = outs.set_index("replica").loc[params["replica"]].reset_index()
    return rank_by_correlation(params, outs, top, f"the pilot run {folder}")
