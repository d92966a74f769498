"""A deal between two parties: convergence, signing, effects and collapse.

Sources
-------
- Putnam, R. D. (1988). "Diplomacy and domestic politics: the logic of two-level games." *International
  Organization* 42(3): agreement needs overlapping acceptable sets; ratification is uncertain.
- Fortna, V. P. (2003). "Scraps of paper? Agreements and the durability of peace." *International Organization*
  57(2): agreements lower the hazard of renewed fighting; they break down more under violence.

A deal is signed in replica r when the parties' positions on the core issue (the first deal issue) have converged
within ``tolerance`` — in the bargaining model a position is what an actor is willing to accept — and a chance
ratification succeeds, ``P = ratify · (1 - rung / 6)`` (two-level games: the harder the fighting, the harder to
sell a deal at home). Its terms on every deal issue are the two parties' Nash bargaining point, the capability ×
salience weighted mean of their positions, ``D_k = (w_pk x_pk + w_qk x_qk) / (w_pk + w_qk)``. While it holds, the
outcome on the deal issues is the terms (other mechanisms read ``deal``: proxy restraint, de-escalation), and the
rung drops by ``deescalation`` at signing. Each month it collapses with
``P = h0 + h1 · max(rung - 2, 0) + h_s · spoiled``; a collapse multiplies the parties' mutual trust by ``χ``.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from sim.knowledge import Percent, Share
from sim.mechanics.base import Mechanism, MechanismSpec, Ref, register
from sim import outcomes as names
from sim.outcomes import Outcome
from sim.mechanics.escalation import TOP_RUNG
from sim.world import Index, World


def gap(x: np.ndarray, parties: tuple[int, int] | list[int], issues: list[int]) -> np.ndarray:
    """Distance (R,) between the two parties' positions on the core deal issue (the first)."""
    p, q = parties
    return np.abs(x[p, issues[0]] - x[q, issues[0]])


def terms(x: np.ndarray, w: np.ndarray, parties: tuple[int, int] | list[int], issues: list[int]) -> np.ndarray:
    """The deal point (len(issues), R): the parties' weighted (w = c·s) mean position on each deal issue."""
    p, q = parties
    wp, wq = w[p][issues], w[q][issues]
    return (wp * x[p][issues] + wq * x[q][issues]) / np.maximum(wp + wq, 1e-12)


def signing(converged: np.ndarray, in_force: np.ndarray, war: np.ndarray, rung: np.ndarray, u: np.ndarray,
            ratify: np.ndarray | float, top_rung: int) -> np.ndarray:
    """Replicas (R,) in which a deal is signed this month."""
    return converged & ~in_force & ~war & (u < ratify * (1.0 - rung / top_rung))


def collapse(in_force: np.ndarray, rung: np.ndarray, spoiled: np.ndarray, u: np.ndarray, base: np.ndarray | float,
             per_rung: np.ndarray | float, spoiler_hazard: np.ndarray | float = 0.5) -> np.ndarray:
    """Replicas (R,) in which a deal in force collapses this month."""
    hazard = base + per_rung * np.maximum(rung - 2, 0) + spoiler_hazard * spoiled
    return in_force & (u < hazard)


class DealSpec(MechanismSpec):
    """``mechanics.deal``: when a deal is reached, what it does, and when it collapses."""

    parties: list[str] = Field(min_length=2, max_length=2)
    issues: list[str] = Field(min_length=1)
    label: str = Field(min_length=1)
    tolerance: Percent
    ratify: Share
    deescalation: int = Field(ge=0, le=TOP_RUNG)
    breakdown_base: Share
    breakdown_escalation: Share
    spoiler_hazard: Share
    collapse_trust_retained: Share

    def references(self) -> list[Ref]:
        refs: list[Ref] = [(f"parties.{n}", a, "actor") for n, a in enumerate(self.parties)]
        return refs + [(f"issues.{n}", i, "issue") for n, i in enumerate(self.issues)]

    def check(self, actors: list[str], issues: list[str]) -> str | None:
        if self.parties[0] == self.parties[1]:
            return f"parties: got {self.parties!r}; allowed: two different actors"
        return None

    def roles(self) -> dict[str, tuple[str, ...]]:
        return {"deal.parties": tuple(self.parties), "deal.issues": tuple(self.issues)}


@register
class Deal(Mechanism[DealSpec]):
    """Signing and collapse of a deal: two-level ratification (Putnam 1988), durability of agreements under
    violence (Fortna 2003); terms at the parties' Nash bargaining point (the weighted mean)."""

    name = "deal"
    Spec = DealSpec
    reads = ("rung", "max_rung", "spoiled")

    @classmethod
    def outcomes(cls, section: DealSpec, index: Index) -> list[Outcome]:
        what = section.label
        return [
            Outcome(names.DEAL, "probability", f"{what} in force at the end", lambda w: w["deal"], "deal", "bool"),
            Outcome(names.DEAL_EVER, "probability", f"{what} ever signed", lambda w: w["deal_step"] >= 0, "deal", "bool"),
            Outcome(names.DEAL_BROKEN, "probability", f"{what} signed, then collapsed", lambda w: w["deal_broken"],
                    "deal", "bool"),
            Outcome(names.DEAL_STEP, "step", f"month the {what} was first signed", lambda w: w["deal_step"], "deal",
                    "int32"),
        ]

    def init(self, world: World) -> None:
        n = world.n_replicas
        self.parties = self.index.actor_role("deal.parties")
        self.issues = self.index.issue_role("deal.issues")
        world.add("deal", np.zeros(n, bool))
        world.add("deal_step", np.full(n, -1, np.int16))
        world.add("deal_broken", np.zeros(n, bool))
        world.add("deal_gap", gap(world.position, self.parties, self.issues))
        world.add("deal_tolerance", np.broadcast_to(np.asarray(self.c.tolerance, float), (n,)).copy())

    def step(self, world: World) -> None:
        c = self.c
        u = self.draw(self.name).uniform(2)
        rung = world["rung"]
        war = rung >= TOP_RUNG
        world["deal_gap"] = gap(world.position, self.parties, self.issues)
        converged = world["deal_gap"] <= c.tolerance
        in_force = world["deal"]
        signed = signing(converged, in_force, war, rung, u[0], c.ratify, TOP_RUNG)
        broken = collapse(in_force, rung, world["spoiled"], u[1], c.breakdown_base, c.breakdown_escalation,
                          c.spoiler_hazard)
        before = rung.copy()
        world["rung"] = np.where(signed, np.maximum(rung - self.section.deescalation, 0), rung).astype(np.int8)
        world["deal_step"] = np.where(signed & (world["deal_step"] < 0), world.step, world["deal_step"]
                                      ).astype(np.int16)
        world["deal"] = (in_force | signed) & ~broken
        world["deal_broken"] = world["deal_broken"] | broken
        p, q = self.parties
        for a, b in ((p, q), (q, p)):
            world.trust[a, b] *= np.where(broken, c.collapse_trust_retained, 1.0)
        point = terms(world.position, world.weight, self.parties, self.issues)
        world.outcome[self.issues] = np.where(world["deal"], point, world.outcome[self.issues])
        ix = self.index
        self.log.record(signed, world.step, ix.actors[p], "deal_reached",
                        f"{ix.name(p)} and {ix.name(q)} sign the deal ({self.section.label})", before, world["rung"])
        self.log.record(broken, world.step, ix.actors[q], "deal_collapse", f"the deal collapses ({self.section.label})",
                        world["rung"], world["rung"])
