"""Forecast scores: point errors, interval coverage, CRPS from Monte Carlo samples, cluster bootstrap CIs.

Predictive distributions are Monte Carlo samples, an array ``(I, R)`` (issues × replicas); outcomes ``(I,)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def mae(forecast: np.ndarray, outcome: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(np.asarray(forecast, float) - np.asarray(outcome, float))))


def median_ae(forecast: np.ndarray, outcome: np.ndarray) -> float:
    """Median absolute error."""
    return float(np.median(np.abs(np.asarray(forecast, float) - np.asarray(outcome, float))))


def interval_coverage(lower: np.ndarray, upper: np.ndarray, outcome: np.ndarray) -> float:
    """Share of outcomes inside the closed interval ``[lower, upper]``."""
    y = np.asarray(outcome, float)
    return float(np.mean((y >= np.asarray(lower, float)) & (y <= np.asarray(upper, float))))


def crps_samples(samples: np.ndarray, outcome: np.ndarray | float) -> np.ndarray:
    """CRPS of the empirical distribution of ``samples`` (last axis) at ``outcome``, per leading index.

    Energy form ``CRPS = E|X - y| - 0.5 E|X - X'|`` with X, X' independent draws from the sample (the
    "V-statistic"/empirical-distribution version, so a point mass scores exactly ``|x - y|``). With the sample
    sorted, ``E|X - X'| = 2 / n^2 * sum_i (2 i - n - 1) x_(i)`` (i = 1..n), so the cost is O(n log n).
    ``samples`` ``(..., n)``, ``outcome`` broadcastable to ``samples.shape[:-1]``; returns ``samples.shape[:-1]``.
    """
    x = np.sort(np.asarray(samples, dtype=float), axis=-1)
    n = x.shape[-1]
    y = np.asarray(outcome, dtype=float)[..., None]
    e_xy = np.abs(x - y).mean(axis=-1)
    coef = 2.0 * np.arange(1, n + 1) - n - 1.0
    e_xx = 2.0 / n ** 2 * (x * coef).sum(axis=-1)
    return e_xy - 0.5 * e_xx


def crps(samples: np.ndarray, outcome: np.ndarray) -> float:
    """Mean CRPS over issues of ``(I, R)`` samples against ``(I,)`` outcomes."""
    return float(np.mean(crps_samples(samples, outcome)))


def cluster_bootstrap(values: np.ndarray | dict[str, np.ndarray], clusters: np.ndarray,
                      stat: Callable[..., float] | None = None, n_boot: int = 2000, level: float = 0.95,
                      seed: int = 0) -> tuple[float, float, float]:
    """Point estimate and percentile CI of ``stat`` under resampling of *clusters* (e.g. DEU proposals).

    ``values`` are per-issue quantities ``(I,)`` (or a dict of them, passed to ``stat`` as keyword arrays);
    whole clusters are drawn with replacement, so issues of one proposal stay together (they are not
    independent). ``stat`` defaults to the mean. Returns ``(estimate, lo, hi)``.
    """
    as_dict = isinstance(values, dict)
    data = ({k: np.asarray(v, float) for k, v in values.items()} if isinstance(values, dict)
            else {"v": np.asarray(values, float)})
    if stat is None:
        if as_dict:
            raise ValueError("give stat for dict values")
        stat_fn = lambda v: float(np.mean(v))
    else:
        stat_fn = stat
    call = (lambda d: stat_fn(**d)) if as_dict else (lambda d: stat_fn(d["v"]))
    est = call(data)
    labels, inv = np.unique(np.asarray(clusters), return_inverse=True)
    members = [np.flatnonzero(inv == g) for g in range(len(labels))]
    rng = np.random.default_rng(seed)
    reps = np.empty(n_boot)
    for b in range(n_boot):
        pick = rng.integers(0, len(labels), len(labels))
        idx = np.concatenate([members[g] for g in pick])
        reps[b] = call({k: v[idx] for k, v in data.items()})
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(reps, [alpha, 1.0 - alpha])
    return float(est), float(lo), float(hi)
