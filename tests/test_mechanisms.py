"""The contract every registered mechanism passes (in the spirit of the Axelrod library's per-strategy tests).

For each plug-in in the registry: its spec section validates from conf/config.yaml; it adds its state with the
replica axis last; it draws only from the substreams it declared; its replica columns are independent (a subset
of replicas computed alone gives the same numbers); ``enabled: false`` makes its step a no-op and changes no other
mechanism's random numbers; the same seed gives the same numbers; its outcomes are well-formed; its docstring
names its literature.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from sim.mechanics.base import REGISTRY, Mechanism, MechanismSpec, load_all
from sim.model import GeoModel
from sim.outcomes import KINDS
from sim.registry import declared_outcomes
from sim.streams import BlockStreams, replica_ids
from sim.run import compose_spec as make_spec

NAMES = sorted(load_all())
SCENARIO = ("scenario=grand_bargain", "n_runs=256", "steps=6", "event_replicas=8", "trajectory_replicas=0")
COLUMNS = np.array([0, 7, 100, 255])


def _model(*extra, seed=11, columns=None, streams_cls=BlockStreams):
    spec = make_spec(*SCENARIO, *extra)
    ids = replica_ids([0]) if columns is None else replica_ids([0])[columns]
    streams = streams_cls(seed, [0], columns)
    return spec, GeoModel(spec, streams, replica_ids=ids, n_logged=0), streams


def _mechanism(model: GeoModel, name: str) -> Mechanism:
    return next(m for m in model.mechanisms if m.name == name)


def _state(model: GeoModel) -> dict[str, np.ndarray]:
    w = model.world
    out = {k: np.array(v, copy=True) for k, v in w.fields.items() if not k.startswith("_")}
    out.update(position=w.position.copy(), trust=w.trust.copy(), outcome=w.outcome.copy())
    return out


def _month_until(model: GeoModel, name: str) -> None:
    """Start a month and step the mechanisms up to and including ``name``."""
    model.world.step += 1
    model.actors.do("decide", model.world)
    for m in model.mechanisms:
        if m.enabled:
            m.step(model.world)
        if m.name == name:
            return


def test_every_mechanism_is_scheduled_and_has_a_section():
    spec = make_spec(*SCENARIO)
    assert sorted(spec.schedule) == NAMES and set(spec.mechanics) == set(NAMES)
    for name in NAMES:
        assert isinstance(spec.section(name), REGISTRY[name].Spec)


@pytest.mark.parametrize("name", NAMES)
class TestMechanismContract:
    def test_is_documented_with_its_literature(self, name):
        cls = REGISTRY[name]
        module = __import__(cls.__module__, fromlist=["_"])
        assert cls.__doc__ and cls.Spec.__doc__ and module.__doc__
        assert re.search(r"\(\d{4}\)|\b(19|20)\d{2}\b", cls.__doc__ + module.__doc__), "cite the literature"
        assert issubclass(cls.Spec, MechanismSpec) and cls.name == name

    def test_state_has_the_replica_axis_last(self, name):
        spec, model, _ = _model()
        R = model.world.n_replicas
        for key, value in model.world.fields.items():
            assert value.shape[-1] == R, key

    def test_draws_only_from_declared_substreams(self, name, spy_streams):
        spec, model, streams = _model(streams_cls=spy_streams)
        mech = _mechanism(model, name)
        model.run(2)
        streams.asked.clear()
        for m in model.mechanisms:                 # one more month, mechanism by mechanism
            if m is mech:
                model.world.step += 1
                model.actors.do("decide", model.world)
            asked = len(streams.asked)
            m.step(model.world)
            assert set(streams.asked[asked:]) <= set(m.draw.declared), m.name
        assert set(mech.draw.declared) <= set(streams.asked) or not mech.draw.declared or name == "spoilers"
        with pytest.raises(KeyError, match="not declared"):
            mech.draw("some/other/stream")

    def test_replica_columns_are_independent(self, name):
        _, full, _ = _model()
        _, some, _ = _model(columns=COLUMNS)
        for _ in range(2):
            full.step()
            some.step()
        _month_until(full, name)
        _month_until(some, name)
        a, b = _state(full), _state(some)
        for key in a:
            assert np.allclose(a[key][..., COLUMNS], b[key], rtol=1e-6, atol=1e-6), key

    def test_disabled_is_a_no_op_and_leaves_other_streams_alone(self, name, spy_streams):
        _, on, s_on = _model(streams_cls=spy_streams)
        _, off, s_off = _model(f"mechanics.{name}.enabled=false", streams_cls=spy_streams)
        mech = _mechanism(off, name)
        owned_before = {k: np.array(v, copy=True) for k, v in off.world.fields.items()}
        _month_until(off, name)
        _month_until(on, name)
        assert not any(s in s_off.first for s in mech.draw.declared), "a disabled mechanism draws nothing"
        for stream, u in s_off.first.items():
            assert np.array_equal(u, s_on.first[stream]), stream
        owned = {"deal": ["deal", "deal_step", "deal_broken"], "spoilers": ["spoiled"]}.get(name, [])
        for key in owned:                                   # state it owns stays as initialised
            assert np.array_equal(off.world[key], owned_before[key]), key
        if name == "mediation":                             # no mediator: the parties' own trust counts
            assert np.array_equal(off.world["effective_trust"], off.world.trust)

    def test_same_seed_same_numbers(self, name):
        _, a, _ = _model()
        _, b, _ = _model()
        _, c, _ = _model(seed=12)
        for m in (a, b, c):
            m.run(3)
        sa, sb, sc = _state(a), _state(b), _state(c)
        assert all(np.array_equal(sa[k], sb[k]) for k in sa)
        assert not all(np.array_equal(sa[k], sc[k]) for k in sa)

    def test_outcomes_are_well_formed(self, name):
        spec, model, _ = _model()
        model.run(2)
        outs = REGISTRY[name].outcomes(spec.section(name), model.index)
        for o in outs:
            assert o.kind in KINDS and o.label
            col = np.asarray(o.compute(model.world)).astype(o.dtype)
            assert col.shape == (model.world.n_replicas,)
            if o.kind == "probability":
                assert col.dtype == bool


def test_outcome_names_are_unique_and_labels_follow_the_spec():
    spec = make_spec(*SCENARIO, "mechanics.deal.label=nuclear accord")
    outs = declared_outcomes(spec)
    names = [o.name for o in outs]
    assert len(names) == len(set(names))
    assert any("nuclear accord" in o.label for o in outs if o.group == "deal")
    labels = {o.name: o.label for o in outs}
    assert labels["outcome_iran_nuclear"] == spec.knowledge.issues["iran_nuclear"].label + ": in force"
    assert labels["outcome_russia_mideast_role"].endswith(": bargained outcome")


def test_disabling_a_mechanism_changes_its_effect():
    """The switch is real: without escalation the ladder never moves, without exchange nobody trades."""
    spec, model, _ = _model("mechanics.escalation.enabled=false", "mechanics.spoilers.enabled=false")
    model.run(6)
    start = spec.section("escalation").initial_rung
    assert np.all(model.world["max_rung"] == start) and np.all(model.world["rung"] <= start)
    _, on, _ = _model()
    on.run(6)
    assert np.any(on.world["max_rung"] > start)


def test_results_and_pages_import_neither_mesa_nor_the_kernels():
    """The house's layering: results, summaries and pages read files; they need no engine."""
    import subprocess
    import sys

    code = ("import sys, sim.results, sim.outcomes, sim.runs, sim.compare, sim.sweep, sim.report.run_report, "
            "sim.report.sweep_report, sim.report.compare_report; "
            "bad = [m for m in ('mesa', 'sim.mechanics.bargaining', 'sim.model', 'sim.spec') if m in sys.modules]; "
            "print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_schedule_orders_the_steps_not_the_set_up():
    """Any order of the schedule builds (each mechanism's prepare sees every other's fields)."""
    spec, model, _ = _model("schedule=[hormuz,policy,nuclear,bargaining,mediation,deal,compromise,exchange,spoilers,escalation]")
    model.run(2)
    assert [m.name for m in model.mechanisms][:2] == ["hormuz", "policy"]
