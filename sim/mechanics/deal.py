"""A deal between two parties: talks, framework, signing, implementation — and collapse.

Sources
-------
- Fearon, J. D. (1995). "Rationalist explanations for war." *International Organization* 49(3): because fighting
  is costly, a range of settlements both sides prefer to fighting exists; failing to find it is a matter of
  private information and commitment. Here each party's **disagreement point** is the world it expects without a
  deal — the policies in force and the risk of conflict, costed with its ``war_cost`` — and a framework is
  possible only when the terms beat it for both.
- Kydd, A. (2003). "Which side are you on?" *AJPS* 47(4): a mediator's advice on the other side's resolve, when
  credible (to the side it is biased toward), removes part of the private information that hides the range.
- Beardsley, K. (2008). "Agreement without peace?" *AJPS* 52(4): mediated agreements are less durable once the
  mediator's influence wanes (the extra hazard ``fade_hazard``, :mod:`sim.mechanics.mediation`).
- Putnam, R. D. (1988). "Diplomacy and domestic politics." *International Organization* 42(3): ratification is
  uncertain, and harder under fire.
- Fortna, V. P. (2003). "Scraps of paper?" *International Organization* 57(2): agreements break down more under
  violence.
- George, A. L. (1991). *Forceful Persuasion*: coercive diplomacy pairs an offer with a deadline and a threat;
  ``deadline`` is the ultimatum's term (article 001: "threatening a military option if such an agreement is not
  reached").

Stages (``deal_stage``): 0 none, 1 talks, 2 framework, 3 signed, 4 implemented, 5 collapsed. Each month:
- none or collapsed → talks with the probability the second party decided (``p_talks``, :mod:`sim.agents`);
- the **terms** D on every deal issue are the format's capability × salience weighted mean position (the parties'
  Nash bargaining point, plus a biased mediator's weight ``format_share``, Svensson 2009); party a's **gain** from the deal is
  ``G_a = Σ_k s_ak (|N_k - x_ak| - |D_k - x_ak|) / (100 Σ_k s_ak) + k_a · r · m`` with N the policies in force on the
  deal issues, x and s its current positions and saliences, ``k_a`` its cost of a month of war, r the month's risk
  of interstate fighting without a deal (1 while fighting, else ``1 - Π (1 - p_strike)`` over the strikers) and m
  the months of conflict a failed bargain brings (``decisions.conflict_months``); a **range** exists when both gains are > 0;
- talks → framework, if a range exists, with ``φ · P_p · P_q``, the **hidden range** (Fearon 1995; the form is this
  project's extension): party b's estimate of the other's gain G_a errs by ``σ_ba z`` and it proposes acceptable
  terms with ``P_b = Φ(G_a / σ_ba)``, ``σ_ba = σ0 (1 - τ'_ba)(1 - π_b)`` (τ' trust after mediation, π_b the
  credibility of the mediator's advice to b);
- framework → signed, if the range holds, with ``ratify · (1 - rung / 6)``; without a range it falls back to talks;
- signed → implemented with ``implementation`` a month;
- a strike on the escalation's sponsor (the second party by default) breaks off talks or a framework with
  ``strike_breaks_talks``;
- signed or implemented → collapsed with ``h0 + h1 · max(rung - 2, 0) + h_s · spoiled + h_B λ · [t - t_s ≥ T_B]``
  (the last term: a mediated agreement signed at t_s under leverage λ, once the mediator's incentives fade); a collapse multiplies the
  parties' mutual trust by χ. At signing the proxy track drops ``deescalation`` rungs.
- ``channel``: 0 none (no talks), 1 direct, 2 mediated (the mediation mechanism's mediator) while talks, a
  framework or a deal stand;
- ``stalled``: talks open for more than ``deadline`` months without a framework, or no talks at all past the
  deadline (counted from the baseline, when the offer was made).
The terms are frozen at signing (the gains and Israel's pressure use the current terms before). While a deal holds
the bargained outcome on the deal issues is the terms, and the policies in force move toward them from signing (:mod:`sim.mechanics.nuclear`, :mod:`sim.mechanics.policy`).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field
from scipy.special import ndtr

from sim.knowledge import Multiplier, Share
from sim.mechanics.base import Mechanism, MechanismSpec, Ref, register
from sim import outcomes as names
from sim.outcomes import Outcome
from sim.mechanics.escalation import TOP_RUNG, overall_rung, strike_risk
from sim.world import Index, World

NONE, TALKS, FRAMEWORK, SIGNED, IMPLEMENTED, COLLAPSED = range(6)
STAGES = ("none", "talks", "framework", "signed", "implemented", "collapsed")


def gap(x: np.ndarray, parties: tuple[int, int] | list[int], issues: list[int]) -> np.ndarray:
    """Distance (R,) between the two parties' positions on the core deal issue (the first)."""
    p, q = parties
    return np.abs(x[p, issues[0]] - x[q, issues[0]])


def terms(x: np.ndarray, w: np.ndarray, parties: tuple[int, int] | list[int], issues: list[int],
          share: np.ndarray | None = None) -> np.ndarray:
    """The deal point (len(issues), R): the weighted (w = c·s) mean position of the format on each deal issue — the
    two parties, plus every other actor a with its weight ``share[a] · w_a`` (the mediator at the table, Svensson
    2009; :mod:`sim.mechanics.mediation`). Without ``share`` (or with zero shares) the parties' Nash point."""
    p, q = parties
    wp, wq = w[p][issues], w[q][issues]
    num, den = wp * x[p][issues] + wq * x[q][issues], wp + wq
    if share is not None:
        for a in range(share.shape[0]):
            if a in (p, q) or not share[a].any():
                continue
            wa = share[a] * w[a][issues]
            num, den = num + wa * x[a][issues], den + wa
    return num / np.maximum(den, 1e-12)


def find_probability(gain: np.ndarray, spread: np.ndarray | float) -> np.ndarray:
    """P (R,) that a party uncertain of the other's reservation point proposes terms the other accepts (Fearon
    1995: private information about resolve and the costs of fighting hides the range): its estimate of the
    other's gain from the terms errs by ``σ z``, z standard normal, and it overreaches when it overestimates that
    gain by more than the gain G itself: ``P = Φ(G⁺ / σ)``; 1 when σ = 0 (and G > 0)."""
    spread = np.broadcast_to(np.asarray(spread, float), np.shape(gain))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.maximum(gain, 0.0) / spread
    z = np.where(spread <= 0, np.where(gain > 0, np.inf, 0.0), z)
    return ndtr(z)


def belief_spread(spread: np.ndarray | float, trust: np.ndarray, advice: np.ndarray) -> np.ndarray:
    """b's uncertainty (R,) about a's reservation point: ``σ_ba = σ0 (1 - τ'_ba)(1 - π_b)`` — what is left after a's
    own claims, believed as far as b trusts a, and the mediator's advice on a's resolve, believed with credibility
    π_b (Kydd 2003)."""
    return np.asarray(spread) * (1.0 - trust) * (1.0 - advice)


def gains(x: np.ndarray, s: np.ndarray, point: np.ndarray, no_deal: np.ndarray, parties: list[int],
          issues: list[int], war_cost: np.ndarray, risk: np.ndarray, months: np.ndarray | float) -> np.ndarray:
    """Each party's gain (2, R) from the terms ``point`` over its disagreement point (``no_deal`` on the deal
    issues, plus the expected cost of the conflict a failed bargain risks)."""
    out = []
    for a in parties:
        xa, sa = x[a][issues], s[a][issues]
        issue_gain = (sa * (np.abs(no_deal - xa) - np.abs(point - xa))).sum(axis=0) / (
            100.0 * np.maximum(sa.sum(axis=0), 1e-12))
        out.append(issue_gain + war_cost[a] * risk * months)
    return np.stack(out)


def signing(converged: np.ndarray, in_force: np.ndarray, war: np.ndarray, rung: np.ndarray, u: np.ndarray,
            ratify: np.ndarray | float, top_rung: int) -> np.ndarray:
    """Replicas (R,) in which a deal is signed this month."""
    return converged & ~in_force & ~war & (u < ratify * (1.0 - rung / top_rung))


def collapse(in_force: np.ndarray, rung: np.ndarray, spoiled: np.ndarray, u: np.ndarray, base: np.ndarray | float,
             per_rung: np.ndarray | float, spoiler_hazard: np.ndarray | float = 0.5,
             faded: np.ndarray | float = 0.0) -> np.ndarray:
    """Replicas (R,) in which a deal in force collapses this month; ``faded`` is the extra hazard of a mediated
    agreement whose mediator's incentives have faded (Beardsley 2008)."""
    hazard = base + per_rung * np.maximum(rung - 2, 0) + spoiler_hazard * spoiled + faded
    return in_force & (u < hazard)


class DealSpec(MechanismSpec):
    """``mechanics.deal``: the talks' stages, when a deal is reached, what it does, and when it collapses."""

    parties: list[str] = Field(min_length=2, max_length=2)
    issues: list[str] = Field(min_length=1)
    label: str = Field(min_length=1)
    initial_stage: int = Field(ge=0, le=2)
    deadline: int = Field(ge=0)          #: months: the ultimatum's term
    framework_rate: Share
    belief_spread: Multiplier
    ratify: Share
    implementation: Share
    strike_breaks_talks: Share
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
    """Talks → framework → signed → implemented, or collapsed: a bargaining range from costly conflict (Fearon
    1995), found with the help of trust and mediation (Kydd 2003), ratified under two-level constraints (Putnam
    1988), under a coercive deadline (George 1991), breaking down under violence (Fortna 2003)."""

    name = "deal"
    Spec = DealSpec
    reads = ("rung", "max_rung", "spoiled", "p_talks", "p_strike", "strike_level", "proxy_rung",
             "effective_trust", "war_cost_rate", "nuclear_strike", "struck_sponsor", "conflict_months", "mediated",
             "advice", "format_share", "agreement_hazard", "incentive_fade")

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
            Outcome(names.DEAL_SIGNED_STEP, "step", f"month the {what} was first signed (world state)",
                    lambda w: w["deal_step"], "world", "int32"),
            Outcome("talks_ever", "probability", f"talks on the {what} opened", lambda w: w["talks_step"] >= 0,
                    "deal", "bool"),
        ]

    def init(self, world: World) -> None:
        n = world.n_replicas
        self.parties = self.index.actor_role("deal.parties")
        self.issues = self.index.issue_role("deal.issues")
        self.strikers = (self.index.actor_role("escalation.strikers") if "escalation.strikers" in self.index.roles
                         else [])
        stage0 = self.section.initial_stage
        world.add("deal_stage", np.full(n, stage0, np.int8))
        world.add("deal", np.zeros(n, bool))
        world.add("deal_near", np.full(n, stage0 == FRAMEWORK))
        world.add("deal_step", np.full(n, -1, np.int16))
        world.add("talks_step", np.full(n, 0 if stage0 >= TALKS else -1, np.int16))
        world.add("talks_open", np.full(n, 0, np.int16))        # month the current talks opened
        world.add("deal_broken", np.zeros(n, bool))
        world.add("stalled", np.zeros(n, bool))
        world.add("deal_terms", world.in_force.copy())
        world.add("deal_point", np.zeros((len(self.issues), n)))   # the terms of the format on the table (§7.8)
        world.add("deal_gain", np.zeros((2, n)))
        world.add("channel", np.zeros(n, np.int8))              # 0 none, 1 direct, 2 mediated
        world.add("signed_at", np.full(n, -1, np.int16))        # month the deal in force was signed
        world.add("fade_hazard", np.zeros(n))                   # its extra hazard once the mediator's incentives fade

    def prepare(self, world: World) -> None:
        world["deal_terms"] = world.in_force.copy()
        world["deal_point"] = terms(world.position, world.weight, self.parties, self.issues, world["format_share"])

    def step(self, world: World) -> None:
        c, t = self.c, world.step
        u = self.draw(self.name).uniform(5)
        stage = world["deal_stage"].copy()
        before_stage = stage.copy()
        rung = world["rung"]
        p, q = self.parties
        point = terms(world.position, world.weight, self.parties, self.issues, world["format_share"])
        world["deal_point"] = point
        risk = strike_risk(world["p_strike"], self.strikers, world["strike_level"] > 0)
        g = gains(world.position, world.salience, point, world.in_force[self.issues], self.parties, self.issues,
                  world["war_cost_rate"], risk, world["conflict_months"])
        world["deal_gain"] = g
        in_range = (g > 0).all(axis=0)
        trust, advice = world["effective_trust"], world["advice"]
        info = (find_probability(g[1], belief_spread(c.belief_spread, trust[p, q], advice[p]))
                * find_probability(g[0], belief_spread(c.belief_spread, trust[q, p], advice[q])))
        struck = world["nuclear_strike"] | world["struck_sponsor"]
        # transitions, each from the stage at the start of the month
        opened = ((stage == NONE) | (stage == COLLAPSED)) & (u[0] < world["p_talks"][q])
        framed = (stage == TALKS) & in_range & (u[1] < c.framework_rate * info)
        signed = signing((stage == FRAMEWORK) & in_range, np.zeros_like(in_range), rung >= TOP_RUNG, rung, u[1],
                         c.ratify, TOP_RUNG)
        fell_back = (stage == FRAMEWORK) & ~in_range
        broken_off = ((stage == TALKS) | (stage == FRAMEWORK)) & struck & (u[2] < c.strike_breaks_talks)
        implemented = (stage == SIGNED) & (u[3] < c.implementation)
        in_force = (stage == SIGNED) | (stage == IMPLEMENTED)
        faded = world["fade_hazard"] * ((t - world["signed_at"]) >= world["incentive_fade"])
        broken = collapse(in_force, rung, world["spoiled"], u[4], c.breakdown_base, c.breakdown_escalation,
                          c.spoiler_hazard, faded)
        stage = np.where(opened, TALKS, stage)
        stage = np.where(framed, FRAMEWORK, stage)
        stage = np.where(signed, SIGNED, stage)
        stage = np.where(fell_back, TALKS, stage)
        stage = np.where(broken_off & ~signed, NONE, stage)
        stage = np.where(implemented, IMPLEMENTED, stage)
        stage = np.where(broken, COLLAPSED, stage).astype(np.int8)
        world["deal_stage"] = stage
        world["deal"] = (stage == SIGNED) | (stage == IMPLEMENTED)
        world["deal_near"] = stage == FRAMEWORK
        world["talks_step"] = np.where(opened & (world["talks_step"] < 0), t, world["talks_step"]).astype(np.int16)
        world["deal_step"] = np.where(signed & (world["deal_step"] < 0), t, world["deal_step"]).astype(np.int16)
        world["deal_broken"] = world["deal_broken"] | broken
        world["signed_at"] = np.where(signed, t, world["signed_at"]).astype(np.int16)
        world["fade_hazard"] = np.where(signed, world["agreement_hazard"], world["fade_hazard"])
        world["talks_open"] = np.where(opened, t, world["talks_open"]).astype(np.int16)
        talking = (stage != NONE) & (stage != COLLAPSED)
        world["channel"] = np.where(talking, np.where(world["mediated"], 2, 1), 0).astype(np.int8)
        deadline = self.section.deadline
        world["stalled"] = (((stage == TALKS) & (t - world["talks_open"] > deadline))
                            | (((stage == NONE) | (stage == COLLAPSED)) & (t > deadline)))
        before_rung = rung.copy()
        if self.section.deescalation:
            world["proxy_rung"] = np.where(signed, np.maximum(world["proxy_rung"] - self.section.deescalation, 0),
                                           world["proxy_rung"]).astype(np.int8)
            world["rung"] = overall_rung(world["proxy_rung"], world["strike_level"])
        for a, b in ((p, q), (q, p)):
            world.trust[a, b] *= np.where(broken, c.collapse_trust_retained, 1.0)
        # while a deal holds, its terms are the bargained outcome and the target of the policies in force
        terms_now = world["deal_terms"]
        terms_now[self.issues] = np.where(world["deal"] & ~signed, terms_now[self.issues], point)
        world.outcome[self.issues] = np.where(world["deal"], terms_now[self.issues], world.outcome[self.issues])
        self._log(world, before_stage, opened, framed, signed, broken_off, broken, before_rung)

    def _log(self, world: World, before: np.ndarray, opened: np.ndarray, framed: np.ndarray, signed: np.ndarray,
             broken_off: np.ndarray, broken: np.ndarray, before_rung: np.ndarray) -> None:
        if not self.log.active:
            return
        ix, t, what = self.index, world.step, self.section.label
        p, q = self.parties
        rung = world["rung"]
        self.log.record(opened, t, ix.actors[q], "talks_open", f"{ix.name(q)} agrees to talks with {ix.name(p)}",
                        rung, rung)
        self.log.record(framed, t, ix.actors[p], "framework", f"{ix.name(p)} and {ix.name(q)} agree a framework",
                        rung, rung)
        self.log.record(signed, t, ix.actors[p], "deal_reached", f"{ix.name(p)} and {ix.name(q)} sign the deal ({what})",
                        before_rung, rung)
        self.log.record(broken_off & ~signed, t, ix.actors[q], "talks_broken_off",
                        f"{ix.name(q)} breaks off the talks after a strike", rung, rung)
        self.log.record(broken, t, ix.actors[q], "deal_collapse", f"the deal collapses ({what})", rung, rung)
