"""Compromise model / Nash bargaining solution: the capability × salience weighted mean of positions.

Sources
-------
- Achen, C. H. (2006). "Institutional realism and bargaining models." In Thomson et al. (eds.), *The European
  Union Decides*, Cambridge UP, 86-123 (the weighted mean as the asymmetric Nash bargaining solution with
  quadratic losses, and its record on EU decisions).
- van den Bos, G. M. (1991). *Dutch EC Policy Making*; Stokman & van Oosten (1994) use the same expected outcome.

``O_k = sum_a c_a s_ak x_ak / sum_a c_a s_ak`` for every issue k: the reference outcome of an issue at any moment.
"""

from __future__ import annotations

import numpy as np


def compromise(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted mean over the actor axis: ``x``, ``weight`` of shape (A, ...) → (...)."""
    tot = weight.sum(axis=0)
    safe = np.where(tot > 0, tot, 1.0)
    return np.where(tot > 0, (weight * x).sum(axis=0) / safe, x.mean(axis=0))
