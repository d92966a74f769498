"""The crisis: two escalation tracks (proxy and interstate), actors' choices, chance incidents, war termination and
the costs of conflict.

Sources
-------
- Kahn, H. (1965). *On Escalation: Metaphors and Scenarios*: escalation as a ladder of discrete rungs.
- Fearon, J. D. (1995). "Rationalist explanations for war." *International Organization* 49(3): war is costly, so
  it is a failure of bargaining; the costs enter every actor's utility (:data:`WAR_COST`) and the deal's
  disagreement points (:mod:`sim.mechanics.deal`). Powell, R. (2006). "War as a commitment problem."
  *International Organization* 60(1): large, rapid shifts of power (here: Iran's breakout time) make preventive
  strikes attractive — the strike decisions of :mod:`sim.agents`.
- Fearon, J. D. (1994). "Domestic political audiences and the escalation of international disputes." *APSR*
  88(3): resolve drives retaliation; risk-acceptant actors escalate more.
- Brecher, M. & Wilkenfeld, J. (2000). *A Study of Crisis*; ICB v16 durations (../shared/data/icb): the monthly
  hazards of ending limited strikes, sustained strikes and war (``termination_*``), from the median
  trigger-to-termination days of crises with minor clashes, serious clashes and full-scale war.
- Fortna, V. P. (2003). "Scraps of paper?" *International Organization* 57(2): agreements restrain violence.

Tracks (the overall ``rung`` 0..6 of :data:`RUNGS` is the maximum of the two):
- **proxy** 0..4: calm, rhetoric, proxy harassment, proxy attacks on US forces or Israel, retaliatory strikes on
  the proxies. A chance incident ``P = (λ0 + λ1 · π) · ρ^deal`` (π the proxy activity Iran actually exercises,
  ``world["proxy_activity"] / 100``) raises it by one up to 3; the attacked target (drawn uniformly) retaliates
  with the probability it decided (rung 4 on the proxy track); the sponsor then counter-escalates with the
  probability it decided — a **direct strike** that opens the interstate track. Without an incident the proxy
  track calms by one with ``δ (τ0 + τ̄) (1 + β · deal)`` (a mediator calms only through the deals it helps reach).
- **interstate** level L 0..3 (rung 0, 4, 5, 6: limited strikes, sustained strikes, regional war; a crisis that
  starts at L ≥ 1 starts with the sponsor's response pending): a strike is a choice — a counter-proliferation strike by a striker (``p_strike``, decided by the actor), a spoiler strike
  (:mod:`sim.mechanics.spoilers`) or the sponsor's counter-escalation. The struck sponsor responds with the
  probability it decided (``p_respond``), in kind (a limited strike at least: the exchanges of April and October
  2024 stayed limited); fighting already under way that the sponsor did not answer this month escalates (+1) with the larger of the two sides' counter-escalation propensities; then the
  fighting ends with the hazard ``h_L`` of the level reached (so it can end in the month it started). A spoiler
  strike opens the track after this step; its month is costed from the next. ``first_strike_step`` is the first
  month in which someone struck across a border (a strike chosen, the sponsor's direct strike or response, an
  escalation), not a month of fighting that merely went on.
- **costs**: each month every actor pays ``k_a · g(rung)`` (``k_a`` its ``war_cost`` from the knowledge base,
  g = ``cost_weights`` by rung, 1 at regional war), accumulated in ``war_cost`` (A, R).
- trust between adversaries erodes by ``1 - ε · max(rung - 3, 0)`` a month.
"""

from __future__ import annotations

from collections.abc import Callable

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
#: The interstate track's levels map onto the ladder's top rungs.
LEVEL_RUNG = np.array([0, STRIKE_RUNG, STRIKE_RUNG + 1, TOP_RUNG], np.int8)
TOP_LEVEL = 3

#: Uniforms per month on the escalation stream: incident, target, retaliation, counter, proxy calming,
#: sponsor's response, termination, escalation.
N_UNIFORMS = 8


def strike_risk(p_strike: np.ndarray, strikers: list[int], fighting: np.ndarray) -> np.ndarray:
    """(R,) the month's risk of interstate fighting: 1 while fighting, else ``1 - Π_s (1 - p_strike[s])`` over the
    strikers' propensities (A, R). The deal's disagreement point and the actors' judgements both use it."""
    calm = np.ones(fighting.shape)
    for s in strikers:
        calm = calm * (1.0 - p_strike[s])
    return np.where(fighting, 1.0, 1.0 - calm)


def overall_rung(proxy: np.ndarray, level: np.ndarray) -> np.ndarray:
    """The ladder's rung (R,): the higher of the proxy track and the interstate level's rung."""
    return np.maximum(proxy, LEVEL_RUNG[level]).astype(np.int8)


def step_proxy_track(proxy: np.ndarray, u: np.ndarray, p_incident: np.ndarray, p_retaliate: np.ndarray,
                     p_counter: np.ndarray, p_calm: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One month of the proxy track: returns (new proxy rung, the sponsor's direct strike (R,), events)."""
    n_targets = p_retaliate.shape[0]
    incident = u[0] < p_incident
    target = np.minimum((u[1] * n_targets).astype(np.int64), n_targets - 1)
    p_ret = np.take_along_axis(p_retaliate, target[None, :], axis=0)[0]
    retaliation = incident & (u[2] < p_ret)
    counter = retaliation & (u[3] < p_counter)
    new = np.where(incident & (proxy < PROXY_ATTACK_RUNG), proxy + 1, proxy)
    new = np.where(retaliation, STRIKE_RUNG, new)
    calming = ~incident & (new > 0) & (u[4] < p_calm)
    new = np.where(calming, new - 1, new).astype(np.int8)
    return new, counter, {"incident": incident, "target": target, "retaliation": retaliation, "counter": counter,
                          "calming": calming}


def step_interstate(level: np.ndarray, u: np.ndarray, opened: np.ndarray, struck_sponsor: np.ndarray,
                    p_respond: np.ndarray, p_escalate: np.ndarray, hazard: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One month of the interstate track.

    ``opened`` (R,) strikes that start or continue the fighting this month (level at least 1); ``struck_sponsor``
    those that hit the sponsor, who then answers in kind (tit for tat: the level at least 1) with ``p_respond``;
    fighting under way (level ≥ 1 before the month) escalates (+1) with ``p_escalate``; then it ends with the hazard
    ``hazard`` (3, R) of the level reached.
    """
    ongoing = level > 0
    new = np.where(opened, np.maximum(level, 1), level)
    response = struck_sponsor & (u[0] < p_respond)
    new = np.where(response, np.maximum(new, 1), new)
    escalated = ongoing & ~response & (u[1] < p_escalate)
    new = np.minimum(np.where(escalated, new + 1, new), TOP_LEVEL)
    h = np.take_along_axis(hazard, np.maximum(new - 1, 0)[None, :].astype(np.int64), axis=0)[0]
    ended = (new > 0) & (u[2] < h)
    new_level = np.where(ended, 0, new).astype(np.int8)
    return new_level, {"response": response, "escalated": escalated, "ended": ended, "reached": new.astype(np.int8)}


def erode_trust(trust: np.ndarray, adversaries: np.ndarray, rung: np.ndarray, erosion: np.ndarray | float) -> None:
    """In place: trust (A, A, R) between adversary pairs (A, A) bool decays with rungs above proxy attacks."""
    factor = 1.0 - erosion * np.maximum(rung - PROXY_ATTACK_RUNG, 0)
    trust[adversaries] *= np.clip(factor, 0.0, 1.0)


def open_interstate(world: World, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Open the interstate track (level ≥ 1) where ``mask``, for other mechanisms' strikes on the sponsor's nuclear
    facilities (spoilers): the sponsor responds at the next step. Returns the rung (before, after)."""
    before = world["rung"].copy()
    world["strike_level"] = np.where(mask, np.maximum(world["strike_level"], 1), world["strike_level"]).astype(np.int8)
    world["rung"] = overall_rung(world["proxy_rung"], world["strike_level"])
    world["max_rung"] = np.maximum(world["max_rung"], world["rung"])
    world["first_strike_step"] = np.where(mask & (world["first_strike_step"] < 0), world.step,
                                          world["first_strike_step"]).astype(np.int16)
    world["struck_sponsor"] |= mask
    world["nuclear_strike"] |= mask
    return before, world["rung"]


class EscalationSpec(MechanismSpec):
    """``mechanics.escalation``: the two tracks' rates, termination hazards and costs (docs/model.md)."""

    initial_rung: int = Field(ge=0, le=TOP_RUNG)
    proxy_sponsor: str
    targets: list[str] = Field(min_length=1)
    strikers: list[str]
    incident_base: Share
    incident_proxy: Share
    deal_restraint: Share
    deescalation: Share
    deescalation_trust_offset: Multiplier
    deal_deescalation_boost: Multiplier
    trust_erosion: Share
    termination_limited: Share
    termination_sustained: Share
    termination_war: Share
    cost_proxy: Share
    cost_limited: Share
    cost_sustained: Share

    def references(self) -> list[Ref]:
        refs: list[Ref] = [("proxy_sponsor", self.proxy_sponsor, "actor")]
        refs += [(f"strikers.{n}", t, "actor") for n, t in enumerate(self.strikers)]
        return refs + [(f"targets.{n}", t, "actor") for n, t in enumerate(self.targets)]

    def roles(self) -> dict[str, tuple[str, ...]]:
        return {"escalation.sponsor": (self.proxy_sponsor,), "escalation.strikers": tuple(self.strikers),
                "escalation.targets": tuple(self.targets)}

    def check(self, actors: list[str], issues: list[str]) -> str | None:
        if self.proxy_sponsor in self.strikers:
            return f"strikers: got {self.strikers!r}; allowed: actors other than the proxy sponsor {self.proxy_sponsor!r}"
        return None


@register
class Escalation(Mechanism[EscalationSpec]):
    """Two escalation tracks (Kahn 1965) driven by the actors' choices and chance incidents; war as a costly
    failure of bargaining (Fearon 1995; Powell 2006); termination hazards from ICB durations (Brecher &
    Wilkenfeld 2000); resolve-driven retaliation (Fearon 1994); restraint under agreements (Fortna 2003)."""

    name = "escalation"
    Spec = EscalationSpec
    reads = ("deal", "p_retaliate", "p_counter", "p_strike", "p_respond", "war_cost_rate",
             "proxy_activity")

    @classmethod
    def streams(cls, section: EscalationSpec, index: Index) -> list[str]:
        return [cls.name, *[f"{cls.name}/strike/{a}" for a in section.strikers]]

    @classmethod
    def outcomes(cls, section: EscalationSpec, index: Index) -> list[Outcome]:
        out = [
            Outcome(names.MAX_RUNG, "rung", "highest rung reached", lambda w: w["max_rung"], "escalation", "int8"),
            Outcome(names.FINAL_RUNG, "rung", "rung at the end", lambda w: w["rung"], "escalation", "int8"),
            Outcome(names.WAR, "probability", "regional war", lambda w: w["max_rung"] >= TOP_RUNG, "escalation", "bool"),
            Outcome(names.FIRST_STRIKE, "probability", "an interstate strike", lambda w: w["first_strike_step"] >= 0,
                    "escalation", "bool"),
            Outcome(names.FIRST_STRIKE_STEP, "step", "month of the first interstate strike",
                    lambda w: w["first_strike_step"], "escalation", "int32"),
            Outcome(names.WAR_STEP, "step", "month regional war began", lambda w: w["war_step"], "escalation", "int32"),
        ]
        for a, aid in enumerate(index.actors):
            out.append(Outcome(names.war_cost_outcome(aid), "quantity",
                               f"{index.actor_names[aid]}: cost of conflict (months of regional war equivalent × cost)",
                               _cost(a), "war costs"))
        return out

    def init(self, world: World) -> None:
        n, s, ix = world.n_replicas, self.section, self.index
        proxy0 = min(s.initial_rung, STRIKE_RUNG - 1)
        level0 = max(s.initial_rung - PROXY_ATTACK_RUNG, 0)
        world.add("proxy_rung", np.full(n, proxy0, np.int8))
        world.add("strike_level", np.full(n, level0, np.int8))
        world.add("rung", overall_rung(world["proxy_rung"], world["strike_level"]))
        world.add("max_rung", world["rung"].copy())
        world.add("first_strike_step", np.full(n, -1, np.int16))
        world.add("war_step", np.full(n, -1, np.int16))
        world.add("war_cost", np.zeros((len(ix.actors), n)))
        # strikes on the sponsor by others, awaiting its response (a crisis that starts at strikes starts there)
        world.add("struck_sponsor", np.full(n, level0 > 0))
        world.add("nuclear_strike", np.zeros(n, bool))   # the sponsor's nuclear facilities struck this month
        self.sponsor = ix.a(s.proxy_sponsor)
        self.targets = [ix.a(t) for t in s.targets]
        self.strikers = [ix.a(t) for t in s.strikers]
        self.adversaries = ix.adversaries

    def prepare(self, world: World) -> None:
        c = self.c
        n = world.n_replicas
        self.hazard = np.stack([np.broadcast_to(np.asarray(h, float), (n,)) for h in
                                (c.termination_limited, c.termination_sustained, c.termination_war)])
        ones, zeros = np.ones(n), np.zeros(n)
        g = [zeros, zeros, zeros, c.cost_proxy * ones, c.cost_limited * ones, c.cost_sustained * ones, ones]
        self.cost_weights = np.stack([np.broadcast_to(np.asarray(x, float), (n,)) for x in g])     # (7, R)

    def step(self, world: World) -> None:
        c, n = self.c, world.n_replicas
        u = self.draw(self.name).uniform(N_UNIFORMS)
        deal = world["deal"]
        before = world["rung"].copy()
        proxy = world["proxy_activity"] / 100.0
        p_incident = (c.incident_base + c.incident_proxy * proxy) * np.where(deal, c.deal_restraint, 1.0)
        mean_trust = (world.trust[self.adversaries].mean(axis=0) if self.adversaries.any() else np.ones(n))
        p_calm = np.clip(c.deescalation * (c.deescalation_trust_offset + mean_trust)
                         * (1.0 + c.deal_deescalation_boost * deal), 0.0, 1.0)
        proxy_rung, direct, pev = step_proxy_track(world["proxy_rung"], u[:5], p_incident,
                                                   world["p_retaliate"][self.targets],
                                                   world["p_counter"][self.sponsor], p_calm)
        # counter-proliferation strikes: each striker's own choice, on its own substream
        strike = np.zeros(n, bool)
        striker = np.full(n, -1, np.int64)
        for k, a in enumerate(self.strikers):
            us = self.draw(f"{self.name}/strike/{self.index.actors[a]}").uniform()
            hit = ~strike & (us < world["p_strike"][a])
            striker = np.where(hit, k, striker)
            strike |= hit
        struck = strike | world["struck_sponsor"]          # and strikes by others (spoilers) since the last step
        p_escalate = np.maximum(world["p_counter"][self.sponsor],
                                world["p_counter"][self.strikers].max(axis=0) if self.strikers else 0.0)
        level, iev = step_interstate(world["strike_level"], u[5:8], strike | direct, struck,
                                     world["p_respond"][self.sponsor], p_escalate, self.hazard)
        opened = strike | direct
        world["proxy_rung"] = proxy_rung
        world["strike_level"] = level
        reached = overall_rung(proxy_rung, iev["reached"])
        world["rung"] = overall_rung(proxy_rung, level)
        world["max_rung"] = np.maximum(world["max_rung"], reached)
        t = world.step
        struck_now = opened | iev["response"] | iev["escalated"]        # someone struck across a border this month
        world["first_strike_step"] = np.where(struck_now & (world["first_strike_step"] < 0), t,
                                              world["first_strike_step"]).astype(np.int16)
        world["war_step"] = np.where((reached >= TOP_RUNG) & (world["war_step"] < 0), t, world["war_step"]
                                     ).astype(np.int16)
        world["struck_sponsor"] = np.zeros(n, bool)         # answered (or not) this month
        world["nuclear_strike"] = strike
        # costs of the month: the worst rung reached, weighted, times each actor's cost of a month of war
        g = np.take_along_axis(self.cost_weights, reached[None, :].astype(np.int64), axis=0)[0]
        world["war_cost"] += world["war_cost_rate"] * g
        erode_trust(world.trust, self.adversaries, reached, c.trust_erosion)
        self._log(world, pev, before, strike, striker, iev, direct)

    def _log(self, world: World, pev: dict[str, np.ndarray], before: np.ndarray, strike: np.ndarray,
             striker: np.ndarray, iev: dict[str, np.ndarray], direct: np.ndarray) -> None:
        if not self.log.active:
            return
        ix, t = self.index, world.step
        sponsor, sid = ix.name(self.sponsor), ix.actors[self.sponsor]
        rung = world["rung"]
        for k, target in enumerate(self.targets):
            hit = pev["incident"] & (pev["target"] == k)
            self.log.record(hit, t, sid, "militia_attack", f"{sponsor}-backed militia attack on {ix.name(target)}",
                            before, rung)
            self.log.record(hit & pev["retaliation"], t, ix.actors[target], "retaliatory_strike",
                            f"{ix.name(target)} strikes {sponsor}-backed militias in retaliation", before, rung)
        self.log.record(direct, t, sid, "counter_escalation", f"{sponsor} strikes directly in response", before, rung)
        for k, a in enumerate(self.strikers):
            self.log.record(strike & (striker == k), t, ix.actors[a], "preventive_strike",
                            f"{ix.name(a)} strikes {sponsor}'s nuclear facilities", before, rung)
        self.log.record(iev["response"], t, sid, "response", f"{sponsor} retaliates against the strike", before, rung)
        self.log.record(iev["escalated"], t, "", "escalation", "the fighting escalates", before, rung)
        self.log.record(iev["ended"], t, "", "ceasefire", "the fighting stops (ceasefire)", before, rung)
        self.log.record(pev["calming"], t, "", "de_escalation", "proxy tensions ease by one rung", before, rung)


def _cost(a: int) -> Callable[[World], np.ndarray]:
    return lambda w: w["war_cost"][a]
