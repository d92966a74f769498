"""Mediation: a third party passes on information and, if it is biased, delivers and protects its own side.

Sources
-------
- Fearon, J. D. (1995). "Rationalist explanations for war." *International Organization* 49(3): each party knows
  its own resolve and cost of fighting, the other does not, and both have an incentive to misrepresent them; the
  bargaining range is hidden (the deal's information factor, :func:`sim.mechanics.deal.find_probability`).
- Kydd, A. (2003). "Which side are you on? Bias, credibility, and mediation." *American Journal of Political
  Science* 47(4), 597-611: a mediator reduces the chance of conflict by providing information on the parties'
  resolve, but only if it is believed; "an unbiased mediator who is simply interested in minimizing the probability
  of conflict will have a strong incentive to make such statements even if they are not true", so "only mediators
  who are effectively 'on your side' will be believed if they counsel restraint". Here: the mediator's advice
  removes part of a party's uncertainty about the other's cost of conflict only for the party it is biased toward.
- Kydd, A. (2006). "When can mediators build trust?" *American Political Science Review* 100(3), 449-462: a
  mediator "that is solely interested in promoting cooperation, or one that is biased toward one side, will be
  ineffective" as a trust builder; "a desire to preserve a reputation for honesty can overcome a limited amount of
  bias or issue indifference". Here: a mediator lifts the parties' mutual trust in proportion to its reputation for
  honesty and the lack of bias — the only channel a neutral mediator (no stake, no ally) has.
- Svensson, I. (2007). "Bargaining, bias and peace brokers: how rebels commit to peace." *Journal of Peace
  Research* 44(2), 177-194, and Svensson, I. (2009). "Who brings which peace? Neutral versus biased mediation and
  institutional peace arrangements in civil wars." *Journal of Conflict Resolution* 53(3), 446-469: biased
  mediators deliver their own side's concessions and secure guarantees for the side they favour. Here: the
  mediator's ally concedes more on the other party's offers (``concession``) and the mediator sits at the table,
  its weight in the talks' terms (``format_share``) scaled by its credibility with its ally.
- Beardsley, K. (2008). "Agreement without peace? International mediation and time inconsistency problems."
  *American Journal of Political Science* 52(4), 723-740, and Beardsley, K. (2011). *The Mediation Dilemma*.
  Cornell UP: "mediation can create artificial incentives that, as the mediator's influence wanes and the
  combatants' demands change, leave the actors with an agreement less durable than one that would have been
  achieved without mediation" (2008, abstract). Here: an agreement signed under a mediator's leverage carries an extra
  collapse hazard once ``incentive_fade`` months have passed (:mod:`sim.mechanics.deal`).

Equations (docs/model.md §7.4; the reduced forms are this project's **extension** of the papers' mechanisms).
Mediator m, parties p, q, alignment ω, credibility κ, honesty η, leverage ℓ:
- bias toward p: ``β = clip(ω_mp - ω_mq, -1, 1)`` (toward q: ``-β``); a neutral mediator has β = 0;
- credibility of its advice to party a (Kydd 2003): ``π_a = κ · max(β_a, 0)`` — only to its ally;
- trust building (Kydd 2006): ``ρ = κ · η · (1 - |β|)``; ``τ'_pq = τ_pq + ρ (1 - τ_pq)``, the same for qp; all other
  pairs τ' = τ;
- leverage over its ally (Svensson 2007): the ally's move on the other party's offer × ``(1 + ℓ · π_ally)``;
- the format (the parties and the mediator): terms weights ``f_p = f_q = 1``, ``f_m = π_ally`` (Svensson 2009),
  everyone else 0 — the actors outside the format (``sidelined``, derived) have no weight in the talks' terms;
- an agreement signed with leverage ``π_ally`` collapses with the extra hazard ``h_B · π_ally`` once it is
  ``T_B`` months old (Beardsley 2008).
With κ = 0 every term vanishes: mediation changes nothing but the channel's label.

State it adds: ``mediated`` (R,) whether a mediator acts (the deal's channel), ``effective_trust`` (A, A, R)
updated monthly, ``concession`` (A, A, R) the multiplier on receiver i's move toward proposer j's offer,
``advice`` (A, R) the credibility π_a of the mediator's advice to each actor, ``format_share`` (A, R) the weights
f of the talks' terms, ``agreement_hazard`` (R,) h_B · π_ally and ``incentive_fade`` (R,) T_B.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from sim.knowledge import Months, Multiplier, Share
from sim.mechanics.base import Mechanism, MechanismSpec, Ref, register
from sim.world import World

#: The value of ``mediation.mediator`` for a third party with no stake and no ally.
NEUTRAL = "neutral"


def bias(alignment: np.ndarray, mediator: int | None, parties: list[int] | tuple[int, int]) -> np.ndarray:
    """The mediator's bias (2, R) toward each party: ``β_p = clip(ω_mp - ω_mq, -1, 1)``, ``β_q = -β_p``; 0 for a
    neutral mediator (``mediator=None``)."""
    p, q = parties
    if mediator is None:
        return np.zeros((2, alignment.shape[-1]))
    b = np.clip(alignment[mediator, p] - alignment[mediator, q], -1.0, 1.0)
    return np.stack([b, -b])


def advice_credibility(bias_toward: np.ndarray, credibility: np.ndarray | float) -> np.ndarray:
    """Credibility (2, R) of the mediator's advice on the other side's resolve to each party (Kydd 2003): only a
    mediator biased toward the party it advises is believed, ``π_a = κ · max(β_a, 0)``."""
    return np.asarray(credibility) * np.maximum(bias_toward, 0.0)


def reassurance(bias_toward: np.ndarray, credibility: np.ndarray | float, honesty: np.ndarray | float) -> np.ndarray:
    """Trust building (R,) (Kydd 2006): ``ρ = κ · η · (1 - |β|)`` — an honest, unbiased mediator builds trust, a
    biased one does not."""
    return np.asarray(credibility) * np.asarray(honesty) * (1.0 - np.abs(bias_toward[0]))


def effective_trust(trust: np.ndarray, parties: list[int] | tuple[int, int], rho: np.ndarray | float) -> np.ndarray:
    """Trust (A, A, R) after mediation: the parties' mutual trust lifted toward 1 by ``ρ``."""
    out = trust.copy()
    p, q = parties
    for a, b in ((p, q), (q, p)):
        out[a, b] = trust[a, b] + rho * (1.0 - trust[a, b])
    return out


def concession_scale(parties: list[int] | tuple[int, int], advice: np.ndarray, leverage: np.ndarray | float,
                     n_actors: int) -> np.ndarray:
    """Multiplier (A, A, R) on the move receiver i makes on proposer j's offer (Svensson 2007): the mediator's ally
    concedes ``1 + ℓ · π_ally`` times as much to the other party; all other pairs 1."""
    n = advice.shape[-1]
    scale = np.ones((n_actors, n_actors, n))
    p, q = parties
    scale[p, q] = 1.0 + np.asarray(leverage) * advice[0]
    scale[q, p] = 1.0 + np.asarray(leverage) * advice[1]
    return scale


def format_share(n_actors: int, parties: list[int] | tuple[int, int], mediator: int | None,
                 advice: np.ndarray) -> np.ndarray:
    """Weights (A, R) of the actors in the talks' terms: 1 for the parties, the mediator's credibility with its ally
    ``π_ally`` for the mediator (Svensson 2009), 0 for everyone outside the format."""
    share = np.zeros((n_actors, advice.shape[-1]))
    for a in parties:
        share[a] = 1.0
    if mediator is not None:
        share[mediator] = advice.max(axis=0)
    return share


class MediationSpec(MechanismSpec):
    """``mechanics.mediation``: the mediator (an actor id, ``neutral``, or null: none), the parties, the channels'
    constants."""

    mediator: str | None
    parties: list[str] = Field(min_length=2, max_length=2)
    credibility: Share
    honesty: Share
    leverage: Multiplier
    agreement_hazard: Share
    incentive_fade: Months

    def references(self) -> list[Ref]:
        return [(f"parties.{n}", a, "actor") for n, a in enumerate(self.parties)]   # the mediator: check()

    def check(self, actors: list[str], issues: list[str]) -> str | None:
        if self.parties[0] == self.parties[1]:
            return f"parties: got {self.parties!r}; allowed: two different actors"
        others = [a for a in actors if a not in self.parties and a != NEUTRAL]
        if self.mediator is not None and self.mediator != NEUTRAL and self.mediator not in others:
            return (f"mediator: got {self.mediator!r}; allowed: an actor other than the parties "
                    f"({', '.join(others)}), {NEUTRAL!r} (a third party with no stake and no ally) or null (none)")
        return None

    def format(self, actors: list[str]) -> list[str]:
        """Who sits at the table: the parties and the mediator (if it is an actor)."""
        return list(self.parties) + ([self.mediator] if self.mediator not in (None, NEUTRAL) else [])

    def sidelined(self, actors: list[str]) -> list[str]:
        """The actors outside the format (no weight in the mediated talks' terms); none without a mediator."""
        if self.mediator is None:
            return []
        inside = self.format(actors)
        return [a for a in actors if a not in inside]


@register
class Mediation(Mechanism[MediationSpec]):
    """Mediation as information and commitment: a biased mediator's advice is credible to its ally (Kydd 2003), an
    honest unbiased one builds trust (Kydd 2006), a biased one delivers and protects its side (Svensson 2007, 2009),
    and the agreements its leverage brings fade (Beardsley 2008, 2011). The reduced forms are this project's
    extension."""

    name = "mediation"
    Spec = MediationSpec

    @classmethod
    def streams(cls, section: MediationSpec, index: object) -> list[str]:
        return []                                     # no chance events

    def init(self, world: World) -> None:
        ix, s, c = self.index, self.section, self.c
        A, n = len(ix.actors), world.n_replicas
        self.active = s.mediator is not None and self.enabled
        self.mediator = ix.a(s.mediator) if (s.mediator is not None and self.active and s.mediator != NEUTRAL) else None
        self.parties = [ix.a(p) for p in s.parties]
        toward = bias(world.alignment, self.mediator, self.parties)
        advice2 = advice_credibility(toward, c.credibility) if self.active else np.zeros((2, n))
        advice = np.zeros((A, n))
        advice[self.parties] = advice2
        self.rho = reassurance(toward, c.credibility, c.honesty) if self.active else np.zeros(n)
        lev = advice2.max(axis=0)                     # credibility with its ally = its leverage there
        world.add("mediated", np.full(n, self.active))
        world.add("advice", advice)
        world.add("concession", concession_scale(self.parties, advice2, c.leverage, A))
        world.add("format_share", format_share(A, self.parties, self.mediator, advice2))
        world.add("agreement_hazard", np.asarray(c.agreement_hazard) * lev * np.ones(n))
        world.add("incentive_fade", np.asarray(c.incentive_fade) * np.ones(n))
        # switched off, the mechanism never steps: the parties' own trust counts, as it changes (an alias)
        world.add("effective_trust", world.trust.copy() if self.enabled else world.trust)

    def step(self, world: World) -> None:
        # a snapshot of the month's trust (never an alias of world.trust): what the later mechanisms read this
        # month does not depend on whether a mediator acts, only on what it does (credibility 0: nothing)
        world["effective_trust"] = (effective_trust(world.trust, self.parties, self.rho) if self.active
                                    else world.trust.copy())
