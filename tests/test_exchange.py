"""Stokman & van Oosten exchange (sim.mechanics.exchange): equal gains, both sides better off."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanics.compromise import compromise
from sim.mechanics.exchange import Link, exchange


def _gain(x0, x1, s, w, actor):
    o0, o1 = compromise(x0, w), compromise(x1, w)
    return (s[actor] * (np.abs(o0 - x0[actor]) - np.abs(o1 - x0[actor]))).sum(axis=0)


@given(st.lists(st.floats(0, 100), min_size=6, max_size=6), st.lists(st.floats(0.05, 1), min_size=6, max_size=6),
       st.lists(st.floats(0.05, 1), min_size=3, max_size=3), st.floats(0.1, 1.0))
@settings(max_examples=80, deadline=None)
def test_direct_exchange_gives_equal_nonnegative_gains(pos, sal, cap, rate):
    x = np.array(pos).reshape(3, 2)[:, :, None]
    s = np.array(sal).reshape(3, 2)[:, :, None]
    w = np.array(cap)[:, None, None] * s
    link = Link(i=0, p=0, j=1, q=1, k=1)
    x1 = x.copy()
    done, _ = exchange(x1, s, w, link, np.array([True]), rate=rate, leverage=1.0)
    gi, gj = _gain(x, x1, s, w, 0), _gain(x, x1, s, w, 1)
    if done[0]:
        assert gi[0] >= -1e-9 and gj[0] >= -1e-9
        assert np.isclose(gi[0], gj[0], rtol=1e-6, atol=1e-9)
    if not done[0]:
        assert np.array_equal(x1, x)


def test_no_exchange_without_trust_or_gain():
    x = np.array([[10.0, 10.0], [90.0, 90.0]])[:, :, None]
    s = np.array([[0.2, 0.9], [0.9, 0.2]])[:, :, None]      # 0 cares about issue 1, 1 about issue 0: gainful
    w = s * 0.5
    link = Link(0, 0, 1, 1, 1)
    y = x.copy()
    exchange(y, s, w, link, np.array([False]), rate=1.0, leverage=1.0)
    assert np.array_equal(y, x)
    s_bad = np.array([[0.9, 0.2], [0.2, 0.9]])[:, :, None]  # each would give up what it cares about most
    exchange(y, s_bad, s_bad * 0.5, link, np.array([True]), rate=1.0, leverage=1.0)
    assert np.array_equal(y, x)
    exchange(y, s, w, link, np.array([True]), rate=1.0, leverage=1.0)
    assert y[0, 0, 0] > 10 and y[1, 1, 0] < 90            # each moved toward the other on the issue it cares less about


def test_brokered_exchange_moves_the_client_within_leverage():
    x = np.array([[50.0, 90.0], [0.0, 60.0], [50.0, 20.0]])[:, :, None]   # 0 = us, 1 = russia, 2 = iran
    s = np.array([[0.3, 0.9], [0.9, 0.5], [0.2, 0.9]])[:, :, None]
    w = s * np.array([0.4, 0.3, 0.3])[:, None, None]
    y = x.copy()
    exchange(y, s, w, Link(i=0, p=0, j=1, q=1, k=2), np.array([True]), rate=1.0, leverage=0.25)
    assert y[1, 1, 0] == 60.0                                 # the patron itself does not move
    assert 20.0 < y[2, 1, 0] <= 20.0 + 0.25 * 70.0 + 1e-9       # the client moves toward the US, within leverage
    assert y[0, 0, 0] < 50.0                                  # the US concedes toward Russia
