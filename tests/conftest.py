"""Shared fixtures: specs composed exactly as the command line composes them."""

from __future__ import annotations

import pytest

import numpy as np

from sim import PROJECT_ROOT
from sim.run import compose_spec as make_spec
from sim.spec import RunSpec
from sim.streams import BlockStreams

SHARED = PROJECT_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def small_spec() -> RunSpec:
    return make_spec("scenario=grand_bargain", "n_runs=600", "steps=12", "workers=1", "event_replicas=20")


class SpyStreams(BlockStreams):
    """BlockStreams that remember which substreams were asked for and the first numbers each gave."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: list[str] = []
        self.first: dict[str, np.ndarray] = {}

    def substream(self, name):
        self.asked.append(name)
        sub = super().substream(name)
        spy = self

        class Recorded:
            def uniform(self, *shape):
                u = sub.uniform(*shape)
                spy.first.setdefault(name, u.copy())
                return u
        return Recorded()


@pytest.fixture
def spy_streams() -> type[SpyStreams]:
    """The BlockStreams subclass that records which substreams were asked for (mechanism contract tests)."""
    return SpyStreams
