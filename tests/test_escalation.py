"""The crisis (sim.mechanics.escalation: two tracks, termination, costs) and the deal rules (sim.mechanics.deal)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanics import deal, escalation
from sim.mechanics.escalation import STRIKE_RUNG, TOP_LEVEL, TOP_RUNG

probs = st.floats(0, 1)
ICB = Path(__file__).resolve().parents[2] / "shared" / "data" / "icb"


@given(st.integers(0, 2**31), probs, probs, probs, probs)
@settings(max_examples=60, deadline=None)
def test_proxy_track_stays_on_its_rungs(seed, pi, pr, pc, pd):
    rng = np.random.default_rng(seed)
    rung = rng.integers(0, STRIKE_RUNG + 1, 500).astype(np.int8)
    new, direct, ev = escalation.step_proxy_track(rung, rng.random((5, 500)), np.full(500, pi),
                                                  np.full((2, 500), pr), np.full(500, pc), np.full(500, pd))
    assert np.all((new >= 0) & (new <= STRIKE_RUNG))
    assert np.all(new.astype(int) >= rung.astype(int) - 1)          # calming is one rung at a time
    assert not np.any(ev["retaliation"] & ~ev["incident"]) and not np.any(direct & ~ev["retaliation"])


def test_no_incidents_means_only_calming():
    rng = np.random.default_rng(0)
    rung = np.full(1000, 3, np.int8)
    new, direct, _ = escalation.step_proxy_track(rung, rng.random((5, 1000)), np.zeros(1000), np.ones((2, 1000)),
                                                 np.ones(1000), np.full(1000, 0.5))
    assert np.all(new <= rung) and 0.4 < np.mean(new < rung) < 0.6 and not direct.any()


def test_retaliation_reaches_strikes_and_the_sponsor_may_answer_directly():
    u = np.zeros((5, 10))
    u[4] = 1.0
    new, direct, ev = escalation.step_proxy_track(np.full(10, 2, np.int8), u, np.ones(10), np.ones((1, 10)),
                                                  np.ones(10), np.zeros(10))
    assert np.all(ev["incident"] & ev["retaliation"]) and np.all(new == STRIKE_RUNG) and direct.all()


@given(st.integers(0, 2**31), probs, probs)
@settings(max_examples=60, deadline=None)
def test_interstate_levels_stay_in_range_and_the_rung_is_the_higher_track(seed, pr, pe):
    rng = np.random.default_rng(seed)
    level = rng.integers(0, TOP_LEVEL + 1, 400).astype(np.int8)
    opened, struck = rng.random(400) < 0.3, rng.random(400) < 0.3
    new, ev = escalation.step_interstate(level, rng.random((3, 400)), opened, struck, np.full(400, pr),
                                         np.full(400, pe), rng.random((3, 400)))
    assert np.all((new >= 0) & (new <= TOP_LEVEL))
    assert np.all(ev["reached"] >= np.where(opened, 1, 0))
    assert np.all((new == 0) | (new == ev["reached"]))              # the fighting either goes on or stops
    proxy = rng.integers(0, STRIKE_RUNG + 1, 400).astype(np.int8)
    rung = escalation.overall_rung(proxy, new)
    assert np.all(rung == np.maximum(proxy, escalation.LEVEL_RUNG[new]))


def test_a_war_can_end_in_the_month_it_starts():
    n = 10_000
    level = np.full(n, 2, np.int8)
    u = np.random.default_rng(1).random((3, n))
    hazard = np.full((3, n), 0.15)
    new, ev = escalation.step_interstate(level, u, np.zeros(n, bool), np.zeros(n, bool), np.zeros(n),
                                         np.ones(n), hazard)
    assert np.all(ev["reached"] == TOP_LEVEL)
    assert abs(np.mean(new == 0) - 0.15) < 0.015                   # ended with the war's hazard in that month
    assert escalation.overall_rung(np.zeros(n, np.int8), ev["reached"]).max() == TOP_RUNG


@pytest.mark.skipif(not ICB.is_dir(), reason="needs ../shared/data/icb")
def test_termination_hazards_are_the_icb_medians():
    """The config's modes are h = 1 - 2^(-30.44 / median days) of ICB actor crises by violence (2, 3, 4)."""
    durations = json.loads((ICB / "icb_durations.json").read_text())["records"]
    crises = json.loads((ICB / "icb_actor_crises.json").read_text())["records"]
    from sim.run import compose_spec
    esc = compose_spec("scenario=status_quo").section("escalation")
    for violence, name in ((2, "termination_limited"), (3, "termination_sustained"), (4, "termination_war")):
        days = np.array([d["trgterra"] for d, c in zip(durations, crises) if c["violence"] == violence
                         and d.get("trgterra") is not None and 0 <= d["trgterra"] < 5000], float)
        h = lambda d: 1 - 2 ** (-30.44 / d)                          # noqa: E731
        c = getattr(esc, name)
        assert abs(c.mode - h(np.median(days))) < 0.005, name
        lo, hi = h(np.percentile(days, 75)), h(np.percentile(days, 25))
        assert abs(c.low - lo) < 0.01 and abs(c.high - hi) < 0.01, name


def test_deal_terms_are_the_parties_weighted_mean():
    x = np.array([[80.0, 70.0], [75.0, 10.0]])[:, :, None]
    w = np.array([[0.3, 0.1], [0.1, 0.3]])[:, :, None]
    t = deal.terms(x, w, (0, 1), [0, 1])
    assert np.allclose(t[:, 0], [(0.3 * 80 + 0.1 * 75) / 0.4, (0.1 * 70 + 0.3 * 10) / 0.4])
    assert np.allclose(deal.gap(x, (0, 1), [0, 1]), 5.0)
    conv = np.array([True])
    assert deal.signing(conv, np.array([False]), np.array([False]), np.array([0]), np.array([0.1]), 0.5, 6)[0]
    assert not deal.signing(conv, np.array([False]), np.array([True]), np.array([6]), np.array([0.1]), 0.5, 6)[0]


def test_the_threat_of_war_opens_a_bargaining_range():
    """Fearon (1995): a party that loses on the issues gains from a deal once the conflict it avoids is costly."""
    x = np.array([[85.0, 80.0], [25.0, 2.0]])[:, :, None]          # US, Iran on nuclear, sanctions
    s = np.array([[0.85, 0.70], [0.95, 0.95]])[:, :, None]
    point = np.array([[68.5], [55.2]])
    no_deal = np.array([[16.0], [67.5]])
    cost = np.array([[0.25], [0.8]])
    calm = deal.gains(x, s, point, no_deal, [0, 1], [0, 1], cost, np.array([0.0]), 3.0)
    tense = deal.gains(x, s, point, no_deal, [0, 1], [0, 1], cost, np.array([0.1]), 3.0)
    assert calm[0, 0] > 0 > calm[1, 0]                              # without a threat Iran prefers no deal
    assert np.all(tense[:, 0] > 0)                                  # with it, a range exists
    assert np.isclose(tense[1, 0] - calm[1, 0], 0.8 * 0.1 * 3.0)
