"""Model 2 as a whole: deals from talks and bargaining ranges, costly wars, the articles' directions, actor rules."""

from __future__ import annotations

import numpy as np
import pytest

from sim.experiment import all_outcomes
from sim.run import compose_spec as make_spec

def outcomes(scenario: str, *extra: str, blocks: int = 4) -> dict[str, np.ndarray]:
    """The outcomes of ``blocks`` × 256 replicas at the config's seed."""
    spec = make_spec(f"scenario={scenario}", f"n_runs={256 * blocks}", *extra)
    return all_outcomes(spec)


@pytest.fixture(scope="module")
def status_quo() -> dict[str, np.ndarray]:
    return outcomes("status_quo", blocks=12)


def test_deals_happen_without_the_exchange_through_talks(status_quo):
    off = outcomes("status_quo", "mechanics.exchange.enabled=false")
    assert off["deal_ever"].mean() > 0.05
    no_talks = outcomes("status_quo", "mechanics.exchange.enabled=false", "decisions.disabled=[talks]")
    assert no_talks["deal_ever"].mean() == 0.0 and no_talks["talks_ever"].mean() == 0.0


def test_war_costs_every_actor(status_quo):
    war = status_quo["war"].astype(bool)
    assert 20 < war.sum() < len(war) - 20
    for name, u in status_quo.items():
        if name.startswith("utility_"):
            assert u[war].mean() < u[~war].mean(), name
        if name.startswith("war_cost_"):
            assert u[war].mean() > u[~war].mean() >= 0, name


def test_strikes_are_choices_not_only_chance(status_quo):
    """Without the counter-proliferation rule, interstate strikes come only from the proxy track: far fewer."""
    off = outcomes("status_quo", "decisions.disabled=[counter_proliferation]")
    assert off["first_strike"].mean() < 0.5 * status_quo["first_strike"].mean()
    assert status_quo["first_strike_step"].min() == -1 and status_quo["first_strike_step"].max() > 0


def test_a_credible_threat_brings_iran_to_the_table(status_quo):
    """The threat of force enters Iran's choice (Fearon 1995): without strikes, talks open less often."""
    off = outcomes("status_quo", "decisions.disabled=[counter_proliferation,coercive_deadline]")
    assert off["talks_ever"].mean() < status_quo["talks_ever"].mean()


def test_the_articles_directions_hold(status_quo):
    gb, rm, pe = outcomes("grand_bargain"), outcomes("russian_mediation"), outcomes("proxy_escalation")
    assert gb["deal_ever"].mean() > status_quo["deal_ever"].mean() + 0.02
    assert np.median(gb["outcome_ukraine_support"]) < np.median(status_quo["outcome_ukraine_support"])
    assert pe["first_strike"].mean() > status_quo["first_strike"].mean()
    assert pe["war"].mean() > status_quo["war"].mean()
    # Russia's mediation (Kydd 2003; Beardsley 2008): more agreements, which collapse more often
    assert rm["deal_ever"].mean() > status_quo["deal_ever"].mean()
    assert rm["deal_broken"].mean() > status_quo["deal_broken"].mean()
    assert rm["utility_europe"].mean() != status_quo["utility_europe"].mean()


def test_a_deal_lengthens_breakout(status_quo):
    deal = status_quo["deal"].astype(bool)
    assert deal.any() and (~deal).any()
    assert np.median(status_quo["breakout_months"][deal]) > 2 * np.median(status_quo["breakout_months"][~deal])
