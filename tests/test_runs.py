"""Reading run folders: sim.runs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim import outcomes as names
from sim.runs import RunFolderError, common_subject, expand_runs, is_multirun_dir, is_run_dir, load_run
from synthetic_runs import ACTORS, ISSUES, make_multirun, make_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("runs") / "sq", n=200)


def test_load_run_reads_every_file(run_dir: Path) -> None:
    run = load_run(run_dir)
    assert run.scenario_name == "status_quo"
    assert run.n_runs == 200 and run.seed == 1 and run.steps == 24
    assert run.issue_ids == list(ISSUES) and len(run.actor_ids) == 6 and len(run.rungs) == 7
    out = run.outcomes
    assert len(out) == 200 and list(out["replica"]) == list(range(200))
    assert str(out[names.DEAL_STEP].dtype) == "Int32"
    for issue in run.issue_ids:
        assert names.issue_outcome(issue) in out
    assert set(run.trajectories["replica"]) == set(range(20))
    assert set(run.quantiles["variable"]) == {"escalation", *(names.issue_outcome(i) for i in ISSUES)}
    assert {"replica", "step", "actor", "event", "description", "rung_before", "rung_after"} <= set(run.events)
    assert run.issue("iran_nuclear")["scale_100"] == "verified rollback"
    assert run.actor_name("us") == "United States"
    assert run.title == "status_quo"


def test_title_has_short_overrides(tmp_path: Path) -> None:
    path = make_run(tmp_path / "gb", scenario="grand_bargain", n=5,
                    overrides=["scenario=grand_bargain", "actors.us.salience.ukraine_support=0.8"])
    assert load_run(path).title == "grand_bargain (us.salience.ukraine_support=0.8)"


def test_registry_comes_from_spec_json(run_dir: Path) -> None:
    run = load_run(run_dir)
    spec = json.loads((run_dir / "spec.json").read_text())
    assert [o["name"] for o in run.registry] == [o["name"] for o in spec["outcomes"]]
    assert set(run.of_kind("probability")) == {names.WAR, names.DEAL, names.DEAL_EVER, names.DEAL_BROKEN}
    assert run.of_kind("quantity") == [names.issue_outcome(i) for i in ISSUES]
    assert run.of_kind("utility") == [names.utility_outcome(a) for a in ACTORS]
    assert run.label(names.DEAL_EVER) == "US–Iran nuclear deal ever signed"
    assert run.label(names.issue_outcome("iran_nuclear")) == "Iran's nuclear programme"
    assert run.label(names.utility_outcome("us")) == "United States"
    assert run.deal_name == "US–Iran nuclear deal"
    assert run.issue_of(names.issue_outcome("iran_sanctions")) == "iran_sanctions"
    assert run.actor_of(names.utility_outcome("iran")) == "iran" and run.issue_of(names.DEAL) is None
    assert run.probability(names.DEAL_EVER)["p"] == pytest.approx(run.outcomes[names.DEAL_EVER].mean())
    assert run.timing(names.DEAL_STEP)["median"] == run.outcomes[names.DEAL_STEP].dropna().median()


def test_labels_follow_the_spec(tmp_path: Path) -> None:
    run = load_run(make_run(tmp_path / "eu", n=20, deal_label="EU–Iran accord"))
    assert run.label(names.DEAL) == "EU–Iran accord in force at the end"
    assert run.deal_name == "EU–Iran accord"


def test_old_run_folder_gets_a_registry_from_its_columns(tmp_path: Path) -> None:
    run = load_run(make_run(tmp_path / "old", n=50, legacy=True))
    assert "outcomes" not in run.spec and "timing" not in run.summary
    kinds = {o["name"]: o["kind"] for o in run.registry}
    assert kinds[names.DEAL] == kinds[names.DEAL_EVER] == kinds[names.WAR] == "probability"
    assert kinds[names.DEAL_STEP] == "step" and kinds[names.MAX_RUNG] == "rung"
    assert run.of_kind("quantity") == [names.issue_outcome(i) for i in ISSUES]
    assert run.label(names.issue_outcome("iran_nuclear")) == "Iran's nuclear programme"
    assert run.label(names.utility_outcome("europe")) == ACTORS["europe"]
    assert run.label(names.DEAL) == "deal in force at the end" and run.deal_name == "deal"
    # deal_ever did not exist: derived from the month of the first deal, its probability from the column
    assert (run.outcomes[names.DEAL_EVER] == run.outcomes[names.DEAL_STEP].notna()).all()
    assert run.probability(names.DEAL_EVER)["p"] == pytest.approx(run.outcomes[names.DEAL_STEP].notna().mean())
    assert run.timing(names.DEAL_STEP) == run.summary["deal_step"]


def test_common_subject() -> None:
    assert common_subject(["a b c in force", "a b c ever signed"]) == "a b c"
    assert common_subject(["only one"]) is None and common_subject(["x y", "z y"]) is None


def _message(path: Path) -> str:
    with pytest.raises(RunFolderError) as info:
        load_run(path)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_not_a_run_folder_names_the_missing_file(tmp_path: Path) -> None:
    assert "no such folder" in _message(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    assert "manifest.json is missing" in _message(tmp_path / "empty")
    path = make_run(tmp_path / "r", n=5)
    (path / "summary.json").unlink()
    assert "summary.json is missing" in _message(path)
    path = make_run(tmp_path / "r2", n=5)
    (path / "outcomes.parquet").unlink()
    assert "outcomes.parquet is missing" in _message(path)


@pytest.mark.parametrize("status", ["running", "failed", "interrupted"])
def test_incomplete_run_is_refused(tmp_path: Path, status: str) -> None:
    path = make_run(tmp_path / status, n=5, status=status)
    msg = _message(path)
    assert "not complete" in msg and status in msg


def test_corrupt_json_is_one_line(tmp_path: Path) -> None:
    path = make_run(tmp_path / "bad", n=5)
    (path / "manifest.json").write_text("{not json")
    assert "manifest.json" in _message(path)


def test_missing_optional_tables_read_as_empty(tmp_path: Path) -> None:
    path = make_run(tmp_path / "lean", n=5)
    for name in ("trajectories.parquet", "trajectory_quantiles.parquet", "events.parquet"):
        (path / name).unlink()
    run = load_run(path)
    assert run.trajectories.empty and run.quantiles.empty and run.events.empty
    assert "replica" in run.events


def test_multirun_expands_in_job_order(tmp_path: Path) -> None:
    root = make_multirun(tmp_path / "sweep", values=tuple(range(11)), n=10)
    assert is_multirun_dir(root) and not is_run_dir(root)
    assert is_run_dir(root / "3") and not is_multirun_dir(root / "3")
    jobs = expand_runs([root])
    assert [p.name for p in jobs] == [str(k) for k in range(11)]
    single = make_run(tmp_path / "single", n=5)
    assert expand_runs([single, root])[:2] == [single, root / "0"]
    assert "multirun folder" in _message(root)
    assert len(pd.read_parquet(root / "sweep.parquet")) == 11


def test_expand_runs_rejects_non_runs(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(RunFolderError, match="not a run folder"):
        expand_runs([tmp_path / "x"])


def test_summary_matches_outcomes(run_dir: Path) -> None:
    run = load_run(run_dir)
    p = run.summary["probabilities"]
    assert p[names.DEAL]["p"] == pytest.approx(run.outcomes[names.DEAL].mean())
    assert sum(r["p"] for r in p["max_rung"]) == pytest.approx(1.0)
    spec = json.loads((run_dir / "spec.json").read_text())
    assert spec["scenario"]["changes"][0]["source"]["why"]
