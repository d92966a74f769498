"""parameters.parquet: one row per replica, one column per uncertain input named by its override key, holding the
value the replica drew; common random numbers across scenarios; the same whatever the chunking."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from sim.run import compose_spec, execute


def _run(tmp_path, name, *overrides):
    spec = compose_spec(f"scenario={name}", "n_runs=600", "steps=4", "report=false", "workers=1", *overrides)
    folder = tmp_path / f"{name}{len(overrides)}"
    execute(spec, folder)
    return spec, pd.read_parquet(folder / "parameters.parquet"), folder


def test_columns_are_override_keys_with_the_drawn_values(tmp_path):
    spec, p, folder = _run(tmp_path, "status_quo")
    assert list(p.replica) == list(range(600))
    inputs = {i["path"]: i for i in json.loads((folder / "spec.json").read_text())["inputs"]}
    for col in p.columns[1:]:
        lo, hi = inputs[col]["low"], inputs[col]["high"]
        assert lo < hi and p[col].between(lo, hi).all(), col
    assert "actors.us.salience.ukraine_support" in p and "mechanics.exchange.rate" in p
    assert "relations.trust.iran-us" in p and "decisions.retaliation" in p
    # knowledge-base inputs are drawn; constants are held at their modes under uncertainty=knowledge
    assert p["actors.us.capability"].std() > 0
    assert (p["mechanics.exchange.rate"] == spec.section("exchange").rate.mode).all()


def test_unchanged_inputs_have_the_same_values_in_two_scenarios(tmp_path):
    _, a, _ = _run(tmp_path, "status_quo")
    spec, b, _ = _run(tmp_path, "grand_bargain")
    changed = {c.path for c in spec.changes}
    same = [c for c in a.columns if c in b.columns and c not in changed]
    assert len(same) > 100
    assert a[same].equals(b[same])
    assert not np.allclose(a["actors.europe.salience.ukraine_support"], b["actors.europe.salience.ukraine_support"])


def test_uncertainty_all_draws_the_constants_and_leaves_the_knowledge_draws(tmp_path):
    _, a, _ = _run(tmp_path, "status_quo")
    _, b, _ = _run(tmp_path, "status_quo", "uncertainty=all")
    assert b["mechanics.deal.ratify"].std() > 0.03
    kb = [c for c in a.columns if c.startswith(("actors.", "relations."))]
    assert a[kb].equals(b[kb])


def test_streamed_file_equals_the_in_memory_frame(tmp_path):
    from sim.experiment import InProcess, run_experiment
    from sim.results import parameters_frame

    spec, p, _ = _run(tmp_path, "status_quo", "chunk_size=256")
    assert parameters_frame(run_experiment(spec, InProcess())).equals(p)
