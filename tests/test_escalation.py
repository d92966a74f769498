"""The escalation ladder (sim.mechanics.escalation) and the deal rules (sim.mechanics.deal)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanics import deal, escalation
from sim.mechanics.escalation import TOP_RUNG

probs = st.floats(0, 1)


@given(st.integers(0, 2**31), probs, probs, probs, probs)
@settings(max_examples=60, deadline=None)
def test_ladder_stays_on_its_rungs_and_war_is_absorbing(seed, pi, pr, pc, pd):
    rng = np.random.default_rng(seed)
    rung = rng.integers(0, TOP_RUNG + 1, 500).astype(np.int8)
    new, ev = escalation.step_ladder(rung, rng.random((5, 500)), np.full(500, pi), np.full((2, 500), pr),
                                     np.full(500, pc), np.full(500, pd))
    assert np.all((new >= 0) & (new <= TOP_RUNG))
    assert np.all(new[rung == TOP_RUNG] == TOP_RUNG)
    assert np.all(new.astype(int) >= rung.astype(int) - 1)          # calming is one rung at a time
    assert not np.any(ev.retaliation & ~ev.incident) and not np.any(ev.counter & ~ev.retaliation)


def test_no_incidents_means_only_calming():
    rng = np.random.default_rng(0)
    rung = np.full(1000, 4, np.int8)
    new, _ = escalation.step_ladder(rung, rng.random((5, 1000)), np.zeros(1000), np.ones((2, 1000)),
                                    np.ones(1000), np.full(1000, 0.5))
    assert np.all(new <= rung) and 0.4 < np.mean(new < rung) < 0.6


def test_retaliation_reaches_strikes():
    rung = np.full(10, 2, np.int8)
    u = np.zeros((5, 10))
    u[4] = 1.0
    new, ev = escalation.step_ladder(rung, u, np.ones(10), np.ones((1, 10)), np.zeros(10), np.zeros(10))
    assert np.all(ev.incident & ev.retaliation) and np.all(new == escalation.STRIKE_RUNG)


def test_deal_terms_are_the_parties_weighted_mean_and_signing_needs_convergence():
    x = np.array([[80.0, 70.0], [75.0, 10.0]])[:, :, None]
    w = np.array([[0.3, 0.1], [0.1, 0.3]])[:, :, None]
    t = deal.terms(x, w, (0, 1), [0, 1])
    assert np.allclose(t[:, 0], [(0.3 * 80 + 0.1 * 75) / 0.4, (0.1 * 70 + 0.3 * 10) / 0.4])
    g = deal.gap(x, (0, 1), [0, 1])
    assert np.allclose(g, 5.0)
    conv = g <= 10
    assert deal.signing(conv, np.array([False]), np.array([False]), np.array([0]), np.array([0.1]), 0.5, 6)[0]
    assert not deal.signing(conv, np.array([False]), np.array([True]), np.array([6]), np.array([0.1]), 0.5, 6)[0]
