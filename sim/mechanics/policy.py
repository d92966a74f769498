"""Policies in force, apart from declared positions: sanctions on Iran (US, and the UN's by European snapback),
Western support to Ukraine, and the proxy activity Iran actually exercises.

Sources
-------
- Policy implementation lags: declared policy reaches the instruments in force over months (aid pipelines,
  sanctions designations and waivers); the monthly rates are assumptions with ranges.
- UN Security Council resolution 2231 (2015), paragraphs 11-12: any JCPOA participant can trigger the return
  ("snapback") of the UN sanctions; the resolution terminates on 18 October 2025, so the option expires
  ``snapback_deadline`` months after the March 2025 baseline.
- Article 001: a deal "could hardly come about without affecting Iran's proxy operations" — the proxy restraint
  under a deal.

Each month (this project's extension; docs/model.md, "World state"):
- US sanctions ``S ← S + θ_s (T_s - S)``, with T_s the sanctions the sanctioner wants (``sanctions_target``,
  decided by it: :mod:`sim.agents.united_states`), or the deal's terms
  while a deal holds (relief at ``relief_rate``, tightening at ``tighten_rate``);
- snapback: Europe triggers it with the probability it decided (``p_snapback``), until the deadline; once
  triggered the UN sanctions stay in force;
- the sanctions issue in force: ``(1 - w_UN) S + w_UN · 100 · snapback``;
- support to Ukraine ``U ← U + θ_u (T_u - U)``, T_u the capability-weighted mean of the suppliers' positions;
- proxy activity ``P ← P + θ_p (T_p - P)``, T_p the sponsor's chosen target (``proxy_target``, decided by it);
- arms: the supplier delivers advanced arms to the recipient with the probability it decided (``p_arms``); once
  delivered they stay (strikers weigh them in their expected costs, :mod:`sim.agents`).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from sim.knowledge import Share
from sim.mechanics.base import Mechanism, MechanismSpec, Ref, register
from sim import outcomes as names
from sim.outcomes import Outcome
from sim.world import Index, World


def approach(value: np.ndarray, target: np.ndarray, rate: np.ndarray | float) -> np.ndarray:
    """Partial adjustment of a policy in force toward its target."""
    return value + rate * (target - value)


class PolicySpec(MechanismSpec):
    """``mechanics.policy``: which issue each instrument is, who controls it, and its rates."""

    sanctions_issue: str
    sanctioner: str
    snapback_actor: str
    snapback_deadline: int = Field(ge=0)
    un_weight: Share
    tighten_rate: Share
    relief_rate: Share
    support_issue: str
    suppliers: list[str] = Field(min_length=1)
    support_rate: Share
    proxy_issue: str
    proxy_rate: Share
    arms_supplier: str
    arms_recipient: str

    def references(self) -> list[Ref]:
        refs: list[Ref] = [("sanctions_issue", self.sanctions_issue, "issue"), ("sanctioner", self.sanctioner, "actor"),
                           ("snapback_actor", self.snapback_actor, "actor"), ("support_issue", self.support_issue, "issue"),
                           ("proxy_issue", self.proxy_issue, "issue"), ("arms_supplier", self.arms_supplier, "actor"),
                           ("arms_recipient", self.arms_recipient, "actor")]
        return refs + [(f"suppliers.{n}", a, "actor") for n, a in enumerate(self.suppliers)]

    def roles(self) -> dict[str, tuple[str, ...]]:
        return {"policy.sanctions_issue": (self.sanctions_issue,), "policy.support_issue": (self.support_issue,),
                "policy.proxy_issue": (self.proxy_issue,), "policy.sanctioner": (self.sanctioner,),
                "policy.snapback_actor": (self.snapback_actor,)}


@register
class Policy(Mechanism[PolicySpec]):
    """Sanctions, snapback (UNSC resolution 2231), support to Ukraine and proxy activity in force, moving toward
    what their controllers decide (partial adjustment; this project's extension)."""

    name = "policy"
    Spec = PolicySpec
    reads = ("deal", "deal_terms", "p_snapback", "proxy_target", "p_arms", "rung", "sanctions_target")

    @classmethod
    def outcomes(cls, section: PolicySpec, index: Index) -> list[Outcome]:
        return [Outcome(names.SNAPBACK_STEP, "step", "month the UN sanctions were snapped back",
                        lambda w: w["snapback_step"], "world", "int32")]

    def init(self, world: World) -> None:
        ix, s, n = self.index, self.section, world.n_replicas
        self.ks, self.ku, self.kp = ix.i(s.sanctions_issue), ix.i(s.support_issue), ix.i(s.proxy_issue)
        self.sanctioner, self.snapper = ix.a(s.sanctioner), ix.a(s.snapback_actor)
        self.suppliers = [ix.a(a) for a in s.suppliers]
        world.add("sanctions_us", world.initial["world.sanctions_us"].copy())
        world.add("snapback", np.zeros(n, bool))
        world.add("snapback_step", np.full(n, -1, np.int16))
        world.add("ukraine_support", world.initial["world.ukraine_support"].copy())
        world.add("proxy_activity", world.initial["world.proxy_activity"].copy())
        world.add("arms_delivered", np.zeros(n, bool))
        self.supplier = ix.a(s.arms_supplier)
        self.sponsor = ix.actor_role("escalation.sponsor")[0] if "escalation.sponsor" in ix.roles else ix.a(s.arms_recipient)

    def prepare(self, world: World) -> None:
        self._in_force(world)

    def _in_force(self, world: World) -> None:
        w = self.c.un_weight
        world.in_force[self.ks] = (1.0 - w) * world["sanctions_us"] + w * 100.0 * world["snapback"]
        world.in_force[self.ku] = world["ukraine_support"]
        world.in_force[self.kp] = world["proxy_activity"]

    def step(self, world: World) -> None:
        c, t = self.c, world.step
        u, u_arms = self.draw(self.name).uniform(2)
        deal = world["deal"]
        x = world.position
        target = np.where(deal, world["deal_terms"][self.ks], world["sanctions_target"][self.sanctioner])
        rate = np.where(target < world["sanctions_us"], c.relief_rate, c.tighten_rate)
        world["sanctions_us"] = approach(world["sanctions_us"], target, rate)
        open_ = ~world["snapback"] & (t <= self.section.snapback_deadline)
        snap = open_ & (u < world["p_snapback"][self.snapper])
        world["snapback"] = world["snapback"] | snap
        world["snapback_step"] = np.where(snap, t, world["snapback_step"]).astype(np.int16)
        cap = world.capability[self.suppliers]
        supply = (cap * x[self.suppliers, self.ku]).sum(axis=0) / np.maximum(cap.sum(axis=0), 1e-12)
        world["ukraine_support"] = approach(world["ukraine_support"], supply, c.support_rate)
        world["proxy_activity"] = approach(world["proxy_activity"], world["proxy_target"][self.sponsor], c.proxy_rate)
        arms = ~world["arms_delivered"] & (u_arms < world["p_arms"][self.supplier])
        world["arms_delivered"] = world["arms_delivered"] | arms
        self._in_force(world)
        ix = self.index
        self.log.record(arms, t, ix.actors[self.supplier], "arms_transfer",
                        f"{ix.name(self.supplier)} delivers advanced air defences to {ix.name(ix.a(self.section.arms_recipient))}",
                        world["rung"], world["rung"])
        self.log.record(snap, t, ix.actors[self.snapper], "snapback",
                        f"{ix.name(self.snapper)} triggers the snapback of UN sanctions", world["rung"], world["rung"])
