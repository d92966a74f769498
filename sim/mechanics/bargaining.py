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

Performance (bench/README.md): the batch columns are independent, so a round is computed block by block (for six
actors 1,024 columns in float64, 5,120 in float32) in reused scratch buffers, because fresh (A, A, N) temporaries
cost more in page faults than the arithmetic done on them; the distance matrix is computed once per round for the
probabilities, the utilities and the offers; and the engine's entry point :func:`bargaining_moves` does not build
the (A, A, N) offers. Every element goes through the same floating-point operations in the same order whatever
the block, so the results do not depend on the block size, the chunk size or the number of replicas.

Precision: every function computes in the float type of the positions it is given (:func:`float_type`): float64
for the validations, float32 for the scenario engine by default (half the memory traffic, twice the SIMD width;
docs/model.md, "Numerics", says why float32 is precise enough here and how it was checked).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field

from sim.knowledge import Share
from sim.mechanics.base import Mechanism, MechanismSpec, register
from sim.mechanics.compromise import compromise as weighted_mean  # noqa: F401  (re-exported for callers)
from sim.world import Index, World

OfferRule = Literal["smallest_move", "scholz_priority", "scholz_code"]
ProbabilityRule = Literal["all_votes", "pairwise"]

#: Offer types, in the order of Scholz et al.'s priority rule.
CONFRONTATION, COMPROMISE, CAPITULATION, NO_OFFER = 0, 1, 2, 3

#: Pairwise elements (A × A × columns) per block, by float type. Measured best for six actors (bench/README.md):
#: float64 1,024 columns (295 kB per (A, A, n) buffer; of 256-5,120), float32 5,120 columns (737 kB; of 512-10,240):
#: smaller blocks pay more Python overhead per element, larger ones more cache misses. Results do not depend on it.
_BLOCK_PAIRS: dict[type, int] = {np.float64: 36 * 1024, np.float32: 36 * 5120}


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
class _Scratch:
    """Reusable buffers for the block kernels, one set per thread.

    Fresh temporaries of a few hundred kB are not recycled by the C allocator but mapped and faulted in anew, which
    costs more than the arithmetic done on them; the kernels write into these buffers instead (``out=``). A name
    is one buffer: views of it with different shapes share memory, so a name is used for one thing at a time.
    """

    def __init__(self, dtype: type) -> None:
        self.dtype = dtype                                             #: the float type of the computation
        self._flat: dict[tuple[str, np.dtype], np.ndarray] = {}
        self._views: dict[tuple, np.ndarray] = {}

    def __call__(self, name: str, shape: tuple[int, ...], dtype: type | None = None) -> np.ndarray:
        dtype = dtype or self.dtype
        view = self._views.get((name, shape, dtype))
        return view if view is not None else self._view(name, shape, dtype, None)

    def const(self, name: str, shape: tuple[int, ...], value: float) -> np.ndarray:
        """A buffer filled with ``value`` (never written to): ``np.maximum(v, zeros)`` is ~3x faster than
        ``np.maximum(v, 0.0)``, whose scalar operand takes numpy's slow strided loop."""
        view = self._views.get((f"const:{name}", shape, self.dtype))
        return view if view is not None else self._view(f"const:{name}", shape, self.dtype, value)

    def _view(self, name: str, shape: tuple[int, ...], dtype: type, fill: float | None) -> np.ndarray:
        size, flat_key = math.prod(shape), (name, np.dtype(dtype))
        buf = self._flat.get(flat_key)
        if buf is None or buf.size < size:
            buf = self._flat[flat_key] = np.empty(size, dtype) if fill is None else np.full(size, fill, dtype)
            self._views = {k: v for k, v in self._views.items() if k[0] != name}
        if len(self._views) > 512:                                     # many batch sizes (e.g. validation runs)
            self._views.clear()
        view = self._views[(name, shape, dtype)] = buf[:size].reshape(shape)
        return view

    def proposer_offsets(self, n_actors: int, dtype: type) -> np.ndarray:
        """``j - A`` for proposer j, shaped (1, A, 1) (see :func:`_choose`)."""
        key = ("offsets", n_actors, dtype)
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = (np.arange(n_actors) - n_actors).astype(dtype)[None, :, None]
        return view

    def flat_index(self, n_actors: int, n: int) -> np.ndarray:
        """``i * A * n + col`` for (i, col) of an (A, n) block: flat offsets of ``[i, 0, col]`` in (A, A, n)."""
        key = ("index", n_actors, n)
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = np.arange(n_actors)[:, None] * (n_actors * n) + np.arange(n)[None, :]
        return view


_local = threading.local()


def _scratch(dtype: type) -> _Scratch:
    """This thread's scratch buffers for computations in ``dtype``."""
    sets = getattr(_local, "scratch", None)
    if sets is None:
        sets = _local.scratch = {}
    ws = sets.get(dtype)
    if ws is None:
        ws = sets[dtype] = _Scratch(dtype)
    return ws


def _blocks(n: int, n_actors: int, dtype: type) -> list[slice]:
    """Column slices of the batch axis, sized so that a block's pairwise temporaries stay in cache."""
    width = max(_BLOCK_PAIRS[dtype] // max(n_actors * n_actors, 1), 16)
    return [slice(lo, min(lo + width, n)) for lo in range(0, n, width)] or [slice(0, 0)]


def _full(a: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """``a`` broadcast to ``shape`` (a view; no call when it already has that shape)."""
    if a is None:
        return None
    a = np.asarray(a)
    return a if a.shape == shape else np.broadcast_to(a, shape)


def float_type(x: np.ndarray) -> type:
    """The precision of a computation on positions ``x``: float32 if they are float32, float64 otherwise."""
    return np.float32 if np.asarray(x).dtype == np.float32 else np.float64


def _batch(x: np.ndarray, scale: np.ndarray | float, active: np.ndarray, *per_actor: np.ndarray | None) -> Any:
    """Inputs as (A, N) positions, (N,) scale, (A, N) active and (A, N) views of the per-actor arrays, the floats
    in the precision of ``x`` (:func:`float_type`)."""
    dtype = float_type(x)
    x = np.asarray(x, dtype=dtype)
    shape = x.shape
    return (x, _full(_as(scale, dtype), shape[1:]), _full(active, shape),
            *(_full(_as(a, dtype), shape) for a in per_actor))


def _as(a: np.ndarray | float | None, dtype: type) -> np.ndarray | None:
    return None if a is None else np.asarray(a, dtype=dtype)


def _distance(x: np.ndarray, scale: np.ndarray, ws: _Scratch) -> tuple[np.ndarray, np.ndarray]:
    """``diff[i, j] = x_i - x_j`` and the normalised distance ``min(|x_i - x_j| / scale, 1)``, (A, A, n) each."""
    A, n = x.shape
    diff = np.subtract(x[:, None, :], x[None, :, :], out=ws("diff", (A, A, n)))
    dist = np.abs(diff, out=ws("dist", (A, A, n)))
    np.divide(dist, scale, out=dist)
    np.minimum(dist, ws.const("ones", (A, A, n), 1.0), out=dist)
    return diff, dist


def _support(dist: np.ndarray, w: np.ndarray, r: np.ndarray, rule: ProbabilityRule, ws: _Scratch,
             act: np.ndarray | None = None) -> np.ndarray:
    """P[i, j] of one block from the normalised distances (see :func:`success_probability`).

    ``act`` (A, n), when some actors are inactive, keeps pairs involving them out of the ``all_votes`` total.
    Returns the scratch buffer ``pos``; uses ``u`` and ``v``.
    """
    shape = dist.shape
    u = ws("u", shape)
    with np.errstate(divide="ignore"):
        np.log(dist, out=u)                                           # u[k, a] = d_ka^r_k
    u *= r[:, None, :]
    np.exp(u, out=u)
    pos, v = ws("pos", shape), ws("v", shape)
    zeros = ws.const("zeros", shape, 0.0)
    for k in range(shape[0]):                                         # a loop over voters, not replicas
        np.subtract(u[k][None, :, :], u[k][:, None, :], out=v)         # v[i, j] = u_kj - u_ki
        np.maximum(v, zeros, out=v)
        if k == 0:
            np.multiply(v, w[k], out=pos)                             # = 0 + w_0 max(v, 0)
        else:
            v *= w[k]
            pos += v
    # |v_k(i, j)| = max(v_k(i, j), 0) + max(v_k(j, i), 0), so no second pass is needed for the denominators
    if rule == "all_votes":
        counted = pos if act is None else np.where(act[:, None, :] & act[None, :, :], pos, 0.0)
        tot = 2.0 * counted.sum(axis=(0, 1))
        pos /= np.where(tot > 0, tot, 1.0)
        return pos
    tot = np.add(pos, np.swapaxes(pos, 0, 1), out=v)
    none = np.greater(tot, zeros, out=ws("no_votes", shape, bool))
    np.logical_not(none, out=none)                                    # nobody votes on the pair (or NaN)
    np.copyto(tot, 1.0, where=none)
    pos /= tot
    np.copyto(pos, 0.5, where=none)
    return pos


def _risk_utility(half: np.ndarray, sign: float, r_i: np.ndarray, clip: bool, out: np.ndarray) -> np.ndarray:
    """``2 - 4 (0.5 ± 0.5 d)^r_i`` into ``out`` (``half`` = 0.5 d; may be ``out``); log(0) must be allowed."""
    if sign < 0:
        np.subtract(0.5, half, out=out)
    else:
        np.add(0.5, half, out=out)
    if clip:                     # only a negative scale takes 0.5 ± 0.5 d out of [0, 1]
        np.clip(out, 0.0, 1.0, out=out)
    np.log(out, out=out)
    out *= r_i
    np.exp(out, out=out)
    out *= 4.0
    np.subtract(2.0, out, out=out)
    return out


def _status_quo_utility(r: np.ndarray) -> np.ndarray:
    """``U^sq = 2 - 4 (0.5)^r``, (A, N) (the same for every counterpart j)."""
    return 2.0 - 4.0 * _pow(np.full_like(r, 0.5), r)


def _utilities(dist: np.ndarray, p: np.ndarray, r: np.ndarray, s: np.ndarray, usq: np.ndarray, clip: bool,
               eu_ij: np.ndarray, eu_ji: np.ndarray | None, ws: _Scratch) -> None:
    """EU_i(ij) and EU_j(ji) as i sees them (see :func:`expected_utilities`) for one block, into the outputs.

    Every element is ``s_j * (P * U^s + (1 - P) * U^f) + (1 - s_j) * U^s - U^sq``, operation by operation, with
    ``1 - P_ji = (1 - P)^T``. Overwrites ``dist`` (then holds U^f) and ``p`` (then holds 1 - P); uses ``u``, ``v``.
    """
    r_i = r[:, None, :]
    half = np.multiply(dist, 0.5, out=dist)
    with np.errstate(divide="ignore"):
        us = _risk_utility(half, -1.0, r_i, clip, ws("u", dist.shape))
        uf = _risk_utility(half, +1.0, r_i, clip, dist)
    tmp = ws("v", dist.shape)
    usq_i = usq[:, None, :]
    pairs = [(eu_ij, p, s[None, :, :])]
    if eu_ji is not None:
        pairs.append((eu_ji, np.swapaxes(p, 0, 1), s[:, None, :]))
    for out, p_, _ in pairs:
        np.multiply(p_, us, out=out)                                  # P U^s
    q = np.subtract(1.0, p, out=p)                                    # 1 - P (P is not needed any more)
    for out, _, s_ in pairs:
        q_ = q if out is eu_ij else np.swapaxes(q, 0, 1)
        np.multiply(q_, uf, out=tmp)                                  # (1 - P) U^f
        out += tmp
        out *= s_
        np.multiply(1.0 - s_, us, out=tmp)                            # (1 - s_j) U^s
        out += tmp
        out -= usq_i


def _classify(x: np.ndarray, diff: np.ndarray, eu_ij: np.ndarray, eu_ji: np.ndarray, active: np.ndarray | None,
              kind: np.ndarray | None, target: np.ndarray, ws: _Scratch) -> np.ndarray:
    """Offers of one block (see :func:`make_offers`) into ``kind`` (unless None) and ``target``; returns the
    valid-offer mask.

    ``diff``, ``eu_ij``, ``eu_ji`` and ``target`` must be C-contiguous (A, A, n) arrays.
    """
    shape = diff.shape
    xi = x[:, None, :]
    pair = np.not_equal(xi, x[None, :, :], out=ws("pair", shape, bool))
    if active is not None:
        pair &= active[:, None, :]
        pair &= active[None, :, :]
    test = ws("test", shape, bool)
    confront = np.greater(eu_ji, eu_ij, out=ws("confront", shape, bool))
    confront &= np.greater(eu_ij, 0.0, out=test)
    confront &= pair
    lose = np.less(eu_ij, 0.0, out=ws("lose", shape, bool))
    lose &= np.greater(eu_ji, 0.0, out=test)
    lose &= pair
    frac = np.abs(eu_ij, out=ws("u", shape))
    compromise = np.greater(eu_ji, frac, out=ws("compromise", shape, bool))
    compromise &= lose
    if kind is not None:
        # kind = 3 - (3 confrontation + lose + compromise): 0, 1 (compromise), 2 (capitulation) or 3 (none)
        np.multiply(confront, np.int8(3), out=kind)
        np.add(kind, lose, out=kind)
        np.add(kind, compromise, out=kind)
        np.subtract(np.int8(NO_OFFER), kind, out=kind)
    # frac = |EU_i(ij)| / EU_j(ji) on compromises, 1 elsewhere (compromises are few: a masked divide over the
    # whole block is slower than gathering them); target = x_i + (x_j - x_i) frac = x_i - diff frac
    at = np.flatnonzero(compromise)
    flat = frac.reshape(-1)
    ratio = flat[at] / eu_ji.reshape(-1)[at]
    frac.fill(1.0)
    flat[at] = ratio
    frac *= diff
    np.subtract(xi, frac, out=target)
    confront |= lose
    return confront


def _concede(x: np.ndarray, target: np.ndarray, concession: np.ndarray, ws: _Scratch) -> None:
    """``target = x_i + (target - x_i) * concession`` in place."""
    xi = x[:, None, :]
    move = np.subtract(target, xi, out=ws("v", target.shape))
    move *= concession
    np.add(xi, move, out=target)


def _select(mask: np.ndarray, a: np.ndarray, value: float, out: np.ndarray, ws: _Scratch) -> np.ndarray:
    """``out = a`` where ``mask``, ``value`` elsewhere: ``np.where(mask, a, value)`` to the bit (NaN and signed zeros
    included) for float arrays ``a`` and ``out`` of one shape, C-contiguous.

    Computed on the floats' bits, ``(a & m) | (value & ~m)`` with ``m`` all ones where ``mask``: numpy's ``where``
    and masked copies are an order of magnitude slower than these integer passes on the kernels' random masks.
    """
    bits = np.dtype(f"i{a.itemsize}")
    m = ws("select", a.shape, bits.type)
    np.copyto(m, mask)                                                # 1 or 0
    np.negative(m, out=m)                                             # all ones or 0
    ob = out.view(bits)
    np.bitwise_and(a.view(bits), m, out=ob)
    np.invert(m, out=m)
    np.bitwise_and(m, np.asarray(value, a.dtype).view(bits), out=m)
    np.bitwise_or(ob, m, out=ob)
    return out


def _where_valid(kind: np.ndarray, valid: np.ndarray, ws: _Scratch) -> np.ndarray:
    """The offer types of the ``valid`` offers, ``NO_OFFER`` elsewhere (the scratch buffer ``masked``).

    ``kind | 3 (1 - valid)``: the types are 0-3 and ``NO_OFFER`` is 3 (binary 11), so OR-ing in 3 gives 3 and OR-ing
    in 0 keeps the type; the same values as a masked copy, which numpy makes several times slower (bench/README.md).
    """
    masked = ws("masked", kind.shape, np.int8)
    invalid = np.logical_not(valid, out=ws("invalid", kind.shape, bool))
    np.multiply(invalid.view(np.int8), np.int8(NO_OFFER), out=masked)
    np.bitwise_or(masked, kind, out=masked)
    return masked


def _choose(x: np.ndarray, valid: np.ndarray, kind: np.ndarray | None, target: np.ndarray, eu_ij: np.ndarray,
            eu_ji: np.ndarray, rule: OfferRule, ws: _Scratch) -> tuple[np.ndarray, np.ndarray]:
    """One block of :func:`choose_offers` (``valid`` already combines offers and vetoes; C-contiguous arrays).

    Same result as ``argmin`` over proposers of the key (``inf`` where no valid offer) with its first-occurrence
    rule and NaN propagation, computed as the minimum key and the first proposer that attains it (``argmin`` along
    a middle axis, ``take_along_axis`` and masked copies are several times slower on these shapes).
    """
    A, _, n = target.shape
    shape = target.shape
    xi = x[:, None, :]
    score = np.subtract(target, xi, out=ws("v", shape))
    np.abs(score, out=score)                                          # the move
    if rule == "scholz_priority":
        # the best offer type first (confrontation < compromise < capitulation), then the smallest move within it:
        # the same choice as the key move + 1e6 * type, without float64 temporaries (bench/README.md)
        assert kind is not None, "the offer types are computed for this rule"
        best_kind = np.minimum.reduce(_where_valid(kind, valid, ws), axis=1)   # (A, n)
        valid &= np.equal(kind, best_kind[:, None, :], out=ws("same_kind", shape, bool))
    elif rule != "smallest_move":
        assert kind is not None, "the offer types are computed for this rule"
        if rule == "scholz_code":
            a, b = np.abs(eu_ij), np.abs(eu_ji)
            den = np.where(a + b > 0, a + b, 1.0)
            weighted = (a * xi + b * x[None, :, :]) / den
            score = np.where(kind == COMPROMISE, weighted, score)
        score = score + 1e6 * kind.astype(np.float64)                # float64: 1e6 + a move needs > 7 digits
    key = _select(valid, score, np.inf, ws("key", shape, score.dtype), ws)
    best_key = np.minimum.reduce(key, axis=1)                         # (A, n); NaN if any key is NaN
    has = np.isfinite(best_key)
    hit = np.equal(key, best_key[:, None, :], out=ws("hit", shape, bool))
    code_type = np.int8 if A < 127 else np.int32
    offset = ws.proposer_offsets(A, code_type)                        # j - A < 0 for a hit, 0 otherwise
    code = np.multiply(hit, offset, out=ws("code", shape, code_type))
    best = np.minimum.reduce(code, axis=1).astype(np.intp)            # first hit j, minus A
    best += A
    np.minimum(best, A - 1, out=best)                                 # no hit (no offer or NaN): any index
    pick = best * n
    pick += ws.flat_index(A, n)
    new_x = np.where(has, target.reshape(-1)[pick], x)
    return new_x, np.where(has, best, -1)


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
    ws = _scratch(x.dtype.type)
    w = np.where(active, c * s, 0.0)                                   # (K, N)
    out = np.empty((A, A, N), x.dtype)
    for sl in _blocks(N, A, ws.dtype):
        _, dist = _distance(x[:, sl], scale[sl], ws)
        out[..., sl] = _support(dist, w[:, sl], r[:, sl], rule, ws, None if active.all() else active[:, sl])
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
    ws = _scratch(x.dtype.type)
    w = np.where(active, c * s, 0.0)
    usq = _status_quo_utility(r)
    clip = bool(np.signbit(scale).any())
    eu_ij, eu_ji = np.empty((A, A, N), x.dtype), np.empty((A, A, N), x.dtype)
    for sl in _blocks(N, A, ws.dtype):
        _, dist = _distance(x[:, sl], scale[sl], ws)
        p = _support(dist, w[:, sl], r[:, sl], probability, ws,
                     None if active.all() else active[:, sl])        # p[i, j]
        _utilities(dist, p, r[:, sl], s[:, sl], usq[:, sl], clip, eu_ij[..., sl], eu_ji[..., sl], ws)
    return eu_ij, eu_ji


def endogenous_risk(x: np.ndarray, c: np.ndarray, s: np.ndarray, scale: np.ndarray,
                    active: np.ndarray, probability: ProbabilityRule = "all_votes") -> np.ndarray:
    """Risk exponents r_i in [0.5, 2] from each actor's security (Scholz et al. 2011, eqs. 7-8).

    With every r = 1, i's danger is ``D_i = sum_{j != i} EU_j(ji)``; ``R_i = (2 D_i - D_max - D_min) /
    (D_max - D_min)`` and ``r_i = (1 - R_i / 3) / (1 + R_i / 3)``. When all dangers are equal, r = 1.
    """
    x, scale, active, c, s = _batch(x, scale, active, c, s)
    A, N = x.shape
    ws = _scratch(x.dtype.type)
    ones = np.ones_like(x)                                             # objective, r = 1
    w = np.where(active, c * s, 0.0)
    usq = _status_quo_utility(ones)
    clip = bool(np.signbit(scale).any())
    danger = np.empty((A, N), x.dtype)
    for sl in _blocks(N, A, ws.dtype):
        _, dist = _distance(x[:, sl], scale[sl], ws)
        p = _support(dist, w[:, sl], ones[:, sl], probability, ws, None if active.all() else active[:, sl])
        eu_ij = ws("eu_ij", dist.shape)
        _utilities(dist, p, ones[:, sl], s[:, sl], usq[:, sl], clip, eu_ij, None, ws)
        act = active[:, sl]
        pair = act[:, None, :] & act[None, :, :]
        np.einsum("iin->in", pair)[...] = False
        danger[:, sl] = np.where(pair, eu_ij, 0.0).sum(axis=0)        # D_i = sum_j EU_j(j i)
    big = np.where(active, danger, -np.inf).max(axis=0)
    small = np.where(active, danger, np.inf).min(axis=0)
    span = big - small
    ok = np.isfinite(span) & (span > 1e-12)
    rr = np.where(ok & active, (2 * danger - big - small) / np.where(ok, span, 1.0), 0.0)   # inactive: r = 1
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
    xf, _, act = _batch(x, 0.0, active)
    A, N = xf.shape
    full = (A, A, N)
    ij, ji = np.broadcast_to(eu_ij, full), np.broadcast_to(eu_ji, full)
    act = None if act.all() else act
    ws = _scratch(xf.dtype.type)
    kind, target = np.empty(full, np.int8), np.empty(full, xf.dtype)
    for sl in _blocks(N, A, ws.dtype):
        xb = xf[:, sl]
        shape = (A, A, xb.shape[1])
        diff = np.subtract(xb[:, None, :], xb[None, :, :], out=ws("diff", shape))
        bij, bji = ws("eu_ij", shape), ws("eu_ji", shape)
        bij[...], bji[...] = ij[..., sl], ji[..., sl]
        kd, tg = ws("kind", shape, np.int8), ws("target", shape)
        _classify(xb, diff, bij, bji, None if act is None else act[:, sl], kd, tg, ws)
        kind[..., sl], target[..., sl] = kd, tg
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
    x = np.asarray(x, dtype=float_type(x))
    A, N = x.shape
    full = (A, A, N)
    kind, target = np.broadcast_to(offers.kind, full), np.broadcast_to(offers.target, full)
    eu_ij, eu_ji = np.broadcast_to(offers.eu_ij, full), np.broadcast_to(offers.eu_ji, full)
    accept = None if accept is None else np.broadcast_to(accept, full)
    ws = _scratch(x.dtype.type)
    new_x = np.empty(x.shape, np.result_type(x, target))
    chosen = np.empty(x.shape, np.intp)
    for sl in _blocks(N, A, ws.dtype):
        shape = (A, A, x[:, sl].shape[1])
        valid = np.not_equal(kind[..., sl], NO_OFFER, out=ws("valid", shape, bool))
        if accept is not None:
            valid &= accept[..., sl]
        tg = ws("target", shape, target.dtype)  # type: ignore[arg-type]
        tg[...] = target[..., sl]
        new_x[:, sl], chosen[:, sl] = _choose(x[:, sl], valid, kind[..., sl], tg, eu_ij[..., sl],
                                              eu_ji[..., sl], rule, ws)
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
    return _round(x, c, s, r, scale, active, accept, rule, probability, concession, keep_offers=True)


def bargaining_moves(x: np.ndarray, c: np.ndarray, s: np.ndarray, r: np.ndarray, scale: np.ndarray,
                     active: np.ndarray, accept: np.ndarray | None = None, rule: OfferRule = "smallest_move",
                     probability: ProbabilityRule = "all_votes", concession: np.ndarray | None = None, *,
                     fixed: RoundInputs | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`bargaining_round` without the (A, A, N) offers: ``(new_x, chosen proposer)`` (the engine's path).

    ``fixed`` optionally gives the round's inputs that do not depend on the positions, computed once for many
    rounds (:func:`round_inputs` of the same ``c``, ``s``, ``r`` and ``active``)."""
    new_x, chosen, _ = _round(x, c, s, r, scale, active, accept, rule, probability, concession, keep_offers=False,
                              fixed=fixed)
    return new_x, chosen


@dataclass(frozen=True)
class RoundInputs:
    """What a round computes from the capabilities, saliences, risk exponents and active actors alone."""

    weight: np.ndarray     #: (A, N) the votes' weights ``c s`` of the active actors, 0 for the others
    usq: np.ndarray        #: (A, N) the status-quo utility ``U^sq = 2 - 4 (0.5)^r``


def round_inputs(c: np.ndarray, s: np.ndarray, r: np.ndarray, active: np.ndarray) -> RoundInputs:
    """The :class:`RoundInputs` of ``c``, ``s``, ``r`` and ``active`` (A, N), in the precision of ``c``: the same
    arrays as a round on positions of that precision computes."""
    dtype = float_type(c)
    c, s, r = (np.asarray(a, dtype=dtype) for a in (c, s, r))
    return RoundInputs(weight=np.where(active, c * s, 0.0), usq=_status_quo_utility(r))


def _round(x, c, s, r, scale, active, accept, rule, probability, concession, *, keep_offers: bool,
           fixed: RoundInputs | None = None):
    x, scale, active, c, s, r = _batch(x, scale, active, c, s, r)
    A, N = x.shape
    full = (A, A, N)
    ws = _scratch(x.dtype.type)
    accept, concession = _full(accept, full), _full(concession, full)
    if fixed is None:
        fixed = round_inputs(c, s, r, active)
    w, usq = fixed.weight, fixed.usq
    clip = bool(np.signbit(scale).any())
    act = None if active.all() else active
    need_kind = keep_offers or rule != "smallest_move"                # the offer types are only needed for these
    if keep_offers:
        eu_ij, eu_ji = np.empty(full, x.dtype), np.empty(full, x.dtype)
        kind, target = np.empty(full, np.int8), np.empty(full, x.dtype)
    new_x, chosen = np.empty((A, N), x.dtype), np.empty((A, N), np.intp)
    for sl in _blocks(N, A, ws.dtype):
        xb = x[:, sl]
        shape = (A, A, xb.shape[1])
        ij, ji = ws("eu_ij", shape), ws("eu_ji", shape)
        kd = ws("kind", shape, np.int8) if need_kind else None
        tg = ws("target", shape)
        diff, dist = _distance(xb, scale[sl], ws)
        p = _support(dist, w[:, sl], r[:, sl], probability, ws, None if act is None else act[:, sl])
        _utilities(dist, p, r[:, sl], s[:, sl], usq[:, sl], clip, ij, ji, ws)
        valid = _classify(xb, diff, ij, ji, None if act is None else act[:, sl], kd, tg, ws)
        if concession is not None:
            _concede(xb, tg, concession[..., sl], ws)
        if accept is not None:
            valid &= accept[..., sl]
        new_x[:, sl], chosen[:, sl] = _choose(xb, valid, kd, tg, ij, ji, rule, ws)
        if keep_offers:
            eu_ij[..., sl], eu_ji[..., sl], kind[..., sl], target[..., sl] = ij, ji, kd, tg
    offers = Offers(kind=kind, target=target, eu_ij=eu_ij, eu_ji=eu_ji) if keep_offers else None
    return new_x, chosen, offers


def simulate(x0: np.ndarray, c: np.ndarray, s: np.ndarray, rounds: int, *, active: np.ndarray | None = None,
             risk: Literal["endogenous"] | np.ndarray = "endogenous", rule: OfferRule = "smallest_move",
             probability: ProbabilityRule = "all_votes", scale: np.ndarray | None = None,
             move_rate: float = 1.0) -> np.ndarray:
    """Run ``rounds`` rounds of the challenge model; returns positions by round, shape ``(rounds + 1, A, N)``.

    ``risk`` is ``"endogenous"`` (recomputed each round from security, as Scholz et al.) or fixed exponents (A, N).
    ``scale`` defaults to the initial range of the active positions. ``move_rate`` < 1 moves a receiver only that
    share of the way to the offer it accepts (the scenario engine's partial monthly move; 1 = BDM's full move).
    """
    x: np.ndarray = np.asarray(x0, dtype=float_type(x0))
    act = np.ones_like(x, dtype=bool) if active is None else active
    if scale is None:
        hi = np.where(act, x, -np.inf).max(axis=0)
        lo = np.where(act, x, np.inf).min(axis=0)
        scale = np.maximum(hi - lo, 1e-9)
    out = [x]
    concession = None if move_rate == 1.0 else np.full((1, 1, 1), move_rate, x.dtype)
    for _ in range(rounds):
        r = endogenous_risk(x, c, s, scale, act, probability) if isinstance(risk, str) else risk
        x, _ = bargaining_moves(x, c, s, r, scale, act, rule=rule, probability=probability, concession=concession)
        out.append(x)
    return np.stack(out)


# --- the plug-in ---------------------------------------------------------------------------------------------
class BargainingSpec(MechanismSpec):
    """``mechanics.bargaining``: the challenge model's rules and the scenario engine's rates."""

    rounds_per_step: int = Field(ge=1, le=10)
    offer_rule: OfferRule
    probability: ProbabilityRule
    risk: Literal["knowledge", "endogenous"]
    trust_floor: Share
    move_rate: Share
    precision: Literal["float32", "float64"]


@register
class Bargaining(Mechanism[BargainingSpec]):
    """Expected-utility bargaining on every issue each month (Bueno de Mesquita 1994, as reconstructed by Scholz,
    Calbert & Smith 2011): challenges, offers, and a move of ``move_rate`` of the way to the accepted offer;
    an offer from proposer j is accepted with ``P = floor + (1 - floor) · τ'_ij`` (trust after mediation; this
    project's choice). Each issue draws its acceptances from its own substream."""

    name = "bargaining"
    Spec = BargainingSpec
    reads = ("effective_trust", "concession", "rung")

    @classmethod
    def streams(cls, section: BargainingSpec, index: Index) -> list[str]:
        return [f"{cls.name}/{iid}" for iid in index.issues]

    def prepare(self, world: World) -> None:
        """The kernels' fixed inputs, (A, I·R) with issues × replicas as the batch, in the kernels' precision
        (they compute in the float type of their inputs): built once, they do not change over a run."""
        A, I, R = world.position.shape
        f = np.dtype(self.section.precision)
        concession = np.asarray(self.c.move_rate) * world["concession"]                    # (A, A, R)
        self.kernel_c = world.format_capability.reshape(A, I * R).astype(f)
        self.kernel_s = world.salience.reshape(A, I * R).astype(f)
        self.kernel_scale = world.scale.reshape(I * R).astype(f)
        self.kernel_active = np.ones((A, I * R), bool)
        self.kernel_concession = np.broadcast_to(concession.astype(f)[:, :, None, :], (A, A, I, R)).reshape(A, A, I * R)
        self.kernel_risk = (None if self.section.risk == "endogenous"
                            else np.broadcast_to(world.risk_exponent.astype(f)[:, None, :], (A, I, R)).reshape(A, I * R))
        self.kernel_fixed = (None if self.kernel_risk is None       # the endogenous exponents change every round
                             else round_inputs(self.kernel_c, self.kernel_s, self.kernel_risk, self.kernel_active))
        self.issue_streams = [f"{self.name}/{iid}" for iid in self.index.issues]
        self.parties = self.index.actor_role("deal.parties") if "deal.parties" in self.index.roles else []
        self.deal_issues = self.index.issue_role("deal.issues") if "deal.issues" in self.index.roles else []

    def step(self, world: World) -> None:
        s = self.section
        A, I, R = world.position.shape
        floor = np.asarray(self.c.trust_floor)
        accept_p = floor + (1.0 - floor) * world["effective_trust"]                         # (A, A, R)
        for _ in range(s.rounds_per_step):
            accept = self._acceptances(accept_p, I).reshape(A, A, I * R)
            x = world.position.reshape(A, I * R).astype(self.kernel_c.dtype)
            r = (endogenous_risk(x, self.kernel_c, self.kernel_s, self.kernel_scale, self.kernel_active,
                                 s.probability) if self.kernel_risk is None else self.kernel_risk)
            new_x, chosen = bargaining_moves(x, self.kernel_c, self.kernel_s, r, self.kernel_scale,
                                             self.kernel_active, accept, s.offer_rule, s.probability,
                                             self.kernel_concession, fixed=self.kernel_fixed)
            world.position = new_x.reshape(A, I, R).astype(world.position.dtype)
            self._log(world, chosen.reshape(A, I, R))

    def _acceptances(self, accept_p: np.ndarray, n_issues: int) -> np.ndarray:
        """(A, A, I, R) bool: receiver i accepts proposer j's offer on issue k, ``u < P_ij`` with one uniform per
        pair from issue k's own substream (compared issue by issue, without stacking the uniforms)."""
        A, _, R = accept_p.shape
        accept = np.empty((A, A, n_issues, R), bool)
        for k, name in enumerate(self.issue_streams):
            np.less(self.draw(name).uniform(A, A), accept_p, out=accept[:, :, k, :])
        return accept

    def _log(self, world: World, chosen: np.ndarray) -> None:
        if not self.log.active or len(self.parties) != 2:
            return
        ix = self.index
        p, q = self.parties
        for a, b in ((p, q), (q, p)):
            for k in self.deal_issues:
                self.log.record(chosen[a, k] == b, world.step, ix.actors[a], "offer_accepted",
                                f"{ix.name(a)} accepts {ix.name(b)}'s offer on {ix.label(k)}",
                                world["rung"], world["rung"])
