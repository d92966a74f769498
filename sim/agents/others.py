"""Russia, Europe and Turkey: the mediator-partner, the snapback holder and the balancer.

Rules (docs/model.md, "Actors"):
- **Russia — arms** (article 002: the Russia-Iran arms deal; article 004: "Tehran also provided Russia with
  drones"): delivers advanced arms (air defence) to Iran with ``Δ = A_RU,IR - τ_RU,US`` — its alignment with Iran
  against the trust it places in Washington (a bargain with the US makes it less likely); delivered arms raise
  the strikers' expected costs by ``1 + d`` (``arms_deterrence``). Its mediation is a scenario lever
  (``mechanics.mediation``), and its refusal to decouple from Iran bounds the brokered exchange (``leverage``).
- **Europe — snapback** (UNSC resolution 2231; article 001: "the involvement of Europeans in the conclusion of the
  2015 nuclear agreement"): triggers the return of UN sanctions with
  ``Δ = s_nuc · T · (1 - hope) · t / t_deadline`` — the programme's threat while diplomacy offers little, more
  urgent as the October 2025 expiry nears; never while a framework or deal stands. Its support to Ukraine follows
  its position (:mod:`sim.mechanics.policy`).
- **Turkey — balancing** (Walt 1987, *The Origins of Alliances*; article 002: Russia uses Turkey "to pressure the
  Europeans and NATO"): each month its alignments with the US and with Russia move a share ``β_b`` of the way
  toward their mean, keeping it between the two camps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.agents.base import Actor

if TYPE_CHECKING:
    from sim.world import World


class Russia(Actor):
    """Arms for its partner (articles 002, 004); mediation is a scenario lever."""

    def decide(self, world: "World") -> None:
        super().decide(world)
        r, a = self.rules, self.index
        partner = r.role("nuclear.owner")
        us = r.role("deal.parties")[:1]
        if r.on("arms") and partner and us:
            delta = world.alignment[a, partner[0]] - world.trust[a, us[0]]
            world["p_arms"][a] = self.choose(r.arms_base, delta)


class Europe(Actor):
    """The snapback of UN sanctions (UNSC resolution 2231; article 001)."""

    def decide(self, world: "World") -> None:
        super().decide(world)
        r = self.rules
        if r.on("snapback") and self.index in r.role("policy.snapback_actor"):
            urgency = np.minimum(world.step / np.maximum(r.snapback_deadline, 1.0), 1.0)
            delta = self.salience_on(world, "nuclear.issue") * self.threat(world) * (1.0 - self.hope(world)) * urgency
            standing = (world["deal_stage"] == 2) | world["deal"]
            world["p_snapback"][self.index] = np.where(standing, 0.0, self.choose(r.snapback_base, delta))


class Turkey(Actor):
    """Balancing between NATO and Russia (Walt 1987; article 002)."""

    def decide(self, world: "World") -> None:
        super().decide(world)
        r, a, ix = self.rules, self.index, self.rules.index
        if not r.on("balancing") or "us" not in ix.actors or "russia" not in ix.actors:
            return
        us, ru = ix.a("us"), ix.a("russia")
        mean = (world.alignment[a, us] + world.alignment[a, ru]) / 2.0
        for b in (us, ru):
            new = world.alignment[a, b] + r.balancing_rate * (mean - world.alignment[a, b])
            world.alignment[a, b] = new
            world.alignment[b, a] = new
