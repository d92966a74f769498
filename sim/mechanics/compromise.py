"""Compromise model / Nash bargaining solution: the capability × salience weighted mean of positions.

Sources
-------
- Achen, C. H. (2006). "Institutional realism and bargaining models." In Thomson et al. (eds.), *The European
  Union Decides*, Cambridge UP, 86-123 (the weighted mean as the asymmetric Nash bargaining solution with
  quadratic losses, and its record on EU decisions).
- van den Bos, G. M. (1991). *Dutch EC Policy Making*; Stokman & van Oosten (1994) use the same expected outcome.

``O_k = sum_a c_a s_ak x_ak / sum_a c_a s_ak`` for every issue k: the bargained outcome of an issue at any moment,
and what is in force on the issues no world-state mechanism owns (``in_force``; the issue outcomes read it).
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
        owned = state_issues(index)
        return [Outcome(names.issue_outcome(iid), "quantity",
                        f"{index.issue_labels[iid]}: " + ("in force" if iid in owned else "bargained outcome"),
                        _issue(k), "issues") for k, iid in enumerate(index.issues)]

    def step(self, world: World) -> None:
        world.outcome = compromise(world.position, world.weight)
        world.in_force[self.free] = world.outcome[self.free]

    def prepare(self, world: World) -> None:
        owned = state_issues(self.index)
        self.free = [k for k, iid in enumerate(self.index.issues) if iid not in owned]


def state_issues(index: Index) -> set[str]:
    """The issues a world-state mechanism owns (its roles ``*_issue`` / ``nuclear.issue``): their outcome is what is
    in force, not the bargained outcome."""
    return {i for role, ids in index.roles.items() if role.endswith("_issue") or role == "nuclear.issue" for i in ids}


def _issue(k: int) -> Callable[[World], np.ndarray]:
    return lambda w: w.in_force[k]
