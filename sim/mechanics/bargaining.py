"""Expected-utility bargaining: Bueno de Mesquita's challenge model as reconstructed by Scholz et al.

Sources
-------
- Bueno de Mesquita, B. (1994). "Political forecasting: an expected utility method." In Bueno de Mesquita &
  Stokman (eds.), *European Community Decision Making*, Yale UP, 71-104.
- Scholz, J. B., Calbert, G. J. & Smith, G. A. (2011). "Unravelling Bueno De Mesquita's group decision model."
  *Journal of Theoretical Politics* 23(4), 510-531.

Every array has the **batch axis last**: ``x``, ``c``, ``s`` are ``(A, N)`` (actors × batch, where the batch is
issues × replicas flattened, replicas fastest); pairwise quantities are ``(A, A, N)`` indexed ``[i, j, n]``.
Positions are on the issue's own scale; distances are divided by ``scale`` (the initial range of positions, as in
Scholz et al.) so that they lie in [0, 1]. Inactive actors (``active`` False: no position on that issue) neither
vote, challenge, nor receive offers.

The choices made where the paper leaves room are listed in ``docs/model.md`` ("Expected-utility bargaining") and
flagged ``CHOICE`` below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from sim.mechanics.compromise import compromise as weighted_mean  # noqa: F401  (re-exported for callers)

OfferRule = Literal["smallest_move", "scholz_priority", "scholz_code"]
ProbabilityRule = Literal["all_votes", "pairwise"]

#: Offer types, in the order of Scholz et al.'s priority rule.
CONFRONTATION, COMPROMISE, CAPITULATION, NO_OFFER = 0, 1, 2, 3


def _pow(base: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``base ** r`` for base >= 0 as ``exp(r log base)`` (float pow dominated the profile)."""
    with np.errstate(divide="ignore"):
        return np.exp(r * np.log(base))


def weighted_median(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Position that beats every other actor position in pairwise weighted votes (the Condorcet median).

    With linear loss the Condorcet winner among the actors' positions is the weighted median of positions with
    weights ``w = c * s`` (it minimises ``sum_i w_i |x_i - m|``). Zero-weight actors are ignored.
    Shapes ``(A, N) -> (N,)``.
    """
    order = np.argsort(x, axis=0, kind="stable")
    xs = np.take_along_axis(x, order, axis=0)
    ws = np.take_along_axis(w, order, axis=0)
    cum = np.cumsum(ws, axis=0)
    half = 0.5 * cum[-1]
    k = np.argmax(cum >= half[None, :] - 1e-12 * np.abs(half[None, :]), axis=0)
    return np.take_along_axis(xs, k[None, :], axis=0)[0]


def success_probability(x: np.ndarray, c: np.ndarray, s: np.ndarray, r: np.ndarray, scale: np.ndarray,
                        active: np.ndarray, rule: ProbabilityRule = "all_votes") -> np.ndarray:
    """P[i, j]: probability that i wins a challenge of j (Scholz et al. 2011, eq. 2).

    Actor k votes ``v_k(i, j) = c_k s_k (d_kj^r_k - d_ki^r_k)`` for i over j, ``d`` normalised distances, and
    P_ij is the support for i: ``sum_k max(v_k(i, j), 0)`` divided by
    - ``pairwise``: ``sum_k |v_k(i, j)|`` (the paper's formula: P_ij + P_ji = 1), or
    - ``all_votes``: ``sum_k sum_a sum_b |v_k(a, b)|`` (the normalisation in Scholz et al.'s code, which is what
      reproduces their published medians; it makes P small, so challenges are rarely worth a fight).
    CHOICE: votes use the voter's current risk exponent r_k (as the utility function does); a pair on which
    nobody votes has P = 0.5 (pairwise) or 0 (all_votes).
    """
    w = np.where(active, c * s, 0.0)                                   # (K, N)
    d = np.abs(x[:, None, :] - x[None, :, :]) / scale                 # (K, A, N): d[k, a]
    u = _pow(np.minimum(d, 1.0), r[:, None, :])                       # distance^r_k
    v = w[:, None, None, :] * (u[:, None, :, :] - u[:, :, None, :])   # v[k, i, j] = w_k (u_kj - u_ki)
    pos = np.maximum(v, 0.0).sum(axis=0)
    if rule == "all_votes":
        tot = np.abs(v).sum(axis=(0, 1, 2))
        return pos / np.where(tot > 0, tot, 1.0)
    tot = np.abs(v).sum(axis=0)
    return np.where(tot > 0, pos / np.where(tot > 0, tot, 1.0), 0.5)


def challenge_utilities(dist: np.ndarray, r_view: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Utilities of success, failure and the status quo (Scholz et al. 2011, eqs. 4-6, with Q = 1).

    ``U^s = 2 - 4 (0.5 - 0.5 d)^r``, ``U^f = 2 - 4 (0.5 + 0.5 d)^r``, ``U^sq = 2 - 4 (0.5)^r``, where ``d`` is the
    normalised distance between challenger and challenged and ``r`` the risk exponent of the actor from whose
    perspective the utilities are judged (r < 1 risk-acceptant, r > 1 risk-averse).
    """
    us = 2.0 - 4.0 * _pow(np.clip(0.5 - 0.5 * dist, 0.0, 1.0), r_view)
    uf = 2.0 - 4.0 * _pow(np.clip(0.5 + 0.5 * dist, 0.0, 1.0), r_view)
    usq = 2.0 - 4.0 * _pow(np.full_like(r_view, 0.5), r_view)
    return us, uf, usq


def expected_utilities(x: np.ndarray, c: np.ndarray, s: np.ndarray, r: np.ndarray, scale: np.ndarray,
                       active: np.ndarray, probability: ProbabilityRule = "all_votes"
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Expected utilities of challenges, both judged from i's perspective (i.e. with i's risk exponent r_i).

    Returns ``(eu_ij, eu_ji)`` of shape ``(A, A, N)``: ``eu_ij[i, j]`` is i's expected utility of challenging j,
    ``eu_ji[i, j]`` is j's expected utility of challenging i as i perceives it (Scholz et al. 2011, eq. 3, Q = 1):

        EU_i(ij) = s_j [P_ij U^s + (1 - P_ij) U^f] + (1 - s_j) U^s - U^sq.
    """
    p = success_probability(x, c, s, r, scale, active, probability)  # p[i, j]
    dist = np.minimum(np.abs(x[:, None, :] - x[None, :, :]) / scale, 1.0)
    r_i = np.broadcast_to(r[:, None, :], dist.shape)
    us, uf, usq = challenge_utilities(dist, r_i)
    s_j = s[None, :, :]
    s_i = s[:, None, :]
    eu_ij = s_j * (p * us + (1.0 - p) * uf) + (1.0 - s_j) * us - usq
    p_ji = np.swapaxes(p, 0, 1)
    eu_ji = s_i * (p_ji * us + (1.0 - p_ji) * uf) + (1.0 - s_i) * us - usq
    return eu_ij, eu_ji


def endogenous_risk(x: np.ndarray, c: np.ndarray, s: np.ndarray, scale: np.ndarray,
                    active: np.ndarray, probability: ProbabilityRule = "all_votes") -> np.ndarray:
    """Risk exponents r_i in [0.5, 2] from each actor's security (Scholz et al. 2011, eqs. 7-8).

    With every r = 1, i's danger is ``D_i = sum_{j != i} EU_j(ji)``; ``R_i = (2 D_i - D_max - D_min) /
    (D_max - D_min)`` and ``r_i = (1 - R_i / 3) / (1 + R_i / 3)``. When all dangers are equal, r = 1.
    """
    ones = np.ones_like(x)
    eu_ij, _ = expected_utilities(x, c, s, ones, scale, active, probability)  # objective, r = 1
    pair = active[:, None, :] & active[None, :, :]
    np.einsum("iin->in", pair)[...] = False
    danger = np.where(pair, eu_ij, 0.0).sum(axis=0)                    # D_i = sum_j EU_j(j i)
    big = np.where(active, danger, -np.inf).max(axis=0)
    small = np.where(active, danger, np.inf).min(axis=0)
    span = big - small
    ok = np.isfinite(span) & (span > 1e-12)
    rr = np.where(ok, (2 * danger - big - small) / np.where(ok, span, 1.0), 0.0)
    return (1.0 - rr / 3.0) / (1.0 + rr / 3.0)


def risk_exponent(attitude: np.ndarray) -> np.ndarray:
    """Map a risk attitude in [-1, 1] (-1 averse, +1 acceptant) to BDM's exponent in [2, 0.5] (same formula as R_i)."""
    return (1.0 - attitude / 3.0) / (1.0 + attitude / 3.0)


@dataclass
class Offers:
    """The offers each receiver i gets from each proposer j in one round, judged from i's perspective."""

    kind: np.ndarray       #: (A, A, N) int8: CONFRONTATION, COMPROMISE, CAPITULATION or NO_OFFER
    target: np.ndarray     #: (A, A, N) position i would move to if it accepts j's offer
    eu_ij: np.ndarray      #: (A, A, N)
    eu_ji: np.ndarray      #: (A, A, N)


def make_offers(x: np.ndarray, eu_ij: np.ndarray, eu_ji: np.ndarray, active: np.ndarray) -> Offers:
    """Classify each pair into BDM's octants from the receiver's perspective (Scholz et al. 2011, Table 2).

    For receiver i and proposer j: confrontation if ``EU_j(ji) > EU_i(ij) > 0`` (i moves to x_j); compromise if
    ``EU_j(ji) > 0 > EU_i(ij)`` and ``EU_j(ji) > |EU_i(ij)|`` (i moves the fraction ``|EU_i(ij) / EU_j(ji)|``
    of the way to x_j); capitulation if ``EU_j(ji) > 0 > EU_i(ij)`` and ``EU_j(ji) <= |EU_i(ij)|`` (i moves to x_j).
    Otherwise no offer.
    """
    xi = x[:, None, :]
    xj = x[None, :, :]
    pair = active[:, None, :] & active[None, :, :] & (xi != xj)
    confront = pair & (eu_ji > eu_ij) & (eu_ij > 0)
    lose = pair & (eu_ji > 0) & (eu_ij < 0)
    compromise = lose & (eu_ji > np.abs(eu_ij))
    capitulate = lose & ~compromise
    kind = np.full(eu_ij.shape, NO_OFFER, dtype=np.int8)
    kind[capitulate] = CAPITULATION
    kind[compromise] = COMPROMISE
    kind[confront] = CONFRONTATION
    frac = np.where(compromise, np.abs(eu_ij) / np.where(compromise, eu_ji, 1.0), 1.0)
    target = xi + (xj - xi) * frac
    return Offers(kind=kind, target=np.broadcast_to(target, kind.shape), eu_ij=eu_ij, eu_ji=eu_ji)


def choose_offers(x: np.ndarray, offers: Offers, accept: np.ndarray | None = None,
                  rule: OfferRule = "smallest_move") -> tuple[np.ndarray, np.ndarray]:
    """Each receiver takes one offer; returns ``(new_x (A, N), chosen proposer (A, N), -1 if none)``.

    - ``smallest_move`` (BDM 1994; Scholz et al.'s text): the offer that moves i least;
    - ``scholz_priority``: confrontations first, then compromises, then capitulations, the smallest move within
      a type;
    - ``scholz_code`` (Scholz et al.'s code, which reproduces their published medians): as ``scholz_priority``,
      but among compromises the one with the lowest EU-weighted position
      ``(|EU_i(ij)| x_i + |EU_j(ji)| x_j) / (|EU_i(ij)| + |EU_j(ji)|)``. It depends on the scale's direction,
      so the scenario engine does not use it by default.
    ``accept`` (A, A, N) optionally vetoes offers (e.g. offers a distrustful receiver rejects).
    """
    valid = offers.kind != NO_OFFER
    if accept is not None:
        valid &= accept
    move = np.abs(offers.target - x[:, None, :])
    if rule == "smallest_move":
        key = move
    else:
        key = move
        if rule == "scholz_code":
            a, b = np.abs(offers.eu_ij), np.abs(offers.eu_ji)
            den = np.where(a + b > 0, a + b, 1.0)
            weighted = (a * x[:, None, :] + b * x[None, :, :]) / den
            key = np.where(offers.kind == COMPROMISE, weighted, move)
        key = key + 1e6 * offers.kind
    key = np.where(valid, key, np.inf)
    best = np.argmin(key, axis=1)                                       # (A, N)
    has = np.isfinite(np.take_along_axis(key, best[:, None, :], axis=1)[:, 0, :])
    new_x = np.where(has, np.take_along_axis(offers.target, best[:, None, :], axis=1)[:, 0, :], x)
    return new_x, np.where(has, best, -1)


def bargaining_round(x: np.ndarray, c: np.ndarray, s: np.ndarray, r: np.ndarray, scale: np.ndarray,
                     active: np.ndarray, accept: np.ndarray | None = None, rule: OfferRule = "smallest_move",
                     probability: ProbabilityRule = "all_votes", concession: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, Offers]:
    """One round of challenges, offers and position updates; returns ``(new_x, chosen proposer, offers)``.

    ``concession`` (A, A, N) optionally scales the move receiver i would make on proposer j's offer (a biased
    mediator relaying offers, sim.mechanics.mediation).
    """
    eu_ij, eu_ji = expected_utilities(x, c, s, r, scale, active, probability)
    offers = make_offers(x, eu_ij, eu_ji, active)
    if concession is not None:
        offers.target = x[:, None, :] + (offers.target - x[:, None, :]) * concession
    new_x, chosen = choose_offers(x, offers, accept, rule)
    return new_x, chosen, offers


def simulate(x0: np.ndarray, c: np.ndarray, s: np.ndarray, rounds: int, *, active: np.ndarray | None = None,
             risk: Literal["endogenous"] | np.ndarray = "endogenous", rule: OfferRule = "smallest_move",
             probability: ProbabilityRule = "all_votes", scale: np.ndarray | None = None) -> np.ndarray:
    """Run ``rounds`` rounds of the challenge model; returns positions by round, shape ``(rounds + 1, A, N)``.

    ``risk`` is ``"endogenous"`` (recomputed each round from security, as Scholz et al.) or fixed exponents (A, N).
    ``scale`` defaults to the initial range of the active positions.
    """
    x = np.asarray(x0, dtype=float)
    act = np.ones_like(x, dtype=bool) if active is None else active
    if scale is None:
        hi = np.where(act, x, -np.inf).max(axis=0)
        lo = np.where(act, x, np.inf).min(axis=0)
        scale = np.maximum(hi - lo, 1e-9)
    out = [x]
    for _ in range(rounds):
        r = endogenous_risk(x, c, s, scale, act, probability) if isinstance(risk, str) else risk
        x, _, _ = bargaining_round(x, c, s, r, scale, act, rule=rule, probability=probability)
        out.append(x)
    return np.stack(out)
