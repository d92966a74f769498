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

Performance (bench/README.md): the batch columns are independent, so the pairwise work is done in blocks of
columns whose ``(A, A, n)`` temporaries stay in the core's cache, and the distance matrix is computed once per
round for the success probabilities, the utilities and the offers. Every element is computed with the same
floating-point operations in the same order as the plain formulas in the docstrings, so the results do not depend
on the block size, the chunk size or the number of replicas.
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

#: Pairwise elements (A × A × columns) per block: ~37k float64 = 295 kB per (A, A, n) temporary.
_BLOCK_PAIRS = 36 * 1024


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


# --- block kernels (private) ---------------------------------------------------------------------------------
def _blocks(n: int, n_actors: int) -> list[slice]:
    """Column slices of the batch axis, sized so that a block's pairwise temporaries stay in cache."""
    width = max(_BLOCK_PAIRS // max(n_actors * n_actors, 1), 16)
    return [slice(lo, min(lo + width, n)) for lo in range(0, n, width)] or [slice(0, 0)]


def _batch(x: np.ndarray, scale: np.ndarray, active: np.ndarray, *per_actor: np.ndarray | None):
    """Inputs as float (A, N) positions, (N,) scale, (A, N) active and (A, N) views of the per-actor arrays."""
    x = np.asarray(x, dtype=float)
    shape = x.shape
    return (x, np.broadcast_to(np.asarray(scale), shape[1:]), np.broadcast_to(np.asarray(active), shape),
            *(None if a is None else np.broadcast_to(np.asarray(a), shape) for a in per_actor))


def _distance(x: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``diff[i, j] = x_i - x_j`` and the normalised distance ``min(|x_i - x_j| / scale, 1)``, (A, A, n) each."""
    diff = x[:, None, :] - x[None, :, :]
    dist = np.abs(diff)
    np.divide(dist, scale, out=dist)
    np.minimum(dist, 1.0, out=dist)
    return diff, dist


def _support(dist: np.ndarray, w: np.ndarray, r: np.ndarray, rule: ProbabilityRule) -> np.ndarray:
    """P[i, j] of one block from the normalised distances (see :func:`success_probability`)."""
    with np.errstate(divide="ignore"):
        u = np.log(dist)                                              # u[k, a] = d_ka^r_k
    u *= r[:, None, :]
    np.exp(u, out=u)
    pos = np.zeros_like(u)
    v = np.empty_like(u)
    for k in range(u.shape[0]):                                       # a loop over voters, not replicas
        np.subtract(u[k][None, :, :], u[k][:, None, :], out=v)         # v[i, j] = u_kj - u_ki
        np.maximum(v, 0.0, out=v)
        v *= w[k]
        pos += v
    # |v_k(i, j)| = max(v_k(i, j), 0) + max(v_k(j, i), 0), so no second pass is needed for the denominators
    if rule == "all_votes":
        tot = 2.0 * pos.sum(axis=(0, 1))
        pos /= np.where(tot > 0, tot, 1.0)
        return pos
    tot = pos + np.swapaxes(pos, 0, 1)
    ok = tot > 0
    return np.where(ok, pos / np.where(ok, tot, 1.0), 0.5)


def _risk_utility(half: np.ndarray, sign: float, r_i: np.ndarray, clip: bool, out: np.ndarray) -> np.ndarray:
    """``2 - 4 (0.5 ± 0.5 d)^r_i`` into ``out`` (``half`` = 0.5 d)."""
    if sign < 0:
        np.subtract(0.5, half, out=out)
    else:
        np.add(0.5, half, out=out)
    if clip:                     # only a negative scale takes 0.5 ± 0.5 d out of [0, 1]
        np.clip(out, 0.0, 1.0, out=out)
    with np.errstate(divide="ignore"):
        np.log(out, out=out)
    out *= r_i
    np.exp(out, out=out)
    out *= 4.0
    np.subtract(2.0, out, out=out)
    return out


def _status_quo_utility(r: np.ndarray) -> np.ndarray:
    """``U^sq = 2 - 4 (0.5)^r``, (A, N) (the same for every counterpart j)."""
    return 2.0 - 4.0 * _pow(np.full_like(r, 0.5, dtype=float), r)


def _utilities(dist: np.ndarray, p: np.ndarray, r: np.ndarray, s: np.ndarray, usq: np.ndarray, clip: bool,
               eu_ij: np.ndarray, eu_ji: np.ndarray | None) -> None:
    """EU_i(ij) and EU_j(ji) as i sees them (see :func:`expected_utilities`) for one block, into the outputs."""
    r_i = r[:, None, :]
    half = np.multiply(dist, 0.5)
    us = _risk_utility(half, -1.0, r_i, clip, np.empty_like(dist))
    uf = _risk_utility(half, +1.0, r_i, clip, half)
    usq_i = usq[:, None, :]
    tmp = np.empty_like(dist)
    for out, p_, s_ in ((eu_ij, p, s[None, :, :]), (eu_ji, np.swapaxes(p, 0, 1), s[:, None, :])):
        if out is None:
            continue
        # s_j [P U^s + (1 - P) U^f] + (1 - s_j) U^s - U^sq, operation by operation
        np.multiply(p_, us, out=out)
        np.subtract(1.0, p_, out=tmp)
        tmp *= uf
        out += tmp
        out *= s_
        np.multiply(1.0 - s_, us, out=tmp)
        out += tmp
        out -= usq_i


def _classify(x: np.ndarray, diff: np.ndarray, eu_ij: np.ndarray, eu_ji: np.ndarray, active: np.ndarray | None,
              kind: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Offers of one block (see :func:`make_offers`) into ``kind`` and ``target``; returns the valid-offer mask."""
    xi = x[:, None, :]
    pair = xi != x[None, :, :]
    if active is not None:
        pair &= active[:, None, :]
        pair &= active[None, :, :]
    confront = np.greater(eu_ji, eu_ij)
    confront &= eu_ij > 0
    confront &= pair
    lose = np.less(eu_ij, 0.0)
    lose &= eu_ji > 0
    lose &= pair
    frac = np.abs(eu_ij)
    compromise = np.greater(eu_ji, frac)
    compromise &= lose
    # kind = 3 - (3 confrontation + lose + compromise): 0, 1 (compromise), 2 (capitulation) or 3 (none)
    np.multiply(confront, np.int8(3), out=kind)
    np.add(kind, lose, out=kind)
    np.add(kind, compromise, out=kind)
    np.subtract(np.int8(NO_OFFER), kind, out=kind)
    # frac = |EU_i(ij)| / EU_j(ji) on compromises, 1 elsewhere; target = x_i + (x_j - x_i) frac = x_i - diff frac
    np.divide(frac, eu_ji, out=frac, where=compromise)
    np.copyto(frac, 1.0, where=~compromise)
    frac *= diff
    np.subtract(xi, frac, out=target)
    confront |= lose
    return confront


def _concede(x: np.ndarray, target: np.ndarray, concession: np.ndarray) -> None:
    """``target = x_i + (target - x_i) * concession`` in place."""
    xi = x[:, None, :]
    move = np.subtract(target, xi)
    move *= concession
    np.add(xi, move, out=target)


def _choose(x: np.ndarray, valid: np.ndarray, kind: np.ndarray, target: np.ndarray, eu_ij: np.ndarray,
            eu_ji: np.ndarray, rule: OfferRule) -> tuple[np.ndarray, np.ndarray]:
    """One block of :func:`choose_offers` (``valid`` already combines offers and vetoes)."""
    xi = x[:, None, :]
    key = np.subtract(target, xi)
    np.abs(key, out=key)                                              # the move
    if rule != "smallest_move":
        if rule == "scholz_code":
            a, b = np.abs(eu_ij), np.abs(eu_ji)
            den = np.where(a + b > 0, a + b, 1.0)
            weighted = (a * xi + b * x[None, :, :]) / den
            key = np.where(kind == COMPROMISE, weighted, key)
        key = key + 1e6 * kind
    np.copyto(key, np.inf, where=~valid)
    best = np.argmin(key, axis=1)[:, None, :]                         # (A, 1, n)
    has = np.isfinite(np.take_along_axis(key, best, axis=1)[:, 0, :])
    new_x = np.where(has, np.take_along_axis(target, best, axis=1)[:, 0, :], x)
    return new_x, np.where(has, best[:, 0, :], -1)


# --- the model -----------------------------------------------------------------------------------------------
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
    x, scale, active, c, s, r = _batch(x, scale, active, c, s, r)
    A, N = x.shape
    w = np.where(active, c * s, 0.0)                                   # (K, N)
    out = np.empty((A, A, N))
    for sl in _blocks(N, A):
        _, dist = _distance(x[:, sl], scale[sl])
        out[..., sl] = _support(dist, w[:, sl], r[:, sl], rule)
    return out


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
    x, scale, active, c, s, r = _batch(x, scale, active, c, s, r)
    A, N = x.shape
    w = np.where(active, c * s, 0.0)
    usq = _status_quo_utility(r)
    clip = bool(np.signbit(scale).any())
    eu_ij, eu_ji = np.empty((A, A, N)), np.empty((A, A, N))
    for sl in _blocks(N, A):
        _, dist = _distance(x[:, sl], scale[sl])
        p = _support(dist, w[:, sl], r[:, sl], probability)           # p[i, j]
        _utilities(dist, p, r[:, sl], s[:, sl], usq[:, sl], clip, eu_ij[..., sl], eu_ji[..., sl])
    return eu_ij, eu_ji


def endogenous_risk(x: np.ndarray, c: np.ndarray, s: np.ndarray, scale: np.ndarray,
                    active: np.ndarray, probability: ProbabilityRule = "all_votes") -> np.ndarray:
    """Risk exponents r_i in [0.5, 2] from each actor's security (Scholz et al. 2011, eqs. 7-8).

    With every r = 1, i's danger is ``D_i = sum_{j != i} EU_j(ji)``; ``R_i = (2 D_i - D_max - D_min) /
    (D_max - D_min)`` and ``r_i = (1 - R_i / 3) / (1 + R_i / 3)``. When all dangers are equal, r = 1.
    """
    x, scale, active, c, s = _batch(x, scale, active, c, s)
    A, N = x.shape
    ones = np.ones_like(x)                                             # objective, r = 1
    w = np.where(active, c * s, 0.0)
    usq = _status_quo_utility(ones)
    clip = bool(np.signbit(scale).any())
    danger = np.empty((A, N))
    for sl in _blocks(N, A):
        _, dist = _distance(x[:, sl], scale[sl])
        p = _support(dist, w[:, sl], ones[:, sl], probability)
        eu_ij = np.empty_like(dist)
        _utilities(dist, p, ones[:, sl], s[:, sl], usq[:, sl], clip, eu_ij, None)
        act = active[:, sl]
        pair = act[:, None, :] & act[None, :, :]
        np.einsum("iin->in", pair)[...] = False
        danger[:, sl] = np.where(pair, eu_ij, 0.0).sum(axis=0)        # D_i = sum_j EU_j(j i)
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
    x, _, active = _batch(x, 0.0, active)
    A, N = x.shape
    eu_ij, eu_ji = np.broadcast_to(eu_ij, (A, A, N)), np.broadcast_to(eu_ji, (A, A, N))
    act = None if active.all() else active
    kind, target = np.empty((A, A, N), np.int8), np.empty((A, A, N))
    for sl in _blocks(N, A):
        xb = x[:, sl]
        diff = xb[:, None, :] - xb[None, :, :]
        _classify(xb, diff, eu_ij[..., sl], eu_ji[..., sl], None if act is None else act[:, sl],
                  kind[..., sl], target[..., sl])
    return Offers(kind=kind, target=target, eu_ij=eu_ij, eu_ji=eu_ji)


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
    x = np.asarray(x)
    A, N = x.shape
    full = (A, A, N)
    kind, target = np.broadcast_to(offers.kind, full), np.broadcast_to(offers.target, full)
    eu_ij, eu_ji = np.broadcast_to(offers.eu_ij, full), np.broadcast_to(offers.eu_ji, full)
    accept = None if accept is None else np.broadcast_to(accept, full)
    new_x = np.empty(x.shape, np.result_type(x, target))
    chosen = np.empty(x.shape, np.intp)
    for sl in _blocks(N, A):
        valid = kind[..., sl] != NO_OFFER
        if accept is not None:
            valid &= accept[..., sl]
        new_x[:, sl], chosen[:, sl] = _choose(x[:, sl], valid, kind[..., sl], target[..., sl], eu_ij[..., sl],
                                              eu_ji[..., sl], rule)
    return new_x, chosen


def bargaining_round(x: np.ndarray, c: np.ndarray, s: np.ndarray, r: np.ndarray, scale: np.ndarray,
                     active: np.ndarray, accept: np.ndarray | None = None, rule: OfferRule = "smallest_move",
                     probability: ProbabilityRule = "all_votes", concession: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, Offers]:
    """One round of challenges, offers and position updates; returns ``(new_x, chosen proposer, offers)``.

    ``concession`` (A, A, N) optionally scales the move receiver i would make on proposer j's offer (a biased
    mediator relaying offers, sim.mechanics.mediation).

    The same computation as :func:`expected_utilities`, :func:`make_offers` and :func:`choose_offers` in turn,
    done block by block so that the distances are computed once and the pairwise arrays stay in cache.
    """
    x, scale, active, c, s, r = _batch(x, scale, active, c, s, r)
    A, N = x.shape
    full = (A, A, N)
    accept = None if accept is None else np.broadcast_to(accept, full)
    concession = None if concession is None else np.broadcast_to(concession, full)
    w = np.where(active, c * s, 0.0)
    usq = _status_quo_utility(r)
    clip = bool(np.signbit(scale).any())
    act = None if active.all() else active
    eu_ij, eu_ji = np.empty(full), np.empty(full)
    kind, target = np.empty(full, np.int8), np.empty(full)
    new_x, chosen = np.empty((A, N)), np.empty((A, N), np.intp)
    for sl in _blocks(N, A):
        xb = x[:, sl]
        diff, dist = _distance(xb, scale[sl])
        p = _support(dist, w[:, sl], r[:, sl], probability)
        _utilities(dist, p, r[:, sl], s[:, sl], usq[:, sl], clip, eu_ij[..., sl], eu_ji[..., sl])
        valid = _classify(xb, diff, eu_ij[..., sl], eu_ji[..., sl], None if act is None else act[:, sl],
                          kind[..., sl], target[..., sl])
        if concession is not None:
            _concede(xb, target[..., sl], concession[..., sl])
        if accept is not None:
            valid &= accept[..., sl]
        new_x[:, sl], chosen[:, sl] = _choose(xb, valid, kind[..., sl], target[..., sl], eu_ij[..., sl],
                                              eu_ji[..., sl], rule)
    return new_x, chosen, Offers(kind=kind, target=target, eu_ij=eu_ij, eu_ji=eu_ji)


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
