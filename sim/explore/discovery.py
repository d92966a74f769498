"""Scenario discovery: PRIM boxes for a binary outcome (the standalone ``prim`` package, Friedman & Fisher 1999).

Cases are the design's replicas: x = the input values of the replica's design point, y = whether the outcome
happened in that replica. PRIM peels a share ``peel_alpha`` of the cases off one face of the box at a time (the
peel that raises the box's density most), down to ``mass_min`` of the cases, then pastes back. On the trajectory
of boxes, for a box B over the cases still uncovered by earlier boxes::

    coverage = #{y = 1 in B} / #{y = 1}        density = #{y = 1 in B} / #B        mass = #B / #cases

The box reported is the densest on its trajectory with coverage ≥ ``min_coverage``; up to ``boxes`` boxes per
outcome, stopping when a box is no denser than the base rate #{y = 1} / #cases.

PRIM considers the ``prim_inputs`` inputs whose distribution differs most between the cases of interest and the
others (the two-sample Kolmogorov–Smirnov statistic ``KS_d = max_v |F_d(v | y = 1) − F_d(v | y = 0)|``, ties at
equal values kept together; all inputs when ``prim_inputs`` = 0): the package's peeling cost grows with the
square of the number of inputs (recarray field access), and an input that does not separate the two groups
cannot bound a dense box.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import numpy as np
import pandas as pd


def _prim() -> Any:
    """The prim package, imported with matplotlib on its non-interactive backend (it imports pyplot)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    logging.getLogger("prim").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import prim
    return prim


def _limits(box: Any, initial: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    """The restricted dimensions of the selected box: parameter, min, max, the range it restricts, quasi-p."""
    lim = box.limits
    out = []
    for name, row in lim.iterrows():
        lo, hi = initial[str(name)]
        if row["min"] > lo or row["max"] < hi:
            out.append({"parameter": str(name), "min": float(row["min"]), "max": float(row["max"]),
                        "low": lo, "high": hi, "qp": float(row["qp values"])})
    return out


def ks_statistics(x: pd.DataFrame, y: np.ndarray) -> pd.Series:
    """KS_d = max over values v of |F(v | y) − F(v | not y)| for each column d, largest first."""
    y = np.asarray(y, dtype=bool)
    n1, n0 = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    out = {}
    for col in x.columns:
        v = x[col].to_numpy()
        order = np.argsort(v, kind="stable")
        ys = y[order]
        diff = np.cumsum(ys) / n1 - np.cumsum(~ys) / n0
        last = np.r_[v[order][1:] != v[order][:-1], True]           # only where the value changes
        out[str(col)] = float(np.max(np.abs(diff[last]))) if v.size else 0.0
    return pd.Series(out).sort_values(ascending=False, kind="stable")


def prim_boxes(x: pd.DataFrame, y: np.ndarray, *, peel_alpha: float, mass_min: float, min_coverage: float,
               boxes: int, inputs: int = 0) -> dict[str, Any]:
    """PRIM boxes of the cases where ``y`` is true: base rate, and per box its trajectory, the chosen step,
    coverage, density, mass, restricted dimensions and their limits."""
    y = np.asarray(y, dtype=bool)
    result: dict[str, Any] = {"cases": int(y.size), "cases_of_interest": int(y.sum()),
                              "base_rate": float(y.mean()) if y.size else float("nan"), "boxes": []}
    if y.sum() == 0 or y.all():
        result["note"] = "no case of interest" if y.sum() == 0 else "every case is of interest"
        return result
    ks = ks_statistics(x, y)
    if 0 < inputs < x.shape[1]:
        x = x[list(ks.index[:inputs])]
    result["inputs"] = [{"parameter": p, "ks": float(ks[p])} for p in x.columns]
    prim = _prim()
    initial = {c: (float(x[c].min()), float(x[c].max())) for c in x.columns}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = prim.Prim(x, y, threshold=0.5, threshold_type=">", peel_alpha=peel_alpha, mass_min=mass_min)
        for _ in range(boxes):
            box = p.find_box()
            if box is None:
                break
            traj = box.peeling_trajectory
            ok = traj.index[traj["coverage"] >= min_coverage]
            chosen = int(traj.loc[ok, "density"].idxmax()) if len(ok) else int(traj["density"].idxmax())
            box.select(chosen)
            if float(traj.loc[chosen, "density"]) <= result["base_rate"]:
                break
            result["boxes"].append({
                "chosen": chosen, "coverage": float(traj.loc[chosen, "coverage"]),
                "density": float(traj.loc[chosen, "density"]), "mass": float(traj.loc[chosen, "mass"]),
                "restricted": int(traj.loc[chosen, "res dim"]), "limits": _limits(box, initial),
                "trajectory": [{"coverage": float(r["coverage"]), "density": float(r["density"]),
                                "mass": float(r["mass"]), "restricted": int(r["res dim"])}
                               for _, r in traj.iterrows()]})
    return result
