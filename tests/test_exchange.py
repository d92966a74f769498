"""The exchange market after Stokman & van Oosten (sim.mechanics.exchange): equal gains, order of gain, one trade
per actor-issue and round, commitment, reneging, and the grand bargain's effect through the trade."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanics.compromise import compromise
from sim.mechanics.exchange import Candidates, candidates, evaluate, market


def _gain(x0, x1, s, w, actor):
    o0, o1 = compromise(x0, w), compromise(x1, w)
    return (s[actor] * (np.abs(o0 - x0[actor]) - np.abs(o1 - x0[actor]))).sum(axis=0)


def _two():
    """Actor 0 cares about issue 1, actor 1 about issue 0; they stand apart on both."""
    x = np.array([[10.0, 10.0], [90.0, 90.0]])[:, :, None]
    s = np.array([[0.2, 0.9], [0.9, 0.2]])[:, :, None]
    return x, s, s * 0.5


def test_the_market_finds_exactly_the_gainful_trade_with_the_equal_gain_rate():
    x, s, w = _two()
    cand = candidates(2, 2)
    ev = evaluate(x, s, w, cand, rate=1.0, leverage=1.0)
    # (0 moves on issue 0, 1 on issue 1) is the only possible one: 0 supplies on the issue it cares less about
    assert ev["possible"][:, 0].tolist() == [True, False]
    assert cand.p[0] == 0 and cand.q[0] == 1
    lam = (0.2 + 0.9) / (0.9 + 0.2)
    assert np.isclose(ev["lam"][0, 0], lam)
    y = x.copy()
    market(y, s, w, cand, rate=1.0, leverage=1.0)
    gi, gj = _gain(x, y, s, w, 0), _gain(x, y, s, w, 1)
    assert np.isclose(gi[0], gj[0]) and gi[0] > 0 and np.isclose(gi[0], ev["G"][0, 0])
    assert y[0, 0, 0] > 10 and y[1, 1, 0] < 90 and y[0, 1, 0] == 10 and y[1, 0, 0] == 90


def test_trades_are_realised_in_order_of_gain_and_an_actor_issue_trades_once_a_round():
    # actor 0 can trade issue 0 against issue 1 with actor 1 (large gain) or with actor 2 (smaller gain)
    x = np.array([[10.0, 10.0], [90.0, 90.0], [90.0, 90.0]])[:, :, None]
    s = np.array([[0.1, 0.9], [0.9, 0.1], [0.6, 0.4]])[:, :, None]
    w = s * np.array([1.0, 1.0, 1.0])[:, None, None]
    cand = candidates(3, 2)
    ev = evaluate(x, s, w, cand, rate=1.0, leverage=1.0)
    ok = ev["possible"][:, 0]
    assert ok.sum() == 2
    best = int(np.argmax(np.where(ok, ev["G"][:, 0], -np.inf)))
    assert (cand.i[best], cand.j[best]) == (0, 1)
    y = x.copy()
    tr = market(y, s, w, cand, rate=1.0, leverage=1.0)
    assert tr.chosen[0][0] == best
    assert len(tr.chosen) == 1                 # the second trade needs actor 0's issues again: not this round
    assert tr.gains[0][0] == ev["G"][best, 0]


@given(st.lists(st.floats(0, 100), min_size=12, max_size=12), st.lists(st.floats(0.05, 1), min_size=12, max_size=12),
       st.lists(st.floats(0.05, 1), min_size=4, max_size=4), st.floats(0.1, 1.0))
@settings(max_examples=60, deadline=None)
def test_every_realised_trade_gives_equal_nonnegative_gains(pos, sal, cap, rate):
    x = np.array(pos).reshape(4, 3)[:, :, None]
    s = np.array(sal).reshape(4, 3)[:, :, None]
    w = np.array(cap)[:, None, None] * s
    cand = candidates(4, 3)
    ev = evaluate(x, s, w, cand, rate=rate, leverage=1.0)
    ok = np.flatnonzero(ev["possible"][:, 0])
    for c in ok:                                   # each trade on its own, from the same positions
        one = Candidates(*(np.array([v[c]]) for v in (cand.i, cand.p, cand.j, cand.q, cand.k)))
        y = x.copy()
        market(y, s, w, one, rate=rate, leverage=1.0)
        gi, gj = _gain(x, y, s, w, cand.i[c])[0], _gain(x, y, s, w, cand.j[c])[0]
        assert gi >= -1e-7 and gj >= -1e-7 and np.isclose(gi, gj, rtol=1e-5, atol=1e-7)


def test_a_trade_needs_inversely_ordered_saliences_and_more_asymmetry_gains_more():
    x, _, _ = _two()
    cand = candidates(2, 2)
    same = np.array([[0.5, 0.5], [0.5, 0.5]])[:, :, None]
    assert not evaluate(x, same, same, cand, rate=1.0, leverage=1.0)["possible"].any()   # equal ratios: none
    gains = []
    for d in (0.1, 0.2, 0.3, 0.4):                 # saliences (0.5 - d, 0.5 + d) and the reverse: more asymmetry
        s = np.array([[0.5 - d, 0.5 + d], [0.5 + d, 0.5 - d]])[:, :, None]
        ev = evaluate(x, s, np.full_like(s, 0.5), cand, rate=1.0, leverage=1.0)
        assert ev["possible"][0, 0]
        gains.append(float(ev["G"][0, 0]))
    assert all(b > a for a, b in zip(gains, gains[1:]))


def test_a_partner_likely_to_renege_makes_the_trade_not_credible():
    x, s, w = _two()
    cand = candidates(2, 2)
    zero = np.zeros((2, 2, 1))
    assert evaluate(x, s, w, cand, rate=1.0, leverage=1.0, hazard=zero, horizon=6.0)["credible"][0, 0]
    high = np.full((2, 2, 1), 0.5)
    assert not evaluate(x, s, w, cand, rate=1.0, leverage=1.0, hazard=high, horizon=6.0)["credible"][0, 0]


def test_the_brokered_trade_moves_the_client_within_leverage():
    x = np.array([[50.0, 90.0], [0.0, 40.0], [50.0, 20.0]])[:, :, None]   # 0 = us, 1 = russia, 2 = iran
    s = np.array([[0.3, 0.9], [0.9, 0.5], [0.2, 0.9]])[:, :, None]
    w = s * np.array([0.4, 0.3, 0.3])[:, None, None]
    cand = candidates(3, 2, [(1, 2, [1])])
    only = np.flatnonzero(cand.brokered & (cand.i == 0) & (cand.p == 0))
    one = Candidates(*(v[only] for v in (cand.i, cand.p, cand.j, cand.q, cand.k)))
    y = x.copy()
    tr = market(y, s, w, one, rate=1.0, leverage=0.25)
    assert tr.chosen and tr.chosen[0][0] == 0
    assert y[1, 1, 0] == 40.0                                 # the patron itself does not move
    assert 20.0 < y[2, 1, 0] <= 20.0 + 0.25 * 70.0 + 1e-9       # the client moves toward the US, within leverage
    assert y[0, 0, 0] < 50.0                                  # the US concedes toward Russia


def test_the_instrument_concession_allows_a_same_side_conceder():
    # 0 and 1 both below the outcome of issue 0 (2 at 100 pulls it up); 0 at 40 concedes toward 1 at 0
    x = np.array([[40.0, 90.0], [0.0, 10.0], [100.0, 50.0]])[:, :, None]
    s = np.array([[0.3, 0.9], [0.9, 0.3], [0.9, 0.5]])[:, :, None]
    w = s * 1.0
    cand = candidates(3, 2)
    c = int(np.flatnonzero((cand.i == 0) & (cand.j == 1) & (cand.p == 0))[0])
    assert not evaluate(x, s, w, cand, rate=1.0, leverage=1.0)["possible"][c, 0]       # not an S&vO exchange
    concede = np.zeros((3, 2), bool)
    concede[0, 0] = True
    assert evaluate(x, s, w, cand, rate=1.0, leverage=1.0, concede=concede)["possible"][c, 0]


# ---------------------------------------------------------------------------------------------- on the engine
def _model(*extra, n=256, steps=6, logged=0):
    from sim.model import GeoModel
    from sim.run import compose_spec
    from sim.streams import BlockStreams, replica_ids

    spec = compose_spec("scenario=grand_bargain", f"n_runs={n}", f"steps={steps}", "event_replicas=0",
                        "trajectory_replicas=0", *extra)
    return GeoModel(spec, BlockStreams(11, [0]), replica_ids=replica_ids([0]), n_logged=logged)


def test_commitment_holds_positions_and_reneging_restores_and_costs_trust():
    m = _model("mechanics.exchange.renege_rate=0", steps=1)
    m.run(1)
    w = m.world
    ex = next(x for x in m.mechanisms if x.name == "exchange")
    bound = w["bound_until"] > w.step + 1
    assert bound.any() and w["trades"].sum() > 0
    # bargaining may move positions after the exchange; next month the commitment puts the bound ones back
    w.position[bound] += 3.0
    w.step += 1
    ex.step(w)
    assert np.allclose(w.position[bound], w["bound_position"][bound])
    # now every holder reneges (hazard 1): prior positions come back, both sides are released, trust falls
    A, _, R = w.position.shape
    ex.hazard = lambda world: np.ones((A, A, R))
    still = w["bound_until"] > w.step + 1
    a, k, r = np.nonzero(still)
    holder, partner = w["bound_holder"][a, k, r], w["bound_partner"][a, k, r]
    prior = w["prior_position"][a, k, r].copy()
    w.trust[partner, holder, r] = 0.5
    reneged0 = w["reneged"].copy()
    w.step += 1
    ex.step(w)
    assert np.all(w["reneged"][np.unique(r)] > reneged0[np.unique(r)])
    retained = float(np.atleast_1d(ex.c.renege_trust_retained)[0])
    assert np.all(w.trust[partner, holder, r] <= 0.5 * retained + 1e-12)
    # no new trade can bind them this month (hazard 1 makes every trade incredible): restored and free
    assert np.allclose(w.position[a, k, r], prior)
    assert np.all(w["bound_until"][a, k, r] <= w.step)


def test_exchange_off_means_no_exchange_events():
    m = _model("mechanics.exchange.enabled=false", logged=64)
    m.run(6)
    assert m.world["trades"].sum() == 0 and m.world["reneged"].sum() == 0
    assert not {"exchange", "renege"} & set(m.log.rows["event"])
    on = _model(logged=64)
    on.run(6)
    assert on.world["trades"].sum() > 0 and "exchange" in set(on.log.rows["event"])


def test_the_grand_bargain_lowers_support_to_ukraine_through_the_trade():
    """With the US's Ukraine position at its baseline, grand_bargain lowers support to Ukraine relative to the
    status quo, and by more with the exchange than without it (paired seeds, small n)."""
    from sim.experiment import InProcess, run_experiment
    from sim.run import compose_spec

    def ukraine(scenario, *extra):
        spec = compose_spec(f"scenario={scenario}", "n_runs=512", "steps=12", "report=false", *extra)
        res = run_experiment(spec, InProcess())
        return np.concatenate([r.outcomes["outcome_ukraine_support"] for r in res])

    on = ukraine("grand_bargain") - ukraine("status_quo")
    off = ukraine("grand_bargain", "mechanics.exchange.enabled=false") - ukraine(
        "status_quo", "mechanics.exchange.enabled=false")
    se = np.sqrt(on.var(ddof=1) / on.size)
    assert on.mean() < -3 * se                                   # lower support, beyond Monte Carlo error
    d = on - off
    assert d.mean() < -3 * np.sqrt(d.var(ddof=1) / d.size)       # the trade lowers it further
