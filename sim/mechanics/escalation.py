"""The escalation ladder: discrete rungs, chance incidents, retaliation, de-escalation.

Sources
-------
- Kahn, H. (1965). *On Escalation: Metaphors and Scenarios*: escalation as a ladder of discrete rungs.
- Brecher, M. & Wilkenfeld, J. (2000). *A Study of Crisis*; ICB data v16 (../shared/data/icb): base rates of
  violence in crises, used to check the ladder's rates (docs/model.md, "Escalation ladder").
- Fearon, J. D. (1994). "Domestic political audiences and the escalation of international disputes."
  *APSR* 88(3): resolve drives retaliation; risk-acceptant actors escalate more.

Rungs (``sim.spec.RUNGS``): 0 calm, 1 rhetoric, 2 proxy harassment, 3 proxy attacks on US forces or Israel,
4 limited strikes, 5 sustained strikes, 6 regional war (absorbing within the horizon).
Per step (a month), with uniforms ``u`` drawn for every replica whether used or not (common random numbers):
- incident: ``P = (λ0 + λ1 · π) · ρ_deal`` with π the sponsor's proxy activity (its position on ``iran_proxies``
  / 100) and ρ_deal the restraint while a deal holds; an incident raises the rung by one, up to rung 3;
- retaliation by the attacked actor (chosen uniformly among targets): ``P = α · resolve_t`` (halved while a deal
  holds); it raises the rung to at least 4, or by one above 4;
- counter-escalation by the sponsor right after a retaliatory strike: ``P = γ · resolve_s · (2 - r_s) / 1.5`` (r the risk
  exponent, r < 1 risk-acceptant); it raises the rung by one;
- de-escalation when nothing happened: ``P = δ · (0.5 + τ̄) · (1 + mediated) · (1 + deal)`` with τ̄ the mean
  trust between the adversaries; it lowers the rung by one (not from 6);
- trust between adversaries erodes by a factor ``1 - ε · max(rung - 3, 0)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The escalation ladder (docs/model.md, "Escalation ladder").
RUNGS = ("calm", "rhetoric", "proxy harassment", "proxy attacks on US forces or Israel", "limited strikes",
         "sustained strikes", "regional war")
TOP_RUNG = len(RUNGS) - 1

PROXY_ATTACK_RUNG = 3
STRIKE_RUNG = 4


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


def erode_trust(trust: np.ndarray, adversaries: np.ndarray, rung: np.ndarray, erosion: float) -> None:
    """In place: trust (A, A, R) between adversary pairs (A, A) bool decays with rungs above proxy attacks."""
    factor = 1.0 - erosion * np.maximum(rung - PROXY_ATTACK_RUNG, 0)
    trust[adversaries] *= np.clip(factor, 0.0, 1.0)
