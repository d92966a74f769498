"""A run's lifecycle (sim.lifecycle, sim.run.execute): folder lock, heartbeat, signals, resume, memory, valid JSON."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sim import PROJECT_ROOT
from sim.errors import ConfigError
from sim.io import write_json
from sim.lifecycle import (CHECKPOINT_DIR, Checkpoints, ResumeMismatch, chunk_arrays, chunk_from_arrays,
                           run_status)
from sim.run import check_resources, compose_spec, estimate_memory, execute

RESULT_FILES = ["outcomes.parquet", "parameters.parquet", "summary.json", "trajectories.parquet",
                "trajectory_quantiles.parquet", "events.parquet"]


def start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=PROJECT_ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(predicate, timeout: float = 60.0, what: str = "") -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


def n_checkpoints(run_dir: Path) -> int:
    return len(list((run_dir / CHECKPOINT_DIR).glob("chunk-*.npz")))


def children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (from /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def gone(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def test_killed_run_resumes_to_the_same_bytes(tmp_path):
    """SIGKILL after some chunks, resume=true runs only the missing ones: files identical to an uninterrupted run."""
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    common = ["scenario=grand_bargain", "n_runs=4096", "chunk_size=256", "steps=12", "report=false"]
    proc = start(*common, "workers=1", f"hydra.run.dir={killed}")
    wait_for(lambda: n_checkpoints(killed) >= 3 or proc.poll() is not None, what="3 checkpoints")
    proc.kill()
    proc.communicate()
    done = n_checkpoints(killed)
    assert 3 <= done < 16, "the run ended before it could be killed"
    assert json.loads((killed / "manifest.json").read_text())["status"] == "running"
    assert run_status(killed) == "dead"

    resumed = start(*common, "workers=2", "resume=true", f"hydra.run.dir={killed}")
    reference = start(*common, "workers=1", f"hydra.run.dir={whole}")
    for p in (resumed, reference):
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["status"] == "complete" and run_status(killed) == "complete"
    assert manifest["resumed"]["checkpointed_chunks"] >= done and manifest["resumed"]["previous_status"] == "dead"
    assert "resume=true" not in manifest["overrides"]
    for name in RESULT_FILES:
        assert (killed / name).read_bytes() == (whole / name).read_bytes(), name
    assert not (killed / CHECKPOINT_DIR).exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_signal_ends_the_run_and_its_workers(tmp_path, sig):
    """SIGTERM / SIGINT: status interrupted, one line, 128 + signal; any signal: no worker outlives the run."""
    run_dir = tmp_path / "run"
    proc = start("n_runs=60000", "chunk_size=256", "workers=2", "report=false", f"hydra.run.dir={run_dir}")
    wait_for(lambda: n_checkpoints(run_dir) >= 1 or proc.poll() is not None, what="a checkpoint")
    assert proc.poll() is None
    assert run_status(run_dir) == "running-and-alive"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["pid"] == proc.pid and manifest["host"] and manifest["heartbeat"]
    workers = children(proc.pid)
    assert len(workers) == 2
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=120)   # a run that ignored the signal would finish: a clear failure below
    except subprocess.TimeoutExpired:
        proc.kill()                              # no process left behind by a failing test
        raise
    wait_for(lambda: all(gone(w) for w in workers), timeout=30, what="the workers to end")
    if sig == signal.SIGKILL:
        assert run_status(run_dir) == "dead"
        return
    assert proc.returncode == 128 + sig, err
    assert len(lines(err)) == 1 and "interrupted" in err and "resume=true" in err, err
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and run_status(run_dir) == "interrupted"
    assert not any(p.name.endswith(".tmp") for p in run_dir.iterdir())


def test_a_second_run_into_a_busy_folder_fails_and_leaves_it_coherent(tmp_path):
    """Two runs into one folder: the second fails with one line while the first holds it (held still with SIGSTOP
    so that the two overlap whatever the machine's speed); the folder is the first's, even ``.hydra/``, which the
    second's Hydra overwrote before its job started."""
    run_dir = tmp_path / "run"
    first = start("scenario=grand_bargain", "seed=2", "n_runs=1024", "chunk_size=256", "steps=6", "workers=1",
                  "report=false", f"hydra.run.dir={run_dir}")
    wait_for(lambda: n_checkpoints(run_dir) >= 1 or first.poll() is not None, what="the first run to start")
    first.send_signal(signal.SIGSTOP)
    try:
        second = start("scenario=status_quo", "seed=1", "n_runs=512", "steps=4", "report=false",
                       f"hydra.run.dir={run_dir}")
        _, err2 = second.communicate(timeout=120)
    finally:
        first.send_signal(signal.SIGCONT)
    _, err1 = first.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 1 and len(lines(err2)) == 1 and "in use" in err2, err2
    manifest = json.loads((run_dir / "manifest.json").read_text())
    spec = json.loads((run_dir / "spec.json").read_text())
    assert (manifest["scenario"], manifest["seed"], manifest["status"]) == ("grand_bargain", 2, "complete")
    assert (spec["scenario"]["name"], spec["seed"]) == ("grand_bargain", 2)
    overrides = (run_dir / ".hydra" / "overrides.yaml").read_text()
    assert "scenario=grand_bargain" in overrides and "status_quo" not in overrides
    assert json.loads((run_dir / "summary.json").read_text())["n_runs"] == 1024


def test_a_rerun_leaves_nothing_of_the_earlier_run(tmp_path, capsys):
    run_dir = tmp_path / "run"
    execute(compose_spec("scenario=grand_bargain", "n_runs=300", "steps=4", "workers=1", "report=false"), run_dir)
    (run_dir / "report.html").write_text("the earlier run's report")      # as report=true leaves it
    (run_dir / ".outcomes.parquet.stale.tmp").write_text("left by a killed write")
    (run_dir / CHECKPOINT_DIR).mkdir()
    (run_dir / CHECKPOINT_DIR / "chunk-0000000.npz").write_text("old")
    (run_dir / "notes.txt").write_text("not ours")
    execute(compose_spec("scenario=status_quo", "n_runs=256", "steps=3", "workers=1", "report=false"), run_dir)
    assert not (run_dir / "report.html").exists() and not (run_dir / CHECKPOINT_DIR).exists()
    assert not list(run_dir.glob(".*.tmp")) and (run_dir / "notes.txt").exists()
    assert json.loads((run_dir / "manifest.json").read_text())["scenario"] == "status_quo"
    assert json.loads((run_dir / "summary.json").read_text())["n_runs"] == 256

    before = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.is_file()}
    with pytest.raises(ResumeMismatch) as info:            # resume onto another spec: refused, nothing touched
        execute(compose_spec("scenario=status_quo", "n_runs=256", "steps=4", "resume=true", "report=false"),
                run_dir)
    assert info.value.code == 2 and "steps" in info.value.line
    assert lines(capsys.readouterr().err) == [info.value.line]
    assert {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.is_file()} == before


def test_one_replica_writes_valid_json(tmp_path):
    """n_runs=1: standard errors are undefined; summary.json holds null, never NaN."""
    run_dir = tmp_path / "run"
    out = execute(compose_spec("n_runs=1", "steps=3", "workers=1", "report=false"), run_dir)
    text = (run_dir / "summary.json").read_text()

    def refuse(name):
        raise AssertionError(f"{name} in summary.json")
    summary = json.loads(text, parse_constant=refuse)
    assert summary["n_runs"] == 1 and out["summary"]["n_runs"] == 1
    assert any(v["se"] is None for v in summary["outcomes"].values())
    write_json(tmp_path / "x.json", {"a": float("nan"), "b": [np.float32("inf"), 1.5], "c": np.array([np.nan])})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": None, "b": [None, 1.5], "c": [None]}


def test_checkpoint_round_trip(small_spec, tmp_path):
    from sim.experiment import run_chunk

    res = run_chunk(small_spec, [0, 1])
    back = chunk_from_arrays(chunk_arrays(res))
    for field in ("replica", "hist", "sums", "counts", "traj_replica", "traj_outcome", "traj_rung", "traj_deal",
                  "parameters"):
        a, b = getattr(res, field), getattr(back, field)
        assert a.dtype == b.dtype and np.array_equal(a, b), field
    assert list(res.outcomes) == list(back.outcomes)
    assert all(res.outcomes[k].dtype == back.outcomes[k].dtype and np.array_equal(res.outcomes[k], back.outcomes[k])
               for k in res.outcomes)
    assert res.events == back.events and res.parameter_paths == back.parameter_paths
    store = Checkpoints(tmp_path, small_spec)
    store.save([0, 1], res)
    assert store.available([[0, 1], [2]]) == {0}
    other = Checkpoints(tmp_path, small_spec.model_copy(update={"run": small_spec.run.model_copy(update={"seed": 9})}))
    assert other.available([[0, 1], [2]]) == set() and not store.path([0, 1]).exists()   # another spec's: removed


def test_memory_estimate_refuses_what_cannot_fit():
    small = compose_spec("n_runs=50000", "workers=2")
    assert 150 * 2**20 < estimate_memory(small) < 2 * 2**30
    check_resources(small)
    assert estimate_memory(compose_spec("n_runs=100000", "workers=2")) > estimate_memory(small)
    assert estimate_memory(compose_spec("n_runs=50000", "workers=2", "chunk_size=8192")) > estimate_memory(small)
    assert estimate_memory(compose_spec("n_runs=50000", "workers=2", "steps=48")) > estimate_memory(small)
    with pytest.raises(ConfigError) as info:
        check_resources(compose_spec("n_runs=100000000"))
    text = str(info.value)
    assert text.startswith("n_runs=100000000: ") and "GB" in text and "MemAvailable" in text and "\n" not in text
    with pytest.raises(ConfigError, match="^trajectory_replicas=90000000: "):
        check_resources(compose_spec("n_runs=90000000", "trajectory_replicas=90000000"))
    assert not math.isnan(estimate_memory(small))


class _LostSignal:
    """Sends SIGINT to this process from ``__del__``: the handler's exception is printed and lost there."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)


class _LosesTheFirstSignal:
    """An in-process executor during whose first chunk a SIGINT arrives where its exception cannot propagate."""

    def map(self, spec, chunks):
        from sim.experiment import run_chunk
        for k, blocks in enumerate(chunks):
            if k == 0:
                _LostSignal()                   # dropped at once: __del__ runs here
            yield run_chunk(spec, blocks)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")   # the lost exception, as meant
def test_a_signal_whose_exception_is_lost_still_ends_the_run(tmp_path, capsys):
    """The exception a signal handler raises inside ``__del__`` is lost ("Exception ignored"), and later signals are
    ignored by design; the run checks after each chunk, so it still ends as interrupted, not complete."""
    from sim.lifecycle import RunInterrupted
    run_dir = tmp_path / "run"
    spec = compose_spec("n_runs=1024", "chunk_size=256", "steps=2", "workers=1", "report=false")
    with pytest.raises(RunInterrupted) as info:
        execute(spec, run_dir, executor=_LosesTheFirstSignal())
    assert info.value.code == 130
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["progress"]["chunks_done"] == 1
    assert "1 of 4 chunks done" in capsys.readouterr().err
    assert n_checkpoints(run_dir) == 1
