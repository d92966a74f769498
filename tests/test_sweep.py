"""Sweeps (sim.sweep): a failed job is recorded and the completed ones are still aggregated; the rebuild command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from sim import PROJECT_ROOT
from sim.sweep import SweepAggregator, error_line, main, sweep_table
from synthetic_runs import make_multirun

FAST = ["n_runs=256", "steps=4", "workers=1"]


def sim(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=600, env=env)


def _block_results(job_dir: Path) -> None:
    """Make writing this job's results fail at run time, as a full disk or a vanished mount would: its
    ``outcomes.parquet`` is a folder, so the atomic rename onto it raises an OSError after the simulation.
    (Once the input is validated up front, what fails in a job is the world around it: I/O, memory, a killed
    worker; this is the one a test can cause without touching the code.)"""
    (job_dir / "outcomes.parquet" / "in_the_way").mkdir(parents=True)


def _check_sweep(sweep: Path, res: subprocess.CompletedProcess[str], html: bool) -> pd.DataFrame:
    assert res.returncode == 1, res.stderr             # the exit status says a job failed ...
    assert "Traceback" not in res.stderr, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert any(ln.startswith("error: job 1 (seed=2") and "outcomes.parquet" in ln for ln in errors), res.stderr
    assert any("1 of 3 jobs did not complete" in ln for ln in errors), res.stderr
    table = pd.read_parquet(sweep / "sweep.parquet")   # ... and the aggregate is written all the same
    assert list(table["job"]) == [0, 1, 2] and list(table["seed"]) == ["1", "2", "3"]
    assert list(table["status"]) == ["complete", "failed", "complete"]
    assert table.loc[1, "error"].startswith("IsADirectoryError") and "outcomes.parquet" in table.loc[1, "error"]
    assert table["error"].isna().tolist() == [True, False, True]
    assert table.loc[[0, 2], "p_deal"].notna().all() and pd.isna(table.loc[1, "p_deal"])
    manifest = json.loads((sweep / "1" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"] == table.loc[1, "error"] and manifest["job"] == 1
    assert (sweep / "sweep.html").is_file() == html
    if html:
        page = (sweep / "sweep.html").read_text()
        assert "1 of 3 jobs did not complete" in page and "IsADirectoryError" in page and "seed=2" in page
    return table


def test_a_failed_job_is_listed_and_the_others_aggregated(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    _block_results(sweep / "1")
    res = sim("-m", "seed=1,2,3", *FAST, f"hydra.sweep.dir={sweep}")
    _check_sweep(sweep, res, html=True)
    # rebuilt from the folder by python -m sim.sweep: the same table
    before = pd.read_parquet(sweep / "sweep.parquet")
    (sweep / "sweep.parquet").unlink()
    (sweep / "sweep.html").unlink()
    assert main([str(sweep)]) == 1
    assert pd.read_parquet(sweep / "sweep.parquet").equals(before) and (sweep / "sweep.html").is_file()


@pytest.mark.slow
def test_a_failed_job_in_a_joblib_worker(tmp_path: Path) -> None:
    """The joblib launcher runs jobs (and ``on_job_end``) in worker processes: the failure still comes back."""
    sweep = tmp_path / "sweep"
    _block_results(sweep / "1")
    res = sim("-m", "seed=1,2,3", *FAST, "report=false", "hydra/launcher=joblib", f"hydra.sweep.dir={sweep}")
    _check_sweep(sweep, res, html=True)    # report=false is about the jobs' report.html: sweep.html is written
    assert not (sweep / "0" / "report.html").exists()


def _job_config(tmp_path: Path, mode: str) -> object:
    return OmegaConf.create({"hydra": {"mode": mode, "runtime": {"output_dir": str(tmp_path / "4")},
                                       "job": {"num": 4}}})


def test_on_job_end_records_a_failure_and_hands_the_job_back(tmp_path: Path) -> None:
    callback = SweepAggregator()
    ret = JobReturn(overrides=["seed=5"], status=JobStatus.FAILED, _return_value=MemoryError("out of memory"))
    callback.on_job_end(_job_config(tmp_path, "MULTIRUN"), ret)
    assert ret.status == JobStatus.COMPLETED and ret.return_value["status"] == "failed"
    manifest = json.loads((tmp_path / "4" / "manifest.json").read_text())
    assert manifest == {"status": "failed", "error": "MemoryError: out of memory", "overrides": ["seed=5"], "job": 4}
    assert callback.failed[4]["error"] == "MemoryError: out of memory"
    # a single run (no -m) is left alone: its failure is the command's
    single = JobReturn(overrides=[], status=JobStatus.FAILED, _return_value=RuntimeError("x"))
    SweepAggregator().on_job_end(_job_config(tmp_path / "run", "RUN"), single)
    assert single.status == JobStatus.FAILED and not (tmp_path / "run").exists()


def test_error_line_is_one_line() -> None:
    assert error_line(OSError(28, "No space left on device")) == "OSError: [Errno 28] No space left on device"
    assert error_line(ValueError("first\nsecond")) == "ValueError: first"
    assert error_line(KeyError()) == "KeyError"


def test_rebuild_lists_every_job_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_multirun(tmp_path / "sweep", values=(0.2, 0.5, 0.8), n=40)
    (root / "sweep.parquet").unlink()
    failed = root / "3"
    (failed / ".hydra").mkdir(parents=True)
    (failed / ".hydra" / "overrides.yaml").write_text("- scenario=grand_bargain\n- actors.us.salience.ukraine_support=1.1\n")
    (failed / "manifest.json").write_text(json.dumps({"status": "failed", "error": "MemoryError: boom\nmore"}))
    (root / "4" / ".hydra").mkdir(parents=True)           # a job that stopped before its run started
    (root / "4" / ".hydra" / "overrides.yaml").write_text("- scenario=grand_bargain\n")
    assert main([str(root)]) == 1
    out, err = capsys.readouterr()
    assert "3 of 5 jobs complete" in out and "sweep.html" in out
    assert err.count("\n") == 1 and "2 of 5 jobs did not complete (jobs 3, 4)" in err
    table = pd.read_parquet(root / "sweep.parquet")
    assert list(table["status"]) == ["complete"] * 3 + ["failed", "missing"]
    assert table.loc[3, "error"] == "MemoryError: boom more"
    assert table.loc[3, "actors.us.salience.ukraine_support"] == "1.1"
    assert table.loc[:2, "p_deal"].notna().all() and table.loc[3:, "p_deal"].isna().all()
    page = (root / "sweep.html").read_text()
    assert "2 of 5 jobs did not complete" in page and "MemoryError: boom more" in page
    assert page.count('class="plotly-graph-div"') == 3     # the figures of the completed jobs
    assert sweep_table(root).equals(table)


def test_rebuild_of_a_sweep_that_completed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_multirun(tmp_path / "sweep", values=(0.2, 0.8), n=40)
    assert main([str(root), "--no-report"]) == 0
    assert not (root / "sweep.html").exists() and capsys.readouterr().err == ""
    assert list(pd.read_parquet(root / "sweep.parquet")["status"]) == ["complete", "complete"]


def test_rebuild_of_no_sweep_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    for target in (tmp_path / "empty", tmp_path / "nope"):
        assert main([str(target)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(target) in err and "allowed" in err


def test_a_sweep_where_every_job_failed_still_has_a_page(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    for job in (0, 1):
        (root / str(job)).mkdir(parents=True)
        (root / str(job) / "manifest.json").write_text(json.dumps({"status": "failed", "error": f"E{job}",
                                                                   "overrides": [f"seed={job}"]}))
    assert main([str(root)]) == 1
    page = (root / "sweep.html").read_text()
    assert "No job completed" in page and "E0" in page and "E1" in page
    assert list(pd.read_parquet(root / "sweep.parquet")["seed"]) == ["0", "1"]
