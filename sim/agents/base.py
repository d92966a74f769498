"""The actor base class: a Mesa agent with its own parameters that decides, every month, what it is willing to do.

An :class:`Actor` is built with its parameters (:class:`ActorParameters`, drawn per replica) and the decision
rules' constants (:class:`DecisionRules`, the run spec's ``decisions`` section) passed explicitly, as Mesa's
example models pass keyword parameters; it never reads the run spec. The model activates the actors through
Mesa's AgentSet at the start of each month, in knowledge-base order (:meth:`Actor.decide`), before the mechanisms
step: each writes its row of the month's propensities into the world (``p_*`` fields, (A, R)), which the
mechanisms turn into chance events on their own substreams. Subclasses (one module per actor type) add the rules
of that actor; a knowledge base's other actors are plain :class:`Actor` (retaliation and counter-escalation only).

Choices are **logit** (McFadden 1974; the quantal response of McKelvey & Palfrey 1995): the probability of an
action is ``σ(logit(b) + λ · Δ)`` with ``b`` the rule's base rate (the probability when the net motive Δ is
zero), λ the shared precision and Δ the action's net expected utility in the units of the issue utilities
(salience-weighted stakes minus expected costs of conflict). docs/model.md, "Actors", lists every rule.

Rules every actor has:
- retaliation after a proxy attack on this actor: ``α · resolve``, times ``ρ_r`` while a deal holds
  (Fearon 1994: resolve drives retaliation; Fortna 2003: agreements restrain);
- counter-escalation while fighting: ``γ · resolve · (2 - r) / 1.5`` with r the BDM risk exponent in
  [0.5, 2], so that ``(2 - r) / 1.5`` maps it onto a risk acceptance in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.decisions import DECISION_FIELDS, RULES  # noqa: F401  (re-exported)
from sim.mechanics.escalation import strike_risk
from sim.outcomes import utility

if TYPE_CHECKING:
    from sim.world import Index, World

def logit(p: np.ndarray | float) -> np.ndarray:
    """log(p / (1 - p)), clipped away from 0 and 1."""
    q = np.clip(np.asarray(p, float), 1e-9, 1 - 1e-9)
    return np.log(q / (1 - q))


def choice(base: np.ndarray | float, delta: np.ndarray, precision: np.ndarray | float) -> np.ndarray:
    """Logit choice probability ``σ(logit(base) + precision · delta)`` (McKelvey & Palfrey 1995)."""
    return 1.0 / (1.0 + np.exp(-(logit(base) + precision * delta)))


@dataclass(frozen=True)
class ActorParameters:
    """One actor's parameters, per replica (R,) or (I, R)."""

    index: int
    actor_id: str
    name: str
    resolve: np.ndarray
    risk_exponent: np.ndarray
    war_cost: np.ndarray           #: cost of a month of regional war, in utility units
    base_position: np.ndarray      #: (I, R) baseline preferences: utilities are judged with them
    base_salience: np.ndarray
    spoiler: bool = False


@dataclass(frozen=True)
class DecisionRules:
    """The constants of the actors' decision rules ((R,) arrays of drawn values), the roles they refer to and the
    rules switched off."""

    values: dict[str, np.ndarray]
    index: "Index"
    disabled: frozenset[str] = frozenset()

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def on(self, rule: str) -> bool:
        return rule not in self.disabled

    def role(self, name: str) -> list[int]:
        return self.index.actor_role(name) if name in self.index.roles else []

    def issue(self, name: str) -> int | None:
        return self.index.issue_role(name)[0] if name in self.index.roles else None


class Actor(mesa.Agent):
    """A state or bloc with its preferences and resolve; subclasses add the rules of each actor type."""

    def __init__(self, model: mesa.Model, params: ActorParameters, rules: DecisionRules):
        super().__init__(model)
        self.params = params
        self.rules = rules
        self.index = params.index
        self.actor_id = params.actor_id
        self.name = params.name

    # --- decisions (vectorised over replicas) -----------------------------------------------------------------
    def decide(self, world: "World") -> None:
        """Write this month's propensities into the world (rows of the ``p_*`` fields)."""
        r, a = self.rules, self.index
        world["p_retaliate"][a] = self.retaliation_probability(world["deal"]) if r.on("retaliation") else 0.0
        world["p_counter"][a] = self.counter_escalation_probability() if r.on("counter_escalation") else 0.0

    def retaliation_probability(self, deal_in_force: np.ndarray) -> np.ndarray:
        """P(retaliatory strike) after a proxy attack on this actor: resolve, restrained while a deal holds."""
        r = self.rules
        return r.retaliation * self.params.resolve * np.where(deal_in_force, r.deal_retaliation_restraint, 1.0)

    def counter_escalation_probability(self) -> np.ndarray:
        """P(escalating while fighting): resolve times risk acceptance ((2 - r) / 1.5 in [0, 1])."""
        return self.rules.counter * self.params.resolve * np.clip((2.0 - self.params.risk_exponent) / 1.5, 0.0, 1.0)

    # --- what the actors perceive -----------------------------------------------------------------------------
    def choose(self, base: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """Logit choice with the shared precision."""
        return choice(base, delta, self.rules.precision)

    def threat(self, world: "World") -> np.ndarray:
        """How close Iran's programme is to a bomb (0..1): ``exp(-B / B_T) · (1 - ω · access)``."""
        r = self.rules
        return np.exp(-world["breakout"] / r.threat_breakout_scale) * (1.0 - r.threat_access_weight * world["access"])

    def hope(self, world: "World") -> np.ndarray:
        """The chance it sees of diplomacy solving the nuclear file, by stage of the talks (0 once stalled)."""
        r = self.rules
        stage = world["deal_stage"]
        h = np.select([stage == 1, stage == 2, (stage == 3) | (stage == 4)], [r.hope_talks, r.hope_framework, 1.0], 0.0)
        return np.where(world["stalled"], 0.0, h)

    def strike_risk(self, world: "World") -> np.ndarray:
        """The month's risk of interstate fighting it sees: 1 while fighting, else the strikers' propensities of
        last month combined (what it can see; the actors' order does not matter)."""
        return strike_risk(world["p_strike_before"], self.rules.role("escalation.strikers"), world["strike_level"] > 0)

    def salience_on(self, world: "World", role: str) -> np.ndarray:
        k = self.rules.issue(role)
        return world.salience[self.index, k] if k is not None else np.zeros(world.n_replicas)

    # --- judgements -------------------------------------------------------------------------------------------
    def position(self, world: "World") -> np.ndarray:
        """(I, R) positions on every issue (a view of the world's array)."""
        return world.position[self.index]

    def utility(self, outcome: np.ndarray) -> np.ndarray:
        """(R,) issue utility in [-1, 1] of outcomes (I, R), judged with this actor's *baseline* preferences (the
        registry's utility also subtracts the mean monthly cost of conflict, :func:`sim.outcomes.utility_outcomes`).

        ``u_a = 1 - 2 · sum_k s_ak |O_k - x_ak| / (100 · sum_k s_ak)`` with baseline positions x and saliences s.
        """
        return utility(outcome, self.params.base_position, self.params.base_salience)
