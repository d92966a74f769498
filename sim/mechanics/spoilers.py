"""Spoilers: actors who see a settlement as a threat strike to derail it.

Source
------
- Stedman, S. J. (1997). "Spoiler problems in peace processes." *International Security* 22(2), 5-53: actors
  who see a settlement as a threat act to undermine it, most when it is close or just signed.

Each month, while a deal is near (the parties' gap on the core deal issue within ``window`` × the deal's
tolerance) or in force, and short of regional war, a spoiler strikes with the probability it decided this month
(:meth:`sim.agents.Actor.decide`: rate × resolve × pressure). A strike raises the rung to limited strikes (4),
multiplies the second deal party's trust in the first by ``trust_retained`` and marks the month as ``spoiled``
(the deal mechanism adds ``spoiler_hazard`` to the collapse hazard). Each spoiler draws from its own substream.
"""

from __future__ import annotations

import numpy as np

from sim.knowledge import Multiplier, Share
from sim.mechanics.base import Mechanism, MechanismSpec, Ref, register
from sim.mechanics.escalation import STRIKE_RUNG, TOP_RUNG, raise_to
from sim.world import Index, World


class SpoilersSpec(MechanismSpec):
    """``mechanics.spoilers``: who may strike at a deal, when, and what a strike costs the parties' trust."""

    actors: list[str]
    window: Multiplier
    trust_retained: Share

    def references(self) -> list[Ref]:
        return [(f"actors.{n}", a, "actor") for n, a in enumerate(self.actors)]

    def roles(self) -> dict[str, tuple[str, ...]]:
        return {"spoilers": tuple(self.actors)}


@register
class Spoilers(Mechanism[SpoilersSpec]):
    """Spoiler strikes against a deal that is near or in force (Stedman 1997)."""

    name = "spoilers"
    Spec = SpoilersSpec
    reads = ("deal", "deal_gap", "deal_tolerance", "rung", "max_rung", "p_spoil")

    @classmethod
    def streams(cls, section: SpoilersSpec, index: Index) -> list[str]:
        return [f"{cls.name}/{a}" for a in section.actors]

    def init(self, world: World) -> None:
        world.add("spoiled", np.zeros(world.n_replicas, bool))
        self.spoilers = self.index.actor_role("spoilers")
        self.parties = self.index.actor_role("deal.parties")

    def step(self, world: World) -> None:
        spoiled = np.zeros(world.n_replicas, bool)
        near = world["deal_gap"] <= self.c.window * world["deal_tolerance"]
        p, q = self.parties
        for a in self.spoilers:
            actor_id = self.index.actors[a]
            u = self.draw(f"{self.name}/{actor_id}").uniform()
            strike = (near | world["deal"]) & (world["rung"] < TOP_RUNG) & (u < world["p_spoil"][a])
            before, after = raise_to(world, strike, STRIKE_RUNG)
            world.trust[q, p] *= np.where(strike, self.c.trust_retained, 1.0)
            spoiled |= strike
            self.log.record(strike, world.step, actor_id, "spoiler_strike",
                            f"{self.index.name(a)} strikes to derail a deal it rejects", before, after)
        world["spoiled"] = spoiled
