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

from collections.abc import Callable

import numpy as np

from sim.mechanics.base import Mechanism, MechanismSpec, register
from sim import outcomes as names
from sim.outcomes import Outcome
from sim.world import Index, World


def compromise(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted mean over the actor axis: ``x``, ``weight`` of shape (A, ...) → (...)."""
    tot = weight.sum(axis=0)
    safe = np.where(tot > 0, tot, 1.0)
    return np.where(tot > 0, (weight * x).sum(axis=0) / safe, x.mean(axis=0))


class CompromiseSpec(MechanismSpec):
    """``mechanics.compromise``: no constants (``enabled: false`` freezes the outcomes at their start)."""


@register
class Compromise(Mechanism[CompromiseSpec]):
    """The expected outcome of every issue each month: the capability × salience weighted mean of positions
    (Achen 2006; van den Bos 1991). Declares the issue outcomes."""

    name = "compromise"
    Spec = CompromiseSpec

    @classmethod
    def streams(cls, section: CompromiseSpec, index: Index) -> list[str]:
        return []

    @classmethod
    def outcomes(cls, section: CompromiseSpec, index: Index) -> list[Outcome]:
        return [Outcome(names.issue_outcome(iid), "quantity", index.issue_labels[iid], _issue(k), "issues")
                for k, iid in enumerate(index.issues)]

    def step(self, world: World) -> None:
        world.outcome = compromise(world.position, world.weight)


def _issue(k: int) -> Callable[[World], np.ndarray]:
    return lambda w: w.outcome[k]
