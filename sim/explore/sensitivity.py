"""Sobol and Morris indices of design outcomes (SALib 1.6), with bootstrap confidence intervals.

Sobol (SALib ``sobol.analyze``, ``calc_second_order=False``) on Saltelli's design (:class:`SaltelliDesign`), with
f(A), f(B), f(AB^(i)) the outcome at the rows of one group::

    V   = Var over all 2N values of f(A) and f(B)
    S1_i = mean_j f(B)_j (f(AB^(i))_j − f(A)_j) / V               (Saltelli et al. 2010, Table 2 (b))
    ST_i = mean_j (f(A)_j − f(AB^(i))_j)² / (2V)                   (Jansen 1999)

and ``*_conf`` = z_{(1+c)/2} × the standard deviation of the estimate over ``resamples`` bootstrap resamples of
the N base rows (c = ``conf_level``). Morris (SALib ``morris.analyze``): the elementary effect of input i on a
trajectory is EE_i = (f(x + Δe_i) − f(x)) / Δ with Δ = p / (2(p − 1)) on the uniforms' scale; μ = mean EE,
μ* = mean |EE|, σ = standard deviation of EE over the trajectories; μ*_conf from bootstrap.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.explore.designs import unit_problem

SOBOL_COLUMNS = ("S1", "S1_conf", "ST", "ST_conf")
MORRIS_COLUMNS = ("mu_star", "mu_star_conf", "mu", "sigma")


def sobol_indices(names: Sequence[str], y: np.ndarray, n: int, *, resamples: int, conf_level: float,
                  seed: int) -> dict[str, np.ndarray]:
    """S1, S1_conf, ST, ST_conf (D,) from the outcome at the first ``n`` row groups of a Saltelli design
    (``y`` in design row order, at least n (D + 2) values); NaN for an outcome that does not vary."""
    from SALib.analyze import sobol

    d = len(names)
    y = np.asarray(y[: n * (d + 2)], dtype=np.float64)
    if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
        return {c: np.full(d, np.nan) for c in SOBOL_COLUMNS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sobol.analyze(unit_problem(names), y, calc_second_order=False, num_resamples=resamples,
                            conf_level=conf_level, print_to_console=False, seed=seed)
    return {c: np.asarray(res[c], dtype=np.float64) for c in SOBOL_COLUMNS}


def morris_indices(names: Sequence[str], x: np.ndarray, y: np.ndarray, levels: int, *, resamples: int,
                   conf_level: float, seed: int) -> dict[str, np.ndarray]:
    """μ*, its CI, μ and σ (D,) from Morris trajectories ``x`` (n, D) and the outcome ``y`` (n,)."""
    from SALib.analyze import morris

    d = len(names)
    y = np.asarray(y, dtype=np.float64)
    if np.ptp(y) == 0:
        zero = np.zeros(d)
        return {"mu_star": zero, "mu_star_conf": zero, "mu": zero, "sigma": zero}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = morris.analyze(unit_problem(names), x, y, num_resamples=resamples, conf_level=conf_level,
                             print_to_console=False, num_levels=levels, seed=seed)
    return {c: np.asarray(res[c], dtype=np.float64) for c in MORRIS_COLUMNS}


def convergence_sizes(n: int, count: int) -> list[int]:
    """N, N/2, N/4, … (``count`` sizes, none below 8), smallest first."""
    sizes = [n >> s for s in range(count) if n >> s >= 8]
    return sorted(sizes)


def sobol_table(outcome: str, names: Sequence[str], y: np.ndarray, n: int, *, resamples: int,
                conf_level: float, seed: int) -> pd.DataFrame:
    """Rows (outcome, parameter, n, S1, S1_conf, ST, ST_conf) of one outcome at base size ``n``."""
    idx = sobol_indices(names, y, n, resamples=resamples, conf_level=conf_level, seed=seed)
    return pd.DataFrame({"outcome": outcome, "parameter": list(names), "n": n, **idx})


def morris_table(outcome: str, names: Sequence[str], x: np.ndarray, y: np.ndarray, levels: int, *,
                 resamples: int, conf_level: float, seed: int) -> pd.DataFrame:
    """Rows (outcome, parameter, mu_star, mu_star_conf, mu, sigma) of one outcome."""
    idx = morris_indices(names, x, y, levels, resamples=resamples, conf_level=conf_level, seed=seed)
    return pd.DataFrame({"outcome": outcome, "parameter": list(names), **idx})
