"""The command line (sim.cli, sim.sweep): runs, bad input, reproducibility, sweeps."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim import PROJECT_ROOT

FAST = ["n_runs=512", "steps=8", "report=false"]
CONTRACT = ["spec.json", "manifest.json", "outcomes.parquet", "trajectories.parquet",
            "trajectory_quantiles.parquet", "events.parquet", "summary.json"]


def sim(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=env)


@pytest.mark.parametrize("override, words", [
    ("actors.us.salinece.iran_nuclear=3", ["actors.us.salinece", "salience"]),
    ("actors.us.salience.iran_nuclear=140", ["actors.us.salience.iran_nuclear", "140", "0 to 100"]),
    ("scenario=grand_bargian", ["grand_bargian", "grand_bargain", "status_quo"]),
    ("n_runs=-5", ["n_runs", "-5"]),
    ("chunk_size=300", ["chunk_size", "300", "256"]),
    ("mechanics.mediation.mediator=china", ["mediator", "china", "russia"]),
    ("nruns=5", ["nruns", "n_runs"]),
    ("mechanics.deal.tolerance=abc", ["tolerance", "abc"]),
])
def test_bad_override_gives_one_line_and_no_output(tmp_path, override, words):
    out = tmp_path / "run"
    r = sim(override, f"hydra.run.dir={out}")
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    for w in words:
        assert w in lines[0]
    assert not out.exists()


def test_bad_value_in_a_sweep_is_caught_before_any_job(tmp_path):
    r = sim("-m", "scenario=status_quo,nope", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert r.returncode == 2 and "nope" in r.stderr
    assert not (tmp_path / "sweep").exists()


def test_a_run_writes_the_contract_and_same_seed_gives_identical_outcomes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        r = sim("scenario=russian_mediation", *FAST, "seed=3", f"hydra.run.dir={d}")
        assert r.returncode == 0, r.stderr
    for name in CONTRACT:
        assert (a / name).exists(), name
    assert (a / ".hydra" / "config.yaml").exists()
    assert pd.read_parquet(a / "outcomes.parquet").equals(pd.read_parquet(b / "outcomes.parquet"))
    manifest = json.loads((a / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["seed"] == 3 and manifest["n_runs"] == 512
    assert {"numpy", "mesa", "python"} <= set(manifest["versions"]) and "git_commit" in manifest
    assert "P(regional war)" in r.stdout


def test_chunk_size_and_workers_do_not_change_results(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert sim(*FAST, "n_runs=900", "chunk_size=256", "workers=2", f"hydra.run.dir={a}").returncode == 0
    assert sim(*FAST, "n_runs=900", "chunk_size=1024", "workers=1", f"hydra.run.dir={b}").returncode == 0
    assert pd.read_parquet(a / "outcomes.parquet").equals(pd.read_parquet(b / "outcomes.parquet"))
    assert pd.read_parquet(a / "trajectory_quantiles.parquet").equals(
        pd.read_parquet(b / "trajectory_quantiles.parquet"))


@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_sweep_of_two_scenarios_by_two_values_yields_four_rows(tmp_path, launcher):
    sweep = tmp_path / "sweep"
    r = sim("-m", "scenario=status_quo,grand_bargain", "actors.us.salience.ukraine_support=20,80", *FAST,
            "n_runs=256", f"hydra/launcher={launcher}", f"hydra.sweep.dir={sweep}")
    assert r.returncode == 0, r.stderr
    table = pd.read_parquet(sweep / "sweep.parquet")
    assert len(table) == 4
    assert set(table["scenario"]) == {"status_quo", "grand_bargain"}
    assert set(table["actors.us.salience.ukraine_support"]) == {"20", "80"}
    assert table[["p_deal", "p_war"]].notna().all().all()


def test_a_scenario_is_added_by_dropping_a_yaml_file(tmp_path):
    extra = PROJECT_ROOT / "scenarios" / "zz_test_dropin.yaml"
    extra.write_text("about: {name: zz_test_dropin, description: a test}\nmechanics:\n  escalation:\n"
                     "    initial_rung: 5\n")
    try:
        r = sim("scenario=zz_test_dropin", *FAST, f"hydra.run.dir={tmp_path / 'r'}")
        assert r.returncode == 0, r.stderr
        spec = json.loads((tmp_path / "r" / "spec.json").read_text())
        assert spec["scenario"]["name"] == "zz_test_dropin"
        assert spec["scenario"]["mechanics"]["escalation"]["initial_rung"] == 5
    finally:
        extra.unlink()


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["status_quo", "grand_bargain", "russian_mediation", "proxy_escalation"])
def test_every_scenario_runs_with_default_settings(tmp_path, scenario):
    r = sim(f"scenario={scenario}", f"hydra.run.dir={tmp_path}")
    assert r.returncode == 0, r.stderr
    for name in [*CONTRACT, "report.html"]:
        assert (tmp_path / name).exists(), name
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["n_runs"] == 5000
    # the report's header says when the run started and finished (the report is written after the results)
    assert re.search(re.escape(manifest["started"]) + r" / \d{4}-\d\d-\d\dT[\d:.]+\+00:00 \(\d+\.\d s\)",
                     (tmp_path / "report.html").read_text())


@pytest.mark.parametrize("error, status", [(KeyboardInterrupt, "interrupted"), (RuntimeError, "failed")])
def test_an_interrupted_run_leaves_no_results_and_says_so(tmp_path, monkeypatch, error, status):
    import sim.experiment as experiment
    from sim.run import compose_spec, execute

    real, calls = experiment.run_chunk, []

    def flaky(spec, blocks, columns=None):
        calls.append(blocks)
        if len(calls) == 2:
            raise error("stop")
        return real(spec, blocks, columns)

    monkeypatch.setattr(experiment, "run_chunk", flaky)
    spec = compose_spec("n_runs=600", "steps=3", "chunk_size=256", "workers=1", "report=false")
    with pytest.raises(error):
        execute(spec, tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == status and manifest["finished"]
    assert not list(tmp_path.glob("*.parquet")) and not list(tmp_path.glob(".*.tmp"))
