"""Split-conformal predictive intervals for the DEU III forecasts (issue 16, item 5).

The residual-scale intervals of :mod:`sim.validation.deu3` (a Laplace term whose scale is chosen so that dev
covers) are calibrated on dev *in sample* and under-covered on test. Split-conformal prediction (Vovk, Gammerman &
Shafer 2005, *Algorithmic Learning in a Random World*, Springer; Lei, G'Sell, Rinaldo, Tibshirani & Wasserman
2018, "Distribution-free predictive inference for regression", *JASA* 113(523)) replaces the fitted scale by an
empirical quantile of *nonconformity scores* on a calibration set: for a score ``S(x, y)`` whose interval is
``{y : S(x, y) <= Q}``, taking ``Q`` as the ``ceil((n + 1)(1 - alpha))``-th smallest of ``n`` calibration scores
gives ``P(y in interval) >= 1 - alpha`` for any distribution, as long as the calibration and the new points are
exchangeable (:func:`conformal_quantile`). Scores (:data:`SCORES`):

- ``abs``: ``|y - yhat|`` (Lei et al. 2018): interval ``yhat ± Q``, the same width everywhere;
- ``spread``: ``|y - yhat| / (IQR of the engine's replicas + floor)`` (a locally weighted score, Lei et al. 2018
  §5.2): wider where input uncertainty moves the bargaining more;
- ``disagreement``: ``|y - yhat| / (|yhat - baseline| + floor)``: wider where the engine and the salience-weighted
  mean disagree;
- ``cqr``: ``max(lo - y, y - hi)`` with ``lo, hi`` the engine's predictive quantiles at ``alpha / 2`` and
  ``1 - alpha / 2`` (conformalised quantile regression, Romano, Patterson & Candès 2019, *NeurIPS* 32): the
  predictive band widened (or narrowed) by ``Q``.

Issues of one proposal are correlated, so exchangeability holds for *proposals*, not issues. Two consequences:
cross-validation folds keep a proposal's issues together (:func:`group_folds`), and the calibration quantile can
weight every issue by ``1 / (issues of its proposal)`` so that each proposal counts once (``group_weighted``; the
pooled-CDF rule of Dunn, Wasserman & Ramdas 2022, "Distribution-free prediction sets for two-layer hierarchical
models", *JASA*). All intervals are clipped to the scale [0, 100] (closed), which cannot lower coverage.

:data:`FROZEN_CONFORMAL` is the method chosen by grouped cross-validation on dev (docs/validation.md §1, "Conformal
intervals"); its calibration set is the whole dev split. ``python -m sim.validate deu3 --split dev --conformal``
prints the cross-validated comparison; ``--split test`` prints the frozen intervals' test coverage.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from sim.validation import scoring

SCORES = ("abs", "spread", "disagreement", "cqr")
LEVELS = (0.5, 0.9)


@dataclass(frozen=True)
class ConformalMethod:
    """A split-conformal interval method: the score, its floor (points, for the scaled scores), the weighting."""

    score: str = "abs"
    floor: float = 5.0            #: added to the scale of ``spread`` / ``disagreement`` (0-100 points)
    group_weighted: bool = True   #: weight calibration issues by 1 / (issues of their proposal)

    @property
    def name(self) -> str:
        extra = f", floor {self.floor:g}" if self.score in ("spread", "disagreement") else ""
        return f"conformal {self.score}{extra}, {'proposal-weighted' if self.group_weighted else 'issue-weighted'}"


#: The method frozen after grouped cross-validation on dev (see docs/validation.md §1); calibration set: all of dev.
FROZEN_CONFORMAL = ConformalMethod(score="spread", floor=5.0, group_weighted=True)


# --- the quantile ----------------------------------------------------------------------------------------------
def conformal_quantile(scores: np.ndarray, alpha: float, weights: np.ndarray | None = None) -> float:
    """The split-conformal threshold ``Q`` of calibration ``scores`` at miscoverage ``alpha``.

    Unweighted: the ``ceil((n + 1)(1 - alpha))``-th smallest score (``inf`` if that exceeds ``n``), so that a new
    exchangeable score is ``<= Q`` with probability ``>= 1 - alpha``. Weighted: the ``1 - alpha`` quantile of the
    distribution putting mass ``w_i`` on score ``i`` and mass 1 (one more calibration unit) on ``+inf``,
    normalised -- with ``w_i = 1 / n_g`` per proposal ``g`` this is the pooled rule for two-layer data (each proposal
    counts once; the new point's unit counts as one proposal). With equal weights both rules coincide.
    """
    s = np.asarray(scores, float)
    if s.ndim != 1 or s.size == 0:
        raise ValueError("scores: a non-empty 1-d array")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha in (0, 1)")
    if weights is None:
        n = s.size
        k = int(np.ceil((n + 1) * (1.0 - alpha)))
        return float(np.inf) if k > n else float(np.sort(s)[k - 1])
    w = np.asarray(weights, float)
    if w.shape != s.shape or np.any(w <= 0):
        raise ValueError("weights: positive, one per score")
    order = np.argsort(s, kind="stable")
    cum = np.cumsum(w[order]) / (w.sum() + 1.0)
    # the smallest score whose cumulative mass reaches 1 - alpha (a tolerance for the float sums of equal weights)
    idx = int(np.searchsorted(cum, 1.0 - alpha - 1e-12, side="left"))
    return float(np.inf) if idx >= s.size else float(s[order][idx])


def group_weights(groups: np.ndarray) -> np.ndarray:
    """``1 / (members of the group)`` per element: every group's weights sum to one."""
    _, inv, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    return 1.0 / counts[inv]


def group_folds(groups: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """A fold number 0..k-1 per element; all elements of a group share a fold (groups shuffled, dealt round-robin
    in order of decreasing size so the folds have similar numbers of elements)."""
    labels, inv, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(labels))
    order = perm[np.argsort(-counts[perm], kind="stable")]
    fold_of_group = np.empty(len(labels), int)
    sizes = np.zeros(k, int)
    for g in order:                                  # greedy: the next largest group to the smallest fold
        f = int(np.argmin(sizes))
        fold_of_group[g] = f
        sizes[f] += counts[g]
    return fold_of_group[inv]


# --- scores and intervals --------------------------------------------------------------------------------------
@dataclass
class Inputs:
    """What the conformal scores need of a set of forecasts (all ``(I,)`` except ``samples``)."""

    point: np.ndarray         #: engine point forecast
    spread: np.ndarray        #: IQR of the engine's input replicas (before the residual term)
    base: np.ndarray          #: baseline point forecast
    samples: np.ndarray       #: engine predictive samples (I, R), for CQR
    outcome: np.ndarray
    groups: np.ndarray        #: proposal of each issue

    def subset(self, idx: np.ndarray) -> Inputs:
        return Inputs(point=self.point[idx], spread=self.spread[idx], base=self.base[idx],
                      samples=self.samples[idx], outcome=self.outcome[idx], groups=self.groups[idx])


def inputs_from(fc: Any) -> Inputs:
    """:class:`Inputs` of a :class:`sim.validation.deu3.Forecasts`."""
    eng = fc.input_samples if fc.input_samples is not None else fc.samples
    q25, q75 = np.quantile(eng, [0.25, 0.75], axis=1)
    return Inputs(point=np.asarray(fc.point, float), spread=q75 - q25, base=np.asarray(fc.base_point, float),
                  samples=np.asarray(fc.samples, float), outcome=np.asarray(fc.outcome, float),
                  groups=np.asarray(fc.prnr))


def _band(inp: Inputs, method: ConformalMethod, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre-or-lower, upper, scale) of the score: the interval is ``[lo - Q * sc, hi + Q * sc]``."""
    if method.score == "cqr":
        lo, hi = np.quantile(inp.samples, [alpha / 2.0, 1.0 - alpha / 2.0], axis=1)
        return lo, hi, np.ones_like(lo)
    if method.score == "abs":
        scale = np.ones_like(inp.point)
    elif method.score == "spread":
        scale = inp.spread + method.floor
    elif method.score == "disagreement":
        scale = np.abs(inp.point - inp.base) + method.floor
    else:
        raise ValueError(f"unknown score {method.score!r}; allowed: {', '.join(SCORES)}")
    return inp.point, inp.point, scale


def scores(inp: Inputs, method: ConformalMethod, alpha: float) -> np.ndarray:
    """Nonconformity scores of the calibration issues (larger: the outcome fits the forecast worse)."""
    lo, hi, scale = _band(inp, method, alpha)
    y = inp.outcome
    return np.maximum(lo - y, y - hi) / scale


@dataclass
class Calibration:
    """A method calibrated on a set of issues: its threshold ``Q`` per level."""

    method: ConformalMethod
    q: dict[float, float]
    n_issues: int
    n_groups: int


def calibrate(cal: Inputs, method: ConformalMethod = FROZEN_CONFORMAL, levels=LEVELS) -> Calibration:
    """Thresholds of ``method`` at each level from the calibration issues ``cal``."""
    w = group_weights(cal.groups) if method.group_weighted else None
    q = {lev: conformal_quantile(scores(cal, method, 1.0 - lev), 1.0 - lev, w) for lev in levels}
    return Calibration(method=method, q=q, n_issues=len(cal.outcome), n_groups=len(np.unique(cal.groups)))


def intervals(inp: Inputs, calib: Calibration, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The closed intervals ``[lower, upper]`` (clipped to [0, 100]) at ``level`` for new issues."""
    lo, hi, scale = _band(inp, calib.method, 1.0 - level)
    q = calib.q[level]
    return np.clip(lo - q * scale, 0.0, 100.0), np.clip(hi + q * scale, 0.0, 100.0)


def interval_score(lower: np.ndarray, upper: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Gneiting & Raftery's (2007, *JASA* 102(477), §6.2) interval score of central ``1 - alpha`` intervals
    (a proper score; lower is better): width plus ``2 / alpha`` times the distance by which ``y`` falls outside."""
    return (upper - lower) + 2.0 / alpha * (np.maximum(lower - y, 0.0) + np.maximum(y - upper, 0.0))


# --- evaluation ------------------------------------------------------------------------------------------------
def per_issue(inp: Inputs, lower: dict[float, np.ndarray], upper: dict[float, np.ndarray]) -> dict[str, np.ndarray]:
    """Covered (0/1), width and interval score per issue and level."""
    out: dict[str, np.ndarray] = {}
    y = inp.outcome
    for lev in lower:
        lo, hi = lower[lev], upper[lev]
        tag = f"{round(lev * 100)}"
        out[f"cover{tag}"] = ((y >= lo) & (y <= hi)).astype(float)
        out[f"width{tag}"] = hi - lo
        out[f"iscore{tag}"] = interval_score(lo, hi, y, 1.0 - lev)
    return out


def cross_validate(inp: Inputs, method: ConformalMethod, k: int = 10, seed: int = 0,
                   levels=LEVELS) -> dict[str, np.ndarray]:
    """Out-of-fold intervals of ``method`` on ``inp`` (folds keep proposals together): per-issue results."""
    folds = group_folds(inp.groups, k, seed)
    lower = {lev: np.empty(len(inp.outcome)) for lev in levels}
    upper = {lev: np.empty(len(inp.outcome)) for lev in levels}
    for f in range(k):
        test = np.flatnonzero(folds == f)
        calib = calibrate(inp.subset(np.flatnonzero(folds != f)), method, levels)
        held = inp.subset(test)
        for lev in levels:
            lower[lev][test], upper[lev][test] = intervals(held, calib, lev)
    return per_issue(inp, lower, upper)


def residual_scale_cv(issues: Any, traj: Any, cfg: Any, k: int = 10, seed: int = 0,
                      grid: tuple[float, ...] = tuple(range(10, 36)), levels=LEVELS) -> dict[str, np.ndarray]:
    """The current method (a Laplace residual whose scale minimises ``|cov50 - 0.5| + |cov90 - 0.9|``), with the
    scale chosen on the training folds only: what its dev coverage is out of sample."""
    from sim.validation import deu3

    by_scale = {b: deu3.forecasts_from(issues, traj, replace(cfg, resid_scale=float(b))) for b in grid}
    groups = by_scale[grid[0]].prnr
    y = by_scale[grid[0]].outcome
    folds = group_folds(groups, k, seed)
    lower = {lev: np.empty(len(y)) for lev in levels}
    upper = {lev: np.empty(len(y)) for lev in levels}
    qs = {b: {lev: np.quantile(fc.samples, [(1 - lev) / 2, (1 + lev) / 2], axis=1) for lev in levels}
          for b, fc in by_scale.items()}
    for f in range(k):
        tr, te = folds != f, folds == f

        def miss(b: float) -> float:
            return sum(abs(float(np.mean((y[tr] >= qs[b][lev][0][tr]) & (y[tr] <= qs[b][lev][1][tr]))) - lev)
                       for lev in levels)
        best = min(grid, key=miss)
        for lev in levels:
            lower[lev][te], upper[lev][te] = qs[best][lev][0][te], qs[best][lev][1][te]
    inp = inputs_from(by_scale[grid[0]])
    return per_issue(inp, lower, upper)


def in_sample_residual(fc: Any, levels=LEVELS) -> dict[str, np.ndarray]:
    """The current method as frozen (scale fitted on all of dev), evaluated on the same issues."""
    inp = inputs_from(fc)
    lower, upper = {}, {}
    for lev in levels:
        lower[lev], upper[lev] = np.quantile(fc.samples, [(1 - lev) / 2, (1 + lev) / 2], axis=1)
    return per_issue(inp, lower, upper)


#: The candidates compared by cross-validation on dev (``python -m sim.validate deu3 --split dev --conformal``).
CANDIDATES = tuple(
    [ConformalMethod(score="abs", group_weighted=g) for g in (False, True)]
    + [ConformalMethod(score="cqr", group_weighted=g) for g in (False, True)]
    + [ConformalMethod(score=s, floor=fl, group_weighted=True) for s in ("spread", "disagreement")
       for fl in (2.0, 5.0, 10.0)]
)


def summarise(name: str, res: dict[str, np.ndarray], groups: np.ndarray, n_boot: int = 2000, seed: int = 0,
              levels=LEVELS) -> dict[str, Any]:
    """Means and proposal-bootstrap 95 % CIs of coverage, width and interval score per level."""
    row: dict[str, Any] = {"method": name}
    for lev in levels:
        tag = f"{round(lev * 100)}"
        for metric in ("cover", "width", "iscore"):
            est, lo, hi = scoring.cluster_bootstrap(res[f"{metric}{tag}"], groups, n_boot=n_boot, seed=seed)
            row[f"{metric}{tag}"], row[f"{metric}{tag}_lo"], row[f"{metric}{tag}_hi"] = est, lo, hi
    return row


def compare_on_dev(issues: Any, cfg: Any, n_runs: int = 200, seed: int = 0, k: int = 10, n_boot: int = 2000,
                   fold_seed: int = 0) -> pd.DataFrame:
    """Grouped ``k``-fold cross-validation within dev of the current method and every candidate (dev only)."""
    from sim.validation import deu3

    traj = deu3.run_trajectories(issues, cfg, n_runs, seed)
    fc = deu3.forecasts_from(issues, traj, cfg)
    inp = inputs_from(fc)
    rows = [summarise(f"residual scale {cfg.resid_scale:g} (in sample: fitted on all of dev)",
                      in_sample_residual(fc), inp.groups, n_boot, seed),
            summarise("residual scale, fitted on the training folds", residual_scale_cv(issues, traj, cfg, k,
                                                                                        fold_seed),
                      inp.groups, n_boot, seed)]
    for m in CANDIDATES:
        rows.append(summarise(m.name, cross_validate(inp, m, k, fold_seed), inp.groups, n_boot, seed))
    df = pd.DataFrame(rows)
    df["iscore_mean"] = (df["iscore50"] + df["iscore90"]) / 2.0
    return df


def holdout(cal_fc: Any, eval_fc: Any, method: ConformalMethod = FROZEN_CONFORMAL, n_boot: int = 2000,
            seed: int = 0) -> tuple[Calibration, dict[str, Any]]:
    """Calibrate ``method`` on ``cal_fc`` (the whole dev split) and score its intervals on ``eval_fc``."""
    calib = calibrate(inputs_from(cal_fc), method)
    inp = inputs_from(eval_fc)
    lower, upper = {}, {}
    for lev in LEVELS:
        lower[lev], upper[lev] = intervals(inp, calib, lev)
    return calib, summarise(method.name, per_issue(inp, lower, upper), inp.groups, n_boot, seed)


def format_rows(df: pd.DataFrame) -> str:
    """Coverage and width at 50 % and 90 % with CIs, one line per method."""
    lines = [f"{'method':<62}{'cover 50%':>22}{'width 50':>20}{'cover 90%':>22}{'width 90':>20}{'int. score':>11}"]
    for _, r in df.iterrows():
        def c(m: str) -> str:
            return f"{r[m]:.3f} [{r[m + '_lo']:.3f}, {r[m + '_hi']:.3f}]"

        def w(m: str) -> str:
            return f"{r[m]:.1f} [{r[m + '_lo']:.1f}, {r[m + '_hi']:.1f}]"
        isc = (r["iscore50"] + r["iscore90"]) / 2.0
        lines.append(f"{r['method']:<62}{c('cover50'):>22}{w('width50'):>20}{c('cover90'):>22}{w('width90'):>20}"
                     f"{isc:>11.2f}")
    return "\n".join(lines)


__all__ = [
    "CANDIDATES",
    "FROZEN_CONFORMAL",
    "Calibration",
    "ConformalMethod",
    "calibrate",
    "compare_on_dev",
    "conformal_quantile",
    "cross_validate",
    "group_folds",
    "group_weights",
    "holdout",
    "interval_score",
    "intervals",
    "scores",
]
