"""Actors as Mesa agents: one class per actor type, each with its own decision rules (:mod:`sim.agents.base`).

:data:`AGENT_TYPES` maps a knowledge base's actor ids to their classes; an actor it does not list is a plain
:class:`~sim.agents.base.Actor` (retaliation and counter-escalation only), so a knowledge base may add actors
without code.
"""

from sim.agents.base import DECISION_FIELDS, RULES, Actor, ActorParameters, DecisionRules, choice, logit
from sim.agents.iran import Iran
from sim.agents.israel import Israel
from sim.agents.others import Europe, Russia, Turkey
from sim.agents.united_states import UnitedStates

AGENT_TYPES: dict[str, type[Actor]] = {"us": UnitedStates, "israel": Israel, "iran": Iran, "russia": Russia,
                                       "europe": Europe, "turkey": Turkey}

__all__ = ["AGENT_TYPES", "DECISION_FIELDS", "RULES", "Actor", "ActorParameters", "DecisionRules", "Europe", "Iran",
           "Israel", "Russia", "Turkey", "UnitedStates", "choice", "logit"]
