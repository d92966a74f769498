"""One bargaining configuration (issue 13): the scenarios run what sim.validate deu3 validates; capability, per
issue, decides who concedes; and the comparative statics that theory signs hold on the engine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_bargaining import problems as bargaining_problems

from sim.knowledge import load_knowledge
from sim.mechanics import bargaining as b
from sim.mechanics.compromise import compromise
from sim.model import GeoModel
from sim.run import compose_spec
from sim.streams import BlockStreams, replica_ids
from sim.validation import deu3

SCENARIOS = ["status_quo", "grand_bargain", "russian_mediation", "proxy_escalation"]


@pytest.fixture(scope="module")
def kb():
    return load_knowledge()


# --- one source of truth ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_validator_runs_the_scenarios_bargaining(scenario):
    """``sim.validate deu3`` (deu3.FROZEN) and every scenario's ``mechanics.bargaining`` have the same rules."""
    sec = compose_spec(f"scenario={scenario}", "n_runs=16").section("bargaining")
    assert deu3.FROZEN.rule == sec.offer_rule
    assert deu3.FROZEN.probability == sec.probability
    assert deu3.FROZEN.move_rate == pytest.approx(sec.move_rate.mode)
    assert deu3.FROZEN.risk == ("neutral" if sec.risk == "knowledge" else "endogenous")
    assert sec.rounds_per_step == 1


def test_the_validator_reads_the_config_file(tmp_path):
    """The validator's rules come from conf/config.yaml (so they cannot drift), not from a copy."""
    text = deu3.CONFIG_FILE.read_text(encoding="utf-8")
    changed = tmp_path / "config.yaml"
    changed.write_text(text.replace("probability: pairwise", "probability: all_votes", 1), encoding="utf-8")
    assert deu3.scenario_bargaining(changed)["probability"] == "all_votes"
    assert deu3.scenario_bargaining()["probability"] == deu3.FROZEN.probability


# --- capability decides who concedes ------------------------------------------------------------------------------
def _modes(kb):
    """The knowledge base at its modes as (A, I) kernel inputs, with the per-issue capability of each issue's kind."""
    actors, issues = kb.actor_ids, kb.issue_ids
    x = np.array([[kb.actors[a].position[i].mode for i in issues] for a in actors])
    s = np.array([[kb.actors[a].salience[i].mode for i in issues] for a in actors]) / 100
    c = np.array([[kb.actors[a].capability_by[kb.issues[i].power].mode for i in issues] for a in actors])
    r = b.risk_exponent(np.array([kb.actors[a].risk_attitude.mode for a in actors]))[:, None] * np.ones((1, len(issues)))
    return x, c / c.sum(axis=0), s, r, np.maximum(x.max(axis=0) - x.min(axis=0), 1.0)


def _round(x, c, s, r, scale, sec):
    A, I = x.shape
    return b.bargaining_round(x, c, s, r, scale, np.ones_like(x, bool), rule=sec.offer_rule,
                              probability=sec.probability, concession=np.full((A, A, I), sec.move_rate.mode))


def test_reversing_capabilities_changes_who_concedes(kb):
    """In the scenario configuration, giving the strongest actor the weakest one's capability (and so on down the
    ranking, issue by issue) changes the offers and who accepts whose on every issue, and the actor that is
    strongest in the real world concedes on more issues once it is the weakest."""
    sec = compose_spec("scenario=status_quo", "n_runs=16").section("bargaining")
    x, c, s, r, scale = _modes(kb)
    order = np.argsort(c, axis=0)
    reversed_c = np.empty_like(c)
    for k in range(c.shape[1]):
        reversed_c[order[:, k], k] = c[order[::-1, k], k]
    real_x, real_chosen, real = _round(x, c, s, r, scale, sec)
    rev_x, rev_chosen, rev = _round(x, reversed_c, s, r, scale, sec)
    for k, iid in enumerate(kb.issue_ids):
        assert not np.array_equal(real.kind[..., k], rev.kind[..., k]), iid
        assert not np.array_equal(real_chosen[:, k], rev_chosen[:, k]), iid
    us = kb.actor_ids.index("us")
    assert np.all(c[us] == c.max(axis=0))                       # the US is the strongest on every issue
    assert (real_chosen[us] >= 0).sum() < (rev_chosen[us] >= 0).sum()


def test_capability_is_per_issue_in_the_world():
    """``world.format_capability`` (A, I, R) takes each issue's kind of capability (shares over actors per issue);
    ``world.capability`` (A, R) stays the overall one."""
    spec = compose_spec("scenario=status_quo", "n_runs=256")
    m = GeoModel(spec, BlockStreams(spec.run.seed, [0]), replica_ids=replica_ids([0]))
    w, ix = m.world, m.index
    assert np.allclose(w.format_capability.sum(axis=0), 1.0) and np.allclose(w.capability.sum(axis=0), 1.0)
    for k, iid in enumerate(ix.issues):
        kind = spec.knowledge.issues[iid].power
        raw = np.stack([m.inputs[f"actors.{a}.capability_by.{kind}"] for a in ix.actors])
        assert np.allclose(w.format_capability[:, k], raw / raw.sum(axis=0)), iid
    eu, sanctions, nuclear = ix.a("europe"), ix.i("iran_sanctions"), ix.i("iran_nuclear")
    assert np.all(w.format_capability[eu, sanctions] > w.format_capability[eu, nuclear])    # economic > military


# --- comparative statics ---------------------------------------------------------------------------------------
@st.composite
def problems(draw):
    """A bargaining problem of tests/test_bargaining.py, an actor and the factor its capability or salience grows by."""
    x, c, s = draw(bargaining_problems())
    return x, c, s, draw(st.integers(0, x.shape[0] - 1)), draw(st.floats(1.05, 3.0))


@given(problems(), st.sampled_from(["capability", "salience"]))
@settings(max_examples=60, deadline=None)
def test_a_stronger_or_keener_actor_wins_challenges_more_often(problem, what):
    """With the validated (pairwise) probability an actor always votes for itself, so raising its capability or its
    salience raises its chance of winning every challenge, and so its expected utility of challenging
    (U^s >= U^f). (With ``all_votes`` the first fails: the actor's votes also enter every other pair's total.)"""
    x, c, s, who, factor = problem
    c2, s2 = c.copy(), s.copy()
    if what == "capability":
        c2[who] *= factor
    else:
        s2[who] = np.minimum(1.0, s2[who] * factor)
    rule = deu3.FROZEN.probability
    scale = np.maximum(x.max(axis=0) - x.min(axis=0), 1e-9)
    r, act = np.ones_like(x), np.ones_like(x, bool)
    p0 = b.success_probability(x, c, s, r, scale, act, rule)
    p1 = b.success_probability(x, c2, s2, r, scale, act, rule)
    assert np.all(p1[who] >= p0[who] - 1e-12)
    if what == "capability":                                    # salience also enters EU through s_j's resistance
        eu0, _ = b.expected_utilities(x, c, s, r, scale, act, rule)
        eu1, _ = b.expected_utilities(x, c2, s2, r, scale, act, rule)
        assert np.all(eu1[who] >= eu0[who] - 1e-12)


@given(problems(), st.sampled_from(["capability", "salience"]))
@settings(max_examples=60, deadline=None)
def test_the_compromise_moves_toward_an_actor_whose_weight_rises(problem, what):
    """The compromise (capability x salience weighted mean; Achen 2006) moves toward x_a when a's capability or
    salience rises: dO/dw_a = (x_a - O) / sum w."""
    x, c, s, who, factor = problem
    w0 = c * s
    w1 = w0.copy()
    w1[who] *= factor
    o0, o1 = compromise(x, w0), compromise(x, w1)
    assert np.all(np.sign(x[who] - o0) * (o1 - o0) >= -1e-9)


@pytest.mark.parametrize(("path", "issue"), [("capability_by.economic", "iran_sanctions"),
                                             ("capability_by.military", "iran_proxies"),
                                             ("salience.ukraine_support", "ukraine_support")])
def test_the_engine_starts_closer_to_an_actor_whose_weight_rises(path, issue):
    """Through the whole input path (knowledge base, draws, per-issue capability, world): raising the US's mode on an
    issue's kind of capability, or its salience there, moves that issue's starting compromise toward the US in
    every replica (common random numbers)."""
    def start(*overrides):
        spec = compose_spec("scenario=status_quo", "n_runs=256", *overrides)
        m = GeoModel(spec, BlockStreams(spec.run.seed, [0]), replica_ids=replica_ids([0]))
        k, us = m.index.i(issue), m.index.a("us")
        return m.world.start_outcome[k], m.world.position[us, k]

    u = load_knowledge()
    node = u.actors["us"]
    for part in path.split("."):
        node = getattr(node, part) if not isinstance(node, dict) else node[part]
    value = node.mode + 0.5 * (node.high - node.mode)
    o0, x_us = start()
    o1, _ = start(f"actors.us.{path}.mode={value:.4f}")
    assert np.all(np.sign(x_us - o0) * (o1 - o0) >= -1e-9)
    assert np.mean(np.abs(o1 - o0)) > 0.1
