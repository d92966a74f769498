"""The Mesa model (sim.model, sim.agents): invariants of the dynamics over many replicas."""

from __future__ import annotations

import copy

import mesa
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.experiment import run_chunk
from sim.knowledge import load_knowledge
from sim.model import GeoModel
from sim.mechanics.escalation import TOP_RUNG
from sim.spec import build_spec
from sim.streams import BlockStreams, replica_ids
from sim.run import compose_spec as make_spec


def test_actors_are_mesa_agents_with_explicit_parameters(small_spec):
    model = GeoModel(small_spec, BlockStreams(1, [0]), replica_ids=replica_ids([0]))
    assert isinstance(model, mesa.Model)
    assert len(model.agents) == 6 and all(isinstance(a, mesa.Agent) for a in model.agents)
    assert [a.actor_id for a in model.actors] == small_spec.actor_ids          # activated in knowledge-base order
    us = model.actors_by_id["us"]
    assert np.array_equal(us.params.resolve, model.inputs["actors.us.resolve"])
    assert not hasattr(us, "spec")
    us.position(model.world)[0, :] = 42.0             # a view of the world, not a copy
    assert np.all(model.world.position[us.index, 0] == 42.0)


def test_actors_decide_before_the_mechanisms_step(small_spec):
    """Each month starts with every actor writing its propensities; the escalation reads them."""
    model = GeoModel(small_spec, BlockStreams(1, [0]), replica_ids=replica_ids([0]))
    model.step()
    w, us, iran = model.world, model.actors_by_id["us"], model.actors_by_id["iran"]
    d = small_spec.decisions.retaliation.mode
    expected = d * us.params.resolve * np.where(w["deal"], small_spec.decisions.deal_retaliation_restraint.mode, 1)
    assert np.allclose(w["p_retaliate"][us.index], expected) or np.any(w["deal"])
    assert np.all(w["p_counter"][iran.index] > 0)
    israel = model.actors_by_id["israel"]
    assert israel.params.spoiler and not us.params.spoiler
    assert np.all((w["p_spoil"][israel.index] >= 0) & (w["p_spoil"][israel.index] <= 1))
    assert np.all(w["p_spoil"][us.index] == 0)


@given(seed=st.integers(0, 2**32 - 1), scenario=st.sampled_from(
    ["status_quo", "grand_bargain", "russian_mediation", "proxy_escalation"]))
@settings(max_examples=8, deadline=None)
def test_outcomes_stay_in_range(seed, scenario):
    spec = make_spec(f"scenario={scenario}", f"seed={seed}", "n_runs=256", "steps=10")
    out = run_chunk(spec, [0]).outcomes
    for iid in spec.issue_ids:
        assert np.all((out[f"outcome_{iid}"] >= 0) & (out[f"outcome_{iid}"] <= 100))
    for aid in spec.actor_ids:
        assert np.all(np.abs(out[f"utility_{aid}"]) <= 1 + 1e-12)
    assert np.all((out["max_escalation"] >= out["final_escalation"]) & (out["max_escalation"] <= TOP_RUNG))
    assert np.array_equal(out["war"], out["max_escalation"] == TOP_RUNG)
    assert np.all(out["deal_step"] <= spec.run.steps)
    assert not np.any(out["deal"] & (out["deal_step"] < 0))


def _deterministic_cfg(order):
    """A composed config with every parameter fixed and every chance event certain or impossible."""
    from hydra import compose, initialize_config_dir

    from sim.run import CONF_DIR, plain, register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = plain(compose(config_name="config", overrides=[
            "scenario=grand_bargain", "n_runs=256", "steps=8", "mechanics.bargaining.trust_floor=1.0",
            "mechanics.exchange.renege_rate=0", "mechanics.escalation.incident_base=0",
            "mechanics.escalation.incident_proxy=0", "mechanics.escalation.deescalation=0",
            "decisions.spoiler_rate=0", "mechanics.deal.ratify=0"]))
    cfg = copy.deepcopy(cfg)

    def fix(node):
        if isinstance(node, dict) and "mode" in node and "source" in node:
            node.update(low=node["mode"], high=node["mode"], dist="fixed")
        elif isinstance(node, dict):
            for v in node.values():
                fix(v)
    fix(cfg)
    cfg["actors"] = {a: cfg["actors"][a] for a in order}
    return cfg


def test_actor_order_changes_nothing():
    """Shuffling the order of the actors permutes nothing but the labels."""
    forward = ["us", "russia", "iran", "israel", "europe", "turkey"]
    shuffled = ["turkey", "iran", "us", "europe", "israel", "russia"]
    def run(order):
        cfg = _deterministic_cfg(order)
        kb = load_knowledge(data={k: cfg[k] for k in ("baseline", "issues", "actors", "relations", "world")})
        return run_chunk(build_spec(cfg, baseline=kb), [0]).outcomes

    a, b = run(forward), run(shuffled)
    assert set(a) == set(b) and len(a) > 10
    for name in a:
        assert np.allclose(a[name], b[name], atol=1e-9), name


def test_escalation_raises_war_risk():
    calm = run_chunk(make_spec("scenario=status_quo", "n_runs=1024", "seed=11"), [0, 1, 2, 3]).outcomes
    hot = run_chunk(make_spec("scenario=proxy_escalation", "n_runs=1024", "seed=11"), [0, 1, 2, 3]).outcomes
    assert hot["max_escalation"].mean() > calm["max_escalation"].mean()


def test_grand_bargain_makes_a_deal_likelier_and_costs_ukraine_support():
    base = run_chunk(make_spec("scenario=status_quo", "n_runs=1024", "seed=5"), [0, 1, 2, 3]).outcomes
    deal = run_chunk(make_spec("scenario=grand_bargain", "n_runs=1024", "seed=5"), [0, 1, 2, 3]).outcomes
    # (+0.1 before issue 13: Russia's mediation then lifted US-Iran trust by its standing; a biased mediator now
    # informs only its ally, Kydd 2003, docs/model.md §7.4)
    assert (deal["deal_step"] >= 0).mean() > (base["deal_step"] >= 0).mean() + 0.02
    assert np.median(deal["outcome_ukraine_support"]) < np.median(base["outcome_ukraine_support"])


def test_event_log_only_for_sampled_replicas(small_spec):
    res = run_chunk(small_spec, [0])
    assert set(res.events["replica"]) <= set(range(small_spec.run.event_replicas))
    assert res.events["event"], "a sample of 20 replicas over 12 months logs something"
    rungs = np.array(res.events["rung_after"])
    assert np.all((rungs >= 0) & (rungs <= TOP_RUNG))


def _ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    grid = np.union1d(a, b)
    fa = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    fb = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def test_float32_bargaining_gives_the_float64_distributions():
    """The default float32 kernels change single replicas only where the dynamics are chaotic (a near-tie of
    expected utilities decided the other way), not the outcome distributions (docs/model.md, Numerics)."""
    runs = {p: run_chunk(make_spec("scenario=grand_bargain", "n_runs=2048", "seed=3",
                                   f"mechanics.bargaining.precision={p}"), list(range(8))).outcomes
            for p in ("float32", "float64")}
    lo, hi = runs["float32"], runs["float64"]
    n = len(hi["deal"])
    for name in ("deal", "war", "deal_broken"):
        p = 0.5 * (lo[name].mean() + hi[name].mean())
        se_unpaired = np.sqrt(2 * p * (1 - p) / n)
        assert abs(lo[name].mean() - hi[name].mean()) <= 4 * se_unpaired + 1e-12, name
    assert (lo["deal"] == hi["deal"]).mean() >= 0.99             # the same replicas, not just the same rates
    for name in hi:
        if name.startswith(("outcome_", "utility_")):
            assert _ks_distance(lo[name], hi[name]) <= 0.061, name   # two-sample KS critical value, alpha = 0.001


def test_positions_move_gradually_month_to_month():
    """With the default move_rate a bargained outcome rarely jumps; with BDM's full moves (1.0) it often does.
    (The issue that no world-state mechanism owns is the bargained outcome; the others move with events. With the
    pairwise probability full moves converge within months, so the jumps are fewer than under all_votes, but
    still many times the default's.)"""
    def jumps(*extra):
        spec = make_spec("scenario=grand_bargain", "n_runs=512", "trajectory_replicas=512", *extra)
        k = spec.issue_ids.index("russia_mideast_role")
        traj = run_chunk(spec, [0, 1]).traj_outcome[:, k]                # (months + 1, replicas)
        return np.mean(np.abs(np.diff(traj, axis=0)) > 10)                # share of moves over 10 points
    gradual, full = jumps(), jumps("mechanics.bargaining.move_rate=1")
    assert gradual < 0.01
    assert full > 0.02 and full > 10 * gradual
