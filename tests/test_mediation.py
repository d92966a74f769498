"""Mediation after the literature (docs/model.md §7.4): Kydd (2003, 2006), Svensson (2007, 2009), Beardsley (2008).

Kernels first (each paper's result as a property of the functions), then the engine: credibility 0 is no
mediation at all, a biased mediator's agreements collapse more, the lever's bad values are one-line errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.errors import ConfigError
from sim.experiment import all_outcomes
from sim.mechanics.deal import belief_spread, collapse, find_probability, terms
from sim.mechanics.mediation import (NEUTRAL, advice_credibility, bias, concession_scale, effective_trust,
                                     format_share, reassurance)
from sim.run import compose_spec

R = 5
US, RUSSIA, IRAN, ISRAEL = 0, 1, 2, 3


def _alignment() -> np.ndarray:
    """Four actors: Russia (1) aligned with Iran (2), cool to the US (0)."""
    w = np.zeros((4, 4, R))
    pairs = {(US, RUSSIA): 0.1, (US, IRAN): -0.75, (RUSSIA, IRAN): 0.75, (US, ISRAEL): 0.85, (IRAN, ISRAEL): -0.95}
    for (a, b), v in pairs.items():
        w[a, b] = w[b, a] = v
    return w


# --- Kydd (2003): a biased mediator's advice is credible to its ally, and moves only its ally's beliefs ---------
def test_a_mediator_biased_toward_iran_is_credible_to_iran_only():
    toward = bias(_alignment(), RUSSIA, [US, IRAN])
    assert np.all(toward[1] > 0) and np.all(toward[0] < 0)          # biased toward Iran
    advice = advice_credibility(toward, 0.6)
    assert np.all(advice[1] > 0) and np.all(advice[0] == 0)         # believed by Iran, not by the US


def test_credible_advice_moves_the_allys_beliefs_not_the_others():
    toward = bias(_alignment(), RUSSIA, [US, IRAN])
    advice = advice_credibility(toward, 0.6)
    trust_us_iran, trust_iran_us = np.full(R, 0.15), np.full(R, 0.08)
    before = [belief_spread(2.0, trust_us_iran, np.zeros(R)), belief_spread(2.0, trust_iran_us, np.zeros(R))]
    after = [belief_spread(2.0, trust_us_iran, advice[0]), belief_spread(2.0, trust_iran_us, advice[1])]
    assert np.array_equal(after[0], before[0])                       # the US's uncertainty about Iran: unchanged
    assert np.all(after[1] < before[1])                              # Iran's about the US: reduced
    gain = np.full(R, 0.3)
    assert np.all(find_probability(gain, after[1]) > find_probability(gain, before[1]))


def test_find_probability_is_fearons_hidden_range():
    gain = np.array([0.05, 0.3, 1.0])
    p = find_probability(gain, 0.5)
    assert np.all(np.diff(p) > 0)                                    # a wider range is found more often
    assert np.all(p > 0.5) and np.all(p < 1)                         # half the time at least, once a range exists
    assert np.all(np.diff([find_probability(gain, s)[1] for s in (0.1, 0.5, 1.0)]) < 0)   # less information, less
    assert np.all(find_probability(gain, 0.0) == 1.0)                # full information: always
    assert np.all(find_probability(gain, 1e6) < 0.5 + 1e-3)          # no information: a coin flip
    assert np.all(find_probability(np.zeros(3), 0.0) == 0.5)        # no range (masked by the deal): no certainty


def test_an_unbiased_mediator_is_not_credible_on_resolve():
    toward = bias(_alignment(), None, [US, IRAN])                    # neutral
    assert np.all(advice_credibility(toward, 0.8) == 0)


# --- Kydd (2006): an honest, unbiased mediator builds trust; a biased one does not --------------------------------
def test_trust_building_needs_honesty_and_no_bias():
    neutral = bias(_alignment(), None, [US, IRAN])
    full_bias = np.stack([np.ones(R), -np.ones(R)])
    assert np.all(reassurance(neutral, 0.6, 0.3) > 0)
    assert np.all(reassurance(neutral, 0.6, 0.0) == 0)               # no reputation for honesty: none
    assert np.all(reassurance(full_bias, 0.6, 0.3) == 0)             # fully biased: none
    russia = bias(_alignment(), RUSSIA, [US, IRAN])
    assert np.all(reassurance(russia, 0.6, 0.3) < reassurance(neutral, 0.6, 0.3))
    trust = np.full((4, 4, R), 0.1)
    lifted = effective_trust(trust, [US, IRAN], reassurance(neutral, 0.6, 0.3))
    assert np.all(lifted[US, IRAN] > 0.1) and np.all(lifted[IRAN, US] > 0.1)
    assert np.array_equal(lifted[US, ISRAEL], trust[US, ISRAEL])    # other pairs untouched


# --- Svensson (2007, 2009): a biased mediator delivers its side and sits at the table for it ----------------------
def test_a_biased_mediator_delivers_its_allys_concessions_and_tilts_the_terms():
    toward = bias(_alignment(), RUSSIA, [US, IRAN])
    advice = advice_credibility(toward, 0.6)
    scale = concession_scale([US, IRAN], advice, 0.5, 4)
    assert np.all(scale[IRAN, US] > 1) and np.all(scale[US, IRAN] == 1) and np.all(scale[ISRAEL, US] == 1)
    share = format_share(4, [US, IRAN], RUSSIA, advice)
    assert np.all(share[[US, IRAN]] == 1) and np.all(share[RUSSIA] > 0) and np.all(share[ISRAEL] == 0)
    x = np.zeros((4, 1, R))
    x[US], x[IRAN], x[RUSSIA], x[ISRAEL] = 80.0, 10.0, 15.0, 95.0
    w = np.full((4, 1, R), 0.1)
    plain, tilted = terms(x, w, [US, IRAN], [0]), terms(x, w, [US, IRAN], [0], share)
    assert np.all(tilted < plain)                                    # toward Russia's (and Iran's) side
    assert np.array_equal(terms(x, w, [US, IRAN], [0], format_share(4, [US, IRAN], None, advice)), plain)
    # the spoiler's loss follows from the terms: Israel (at 95) loses more from the tilted terms
    assert np.all(np.abs(tilted - 95.0) > np.abs(plain - 95.0))


# --- Beardsley (2008): agreements reached under leverage collapse once the incentives fade ------------------------
def test_faded_incentives_raise_the_collapse_hazard():
    u = np.linspace(0, 1, 1000, endpoint=False)
    ones, zeros = np.ones(1000, bool), np.zeros(1000)
    plain = collapse(ones, zeros, np.zeros(1000, bool), u, 0.01, 0.1, 0.5)
    faded = collapse(ones, zeros, np.zeros(1000, bool), u, 0.01, 0.1, 0.5, np.full(1000, 0.03))
    assert faded.sum() > plain.sum() and np.all(faded >= plain)


def _outcomes(scenario: str, *extra: str, blocks: int = 2) -> dict[str, np.ndarray]:
    spec = compose_spec(f"scenario={scenario}", f"n_runs={256 * blocks}", "event_replicas=0", *extra)
    return all_outcomes(spec)


def test_credibility_zero_is_no_mediation_at_all():
    """Same seed, paired random numbers: a mediator with credibility 0 changes no outcome (only the channel's
    label, which is not an outcome)."""
    null = _outcomes("russian_mediation", "mechanics.mediation.mediator=null")
    for mediator in ("russia", NEUTRAL):
        zero = _outcomes("russian_mediation", f"mechanics.mediation.mediator={mediator}",
                         "mechanics.mediation.credibility=0")
        assert set(zero) == set(null)
        for key in null:
            assert np.array_equal(zero[key], null[key]), (mediator, key)
    russia = _outcomes("russian_mediation")
    assert any(not np.array_equal(russia[k], null[k]) for k in null)   # and with credibility, it does something


def test_mediated_deals_are_reached_more_and_collapse_more():
    """Beardsley (2008): more agreements, shorter-lived — and the extra collapses are the faded leverage's."""
    null = _outcomes("russian_mediation", "mechanics.mediation.mediator=null", blocks=4)
    russia = _outcomes("russian_mediation", blocks=4)
    no_fade = _outcomes("russian_mediation", "mechanics.mediation.agreement_hazard=0", blocks=4)
    assert russia["deal_ever"].mean() > null["deal_ever"].mean()
    diff = russia["deal_broken"].astype(float) - no_fade["deal_broken"].astype(float)   # paired replicas
    assert diff.mean() > 2 * diff.std(ddof=1) / np.sqrt(diff.size)
    assert russia["deal_broken"].mean() > null["deal_broken"].mean()


def test_neutral_and_biased_mediators_differ():
    """A neutral mediator works only through trust (Kydd 2006): without a reputation for honesty it does nothing;
    a biased one works through its advice to its ally (Kydd 2003) even then."""
    null = _outcomes("russian_mediation", "mechanics.mediation.mediator=null")
    neutral0 = _outcomes("russian_mediation", f"mechanics.mediation.mediator={NEUTRAL}", "mechanics.mediation.honesty=0")
    russia0 = _outcomes("russian_mediation", "mechanics.mediation.honesty=0")
    assert all(np.array_equal(neutral0[k], null[k]) for k in null)
    assert russia0["deal_ever"].mean() != null["deal_ever"].mean()
    neutral = _outcomes("russian_mediation", f"mechanics.mediation.mediator={NEUTRAL}")
    assert neutral["deal_broken"].mean() <= null["deal_broken"].mean() + 0.02   # no leverage, no fading


@pytest.mark.parametrize("value, words", [
    ("china", ["mechanics.mediation.mediator", "china", "russia", "neutral", "null"]),
    ("iran", ["mechanics.mediation.mediator", "iran", "neutral"]),
    ("us", ["mechanics.mediation.mediator", "'us'", "neutral"]),
])
def test_the_lever_rejects_bad_values_in_one_line(value, words):
    with pytest.raises(ConfigError) as err:
        compose_spec("scenario=status_quo", f"mechanics.mediation.mediator={value}")
    line = str(err.value)
    assert "\n" not in line
    for w in words:
        assert w in line


def test_the_lever_accepts_an_actor_neutral_or_null_and_the_sidelined_follow_from_the_format():
    for value, sidelined in (("russia", ["israel", "europe", "turkey"]), (NEUTRAL, ["russia", "israel", "europe", "turkey"]),
                             ("null", [])):
        spec = compose_spec("scenario=status_quo", f"mechanics.mediation.mediator={value}")
        section = spec.mechanics["mediation"]
        assert sorted(section.sidelined(spec.actor_ids)) == sorted(sidelined)


# --- comparative statics (issue 13, item 4): where theory signs the response ---------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.floats(-1, 1), st.floats(-1, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0.01, 2),
       st.floats(0, 0.99), st.floats(0.01, 2))
def test_more_credibility_or_more_bias_toward_the_advised_party_never_hides_the_range(w_p, w_q, k1, k2, extra,
                                                                                     gain, trust, spread):
    """Kydd (2003) as a monotone property of the kernels: credibility and bias toward the party advised raise the
    credibility of the advice, which lowers that party's uncertainty and raises its chance of finding the range."""
    lo, hi = min(k1, k2), max(k1, k2)
    al = np.zeros((3, 3, 1))
    al[2, 0], al[2, 1] = w_p, w_q                                   # mediator 2, parties 0 and 1
    more = al.copy()
    more[2, 1] = min(w_q + extra, 1.0)                              # more bias toward party 1
    parties = [0, 1]
    a_lo, a_hi = advice_credibility(bias(al, 2, parties), lo), advice_credibility(bias(al, 2, parties), hi)
    a_more = advice_credibility(bias(more, 2, parties), hi)
    assert np.all(a_hi >= a_lo) and a_more[1, 0] >= a_hi[1, 0] and a_more[0, 0] <= a_hi[0, 0]
    g, tr = np.full(1, gain), np.full(1, trust)
    p_lo = find_probability(g, belief_spread(spread, tr, a_lo[1]))
    p_hi = find_probability(g, belief_spread(spread, tr, a_hi[1]))
    assert np.all(p_hi >= p_lo - 1e-12)
    assert np.all(find_probability(g, belief_spread(spread, np.minimum(tr + 0.01, 1), a_lo[1])) >= p_lo - 1e-12)


def test_p_deal_rises_with_the_mediators_credibility():
    """On the engine, same seed: more credibility, more agreements, and more of them collapse (Beardsley)."""
    runs = [_outcomes("russian_mediation", f"mechanics.mediation.credibility={k}", blocks=4) for k in (0.0, 0.4, 0.8)]
    ever = [r["deal_ever"].mean() for r in runs]
    broken = [r["deal_broken"].mean() for r in runs]
    assert ever[0] < ever[1] < ever[2]
    assert broken[0] < broken[2]
