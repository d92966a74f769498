"""Designs in the unit cube of the inputs' uniforms: Saltelli (Sobol indices), Morris trajectories, space-filling.

A design point is a vector of uniforms ``u ∈ (0, 1)^D``; input d takes the value ``F_d⁻¹(u_d)`` (its inverse CDF,
:meth:`sim.uncertainty.ParameterTable.draw`), exactly as a Monte Carlo replica does with its streams' uniforms.
Points of one **group** share their chance events (:mod:`sim.explore.streams`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


def unit_problem(names: Sequence[str]) -> dict[str, object]:
    """SALib's problem over the uniforms: every input on [0, 1]."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


@dataclass
class SaltelliDesign:
    """Saltelli's radial design for first- and total-order indices, in SALib's row order (``calc_second_order=
    False``): for each base row j, the points A_j, AB^(1)_j, …, AB^(D)_j, B_j (D + 2 points, one group), where A
    and B are the two halves of a scrambled Sobol sequence of N points in 2D dimensions and AB^(d) is A with column
    d taken from B. Rows are built a slice at a time; the first N' < N base rows (N' a power of 2) are themselves
    the design of size N' (a Sobol sequence's prefix), which the convergence check uses."""

    inputs: int
    n: int
    seed: int
    a: np.ndarray = field(init=False, repr=False)
    b: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from scipy.stats import qmc

        base = qmc.Sobol(d=2 * self.inputs, scramble=True, seed=self.seed).random(self.n)
        self.a, self.b = base[:, :self.inputs], base[:, self.inputs:]

    @property
    def dimension(self) -> int:
        return self.inputs

    @property
    def group_size(self) -> int:
        return self.dimension + 2

    @property
    def size(self) -> int:
        return self.n * self.group_size

    def block(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(a, b)
        j, m = np.divmod(rows, self.group_size)
        u = self.a[j].copy()
        swap = (m >= 1) & (m <= self.dimension)
        u[swap, m[swap] - 1] = self.b[j[swap], m[swap] - 1]
        last = m == self.dimension + 1
        u[last] = self.b[j[last]]
        return np.ascontiguousarray(u.T), j


@dataclass
class MatrixDesign:
    """A design held whole: points (n, D) and their groups (n,)."""

    points: np.ndarray
    groups: np.ndarray

    @property
    def size(self) -> int:
        return int(self.points.shape[0])

    @property
    def dimension(self) -> int:
        return int(self.points.shape[1])

    def block(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        return np.ascontiguousarray(self.points[a:b].T), self.groups[a:b]


def morris_design(names: Sequence[str], trajectories: int, levels: int, seed: int) -> MatrixDesign:
    """Morris's trajectories (SALib ``morris.sample``): ``trajectories`` × (D + 1) points on a grid of ``levels``
    levels in [0, 1], each trajectory moving one input at a time by Δ = p / (2(p − 1)); one group per trajectory."""
    from SALib.sample import morris

    x = morris.sample(unit_problem(names), trajectories, num_levels=levels, seed=seed)
    return MatrixDesign(x, np.arange(x.shape[0]) // (len(names) + 1))


def space_filling(dimension: int, points: int, seed: int) -> MatrixDesign:
    """A scrambled Sobol sequence of ``points`` points (PRIM, robustness); every point its own group."""
    from scipy.stats import qmc

    return MatrixDesign(qmc.Sobol(d=dimension, scramble=True, seed=seed).random(points), np.arange(points))
