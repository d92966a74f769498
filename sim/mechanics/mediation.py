"""Mediation: a third party relays offers between parties that do not trust each other.

Sources
-------
- Kydd, A. (2003). "Which side are you on? Bias, credibility, and mediation." *American Journal of Political
  Science* 47(4), 597-611: a mediator is credible because of its standing with a party, and a biased mediator
  (close to one side) can be effective precisely because that side believes it.
- Bercovitch, J. & Houston, A. (1996). "The study of international mediation." In Bercovitch (ed.), *Resolving
  International Conflicts*: mediator leverage grows with its resources (capability).
- Stedman, S. J. (1997). "Spoiler problems in peace processes." *International Security* 22(2), 5-53: actors who
  see a settlement as a threat act to undermine it.

Equations (docs/model.md, "Mediation"):
- effective trust between the parties p, q: ``τ'_pq = max(τ_pq, κ · τ_pm · σ_m)`` with mediator m, credibility κ,
  the party's trust in the mediator ``τ_pm`` and the mediator's standing ``σ_m = c_m / max_a c_a``;
- bias: a concession the mediator relays to its ally (the party with the higher alignment to m) is shrunk by
  ``(1 - β)``;
- sidelined actors' capability in the format, on the mediated issues, is multiplied by ``φ``;
- a spoiler's pressure is its salience-weighted loss from the deal point relative to the current outcome.
"""

from __future__ import annotations

import numpy as np


def effective_trust(trust: np.ndarray, capability: np.ndarray, mediator: int | None, parties: tuple[int, int],
                    credibility: float) -> np.ndarray:
    """Trust (A, A, R) after mediation: the parties' mutual trust is lifted by the mediator's credibility."""
    if mediator is None:
        return trust
    out = trust.copy()
    standing = capability[mediator] / np.maximum(capability.max(axis=0), 1e-12)
    p, q = parties
    for a, b in ((p, q), (q, p)):
        out[a, b] = np.maximum(trust[a, b], credibility * trust[a, mediator] * standing)
    return out


def concession_scale(alignment: np.ndarray, mediator: int | None, parties: tuple[int, int], bias: float,
                     n_actors: int, n_replicas: int) -> np.ndarray:
    """Multiplier (A, A, R) on the move receiver i makes on proposer j's offer: the mediator's ally concedes less."""
    scale = np.ones((n_actors, n_actors, n_replicas))
    if mediator is None or bias == 0:
        return scale
    p, q = parties
    p_is_ally = alignment[mediator, p] >= alignment[mediator, q]
    scale[p, q] = np.where(p_is_ally, 1.0 - bias, 1.0)
    scale[q, p] = np.where(p_is_ally, 1.0, 1.0 - bias)
    return scale


def format_capability(capability: np.ndarray, n_issues: int, sidelined: list[int], issues: list[int],
                      factor: float) -> np.ndarray:
    """Capability in the negotiating format (A, I, R): sidelined actors weigh ``factor`` on mediated issues."""
    c = np.repeat(capability[:, None, :], n_issues, axis=1)
    for a in sidelined:
        for k in issues:
            c[a, k] *= factor
    return c


def spoiler_pressure(x: np.ndarray, s: np.ndarray, spoiler: int, outcome: np.ndarray, deal_point: np.ndarray,
                     deal_issues: list[int]) -> np.ndarray:
    """How much a spoiler loses (0..1, R) if the deal point replaces the current outcome on the deal issues."""
    loss = np.zeros(x.shape[-1])
    tot = np.zeros(x.shape[-1])
    for n, k in enumerate(deal_issues):
        loss += s[spoiler, k] * (np.abs(deal_point[n] - x[spoiler, k]) - np.abs(outcome[k] - x[spoiler, k])) / 100
        tot += s[spoiler, k]
    return np.clip(loss / np.maximum(tot, 1e-12) * 4.0, 0.0, 1.0)
