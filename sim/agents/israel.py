"""Israel: counter-proliferation strikes and the spoiler's role against a deal it rejects.

Rules (docs/model.md, "Actors"):
- **counter-proliferation** (Fuhrmann & Kreps 2010, "Targeting nuclear programs in war and peace", *JCR* 54(6):
  strikes come when programmes near a weapon and the attacker is in conflict with the proliferator; Debs &
  Monteiro 2014, "Known unknowns", *IO* 68(1): prevention is likelier the less the attacker can see — access):
  ``σ(logit(b_s) + λ Δ)`` with ``Δ = s_nuc · T · (1 - hope · (1 - pressure)) - k · m · (1 + d · arms) - ρ_US · A_US``:
  the stake in the programme's threat T (rising as breakout shortens and access falls), discounted by the hope it
  places in US diplomacy — less for a deal it rejects (pressure, below) — minus the expected cost of the
  conflict, minus the **restraint** of its ally (alignment A_US with the US, while the US's talks are open and not
  stalled). Article 001: Israel "would certainly not want to compromise".
- **spoiling** (Stedman 1997): ``σ_sp · resolve · pressure`` while a framework is agreed or a deal holds, with
  ``pressure = clip(g · Σ_k s_k (|D_k - x_k| - |O_k - x_k|) / (100 Σ_k s_k), 0, 1)`` the salience-weighted loss if
  the deal terms D replaced the outcome in force O on the deal issues; D are the terms of the format at the table
  (the parties and a mediator, :func:`sim.mechanics.deal.terms`), so a mediator biased toward Iran that tilts them
  raises Israel's loss, and with it its readiness to spoil.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.agents.base import Actor

if TYPE_CHECKING:
    from sim.world import World


class Israel(Actor):
    """Counter-proliferation strikes (Fuhrmann & Kreps 2010; Debs & Monteiro 2014) and spoiling (Stedman 1997)."""

    def decide(self, world: "World") -> None:
        super().decide(world)
        r = self.rules
        pressure = self.deal_pressure(world)
        if self.params.spoiler and r.on("spoiling"):
            world["p_spoil"][self.index] = r.spoiler_rate * self.params.resolve * pressure
        if r.on("counter_proliferation") and self.index in r.role("escalation.strikers"):
            world["p_strike"][self.index] = self.strike_probability(world, pressure)

    def strike_probability(self, world: "World", pressure: np.ndarray) -> np.ndarray:
        r, p = self.rules, self.params
        cost = p.war_cost * r.conflict_months * (1.0 + r.arms_deterrence * world["arms_delivered"])
        stake = self.salience_on(world, "nuclear.issue") * self.threat(world)
        delta = stake * (1.0 - self.hope(world) * (1.0 - pressure)) - cost
        ally = r.role("deal.parties")[:1]
        if r.on("alliance_restraint") and ally:
            talking = ((world["deal_stage"] == 1) | (world["deal_stage"] == 2)) & ~world["stalled"]
            delta = delta - r.alliance_restraint * np.clip(world.alignment[ally[0], self.index], 0, 1) * talking
        return self.choose(r.strike_base, delta)

    def deal_pressure(self, world: "World") -> np.ndarray:
        """How much it loses (0..1, R) if the deal terms replace the outcome in force on the deal issues."""
        r, a = self.rules, self.index
        parties, issues = r.role("deal.parties"), r.index.issue_role("deal.issues") if "deal.issues" in r.index.roles else []
        if len(parties) != 2 or not issues:
            return np.zeros(world.n_replicas)
        point = world["deal_point"]                  # the deal mechanism's terms of the format, last month
        now = world.in_force[issues]
        x, s = world.position[a, issues], world.salience[a, issues]
        loss = (s * (np.abs(point - x) - np.abs(now - x))).sum(axis=0) / 100.0
        return np.clip(loss / np.maximum(s.sum(axis=0), 1e-12) * r.spoiler_gain, 0.0, 1.0)
