"""Spoilers: actors who see a settlement as a threat strike to derail it.

Source
------
- Stedman, S. J. (1997). "Spoiler problems in peace processes." *International Security* 22(2), 5-53: actors
  who see a settlement as a threat act to undermine it, most when it is close or just signed.

Each month, while a deal is near (talks have reached a framework, :mod:`sim.mechanics.deal`) or in force, and
short of regional war, a spoiler strikes with the probability it decided this month (:mod:`sim.agents`: rate ×
resolve × pressure). A strike on the sponsor's nuclear facilities opens the interstate track (limited strikes, 4),
multiplies the second deal party's trust in the first by ``trust_retained`` and marks the month as ``spoiled``
(the deal mechanism adds ``spoiler_hazard`` to the collapse hazard). Each spoiler draws from its own substream.
"""

from __future__ import annotations

import numpy as np

from sim.knowledge import Share
from sim.mechanics.base import Mechanism, MechanismSpec, Ref, register
from sim.mechanics.escalation import TOP_RUNG, open_interstate
from sim.outcomes import Outcome
from sim.world import Index, World


class SpoilersSpec(MechanismSpec):
    """``mechanics.spoilers``: who may strike at a deal, when, and what a strike costs the parties' trust."""

    actors: list[str]
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
    reads = ("deal", "deal_near", "rung", "max_rung", "p_spoil", "strike_level", "proxy_rung", "first_strike_step",
             "struck_sponsor", "nuclear_strike")

    @classmethod
    def streams(cls, section: SpoilersSpec, index: Index) -> list[str]:
        return [f"{cls.name}/{a}" for a in section.actors]

    @classmethod
    def outcomes(cls, section: SpoilersSpec, index: Index) -> list[Outcome]:
        return [Outcome("spoiler_strike", "probability", "a spoiler strike against a deal near or in force",
                        lambda w: w["spoiler_strikes"] > 0, "deal", "bool")]

    def init(self, world: World) -> None:
        world.add("spoiled", np.zeros(world.n_replicas, bool))
        world.add("spoiler_strikes", np.zeros(world.n_replicas, np.int16))
        self.spoilers = self.index.actor_role("spoilers")
        self.parties = self.index.actor_role("deal.parties")

    def step(self, world: World) -> None:
        spoiled = np.zeros(world.n_replicas, bool)
        near = world["deal_near"]
        p, q = self.parties
        for a in self.spoilers:
            actor_id = self.index.actors[a]
            u = self.draw(f"{self.name}/{actor_id}").uniform()
            strike = (near | world["deal"]) & (world["rung"] < TOP_RUNG) & (u < world["p_spoil"][a])
            before, after = open_interstate(world, strike)
            world.trust[q, p] *= np.where(strike, self.c.trust_retained, 1.0)
            spoiled |= strike
            self.log.record(strike, world.step, actor_id, "spoiler_strike",
                            f"{self.index.name(a)} strikes to derail a deal it rejects", before, after)
        world["spoiled"] = spoiled
        world["spoiler_strikes"] = (world["spoiler_strikes"] + spoiled).astype(np.int16)
