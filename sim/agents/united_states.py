"""The United States: coercive diplomacy — an offer, a deadline and a military option; restraint of Israel.

Rules (docs/model.md, "Actors"):
- **coercive deadline** (George 1991, *Forceful Persuasion*; article 001: a letter "threatening a military option
  if such an agreement is not reached"): no US strike while talks are open before the deadline; once the talks
  have **stalled** (past the deadline with no framework), a counter-proliferation strike with
  ``σ(logit(b_s) + λ Δ)``, ``Δ = s_nuc · T · (1 - hope) - k · m · (1 + d · arms) + a_c · resolve`` — the stake in
  the programme's threat T, less the expected cost of the conflict a strike brings, plus the audience cost of
  backing down from a public threat (Fearon 1994);
- **alliance restraint**: while its talks are open and not stalled, Washington restrains Israel
  (:mod:`sim.agents.israel` reads it);
- retaliation after proxy attacks on US forces (article 004: the US "ended up killing" Soleimani after militia
  attacks) and counter-escalation: the base rules.
- **sanctions pressure**: the sanctions it wants in force are its position on the sanctions issue, raised a share
  ``ψ`` of the way to 100 while the talks have stalled (maximum pressure as the stick of coercive diplomacy);
  :mod:`sim.mechanics.policy` moves the sanctions in force toward it (toward the deal's terms while a deal holds).
Support to Ukraine follows the US position on that issue (:mod:`sim.mechanics.policy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.agents.base import Actor

if TYPE_CHECKING:
    from sim.world import World


class UnitedStates(Actor):
    """Coercive diplomacy with a deadline and a military option (George 1991; Fearon 1994)."""

    def decide(self, world: "World") -> None:
        super().decide(world)
        r = self.rules
        if r.on("counter_proliferation") and self.index in r.role("escalation.strikers"):
            world["p_strike"][self.index] = self.strike_probability(world)
        k = r.issue("policy.sanctions_issue")
        if k is not None and self.index in r.role("policy.sanctioner"):
            wanted = world.position[self.index, k]
            if r.on("sanctions_pressure"):
                wanted = np.where(world["stalled"], wanted + r.sanctions_pressure * (100.0 - wanted), wanted)
            world["sanctions_target"][self.index] = wanted

    def strike_probability(self, world: "World") -> np.ndarray:
        r, p = self.rules, self.params
        cost = p.war_cost * r.conflict_months * (1.0 + r.arms_deterrence * world["arms_delivered"])
        delta = self.salience_on(world, "nuclear.issue") * self.threat(world) * (1.0 - self.hope(world)) - cost
        if r.on("coercive_deadline"):
            delta = delta + r.audience_cost * p.resolve
            return np.where(world["stalled"], self.choose(r.strike_base, delta), 0.0)
        return self.choose(r.strike_base, delta)
