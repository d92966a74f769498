"""Mediation: a third party relays offers between parties that do not trust each other.

Sources
-------
- Kydd, A. (2003). "Which side are you on? Bias, credibility, and mediation." *American Journal of Political
  Science* 47(4), 597-611: a mediator is credible because of its standing with a party, and a biased mediator
  (close to one side) can be effective precisely because that side believes it.
- Bercovitch, J. & Houston, A. (1996). "The study of international mediation." In Bercovitch (ed.), *Resolving
  International Conflicts*: mediator leverage grows with its resources (capability).

Equations (docs/model.md, "Mediation"); this parametrisation is the project's own, loosely after the papers:
- effective trust between the parties p, q: ``τ'_pq = max(τ_pq, κ · τ_pm · σ_m)`` with mediator m, credibility κ,
  the party's trust in the mediator ``τ_pm`` and the mediator's standing ``σ_m = c_m / max_a c_a``;
- bias: a concession the mediator relays to its ally (the party with the higher alignment to m) is shrunk by
  ``(1 - β_m)``;
- sidelined actors' capability in the format, on the mediated issues, is multiplied by ``φ``.

State it adds: ``mediated`` (R,) whether a mediator acts, ``effective_trust`` (A, A, R) updated monthly,
``concession`` (A, A, R) the multiplier on receiver i's move toward proposer j's offer.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from sim.knowledge import Share
from sim.mechanics.base import Mechanism, MechanismSpec, Ref, register
from sim.world import World


def effective_trust(trust: np.ndarray, capability: np.ndarray, mediator: int | None, parties: list[int],
                    credibility: np.ndarray | float) -> np.ndarray:
    """Trust (A, A, R) after mediation: the parties' mutual trust is lifted by the mediator's credibility."""
    if mediator is None:
        return trust
    out = trust.copy()
    standing = capability[mediator] / np.maximum(capability.max(axis=0), 1e-12)
    p, q = parties
    for a, b in ((p, q), (q, p)):
        out[a, b] = np.maximum(trust[a, b], credibility * trust[a, mediator] * standing)
    return out


def concession_scale(alignment: np.ndarray, mediator: int | None, parties: list[int], bias: np.ndarray | float,
                     n_actors: int, n_replicas: int) -> np.ndarray:
    """Multiplier (A, A, R) on the move receiver i makes on proposer j's offer: the mediator's ally concedes less."""
    scale = np.ones((n_actors, n_actors, n_replicas))
    if mediator is None:
        return scale
    p, q = parties
    p_is_ally = alignment[mediator, p] >= alignment[mediator, q]
    scale[p, q] = np.where(p_is_ally, 1.0 - bias, 1.0)
    scale[q, p] = np.where(p_is_ally, 1.0, 1.0 - bias)
    return scale


def format_capability(capability: np.ndarray, n_issues: int, sidelined: list[int], issues: list[int],
                      factor: np.ndarray | float) -> np.ndarray:
    """Capability in the negotiating format (A, I, R): sidelined actors weigh ``factor`` on mediated issues.
    ``capability`` is (A, R) (the same on every issue) or the per-issue (A, I, R) capability (world.format_capability)."""
    c = (np.repeat(capability[:, None, :], n_issues, axis=1) if capability.ndim == 2 else capability.copy())
    for a in sidelined:
        for k in issues:
            c[a, k] *= factor
    return c


class MediationSpec(MechanismSpec):
    """``mechanics.mediation``: the mediator (null: none), the parties and issues it mediates, sidelined actors."""

    mediator: str | None
    parties: list[str] = Field(min_length=2, max_length=2)
    issues: list[str]
    credibility: Share
    bias: Share
    sidelined: list[str]
    sideline_factor: Share

    def references(self) -> list[Ref]:
        refs: list[Ref] = [("mediator", self.mediator, "actor")]
        refs += [(f"parties.{n}", a, "actor") for n, a in enumerate(self.parties)]
        refs += [(f"issues.{n}", i, "issue") for n, i in enumerate(self.issues)]
        return refs + [(f"sidelined.{n}", a, "actor") for n, a in enumerate(self.sidelined)]

    def check(self, actors: list[str], issues: list[str]) -> str | None:
        if self.mediator is not None and self.mediator in self.parties:
            return f"mediator: got {self.mediator!r}; allowed: an actor other than the parties {self.parties!r}"
        return None


@register
class Mediation(Mechanism[MediationSpec]):
    """Relayed offers, credibility through standing and bias (after Kydd 2003; Bercovitch & Houston 1996);
    sidelined actors weigh less in the format. The equations are this project's extension."""

    name = "mediation"
    Spec = MediationSpec

    @classmethod
    def streams(cls, section: MediationSpec, index: object) -> list[str]:
        return []                                     # no chance events

    def init(self, world: World) -> None:
        ix, s, c = self.index, self.section, self.c
        A, n = len(ix.actors), world.n_replicas
        self.mediator = ix.a(s.mediator) if (s.mediator is not None and self.enabled) else None
        self.parties = [ix.a(p) for p in s.parties]
        world.add("mediated", np.full(n, self.mediator is not None))
        world.add("concession", concession_scale(world.alignment, self.mediator, self.parties, c.bias, A, n))
        world.add("effective_trust", world.trust)
        if self.mediator is not None:
            world.sideline(format_capability(world.format_capability, len(ix.issues), [ix.a(a) for a in s.sidelined],
                                             [ix.i(k) for k in s.issues], c.sideline_factor))

    def step(self, world: World) -> None:
        world["effective_trust"] = effective_trust(world.trust, world.capability, self.mediator, self.parties,
                                                   self.c.credibility)
