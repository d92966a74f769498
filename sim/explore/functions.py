"""Analytic test functions with known sensitivity indices: the harness is checked against them.

Both take the design's uniforms ``u`` (D, n), like the engine, and return ``{"y": (n,)}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1
#: Sobol' g-function coefficients (Saltelli et al. 2008, §3.6): the smaller a_i, the more important x_i.
G_COEFFICIENTS = (0.0, 1.0, 4.5, 9.0, 99.0, 99.0, 99.0, 99.0)


def ishigami(u: np.ndarray) -> dict[str, np.ndarray]:
    """f = sin x₁ + a sin² x₂ + b x₃⁴ sin x₁, x_i = −π + 2π u_i (a = 7, b = 0.1)."""
    x = -np.pi + 2 * np.pi * u
    return {"y": np.sin(x[0]) + ISHIGAMI_A * np.sin(x[1]) ** 2 + ISHIGAMI_B * x[2] ** 4 * np.sin(x[0])}


def ishigami_indices() -> tuple[np.ndarray, np.ndarray]:
    """Analytic (S1, ST): V = a²/8 + bπ⁴/5 + b²π⁸/18 + 1/2, V₁ = (1 + bπ⁴/5)²/2, V₂ = a²/8, V₃ = 0,
    V₁₃ = b²π⁸ (1/18 − 1/50)."""
    a, b, pi = ISHIGAMI_A, ISHIGAMI_B, np.pi
    v = a**2 / 8 + b * pi**4 / 5 + b**2 * pi**8 / 18 + 0.5
    v1, v2, v13 = 0.5 * (1 + b * pi**4 / 5) ** 2, a**2 / 8, b**2 * pi**8 * (1 / 18 - 1 / 50)
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def gfunction(u: np.ndarray) -> dict[str, np.ndarray]:
    """g = Π_i (|4 u_i − 2| + a_i) / (1 + a_i)."""
    a = np.asarray(G_COEFFICIENTS)[:, None]
    return {"y": np.prod((np.abs(4 * u - 2) + a) / (1 + a), axis=0)}


def gfunction_indices() -> tuple[np.ndarray, np.ndarray]:
    """Analytic (S1, ST): V_i = 1 / (3 (1 + a_i)²), V = Π (1 + V_i) − 1, S_i = V_i / V,
    S_Ti = V_i Π_{j≠i} (1 + V_j) / V."""
    vi = 1.0 / (3.0 * (1.0 + np.asarray(G_COEFFICIENTS)) ** 2)
    v = np.prod(1 + vi) - 1
    return vi / v, np.array([vi[i] * np.prod(np.delete(1 + vi, i)) for i in range(vi.size)]) / v


@dataclass(frozen=True)
class TestFunction:
    """A function of the design's uniforms, its input names and its analytic indices."""

    names: tuple[str, ...]
    fn: Callable[[np.ndarray], dict[str, np.ndarray]]
    indices: Callable[[], tuple[np.ndarray, np.ndarray]]


FUNCTIONS: dict[str, TestFunction] = {
    "ishigami": TestFunction(("x1", "x2", "x3"), ishigami, ishigami_indices),
    "gfunction": TestFunction(tuple(f"x{i + 1}" for i in range(len(G_COEFFICIENTS))), gfunction,
                              gfunction_indices),
}
