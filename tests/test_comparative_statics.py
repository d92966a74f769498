"""Comparative statics the theory signs, as properties of the deal's bargaining range (Fearon 1995).

A costlier war widens the range of settlements both parties prefer to fighting: each party's gain over its
disagreement point rises with its cost of conflict, and with it the chance that a party uncertain of the other's
reservation point proposes acceptable terms. (The engine's response to the *US's* cost of war also runs through
its strike threat, which a costlier war weakens: docs/model.md §7.8, "Comparative statics".)
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from sim.mechanics.deal import find_probability, gains

unit = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.tuples(unit, unit, unit, unit), min_size=2, max_size=2), unit, unit, unit,
       st.floats(0.0, 0.5), st.floats(0.5, 7.0), st.floats(0.05, 1.0))
def test_a_costlier_war_widens_the_bargaining_range(pos, point, risk, cost, extra, months, spread):
    # two parties, two deal issues: positions and saliences in [0, 1] x 100, terms and no-deal point on the scale
    x = np.array([[[100 * p[0]], [100 * p[1]]] for p in pos])          # (A=2, I=2, R=1)
    s = np.array([[[p[2]], [p[3]]] for p in pos])
    terms = np.full((2, 1), 100 * point)
    no_deal = np.full((2, 1), 100 * (1 - point))
    args = (x, s, terms, no_deal, [0, 1], [0, 1])
    low = gains(*args, np.full((2, 1), cost), np.full(1, risk), months)
    high = gains(*args, np.full((2, 1), cost + extra), np.full(1, risk), months)
    assert np.all(high >= low - 1e-12)                                 # each party gains more from a deal
    assert np.all(find_probability(high, spread) >= find_probability(low, spread) - 1e-12)


def test_the_range_opens_only_through_the_cost_of_war_when_the_terms_cost_both():
    x = np.array([[[20.0]], [[80.0]]])                                  # one issue, opposite ends
    s = np.ones((2, 1, 1))
    terms, no_deal = np.full((1, 1), 50.0), np.full((1, 1), 50.0)
    args = (x, s, terms, no_deal, [0, 1], [0])
    assert np.all(gains(*args, np.zeros((2, 1)), np.ones(1), 3.0) == 0)
    assert np.all(gains(*args, np.full((2, 1), 0.1), np.ones(1), 3.0) > 0)
