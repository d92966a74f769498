"""Shared fixtures: specs composed exactly as the command line composes them."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir

from sim import PROJECT_ROOT
from sim.cli import CONF_DIR, _plain, register_configs
from sim.spec import RunSpec, build_spec

SHARED = PROJECT_ROOT.parent / "shared"


def make_spec(*overrides: str) -> RunSpec:
    """Compose conf/config.yaml + knowledge base + scenario + overrides and validate, as `python -m sim` does."""
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides))
    return build_spec(_plain(cfg), overrides=list(overrides))


@pytest.fixture(scope="session")
def small_spec() -> RunSpec:
    return make_spec("scenario=grand_bargain", "n_runs=600", "steps=12", "workers=1", "event_replicas=20")
