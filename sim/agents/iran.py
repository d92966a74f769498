"""Iran: hedging with the programme, talks under pressure, retaliation, proxies and the Strait of Hormuz.

Rules (docs/model.md, "Actors"; λ the precision, Δ net motives in utility units, m the months of conflict a
failed bargain brings, k Iran's cost of a month of war, r the risk of a strike it sees):
- **talks** (article 001: "severe hardship of economic isolation"; "the Americans can neither be negotiated with
  nor trusted"): ``Δ = s_sanc · S / 100 + k · r · m - (1 - τ'_US)`` — sanctions in force and the threat of force
  push it to the table, distrust (after mediation, τ') holds it back;
- **hedging** (article 004: it "may prefer to use them to wring concessions"; Debs & Monteiro 2014): advance the
  programme with ``Δ = s_nuc · (1 - hope) · S / 100 + η · struck - k · r · m`` — leverage against sanctions while
  diplomacy offers little, harder after being struck (η, Kreps & Fuhrmann 2011), restrained by the fear of a
  strike; never while a deal holds;
- **response** to a strike on its territory (article 004: "two large salvos of ballistic missiles at Israel"):
  ``Δ = resolve - k · g_s`` with g_s the cost weight of sustained strikes;
- **proxies**: the activity it orders is its network's baseline capacity P0, raised toward its declared aim
  while fighting (``proxy_surge``), cut while a deal holds (``proxy_restraint``; article 001: a deal "could
  hardly come about without affecting Iran's proxy operations");
- **Hormuz** (article 002: "the military capabilities to block the strait"): harass with
  ``Δ = s_sanc · (S / 100) · (1 - hope) + resolve · fighting - k``; close (while sustained strikes or war) with
  ``Δ = resolve - k``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.agents.base import Actor

if TYPE_CHECKING:
    from sim.world import World


class Iran(Actor):
    """Hedging, talks under pressure, retaliation, proxies and Hormuz (articles 001, 002, 004)."""

    def decide(self, world: "World") -> None:
        super().decide(world)
        r, p, a = self.rules, self.params, self.index
        ks = r.issue("policy.sanctions_issue")
        sanctions = world.in_force[ks] / 100.0 if ks is not None else np.zeros(world.n_replicas)
        s_sanc = self.salience_on(world, "policy.sanctions_issue")
        risk = self.strike_risk(world)
        expected_cost = p.war_cost * risk * r.conflict_months
        hope = self.hope(world)
        us = r.role("deal.parties")[:1]
        if r.on("talks") and us:
            distrust = 1.0 - world["effective_trust"][a, us[0]]
            world["p_talks"][a] = self.choose(r.talks_base, s_sanc * sanctions + expected_cost - distrust)
        if r.on("hedging"):
            struck = world["nuclear_strike"] | (world["strike_level"] > 0)
            delta = self.salience_on(world, "nuclear.issue") * (1.0 - hope) * sanctions + r.hardening * struck - expected_cost
            world["p_advance"][a] = self.choose(r.advance_base, delta)
        if r.on("response"):
            world["p_respond"][a] = self.choose(r.respond_base, p.resolve - p.war_cost * r.sustained_cost_weight)
        fighting = world["strike_level"] > 0
        kp = r.issue("policy.proxy_issue")
        if kp is not None:
            capacity = world.initial["world.proxy_activity"]
            aim = world.position[a, kp]
            target = capacity.copy()
            if r.on("proxy_surge"):
                target = np.where(fighting, capacity + r.proxy_surge * np.maximum(aim - capacity, 0), target)
            if r.on("proxy_restraint"):
                target = np.where(world["deal"], capacity * (1.0 - r.proxy_restraint), target)
            world["proxy_target"][a] = np.clip(target, 0.0, 100.0)
        if r.on("hormuz"):
            harass = s_sanc * sanctions * (1.0 - hope) + p.resolve * fighting - p.war_cost
            world["p_harass"][a] = self.choose(r.harass_base, harass)
            world["p_close"][a] = self.choose(r.close_base, p.resolve - p.war_cost)
