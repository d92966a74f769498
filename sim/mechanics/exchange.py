"""The exchange of voting positions as a market, after Stokman & van Oosten (1994), with commitment and reneging.

Sources
-------
- Stokman, F. N. & van Oosten, R. (1994). "The exchange of voting positions: an object-oriented model of policy
  networks." In Bueno de Mesquita & Stokman (eds.), *European Community Decision Making*, Yale UP, 105-127.
- Arregui, J., Stokman, F. N. & Thomson, R. (2006). "Compromise, exchange and challenge in the European Union."
  In Thomson et al. (eds.), *The European Union Decides*, Cambridge UP (the position-exchange model beside the
  challenge model).
- The equal-gain ("Decide") implementation of the model: Stokman's group's open code, github.com/foarsitter/
  decide-exchange-model, ``decide/model/{base,equalgain,calculations}.py`` (groups A-D / B-C of actors on the two
  sides of the expected outcome on both issues; the supplier moves toward the demander's position, the
  other side moves by the equal-gain rate; the outcome may not pass the demander's position; exchanges
  realised in order of gain, the others recomputed).

The market (docs/model.md §7.3), each month and vectorised over replicas:

- the expected outcome of issue ``k`` is the compromise ``O_k = Σ_a w_ak x_ak / W_k`` (``w = c·s``, §7.2);
- a candidate ``(i, p; j, q)``: ``i`` moves its position on ``p`` toward ``j``'s, ``j`` on ``q`` toward ``i``'s;
  every pair of actors ``i < j`` and every ordered pair of issues ``p ≠ q`` (A = 6, I = 5: 15 × 20 = 300
  candidates), plus the brokered ones (below);
- it is possible iff the two actors stand on opposite sides of ``O_p`` and of ``O_q``
  (``(x_ip - O_p)(x_jp - O_p) < 0`` and the same on ``q``) and their saliences are inversely ordered,
  ``s_jp s_iq > s_ip s_jq`` (each supplies on the issue it cares about relatively less);
- equal-gain rate: with ``a`` the shift of ``O_p`` and ``b`` that of ``O_q``, ``G_i = s_iq b - s_ip a`` and
  ``G_j = s_jp a - s_jq b`` are equal iff ``b = λ a``, ``λ = (s_ip + s_jp) / (s_iq + s_jq)``; then
  ``G = a (s_iq s_jp - s_ip s_jq) / (s_iq + s_jq)``;
- size: the supplier moves at most to the demander's position, the outcome moves at most to the demander's
  position; a share ``θ`` (``rate``) of the largest such exchange is agreed in a month (a departure: S&vO realise
  the whole exchange in a round);
- **credibility** (this project's extension): each side weighs the chance ``ρ`` that the other reneges before its
  commitment ends, ``ρ = 1 - (1 - h)^T``; the exchange is agreed only if ``(1 - ρ_j) B_i > C_i`` and
  ``(1 - ρ_i) B_j > C_j`` (``B`` what the other's move brings, ``C`` the own move's cost; S&vO assume delivery);
- exchanges are realised in decreasing order of ``G``; an actor-issue takes part in at most one exchange a month
  (all four of the exchange's actor-issues are then used), and the rest are recomputed on the new positions
  (a loop over "slots" of the greedy matching, at most ``A·I/4``; never over replicas).

**Commitment and reneging** (this project's extension): an agreed exchange binds the two moved actor-issues for
``T`` (``commitment``) months — each month the bound position is restored to the agreed one before anything else —
unless the holder reneges, with the monthly hazard ``h = h_0 · f_a · (1 - τ_ji)`` (``renege_rate``, ``f_a`` the
``reneger_factor`` of the actor named ``reneger``, else 1; ``τ_ji`` the partner's trust in the holder: its reputation
for delivery). Reneging restores the holder's position before the exchange, releases the partner from its side
and multiplies the partner's trust in the holder by ``renege_trust_retained``. Each actor-issue draws its reneging
uniforms (one per actor and month) from the issue's own substream ``exchange/renege/<issue>``, so an added issue
leaves the other issues' draws alone.

**Brokered exchange** (this project's extension): a patron ``j`` listed in ``brokers`` may deliver its client
``k``'s move on the listed issues: ``k``'s position moves toward ``i``'s instead of ``j``'s, by at most the
``leverage`` share of the distance; the gains, the salience condition and the opposite-sides condition are the
patron's (the client must stand on the patron's side of ``O_q`` too); reneging on a brokered move is the patron's.

**Instrument concession** (this project's extension): an actor-issue listed in ``concessions`` may be traded away
even when the actor stands on its partner's side of the expected outcome — a policy the actor controls itself (the
US's own aid to Ukraine, in force through :mod:`sim.mechanics.policy`), whose loss it counts as the outcome shift
``s_ip · a`` as if it stood on the other side; the partner must still gain (its position lies beyond the outcome in
the direction of the move). In S&vO such a trade is not an exchange: with both on the same side the move would
also bring the outcome toward the conceder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sim.knowledge import Months, Multiplier, Share
from sim.mechanics.base import Mechanism, MechanismSpec, Ref, register
from sim.mechanics.compromise import compromise
from sim.outcomes import Outcome
from sim.world import Index, World

EPS = 1e-9


@dataclass(frozen=True)
class Candidates:
    """Index arrays (C,) of the market's candidates: ``i`` moves on ``p`` toward ``j``; ``k`` moves on ``q``
    toward ``i`` (``k == j`` when direct; otherwise ``j`` is the patron and ``k`` its client)."""

    i: np.ndarray
    p: np.ndarray
    j: np.ndarray
    q: np.ndarray
    k: np.ndarray
    #: :func:`layout`'s index arrays by (A, I, concessions) (the index arrays above are never changed in place)
    _layouts: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def brokered(self) -> np.ndarray:
        return self.k != self.j

    def __len__(self) -> int:
        return int(self.i.size)


def candidates(n_actors: int, n_issues: int, brokers: list[tuple[int, int, list[int]]] | None = None) -> Candidates:
    """All actor pairs ``i < j`` × ordered issue pairs ``p ≠ q``, then the brokered ``(i, p; patron, q; client)``."""
    rows = [(i, p, j, q, j) for i in range(n_actors) for j in range(i + 1, n_actors)
            for p in range(n_issues) for q in range(n_issues) if p != q]
    for patron, client, issues in brokers or []:
        rows += [(i, p, patron, q, client) for i in range(n_actors) if i not in (patron, client)
                 for q in issues for p in range(n_issues) if p != q]
    arr = np.array(rows, dtype=np.intp).reshape(-1, 5)
    return Candidates(*(arr[:, n].copy() for n in range(5)))


def evaluate(x: np.ndarray, s: np.ndarray, w: np.ndarray, cand: Candidates, *, rate: np.ndarray | float,
             leverage: np.ndarray | float, hazard: np.ndarray | None = None,
             horizon: np.ndarray | float = 1.0, concede: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The equal-gain exchange of every candidate on positions ``x`` (A, I, R): arrays of shape (C, R).

    ``s`` saliences (A, I, R) in [0, 1], ``w`` weights c·s (A, I, R); ``hazard`` (A, A, R) the monthly reneging
    hazard of actor a toward partner b (None: nobody reneges); ``horizon`` the commitment in months. Returns
    ``concede`` (A, I) bool: actor-issues that may concede whatever their side of the outcome (the instrument
    extension; None: none). Returns ``possible`` (both sides' conditions), ``credible``, ``a`` (shift of O_p), ``lam`` (b = lam a), the gain ``G``,
    and the moves ``move_i`` (signed, of x_ip) and ``move_k`` (signed, of x_kq).
    """
    i, p, j, q, k = cand.i, cand.p, cand.j, cand.q, cand.k
    O = compromise(x, w)                                  # (I, R) the expected outcomes
    W = w.sum(axis=0)
    xip, xjp, xiq, xjq, xkq = x[i, p], x[j, p], x[i, q], x[j, q], x[k, q]
    sip, sjp, siq, sjq = s[i, p], s[j, p], s[i, q], s[j, q]
    Op, Oq = O[p], O[q]
    side_p = (xip - Op) * (xjp - Op) < 0
    if concede is not None:
        side_p = side_p | (concede[i, p][:, None] & ((xjp - Op) * (xjp - xip) > 0))   # j still gains from the move
    opposite = side_p & ((xiq - Oq) * (xjq - Oq) < 0) & ((xiq - Oq) * (xkq - Oq) < 0)
    gainful = sjp * siq > sip * sjq
    lam = (sip + sjp) / np.maximum(siq + sjq, 1e-12)
    reach = np.where(cand.brokered[:, None], leverage, 1.0)
    d_p, d_q = xjp - xip, xiq - xkq
    a_i = w[i, p] * np.abs(d_p) / np.maximum(W[p], 1e-12)              # i all the way to j's position
    a_k = reach * w[k, q] * np.abs(d_q) / np.maximum(W[q], 1e-12) / np.maximum(lam, 1e-12)
    a_cap = np.minimum(np.abs(xjp - Op), np.abs(xiq - Oq) / np.maximum(lam, 1e-12))   # outcomes stop at demanders
    a = rate * np.minimum(np.minimum(a_i, a_k), a_cap)
    G = a * (siq * sjp - sip * sjq) / np.maximum(siq + sjq, 1e-12)
    possible = opposite & gainful & (a > EPS)
    if hazard is None:
        credible = np.ones_like(possible)
    else:
        rr = np.arange(x.shape[-1])
        rho_j = 1.0 - (1.0 - hazard[j[:, None], i[:, None], rr]) ** horizon   # the partner j reneges on i
        rho_i = 1.0 - (1.0 - hazard[i[:, None], j[:, None], rr]) ** horizon
        credible = (rho_j * siq * lam * a < G) & (rho_i * sjp * a < G)      # (1 - ρ_j) B_i > C_i, and for j
    move_i = np.sign(d_p) * np.minimum(a * W[p] / np.maximum(w[i, p], 1e-12), np.abs(d_p))
    move_k = np.sign(d_q) * np.minimum(a * lam * W[q] / np.maximum(w[k, q], 1e-12), np.abs(d_q))
    return {"possible": possible, "credible": credible, "a": a, "lam": lam, "G": G,
            "move_i": move_i, "move_k": move_k}


@dataclass
class Trades:
    """What one month's market realised: per slot, the candidate index (R,) (-1: none) and its gain."""

    chosen: list[np.ndarray]
    gains: list[np.ndarray]


def salience_condition(s: np.ndarray, cand: Candidates) -> np.ndarray:
    """(C, R) bool, candidate-major: the candidates' saliences are inversely ordered, ``s_jp s_iq > s_ip s_jq``."""
    A, I, R = s.shape
    S = s.reshape(A * I, R)
    return S[cand.j * I + cand.p] * S[cand.i * I + cand.q] > S[cand.i * I + cand.p] * S[cand.j * I + cand.q]


def flat_view(a: np.ndarray):
    """``a`` indexed by flat position, writable in place: a 1-D view when ``a`` is contiguous, else ``a.flat``."""
    return a.reshape(-1) if a.flags.c_contiguous else a.flat


def layout(cand: Candidates, n_actors: int, n_issues: int, concede: np.ndarray | None) -> dict[str, np.ndarray]:
    """The candidates' row indices into the market's arrays (computed once per candidate list, then cached on it).

    ``ip`` … ``kq``: rows ``actor·I + issue`` of (A·I, R) arrays; ``ij``, ``ji``: rows of (A·A, R) arrays; the
    ordered actor pairs the candidates need, (i, j) and (i, k), are ``pa``, ``pb``, and their side conditions are
    combined per pair and issue in rows ``pair·I + issue`` (``P``, ``Q``: (i, j) on p and q; ``K``: (i, k) on q);
    ``brokered`` and ``concede`` list the brokered candidates and those whose ``(i, p)`` may concede.
    """
    A, I = n_actors, n_issues
    key = (A, I, None if concede is None else (concede.shape, concede.tobytes()))
    cached = cand._layouts.get(key)
    if cached is not None:
        return cached
    pairs = np.unique(np.r_[cand.i * A + cand.j, cand.i * A + cand.k])
    row = np.full(A * A, -1, np.intp)
    row[pairs] = np.arange(pairs.size)
    fl = {"ip": cand.i * I + cand.p, "iq": cand.i * I + cand.q, "jp": cand.j * I + cand.p,
          "jq": cand.j * I + cand.q, "kq": cand.k * I + cand.q, "pa": pairs // A, "pb": pairs % A,
          "ij": cand.i * A + cand.j, "ji": cand.j * A + cand.i,
          "P": row[cand.i * A + cand.j] * I + cand.p, "Q": row[cand.i * A + cand.j] * I + cand.q,
          "K": row[cand.i * A + cand.k] * I + cand.q, "brokered": np.flatnonzero(cand.brokered),
          "concede": (np.flatnonzero(concede[cand.i, cand.p]) if concede is not None else np.zeros(0, np.intp))}
    cand._layouts[key] = fl
    return fl


def _per_replica(v: np.ndarray | float, R: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(v, float), (R,))


def _best(x: np.ndarray, s: np.ndarray, w: np.ndarray, Wsum: np.ndarray, cand: Candidates,
          fl: dict[str, np.ndarray], gainful: np.ndarray, used: np.ndarray, rate: np.ndarray, leverage: np.ndarray,
          rho: np.ndarray | None, concede: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """The best valid candidate of each replica column that has one: ``(r, c, G, move_i, move_k)``, 1-D, in
    increasing ``r``.

    ``Wsum`` (I, R) is ``w.sum(axis=0)``, the issues' total weights.

    The same quantities as :func:`evaluate`; the cheap conditions (sides, saliences, free actor-issues) are
    combined per ordered pair of actors and issue first, (A·A·I, R), gathered by row into a (C, R)
    candidate-major mask (``gainful`` is (C, R) here), and the rest is computed on the (candidate, replica) pairs
    that pass them only. Rows of the replica-last arrays are contiguous, so every gather of the mask is a copy of
    whole rows; the per-pair arithmetic is elementwise and the same as before whatever the pairs' order.
    """
    A, I, R = x.shape
    if (Wsum > 0).all():                                     # compromise(x, w), without its fallback
        O = (w * x).sum(axis=0) / Wsum
    else:
        O = compromise(x, w)
    X, S, Wt = x.reshape(A * I, R), s.reshape(A * I, R), w.reshape(A * I, R)
    free = ~used
    above, below = (x > O[None]) & free, (x < O[None]) & free
    side = above.view(np.int8) - below.view(np.int8)        # sign(x - O) of the free actor-issues, else 0
    ok2 = (side[fl["pa"]] * side[fl["pb"]] < 0).reshape(-1, R)   # (pair·I, R): opposite sides, both free
    ok = ok2[fl["P"]] & ok2[fl["Q"]] & gainful                           # (C, R): candidate-major
    if fl["brokered"].size:
        rows = fl["brokered"]
        ok[rows] &= ok2[fl["K"][rows]]                                  # the client opposite i on q, and free
    if fl["concede"].size:
        rows = fl["concede"]
        ip, jp, p = fl["ip"][rows], fl["jp"][rows], cand.p[rows]
        F = free.reshape(A * I, R)
        gains_j = (X[jp] - O[p]) * (X[jp] - X[ip]) > 0                   # the move brings O_p toward j
        ok[rows] |= F[ip] & F[jp] & gains_j & ok2[fl["Q"][rows]] & gainful[rows]
        if fl["brokered"].size:
            ok[rows] &= np.where(cand.brokered[rows][:, None], ok2[fl["K"][rows]], True)
    idx = np.flatnonzero(ok)                                 # sorted by candidate, then replica
    if idx.size == 0:
        return (idx,) * 5
    c, r = np.divmod(idx, R)
    Xf, Sf, Wf = X.ravel(), S.ravel(), Wt.ravel()

    def at(rows: np.ndarray) -> np.ndarray:
        """The flat index of row ``rows[c]`` of a (rows, R) array in each pair's replica."""
        return np.take(rows * R, c) + r

    ip, jp, iq, jq = at(fl["ip"]), at(fl["jp"]), at(fl["iq"]), at(fl["jq"])
    sip, sjp, siq, sjq = Sf[ip], Sf[jp], Sf[iq], Sf[jq]
    den = np.maximum(siq + sjq, 1e-12)
    lam = (sip + sjp) / den
    num = siq * sjp - sip * sjq                              # G = a num / den
    if rho is not None:
        rf = rho.ravel()
        rho_j, rho_i = rf[at(fl["ji"])], rf[at(fl["ij"])]           # the partner j reneges on i, i on j
        # The credibility condition below, (rho_j s_iq lam a < G) & (rho_i s_jp a < G) with G = a g,
        # g = (s_iq s_jp - s_ip s_jq) / (s_iq + s_jq), does not depend on the size a but through rounding: the
        # pairs that fail rho_j s_iq lam < g (1 + 1e-6) (or the same for i) fail it whatever a (a few ulps of
        # rounding are far below the 1e-6 margin), and are dropped before the size is computed (about 2/3).
        bound = num / den * (1.0 + 1e-6)
        pre = np.flatnonzero((rho_j * siq * lam < bound) & (rho_i * sjp < bound))
        if pre.size == 0:
            return (pre,) * 5
        c, r, ip, jp, iq = c[pre], r[pre], ip[pre], jp[pre], iq[pre]
        sjp, siq, lam, num, den, rho_j, rho_i = (v[pre] for v in (sjp, siq, lam, num, den, rho_j, rho_i))
    kq = at(fl["kq"])
    xip, xjp, xiq, xkq = Xf[ip], Xf[jp], Xf[iq], Xf[kq]
    Wsafe, Of = np.maximum(Wsum, 1e-12).ravel(), O.ravel()
    pr, qr = at(cand.p), at(cand.q)
    Wp_safe, Wq_safe, Op, Oq = Wsafe[pr], Wsafe[qr], Of[pr], Of[qr]
    wip, wkq = Wf[ip], Wf[kq]
    reach = np.where(cand.brokered[c], leverage[r], 1.0) if fl["brokered"].size else 1.0
    d_p, d_q = xjp - xip, xiq - xkq
    ad_p, ad_q = np.abs(d_p), np.abs(d_q)
    lam_safe = np.maximum(lam, 1e-12)
    a = rate[r] * np.minimum(np.minimum(wip * ad_p / Wp_safe, reach * wkq * ad_q / Wq_safe / lam_safe),
                             np.minimum(np.abs(xjp - Op), np.abs(xiq - Oq) / lam_safe))
    G = a * num / den                                        # a (s_iq s_jp - s_ip s_jq) / (s_iq + s_jq)
    keep = a > EPS
    if rho is not None:
        keep &= (rho_j * siq * lam * a < G) & (rho_i * sjp * a < G)     # (1 - ρ_j) B_i > C_i, and for j
    sel = np.flatnonzero(keep)
    if sel.size == 0:
        return (sel,) * 5
    r, G = r[sel], G[sel]
    gmax = np.full(R, -np.inf)
    np.maximum.at(gmax, r, G)                                # each replica's largest gain
    top = np.flatnonzero(G >= gmax[r])
    first = np.full(R, sel.size)
    np.minimum.at(first, r[top], top)                        # ties: the first candidate in the list
    rs = np.flatnonzero(first < sel.size)
    top = first[rs]
    pick = sel[top]
    c, r, G, a, lam = c[pick], rs, G[top], a[pick], lam[pick]
    Wp, Wq = (np.take(Wsum.ravel(), v[pick]) for v in (pr, qr))
    move_i = np.sign(d_p[pick]) * np.minimum(a * Wp / np.maximum(wip[pick], 1e-12), ad_p[pick])
    move_k = np.sign(d_q[pick]) * np.minimum(a * lam * Wq / np.maximum(wkq[pick], 1e-12), ad_q[pick])
    return r, c, G, move_i, move_k


def market(x: np.ndarray, s: np.ndarray, w: np.ndarray, cand: Candidates, *, rate: np.ndarray | float,
           leverage: np.ndarray | float, hazard: np.ndarray | None = None, horizon: np.ndarray | float = 1.0,
           blocked: np.ndarray | None = None, concede: np.ndarray | None = None, gainful: np.ndarray | None = None,
           on_trade=None) -> Trades:
    """One round of the market, in place on ``x`` (A, I, R): realise the best possible and credible exchange of
    each replica, mark its actor-issues used, recompute, repeat until no replica has one left.

    ``blocked`` (A, I, R) bool: actor-issues bound by a commitment (they take no part). ``gainful`` (C, R) the
    salience condition (C, R) (:func:`salience_condition`; computed here if None). ``on_trade(slot, c, rr,
    move_i, move_k, x)`` is called before each slot's moves with the chosen candidate of every replica that trades.
    After the first slot only the replicas that traded in the previous one are recomputed (the others have no
    valid candidate left, as nothing changed for them).
    """
    A, I, R = x.shape
    used = np.zeros((A, I, R), bool) if blocked is None else blocked.copy()
    out = Trades([], [])
    fl = layout(cand, A, I, concede)
    if gainful is None:
        gainful = salience_condition(s, cand)
    rate_r, lev_r = _per_replica(rate, R), _per_replica(leverage, R)
    rho = None if hazard is None else (1.0 - (1.0 - hazard) ** _per_replica(horizon, R)).reshape(A * A, R)
    xf, usedf = flat_view(x), used.reshape(-1)
    cols = np.arange(R)
    # what does not change during the round, at the replicas still trading (``cols``); each slot's are gathered
    # from the previous slot's (np.take along the last axis: a copy, faster than v[..., cols])
    fixed: tuple[np.ndarray, ...] = (s, w, w.sum(axis=0), gainful, rate_r, lev_r)
    rho_s = rho
    for slot in range(max(A * I // 4, 1)):
        sub = cols.size < R
        xs, us = (np.take(v, cols, axis=-1) for v in (x, used)) if sub else (x, used)
        ss, ws, Ws, gs, rate_s, lev_s = fixed
        r, c, G, mi, mk = _best(xs, ss, ws, Ws, cand, fl, gs, us, rate_s, lev_s, rho_s, concede)
        if r.size == 0:
            break
        fixed = tuple(np.take(v, r, axis=-1) for v in fixed)
        rho_s = None if rho_s is None else np.take(rho_s, r, axis=-1)
        rr = cols[r]
        if on_trade is not None:
            on_trade(slot, c, rr, mi, mk, x)
        at = {n: fl[n][c] * R + rr for n in ("ip", "iq", "jp", "jq", "kq")}    # flat indices into (A, I, R)
        xf[at["ip"]] += mi
        xf[at["kq"]] += mk
        for n in ("ip", "iq", "jp", "jq", "kq"):
            usedf[at[n]] = True
        chosen = np.full(R, -1, np.intp)
        chosen[rr] = c
        gains = np.zeros(R)
        gains[rr] = G
        out.chosen.append(chosen)
        out.gains.append(gains)
        cols = rr
    return out


class Broker(BaseModel):
    """A patron that may deliver its client's position on some issues (brokered exchange, an extension)."""

    patron: str
    client: str
    issues: list[str] = Field(min_length=1)
    note: str = ""
    model_config = ConfigDict(extra="forbid")


class Concession(BaseModel):
    """An actor-issue that may be traded away whatever its side of the expected outcome (an extension)."""

    actor: str
    issue: str
    note: str = ""
    model_config = ConfigDict(extra="forbid")


class ExchangeSpec(MechanismSpec):
    """``mechanics.exchange``: the market's rates, commitment and reneging, and the brokers."""

    rate: Share
    leverage: Share
    commitment: Months
    renege_rate: Share
    reneger: str | None = None
    reneger_factor: Multiplier
    renege_trust_retained: Share
    brokers: list[Broker] = Field(default_factory=list, max_length=8)
    concessions: list[Concession] = Field(default_factory=list, max_length=16)

    def references(self) -> list[Ref]:
        refs: list[Ref] = [("reneger", self.reneger, "actor")]
        for n, b in enumerate(self.brokers):
            refs += [(f"brokers.{n}.patron", b.patron, "actor"), (f"brokers.{n}.client", b.client, "actor")]
            refs += [(f"brokers.{n}.issues.{m}", i, "issue") for m, i in enumerate(b.issues)]
        for n, cn in enumerate(self.concessions):
            refs += [(f"concessions.{n}.actor", cn.actor, "actor"), (f"concessions.{n}.issue", cn.issue, "issue")]
        return refs

    def check(self, actors: list[str], issues: list[str]) -> str | None:
        for b in self.brokers:
            if b.patron == b.client:
                return f"brokers: patron and client are both {b.patron!r}; allowed: two different actors"
        keys = [(b.patron, b.client) for b in self.brokers]
        dup = next((k for k in keys if keys.count(k) > 1), None)
        return f"brokers: got {dup!r} twice; allowed: each patron-client pair once" if dup else None


@register
class Exchange(Mechanism[ExchangeSpec]):
    """The market for voting positions of Stokman & van Oosten (1994): all pairs of actors and of issues,
    equal-gain rate, realised in order of gain; commitment, reneging and brokered exchange are this project's
    extensions."""

    name = "exchange"
    Spec = ExchangeSpec
    reads = ("rung",)

    @classmethod
    def streams(cls, section: ExchangeSpec, index: Index) -> list[str]:
        return [f"{cls.name}/renege/{k}" for k in index.issues]

    @classmethod
    def outcomes(cls, section: ExchangeSpec, index: Index) -> list[Outcome]:
        return [Outcome("exchange_trades", "quantity", "exchanges of positions agreed", lambda w: w["trades"],
                        "exchange"),
                Outcome("exchange_reneged", "quantity", "exchanges reneged on", lambda w: w["reneged"], "exchange")]

    def init(self, world: World) -> None:
        ix, s, n = self.index, self.section, world.n_replicas
        A, I = len(ix.actors), len(ix.issues)
        brokers = [(ix.a(b.patron), ix.a(b.client), [ix.i(k) for k in b.issues]) for b in s.brokers]
        self.cand = candidates(A, I, brokers)
        self.gainful: np.ndarray | None = None
        concede = np.zeros((A, I), bool)
        for cn in s.concessions:
            concede[ix.a(cn.actor), ix.i(cn.issue)] = True
        self.concede: np.ndarray | None = concede if concede.any() else None
        world.add("trades", np.zeros(n))
        world.add("reneged", np.zeros(n))
        world.add("bound_until", np.full((A, I, n), -1.0))        # month the commitment ends (-1: not bound)
        world.add("bound_position", np.zeros((A, I, n)))            # the agreed position
        world.add("prior_position", np.zeros((A, I, n)))            # the position before the exchange
        world.add("bound_holder", np.zeros((A, I, n), np.intp))     # whose promise the position is (the patron)
        world.add("bound_partner", np.zeros((A, I, n), np.intp))    # to whom
        world.add("bound_link", np.zeros((A, I, n), np.intp))       # flat index a·I + k of the other side's move
        self.streams_ = [f"{self.name}/renege/{k}" for k in ix.issues]

    def hazard(self, world: World) -> np.ndarray:
        """(A, A, R) monthly hazard that actor a reneges on partner b: ``h_0 · f_a · (1 - τ_ba)``."""
        c = self.c
        f = np.ones((len(self.index.actors), world.n_replicas))
        if self.section.reneger is not None:
            f[self.index.a(self.section.reneger)] = c.reneger_factor
        return np.clip(c.renege_rate * f[:, None, :] * (1.0 - np.swapaxes(world.trust, 0, 1)), 0.0, 1.0)

    def step(self, world: World) -> None:
        c, ix, t = self.c, self.index, world.step
        x = world.position
        A, I, R = x.shape
        hazard = self.hazard(world)
        bound = world["bound_until"] > t
        # reneging: one uniform per actor-issue and month, from the issue's own substream
        u = np.stack([self.draw(name).uniform(A) for name in self.streams_], axis=1)          # (A, I, R)
        rr = np.arange(R)
        holder, partner = world["bound_holder"], world["bound_partner"]
        h = np.take(hazard, (holder * A + partner) * R + rr)        # hazard[holder, partner, r], one flat gather
        renege = bound & (u < h)
        if renege.any():
            a_, k_, r_ = np.nonzero(renege)
            x[a_, k_, r_] = world["prior_position"][a_, k_, r_]
            world["bound_until"][a_, k_, r_] = -1.0
            link = world["bound_link"][a_, k_, r_]
            world["bound_until"].reshape(A * I, R)[link, r_] = -1.0           # the partner is released
            retained = np.broadcast_to(np.asarray(c.renege_trust_retained, float), (R,))[r_]
            np.multiply.at(world.trust, (partner[a_, k_, r_], holder[a_, k_, r_], r_), retained)
            np.add.at(world["reneged"], r_, 1.0)
            if self.log.active:
                logged = r_ < self.log.replica_ids.size
                for a, k, r in zip(a_[logged], k_[logged], r_[logged]):
                    m = np.zeros(R, bool)
                    m[r] = True
                    self.log.record(m, t, ix.actors[holder[a, k, r]], "renege",
                                    f"{ix.name(holder[a, k, r])} reneges on its exchange with "
                                    f"{ix.name(partner[a, k, r])}: {ix.name(a)} returns on {ix.label(k)}",
                                    world["rung"], world["rung"])
            bound = world["bound_until"] > t
        # commitment: a bound position is held at the agreed value (the few bound ones copied by flat index)
        bound_at = np.flatnonzero(bound)
        flat_view(x)[bound_at] = world["bound_position"].reshape(-1)[bound_at]
        horizon = np.asarray(c.commitment, float)
        horizon_r = _per_replica(horizon, R)
        if self.gainful is None:
            # saliences never change during a run (no mechanism moves them): the salience condition is computed
            # once, and candidates that fail it in every replica of the chunk are dropped (about half: of the two
            # orientations of a pair of actors and of issues at most one holds)
            g = salience_condition(world.salience, self.cand)
            keep = np.flatnonzero(g.any(axis=1))
            self.cand = Candidates(*(v[keep] for v in (self.cand.i, self.cand.p, self.cand.j, self.cand.q,
                                                        self.cand.k)))
            self.gainful = g[keep]
        cand = self.cand

        def on_trade(slot: int, ci: np.ndarray, rr_: np.ndarray, move_i: np.ndarray, move_k: np.ndarray,
                     xs: np.ndarray) -> None:
            i, j, k = cand.i[ci], cand.j[ci], cand.k[ci]
            ip, kq = cand.i[ci] * I + cand.p[ci], cand.k[ci] * I + cand.q[ci]      # the two moved actor-issues
            until = t + horizon_r[rr_]
            # both moves at once: i's on p (held by i for j, linked to kq), then k's on q (held by the patron j
            # for i, linked to ip); flat indices into (A, I, R), all distinct (p != q, one trade per replica)
            f = np.concatenate((ip * R + rr_, kq * R + rr_))
            held = flat_view(xs)[f]
            flat_view(world["prior_position"])[f] = held
            flat_view(world["bound_until"])[f] = np.concatenate((until, until))
            flat_view(world["bound_holder"])[f] = np.concatenate((i, j))
            flat_view(world["bound_partner"])[f] = np.concatenate((j, i))
            flat_view(world["bound_link"])[f] = np.concatenate((kq, ip))
            flat_view(world["bound_position"])[f] = held + np.concatenate((move_i, move_k))
            world["trades"][rr_] += 1.0
            if self.log.active:
                n = self.log.replica_ids.size
                for cc in np.unique(ci[rr_ < n]):
                    m = np.zeros(R, bool)
                    m[rr_[(ci == cc)]] = True
                    ci_, pi_, ji_, qi_, ki_ = (int(v[cc]) for v in (cand.i, cand.p, cand.j, cand.q, cand.k))
                    via = f" (delivered by {ix.name(ki_)})" if ki_ != ji_ else ""
                    self.log.record(m, t, ix.actors[ci_], "exchange",
                                    f"{ix.name(ci_)} concedes on {ix.label(pi_)} for {ix.name(ji_)}'s move on "
                                    f"{ix.label(qi_)}{via}", world["rung"], world["rung"])

        market(x, world.salience, world.weight, cand, rate=c.rate, leverage=c.leverage, hazard=hazard,
               horizon=horizon, blocked=bound, concede=self.concede, gainful=self.gainful, on_trade=on_trade)
