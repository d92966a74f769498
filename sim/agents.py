"""Actors as Mesa agents: each holds its decision rules and views of its slice of the model's arrays.

The state lives in the model's numpy arrays (replica axis last); an :class:`Actor` reads and writes its own rows,
and its decisions are vectorised over replicas (they return probabilities or masks of shape (R,)).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from sim.model import GeoModel


class Actor(mesa.Agent):
    """A state or bloc (the US, Russia, Iran, Israel, Europe, Turkey) with its preferences and resolve."""

    def __init__(self, model: "GeoModel", index: int, actor_id: str, name: str):
        super().__init__(model)
        self.index = index
        self.actor_id = actor_id
        self.name = name

    # --- views of the state (no copies) -------------------------------------------------------------------
    @property
    def position(self) -> np.ndarray:
        """(I, R) positions on every issue."""
        return self.model.state.position[self.index]

    @property
    def salience(self) -> np.ndarray:
        """(I, R) saliences in [0, 1]."""
        return self.model.state.salience[self.index]

    @property
    def capability(self) -> np.ndarray:
        """(R,) share of capability."""
        return self.model.state.capability[self.index]

    @property
    def resolve(self) -> np.ndarray:
        """(R,) willingness to use force, 0..1."""
        return self.model.state.resolve[self.index]

    @property
    def risk_exponent(self) -> np.ndarray:
        """(R,) BDM risk exponent: < 1 risk-acceptant, > 1 risk-averse."""
        return self.model.state.risk[self.index]

    def trust_in(self, other: "Actor") -> np.ndarray:
        """(R,) how far this actor believes the other's commitments."""
        return self.model.state.trust[self.index, other.index]

    # --- decisions (vectorised over replicas) -----------------------------------------------------------------
    def retaliation_probability(self) -> np.ndarray:
        """P(retaliatory strike) after a proxy attack on this actor: resolve, restrained while a deal holds."""
        esc = self.model.spec.mechanics.escalation
        return esc.retaliation * self.resolve * np.where(self.model.state.deal, 0.5, 1.0)

    def counter_escalation_probability(self) -> np.ndarray:
        """P(counter-escalating) after being struck: resolve times risk acceptance ((2 - r) / 1.5 in [0, 1])."""
        esc = self.model.spec.mechanics.escalation
        return esc.counter * self.resolve * np.clip((2.0 - self.risk_exponent) / 1.5, 0.0, 1.0)

    def spoiler_probability(self, pressure: np.ndarray) -> np.ndarray:
        """P(striking to derail a deal) given how much the deal costs this actor (pressure in [0, 1])."""
        return self.model.spec.mechanics.escalation.spoiler_rate * self.resolve * pressure

    def utility(self, outcome: np.ndarray) -> np.ndarray:
        """(R,) utility in [-1, 1] of outcomes (I, R), judged with this actor's *baseline* preferences.

        ``U_a = 1 - 2 · sum_k s_ak |O_k - x_ak| / (100 · sum_k s_ak)`` with baseline positions x and saliences s.
        """
        st = self.model.state
        x, s = st.base_position[self.index], st.base_salience[self.index]
        return 1.0 - 2.0 * (s * np.abs(outcome - x)).sum(axis=0) / (100.0 * np.maximum(s.sum(axis=0), 1e-12))
