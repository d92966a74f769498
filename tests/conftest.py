"""Shared fixtures: specs composed exactly as the command line composes them."""

from __future__ import annotations

import pytest

from sim import PROJECT_ROOT
from sim.run import compose_spec as make_spec  # noqa: F401  (tests import it from here)
from sim.spec import RunSpec

SHARED = PROJECT_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def small_spec() -> RunSpec:
    return make_spec("scenario=grand_bargain", "n_runs=600", "steps=12", "workers=1", "event_replicas=20")
