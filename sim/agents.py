"""Actors as Mesa agents: each holds its own parameters and decides, every month, how far it is willing to go.

An :class:`Actor` is built with its parameters (:class:`ActorParameters`, drawn per replica) and the decision
rules' constants (:class:`DecisionRules`, the run spec's ``decisions`` section) passed explicitly, as Mesa's
example models pass keyword parameters; it never reads the run spec. The model activates the actors through
Mesa's AgentSet at the start of each month (:meth:`Actor.decide`), before the mechanisms step: each writes its
row of the month's propensities into the world (``p_retaliate``, ``p_counter``, ``p_spoil``, (A, R)), which the
escalation and spoiler mechanisms turn into chance events.

Decision rules (docs/model.md, "Actors"):
- retaliation after a proxy attack on this actor: ``α · resolve``, times ``ρ_r`` while a deal holds
  (Fearon 1994: resolve drives retaliation; Fortna 2003: agreements restrain);
- counter-escalation after being struck: ``γ · resolve · (2 - r) / 1.5`` with r the BDM risk exponent in
  [0.5, 2], so that ``(2 - r) / 1.5`` maps it onto a risk acceptance in [0, 1];
- spoiling (for the actors the spoiler mechanism names): ``σ · resolve · pressure`` with
  ``pressure = clip(g · Σ_k s_k (|D_k - x_k| - |O_k - x_k|) / (100 Σ_k s_k), 0, 1)`` the salience-weighted loss
  if the deal point D replaced the current outcome O on the deal issues (Stedman 1997).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.mechanics.compromise import compromise
from sim.mechanics.deal import terms
from sim.outcomes import utility

if TYPE_CHECKING:
    from sim.world import World


@dataclass(frozen=True)
class ActorParameters:
    """One actor's parameters, per replica (R,) or (I, R)."""

    index: int
    actor_id: str
    name: str
    resolve: np.ndarray
    risk_exponent: np.ndarray
    base_position: np.ndarray      #: (I, R) baseline preferences: utilities are judged with them
    base_salience: np.ndarray
    spoiler: bool = False


@dataclass(frozen=True)
class DecisionRules:
    """The constants of the actors' decision rules, (R,) arrays of drawn values, and the deal they judge."""

    retaliation: np.ndarray
    deal_retaliation_restraint: np.ndarray
    counter: np.ndarray
    spoiler_rate: np.ndarray
    spoiler_gain: np.ndarray
    deal_parties: tuple[int, int]
    deal_issues: tuple[int, ...]


class Actor(mesa.Agent):
    """A state or bloc (the US, Russia, Iran, Israel, Europe, Turkey) with its preferences and resolve."""

    def __init__(self, model: mesa.Model, params: ActorParameters, rules: DecisionRules):
        super().__init__(model)
        self.params = params
        self.rules = rules
        self.index = params.index
        self.actor_id = params.actor_id
        self.name = params.name

    # --- decisions (vectorised over replicas) -----------------------------------------------------------------
    def decide(self, world: "World") -> None:
        """Write this month's propensities (retaliate, counter-escalate, spoil) into the world."""
        world["p_retaliate"][self.index] = self.retaliation_probability(world["deal"])
        world["p_counter"][self.index] = self.counter_escalation_probability()
        if self.params.spoiler:
            world["p_spoil"][self.index] = self.spoiler_probability(self.deal_pressure(world))

    def retaliation_probability(self, deal_in_force: np.ndarray) -> np.ndarray:
        """P(retaliatory strike) after a proxy attack on this actor: resolve, restrained while a deal holds."""
        r = self.rules
        return r.retaliation * self.params.resolve * np.where(deal_in_force, r.deal_retaliation_restraint, 1.0)

    def counter_escalation_probability(self) -> np.ndarray:
        """P(counter-escalating) after being struck: resolve times risk acceptance ((2 - r) / 1.5 in [0, 1])."""
        return self.rules.counter * self.params.resolve * np.clip((2.0 - self.params.risk_exponent) / 1.5, 0.0, 1.0)

    def spoiler_probability(self, pressure: np.ndarray) -> np.ndarray:
        """P(striking to derail a deal) given how much the deal costs this actor (pressure in [0, 1])."""
        return self.rules.spoiler_rate * self.params.resolve * pressure

    def deal_pressure(self, world: "World") -> np.ndarray:
        """How much this actor loses (0..1, R) if the deal point replaces the current outcome on the deal issues."""
        r, a = self.rules, self.index
        issues = list(r.deal_issues)
        point = terms(world.position, world.weight, r.deal_parties, issues)
        free = compromise(world.position, world.weight)      # the outcome without a deal, against which it is judged
        x, s = world.position, world.salience
        loss = np.zeros(world.n_replicas)
        tot = np.zeros(world.n_replicas)
        for n, k in enumerate(issues):
            loss += s[a, k] * (np.abs(point[n] - x[a, k]) - np.abs(free[k] - x[a, k])) / 100
            tot += s[a, k]
        return np.clip(loss / np.maximum(tot, 1e-12) * r.spoiler_gain, 0.0, 1.0)

    # --- views and judgements ---------------------------------------------------------------------------------
    def position(self, world: "World") -> np.ndarray:
        """(I, R) positions on every issue (a view of the world's array)."""
        return world.position[self.index]

    def utility(self, outcome: np.ndarray) -> np.ndarray:
        """(R,) utility in [-1, 1] of outcomes (I, R), judged with this actor's *baseline* preferences.

        ``U_a = 1 - 2 · sum_k s_ak |O_k - x_ak| / (100 · sum_k s_ak)`` with baseline positions x and saliences s.
        """
        return utility(outcome, self.params.base_position, self.params.base_salience)
