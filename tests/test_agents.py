"""The contract every actor class passes (sim.agents): its own row only, probabilities, switches that work."""

from __future__ import annotations

import numpy as np
import pytest

from sim.agents import AGENT_TYPES, DECISION_FIELDS, Actor, choice, logit
from sim.decisions import RULES
from sim.model import GeoModel
from sim.run import compose_spec as make_spec
from sim.streams import BlockStreams, replica_ids

CLASSES = sorted(AGENT_TYPES.items())


def _model(*extra: str) -> GeoModel:
    spec = make_spec("scenario=proxy_escalation", "n_runs=256", "steps=6", "event_replicas=0", *extra)
    model = GeoModel(spec, BlockStreams(spec.run.seed, [0]), replica_ids=replica_ids([0]))
    for _ in range(3):
        model.step()                 # a world that has moved: talks, strikes, sanctions
    return model


@pytest.fixture(scope="module")
def model() -> GeoModel:
    return _model()


def test_logit_choice_is_the_base_rate_at_zero_motive_and_monotone():
    assert np.allclose(choice(0.2, np.zeros(3), 5.0), 0.2)
    p = choice(0.2, np.linspace(-1, 1, 11), 5.0)
    assert np.all(np.diff(p) > 0) and np.all((p > 0) & (p < 1))
    assert np.isclose(logit(0.5), 0.0)


@pytest.mark.parametrize("actor_id,cls", CLASSES)
def test_each_actor_class_writes_only_its_own_rows_and_probabilities(model, actor_id, cls):
    agent = model.actors_by_id[actor_id]
    assert type(agent) is cls and isinstance(agent, Actor) and cls.__doc__
    w = model.world
    before = {f: w[f].copy() for f in DECISION_FIELDS}
    for f in DECISION_FIELDS:
        w[f][agent.index] = -1.0                                     # what it does not write stays visible
    agent.decide(w)
    for f in DECISION_FIELDS:
        others = np.arange(w[f].shape[0]) != agent.index
        assert np.array_equal(w[f][others], before[f][others]), f"{actor_id} wrote another actor's {f}"
        row = w[f][agent.index]
        written = row != -1.0
        hi = 100.0 if f.endswith("_target") else 1.0
        assert np.all((row[written] >= 0) & (row[written] <= hi)), f
    assert (w["p_retaliate"][agent.index] != -1.0).all() and (w["p_counter"][agent.index] != -1.0).all()
    for f in DECISION_FIELDS:
        w[f][:] = before[f]                                         # leave the shared model as it was


def test_the_actors_own_rules_are_written_by_their_classes(model):
    w, ix = model.world, model.index
    model.actors.do("decide", w)
    assert (w["p_strike"][ix.a("israel")] > 0).all() and (w["p_strike"][ix.a("iran")] == 0).all()
    for field in ("p_talks", "p_advance", "p_respond", "p_harass"):
        assert (w[field][ix.a("iran")] > 0).all(), field
    assert (w["p_arms"][ix.a("russia")] > 0).all()
    assert (w["p_snapback"][ix.a("europe")] >= 0).all()


@pytest.mark.parametrize("rule,field,actor", [("counter_proliferation", "p_strike", "israel"),
                                              ("talks", "p_talks", "iran"), ("hedging", "p_advance", "iran"),
                                              ("arms", "p_arms", "russia"), ("retaliation", "p_retaliate", "us")])
def test_a_disabled_rule_is_never_chosen(rule, field, actor):
    assert rule in RULES
    m = _model(f"decisions.disabled=[{rule}]")
    assert np.all(m.world[field][m.index.a(actor)] == 0.0)


def test_the_actors_order_does_not_matter_to_what_they_decide(model):
    """Each reads the world the last month left (other actors' strikes of last month), not this month's rows."""
    w = model.world
    model.actors.do("decide", w)
    forward = {f: w[f].copy() for f in DECISION_FIELDS}
    for agent in reversed(list(model.actors)):
        agent.decide(w)
    for f in DECISION_FIELDS:
        assert np.array_equal(w[f], forward[f]), f


def test_a_stalled_ultimatum_is_what_lets_the_us_strike(model):
    us = model.actors_by_id["us"]
    w = model.world
    p = us.strike_probability(w)
    assert np.all(p[~w["stalled"]] == 0.0) and (p[w["stalled"]] > 0).all()
