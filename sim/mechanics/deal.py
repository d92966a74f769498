"""A US–Iran nuclear deal: convergence, signing, effects and collapse.

Sources
-------
- Putnam, R. D. (1988). "Diplomacy and domestic politics: the logic of two-level games." *International
  Organization* 42(3): agreement needs overlapping acceptable sets; ratification is uncertain.
- Fortna, V. P. (2003). "Scraps of paper? Agreements and the durability of peace." *International Organization*
  57(2): agreements lower the hazard of renewed fighting; they break down more under violence.

A deal is signed in replica r when the parties' positions on the core issue (the first deal issue, ``iran_nuclear``)
have converged within ``tolerance`` — in the bargaining model a position is what an actor is willing to accept — and
a chance ratification succeeds, ``P = ratify · (1 - rung / 6)`` (two-level games: the harder the fighting, the harder
to sell a deal at home). Its terms on every deal issue are the two parties' Nash bargaining point, the
capability × salience weighted mean of their positions, ``D_k = (w_pk x_pk + w_qk x_qk) / (w_pk + w_qk)``.
While it holds, the outcome on the deal issues is the terms, proxy incidents are restrained, and the rung drops by
``deescalation`` at signing. Each month it
collapses with ``P = h0 + h1 · max(rung - 2, 0) + 0.5 · spoiled``; a collapse halves the parties' mutual trust.
"""

from __future__ import annotations

import numpy as np


def gap(x: np.ndarray, parties: tuple[int, int], issues: list[int]) -> np.ndarray:
    """Distance (R,) between the two parties' positions on the core deal issue (the first)."""
    p, q = parties
    return np.abs(x[p, issues[0]] - x[q, issues[0]])


def terms(x: np.ndarray, w: np.ndarray, parties: tuple[int, int], issues: list[int]) -> np.ndarray:
    """The deal point (len(issues), R): the parties' weighted (w = c·s) mean position on each deal issue."""
    p, q = parties
    wp, wq = w[p][issues], w[q][issues]
    return (wp * x[p][issues] + wq * x[q][issues]) / np.maximum(wp + wq, 1e-12)


def signing(converged: np.ndarray, in_force: np.ndarray, war: np.ndarray, rung: np.ndarray, u: np.ndarray,
            ratify: float, top_rung: int) -> np.ndarray:
    """Replicas (R,) in which a deal is signed this month."""
    return converged & ~in_force & ~war & (u < ratify * (1.0 - rung / top_rung))


def collapse(in_force: np.ndarray, rung: np.ndarray, spoiled: np.ndarray, u: np.ndarray, base: float,
             per_rung: float) -> np.ndarray:
    """Replicas (R,) in which a deal in force collapses this month."""
    hazard = base + per_rung * np.maximum(rung - 2, 0) + 0.5 * spoiled
    return in_force & (u < hazard)
