"""Proper scores for dated questions: Brier, logarithmic loss, CRPS of censored timings, case bootstrap, reliability.

Every score here is a **loss** (lower is better): ``brier = (p - y)^2``; ``log = -ln(p if y else 1 - p)``, with ``p``
clipped to ``[EPS, 1 - EPS]`` first so that a forecast of exactly 0 or 1 that misses costs ``-ln(EPS)`` rather than
infinity (``EPS`` is an assumption: the floor is the project's choice, reported with every result). CRPS is that of
the empirical distribution of samples (:func:`sim.validation.scoring.crps_samples`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.validation.scoring import crps_samples

#: Probability floor for the log score (assumption: 1 %, so that a certain miss costs ln(100) = 4.6).
EPS = 0.01


def brier(p: float | np.ndarray, y: float | np.ndarray) -> np.ndarray:
    """Brier score ``(p - y)^2`` per question."""
    return (np.asarray(p, float) - np.asarray(y, float)) ** 2


def log_loss(p: float | np.ndarray, y: float | np.ndarray, eps: float = EPS) -> np.ndarray:
    """Logarithmic loss ``-ln p(outcome)`` per question, ``p`` clipped to ``[eps, 1 - eps]``."""
    q = np.clip(np.asarray(p, float), eps, 1.0 - eps)
    y = np.asarray(y, float)
    return -(y * np.log(q) + (1.0 - y) * np.log(1.0 - q))


def crps(samples: np.ndarray, y: float) -> float:
    """CRPS of the empirical distribution of ``samples`` at outcome ``y``."""
    return float(crps_samples(np.asarray(samples, float)[None, :], np.asarray([y], float))[0])


def bootstrap_by_case(scores: Sequence[float], cases: Sequence[str], n_boot: int = 2000, seed: int = 0,
                      level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``scores`` and its percentile CI when whole cases are resampled with replacement.

    Questions of one case share its forecast run and its history, so cases, not questions, are the units drawn.
    The same ``seed`` gives the same interval. Returns ``(mean, lo, hi)``.
    """
    s = np.asarray(scores, float)
    labels, inv = np.unique(np.asarray(cases), return_inverse=True)
    sums = np.bincount(inv, weights=s, minlength=len(labels))
    counts = np.bincount(inv, minlength=len(labels)).astype(float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(labels), size=(n_boot, len(labels)))
    reps = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(reps, [alpha, 1.0 - alpha])
    return float(s.mean()), float(lo), float(hi)


def reliability_bins(p: Sequence[float], y: Sequence[float], n_bins: int = 5) -> list[dict[str, float]]:
    """Equal-width probability bins: the mean forecast, the observed frequency and the count of each non-empty bin."""
    p_arr, y_arr = np.asarray(p, float), np.asarray(y, float)
    idx = np.minimum((p_arr * n_bins).astype(int), n_bins - 1)
    out = []
    for b in range(n_bins):
        m = idx == b
        if m.any():
            out.append({"lo": b / n_bins, "hi": (b + 1) / n_bins, "p_mean": float(p_arr[m].mean()),
                        "observed": float(y_arr[m].mean()), "n": int(m.sum())})
    return out
