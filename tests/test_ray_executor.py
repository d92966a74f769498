"""executor=ray (sim.ray_executor): the same bytes as executor=local, retries, failures recorded, loopback only.

One local Ray (2 CPUs, 127.0.0.1) is started for the module and shared by its tests (the retry and failure test,
two runs and a resume, and the fresh interpreter that checks Ray is not imported are marked slow).
"""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim import PROJECT_ROOT
from sim.errors import ConfigError
from sim.experiment import ChunkFailure, ChunksFailed, InProcess, chunk_plan, run_chunk, run_experiment
from sim.lifecycle import CHECKPOINT_DIR, run_status
from sim.run import compose_spec, execute
from sim.spec import RunSpec

RESULT_FILES = ["outcomes.parquet", "parameters.parquet", "summary.json", "trajectories.parquet",
                "trajectory_quantiles.parquet", "events.parquet"]
SMALL = ("scenario=grand_bargain", "n_runs=1300", "steps=4", "chunk_size=256", "report=false",
         "event_replicas=10", "workers=2")


@pytest.fixture(scope="module")
def ray_session():
    from sim.ray_executor import connect

    ray = connect(None, 2)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "run"
    execute(compose_spec(*SMALL, "executor=local"), out)
    return out


def same_files(a: Path, b: Path) -> list[str]:
    """The result files that differ between two run folders."""
    return [f for f in RESULT_FILES if not filecmp.cmp(a / f, b / f, shallow=False)]


def test_executor_is_validated_at_the_edge():
    with pytest.raises(ConfigError) as err:
        compose_spec("executor=dask")
    line = str(err.value)
    assert "\n" not in line and "executor" in line and "dask" in line and "'local'" in line and "'ray'" in line
    with pytest.raises(ConfigError, match="ray.max_retries"):
        compose_spec("ray.max_retries=-1")
    assert compose_spec().run.executor == "local"          # the default is unchanged


@pytest.mark.slow
def test_importing_the_engine_does_not_import_ray():
    code = ("import sys, sim.cli, sim.run, sim.experiment, sim.runs, sim.compare; "
            "sys.exit(int(any(m == 'ray' or m.startswith('ray.') for m in sys.modules)))")
    assert subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT).returncode == 0


def test_out_of_order_arrivals_merge_to_the_same_results():
    """An executor handing results back as they complete (last first) gives what the in-order one gives."""
    spec = compose_spec(*SMALL, "workers=1", "n_runs=700")

    class Reversed:
        def map_unordered(self, spec: RunSpec, chunks: list[list[int]]):
            results = [run_chunk(spec, blocks) for blocks in chunks]
            yield from reversed(list(enumerate(results)))

    seen: list[int] = []
    a = run_experiment(spec, InProcess())
    b = run_experiment(spec, Reversed(), on_chunk=seen.append)
    assert [r.replica.tolist() for r in a] == [r.replica.tolist() for r in b]
    assert np.array_equal(a[0].hist, b[0].hist)
    for ra, rb in zip(a, b):
        assert all(np.array_equal(ra.outcomes[k], rb.outcomes[k]) for k in ra.outcomes)
    assert seen == [700 - 2 * 256, 256, 256]                     # progress counted as chunks arrive


def test_ray_gives_the_same_bytes_as_local(ray_session, local_run, tmp_path):
    assert ray_session.util.get_node_ip_address() == "127.0.0.1"       # loopback only
    out = tmp_path / "ray"
    execute(compose_spec(*SMALL, "executor=ray", "ray.in_flight=2"), out)
    assert same_files(local_run, out) == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["executor"] == "ray" and manifest["workers"] == 2
    assert manifest["progress"]["chunks_done"] == len(chunk_plan(1300, 256))
    assert not (out / CHECKPOINT_DIR).exists()


@pytest.mark.slow
def test_failed_tasks_are_retried_then_recorded_and_resume_finishes(ray_session, local_run, tmp_path):
    """Chunk 1 fails once (retried, then fine); chunk 2 fails on every attempt (recorded, the run fails); the
    others are checkpointed, and resume=true computes chunk 2 only: the files are those of executor=local."""
    from sim.ray_executor import RayExecutor

    marks = tmp_path / "attempts"
    marks.mkdir()

    def flaky(spec: RunSpec, blocks: list[int]):
        (marks / f"{blocks[0]}-{len(list(marks.glob(f'{blocks[0]}-*')))}").touch()
        if blocks[0] == 2 or (blocks[0] == 1 and len(list(marks.glob("1-*"))) == 1):
            raise ValueError(f"chunk {blocks[0]} cannot be computed")
        return run_chunk(spec, blocks)

    out = tmp_path / "ray"
    spec = compose_spec(*SMALL, "executor=ray")
    with pytest.raises(ChunksFailed) as err:
        execute(spec, out, executor=RayExecutor(workers=2, max_retries=1, task=flaky))
    assert len(list(marks.glob("1-*"))) == 2 and len(list(marks.glob("2-*"))) == 2      # each tried twice
    assert "1 of 6 chunks failed after 2 attempts" in str(err.value) and "resume=true" in str(err.value)
    manifest = json.loads((out / "manifest.json").read_text())
    assert run_status(out) == "failed" and manifest["error"].startswith("ChunksFailed")
    assert manifest["failed_chunks"] == [{"blocks": [2], "replicas": [512, 767], "attempts": 2,
                                          "error": "ValueError: chunk 2 cannot be computed"}]
    saved = sorted(p.name for p in (out / CHECKPOINT_DIR).glob("chunk-*.npz"))
    assert saved == [f"chunk-{b:07d}.npz" for b in (0, 1, 3, 4, 5)]        # the others were computed and kept
    assert not (out / "outcomes.parquet").exists()
    execute(compose_spec(*SMALL, "executor=ray", "resume=true"), out)        # only chunk 2 is computed now
    assert run_status(out) == "complete" and same_files(local_run, out) == []


def test_chunk_failure_document():
    f = ChunkFailure([4, 5], 3, "OSError: disk")
    assert f.document(1300) == {"blocks": [4, 5], "replicas": [1024, 1299], "attempts": 3, "error": "OSError: disk"}
    assert "2 of 7 chunks failed after 3 attempts (first: blocks 1-1" in str(
        ChunksFailed([f, ChunkFailure([1], 3, "x")], 7))
