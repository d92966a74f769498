"""The escalation ladder: discrete rungs, chance incidents, retaliation, de-escalation.

Sources
-------
- Kahn, H. (1965). *On Escalation: Metaphors and Scenarios*: escalation as a ladder of discrete rungs.
- Brecher, M. & Wilkenfeld, J. (2000). *A Study of Crisis*; ICB data v16 (../shared/data/icb): base rates of
  violence in crises, used to check the ladder's rates (docs/model.md, "Escalation ladder").
- Fearon, J. D. (1994). "Domestic political audiences and the escalation of international disputes."
  *APSR* 88(3): resolve drives retaliation; risk-acceptant actors escalate more.
- Fortna, V. P. (2003). "Scraps of paper? Agreements and the durability of peace." *International Organization*
  57(2): an agreement in force lowers the hazard of renewed violence.

Rungs (:data:`RUNGS`): 0 calm, 1 rhetoric, 2 proxy harassment, 3 proxy attacks on US forces or Israel,
4 limited strikes, 5 sustained strikes, 6 regional war (absorbing within the horizon).
Per month, with uniforms drawn for every replica whether used or not (common random numbers):
- incident: ``P = (λ0 + λ1 · π) · ρ^deal`` with π the sponsor's proxy activity (its position on ``proxy_issue``
  / 100) and ρ the restraint while a deal holds; an incident raises the rung by one, up to rung 3;
- retaliation by the attacked actor (chosen uniformly among targets) with the probability the target decided
  this month (:meth:`sim.agents.Actor.decide`); it raises the rung to at least 4, or by one above 4;
- counter-escalation by the sponsor right after a retaliatory strike, with the probability it decided; +1 rung;
- de-escalation when nothing happened: ``P = δ · (τ0 + τ̄) · (1 + μ · mediated) · (1 + β · deal)`` with τ̄ the
  mean trust between the adversaries; it lowers the rung by one (not from 6);
- trust between adversaries erodes by a factor ``1 - ε · max(rung - 3, 0)``.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np
from pydantic import Field

from sim.knowledge import Multiplier, Share
from sim.mechanics.base import Mechanism, MechanismSpec, Ref, register
from sim import outcomes as names
from sim.outcomes import Outcome
from sim.world import Index, World

#: The escalation ladder (docs/model.md, "Escalation ladder").
RUNGS = ("calm", "rhetoric", "proxy harassment", "proxy attacks on US forces or Israel", "limited strikes",
         "sustained strikes", "regional war")
TOP_RUNG = len(RUNGS) - 1
PROXY_ATTACK_RUNG = 3
STRIKE_RUNG = 4

#: Uniforms per month: incident, target, retaliation, counter-escalation, de-escalation.
N_UNIFORMS = 5


@dataclass
class EscalationEvents:
    """Masks (R,) of what happened this step, for the event log."""

    incident: np.ndarray
    target: np.ndarray        # index into the targets list
    retaliation: np.ndarray
    counter: np.ndarray
    deescalation: np.ndarray
    after_incident: np.ndarray     # the rung after each stage, for the event log
    after_retaliation: np.ndarray
    after_counter: np.ndarray


def step_ladder(rung: np.ndarray, u: np.ndarray, p_incident: np.ndarray, p_retaliate: np.ndarray,
                p_counter: np.ndarray, p_deescalate: np.ndarray) -> tuple[np.ndarray, EscalationEvents]:
    """One month on the ladder. ``u`` (5, R) uniforms; ``p_retaliate`` (T, R) per target; returns the new rung."""
    war = rung >= TOP_RUNG
    n_targets = p_retaliate.shape[0]
    incident = ~war & (u[0] < p_incident)
    target = np.minimum((u[1] * n_targets).astype(np.int64), n_targets - 1)
    p_ret = np.take_along_axis(p_retaliate, target[None, :], axis=0)[0]
    retaliation = incident & (u[2] < p_ret)
    after_incident = np.where(incident & (rung < PROXY_ATTACK_RUNG), rung + 1, rung)
    after_retaliation = np.minimum(np.where(retaliation, np.maximum(after_incident + 1, STRIKE_RUNG),
                                            after_incident), TOP_RUNG)
    counter = retaliation & (u[3] < p_counter)
    after_counter = np.minimum(np.where(counter, after_retaliation + 1, after_retaliation), TOP_RUNG)
    deesc = ~incident & ~war & (after_counter > 0) & (u[4] < p_deescalate)
    new = np.where(deesc, after_counter - 1, after_counter).astype(rung.dtype)
    return new, EscalationEvents(incident, target, retaliation, counter, deesc, after_incident,
                                 after_retaliation, after_counter)


def erode_trust(trust: np.ndarray, adversaries: np.ndarray, rung: np.ndarray, erosion: np.ndarray | float) -> None:
    """In place: trust (A, A, R) between adversary pairs (A, A) bool decays with rungs above proxy attacks."""
    factor = 1.0 - erosion * np.maximum(rung - PROXY_ATTACK_RUNG, 0)
    trust[adversaries] *= np.clip(factor, 0.0, 1.0)


def raise_to(world: World, mask: np.ndarray, rung: int) -> tuple[np.ndarray, np.ndarray]:
    """Raise the rung to at least ``rung`` where ``mask``; returns (before, after). For other mechanisms' strikes."""
    before = world["rung"].copy()
    world["rung"] = np.where(mask, np.maximum(before, rung), before).astype(np.int8)
    world["max_rung"] = np.maximum(world["max_rung"], world["rung"])
    return before, world["rung"]


class EscalationSpec(MechanismSpec):
    """``mechanics.escalation``: the ladder's rates (docs/model.md, "Escalation ladder")."""

    initial_rung: int = Field(ge=0, le=TOP_RUNG)
    proxy_sponsor: str
    proxy_issue: str | None
    targets: list[str] = Field(min_length=1)
    incident_base: Share
    incident_proxy: Share
    deal_restraint: Share
    deescalation: Share
    deescalation_trust_offset: Multiplier
    mediation_deescalation_boost: Multiplier
    deal_deescalation_boost: Multiplier
    trust_erosion: Share

    def references(self) -> list[Ref]:
        refs: list[Ref] = [("proxy_sponsor", self.proxy_sponsor, "actor"), ("proxy_issue", self.proxy_issue, "issue")]
        return refs + [(f"targets.{n}", t, "actor") for n, t in enumerate(self.targets)]


@register
class Escalation(Mechanism[EscalationSpec]):
    """The escalation ladder (Kahn 1965) with chance incidents; rates checked against ICB (Brecher &
    Wilkenfeld 2000); resolve-driven retaliation (Fearon 1994); restraint under agreements (Fortna 2003)."""

    name = "escalation"
    Spec = EscalationSpec
    reads = ("deal", "mediated", "p_retaliate", "p_counter")

    @classmethod
    def outcomes(cls, section: EscalationSpec, index: Index) -> list[Outcome]:
        return [
            Outcome(names.MAX_RUNG, "rung", "highest rung reached", lambda w: w["max_rung"], "escalation", "int8"),
            Outcome(names.FINAL_RUNG, "rung", "rung at the end", lambda w: w["rung"], "escalation", "int8"),
            Outcome(names.WAR, "probability", "regional war", lambda w: w["max_rung"] >= TOP_RUNG, "escalation", "bool"),
        ]

    def init(self, world: World) -> None:
        rung0 = np.full(world.n_replicas, self.section.initial_rung, dtype=np.int8)
        world.add("rung", rung0)
        world.add("max_rung", rung0.copy())
        ix, s = self.index, self.section
        self.sponsor = ix.a(s.proxy_sponsor)
        self.targets = [ix.a(t) for t in s.targets]
        self.proxy_issue = ix.i(s.proxy_issue) if s.proxy_issue is not None else None
        self.adversaries = ix.adversaries

    def step(self, world: World) -> None:
        c, n = self.c, world.n_replicas
        u = self.draw(self.name).uniform(N_UNIFORMS)
        deal = world["deal"]
        proxy = (world.position[self.sponsor, self.proxy_issue] / 100.0 if self.proxy_issue is not None
                 else np.full(n, 0.5))
        p_incident = (c.incident_base + c.incident_proxy * proxy) * np.where(deal, c.deal_restraint, 1.0)
        p_ret = world["p_retaliate"][self.targets]
        p_counter = world["p_counter"][self.sponsor]
        mean_trust = (world.trust[self.adversaries].mean(axis=0) if self.adversaries.any() else np.ones(n))
        p_deesc = np.clip(c.deescalation * (c.deescalation_trust_offset + mean_trust)
                          * (1.0 + c.mediation_deescalation_boost * world["mediated"])
                          * (1.0 + c.deal_deescalation_boost * deal), 0.0, 1.0)
        before = world["rung"].copy()
        rung, ev = step_ladder(before, u, p_incident, p_ret, p_counter, p_deesc)
        world["rung"] = rung
        world["max_rung"] = np.maximum(world["max_rung"], rung)
        erode_trust(world.trust, self.adversaries, rung, c.trust_erosion)
        self._log(world, ev, before)

    def _log(self, world: World, ev: EscalationEvents, before: np.ndarray) -> None:
        if not self.log.active:
            return
        ix, t = self.index, world.step
        sponsor, sid = ix.name(self.sponsor), ix.actors[self.sponsor]
        for k, target in enumerate(self.targets):
            hit = ev.incident & (ev.target == k)
            self.log.record(hit, t, sid, "militia_attack", f"{sponsor}-backed militia attack on {ix.name(target)}",
                            before, ev.after_incident)
            self.log.record(hit & ev.retaliation, t, ix.actors[target], "retaliatory_strike",
                            f"{ix.name(target)} retaliatory strike on {sponsor}-backed militias",
                            ev.after_incident, ev.after_retaliation)
        self.log.record(ev.counter, t, sid, "counter_escalation", f"{sponsor} counter-escalates",
                        ev.after_retaliation, ev.after_counter)
        self.log.record(ev.deescalation, t, "", "de_escalation", "tensions ease by one rung", before, world["rung"])
