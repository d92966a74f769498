"""A new mechanism is one module, its config section and its tests: nothing else in the engine changes.

The mechanism below is registered at test time (a real one lives in ``sim/mechanics/<name>.py`` and is found by
``load_all``); its section and its place in the schedule come from the command line, as they would from
``conf/config.yaml``. It runs, draws from its own substream only, declares an outcome that reaches the results,
and leaves every other mechanism's random numbers as they were.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.knowledge import Share
from sim.mechanics.base import REGISTRY, Mechanism, MechanismSpec, register
from sim.model import GeoModel
from sim.outcomes import Outcome
from sim.registry import declared_outcomes
from sim.streams import replica_ids
from sim.run import compose_spec as make_spec


class CeasefireSpec(MechanismSpec):
    """``mechanics.ceasefire``: monthly chance that fighting at strikes or above stops one rung down."""

    rate: Share


class Ceasefire(Mechanism[CeasefireSpec]):
    """A toy ceasefire (after Fortna 2003: agreements that stop fighting): at rung >= 4 a ceasefire takes hold
    with probability ``rate`` and lowers the rung by one."""

    name = "ceasefire"
    Spec = CeasefireSpec
    reads = ("rung",)

    @classmethod
    def outcomes(cls, section, index):
        return [Outcome("ceasefire_ever", "probability", "a ceasefire at some point", lambda w: w["ceasefire"],
                        "escalation", "bool")]

    def init(self, world):
        world.add("ceasefire", np.zeros(world.n_replicas, bool))

    def step(self, world):
        u = self.draw(self.name).uniform()
        hold = (world["rung"] >= 4) & (u < self.c.rate)
        world["rung"] = np.where(hold, world["rung"] - 1, world["rung"]).astype(np.int8)
        world["ceasefire"] = world["ceasefire"] | hold


SECTION = "+mechanics.ceasefire={enabled: true, rate: {low: 0.2, mode: 0.4, high: 0.6, source: {seed: assumption, why: test}}}"
SCHEDULE = "schedule=[escalation,spoilers,ceasefire,mediation,exchange,bargaining,compromise,deal,nuclear,policy,hormuz]"
RUN = ("scenario=proxy_escalation", "n_runs=256", "steps=12", "event_replicas=0")


@pytest.fixture
def ceasefire():
    register(Ceasefire)
    yield Ceasefire
    REGISTRY.pop("ceasefire")


def _run(spec, spy):
    streams = spy(spec.run.seed, [0])
    model = GeoModel(spec, streams, replica_ids=replica_ids([0]))
    model.run(spec.run.steps)
    return model, streams


def test_a_new_mechanism_plugs_in(ceasefire, spy_streams):
    spec = make_spec(*RUN, SECTION, SCHEDULE, "uncertainty=all")
    assert spec.schedule[2] == "ceasefire" and isinstance(spec.section("ceasefire"), CeasefireSpec)
    assert "ceasefire_ever" in [o.name for o in declared_outcomes(spec)]
    model, streams = _run(spec, spy_streams)
    cols = model.outcome_columns()
    assert cols["ceasefire_ever"].dtype == bool and cols["ceasefire_ever"].any()
    rate = model.inputs["mechanics.ceasefire.rate"]
    assert rate.std() > 0 and np.all((rate >= 0.2) & (rate <= 0.6))          # drawn like any other constant


def test_a_new_mechanism_changes_no_other_random_number(ceasefire, spy_streams):
    REGISTRY.pop("ceasefire")                              # the engine as it was before the new module
    _, without = _run(make_spec(*RUN, "uncertainty=all"), spy_streams)
    register(Ceasefire)
    model, with_it = _run(make_spec(*RUN, SECTION, SCHEDULE, "uncertainty=all"), spy_streams)
    assert "ceasefire" in with_it.first
    for stream, u in without.first.items():
        assert np.array_equal(u, with_it.first[stream]), stream


def test_the_schedule_must_name_every_mechanism_once(ceasefire):
    from sim.errors import ConfigError
    with pytest.raises(ConfigError, match="schedule: .*'ceasefire' is missing"):
        make_spec(*RUN, SECTION)
    with pytest.raises(ConfigError, match="mechanics.ceasefire: missing"):
        make_spec(*RUN, SCHEDULE)
