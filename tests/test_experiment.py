"""Monte Carlo experiments (sim.experiment): reproducibility by construction."""

from __future__ import annotations

import os
import time

import numpy as np

from sim.experiment import all_outcomes, chunk_plan, iter_replicas_one_by_one, run_chunk, run_experiment, LocalPool, \
    InProcess
from sim.model import GeoModel
from sim.results import outcomes_frame, parameters_frame, run_registry
from sim.streams import BlockStreams, replica_ids
from sim.run import compose_spec as make_spec


def _frame(spec, executor=None):
    return outcomes_frame(run_experiment(spec, executor), run_registry(spec)[0])


def test_vectorised_equals_one_by_one(small_spec):
    together = run_chunk(small_spec, [0, 1])
    picks = [0, 3, 255, 256, 300, 511]
    for r, alone in zip(picks, iter_replicas_one_by_one(small_spec, picks)):
        k = int(np.flatnonzero(together.replica == r)[0])
        for name, col in together.outcomes.items():
            assert np.allclose(col[k], alone.outcomes[name][0], rtol=1e-9, atol=1e-9), (r, name)


def test_results_do_not_depend_on_chunk_size_or_workers():
    a = make_spec("scenario=status_quo", "n_runs=700", "steps=8", "chunk_size=256", "workers=1")
    b = make_spec("scenario=status_quo", "n_runs=700", "steps=8", "chunk_size=1024", "workers=1")
    fa, fb = _frame(a, InProcess()), _frame(b, InProcess())
    fc = _frame(a, LocalPool(2))
    assert fa.equals(fb)
    assert fa.equals(fc)
    pa, pb = parameters_frame(run_experiment(a, InProcess())), parameters_frame(run_experiment(b, LocalPool(2)))
    assert pa.equals(pb) and len(pa) == 700


def test_same_seed_same_result_other_seed_other_result():
    a = make_spec("n_runs=300", "steps=6", "seed=7")
    assert _frame(a).equals(_frame(a))
    b = make_spec("n_runs=300", "steps=6", "seed=8")
    assert not _frame(a).equals(_frame(b))


def test_partial_last_block_is_trimmed():
    spec = make_spec("n_runs=300", "steps=3")
    df = _frame(spec)
    assert list(df.replica) == list(range(300))


def test_chunk_plan_uses_whole_blocks():
    assert chunk_plan(1000, 512) == [[0, 1], [2, 3]]
    assert chunk_plan(1, 1024) == [[0]]


def _inputs(*overrides: str, seed: int = 3):
    spec = make_spec(*overrides, "n_runs=256")
    return spec, GeoModel(spec, BlockStreams(seed, [0]), replica_ids=replica_ids([0]))


def test_common_random_numbers_across_scenarios():
    """Inputs a scenario does not change get identical draws in every scenario: differences are paired."""
    base, m0 = _inputs("scenario=status_quo")
    other, m1 = _inputs("scenario=grand_bargain")
    changed = {c.path for c in other.changes}
    assert "actors.europe.salience.ukraine_support" in changed
    for path in m0.inputs.table.paths:
        if path not in changed:
            assert np.array_equal(m0.inputs[path], m1.inputs[path]), path
    assert not np.array_equal(m0.inputs["actors.europe.salience.ukraine_support"],
                              m1.inputs["actors.europe.salience.ukraine_support"])
    # utilities are judged with the same baseline draws in both
    assert np.array_equal(m0.world.base_position, m1.world.base_position)


def test_an_unrelated_input_changes_no_other_draw():
    """Fixing one input (as a new or removed input would) leaves every other input's values per replica."""
    _, m0 = _inputs("scenario=status_quo")
    _, m1 = _inputs("scenario=status_quo", "actors.turkey.capability=0.1")
    for path in m0.inputs.table.paths:
        if path != "actors.turkey.capability":
            assert np.array_equal(m0.inputs[path], m1.inputs[path]), path


def test_uncertainty_all_draws_the_constants_and_knowledge_holds_them():
    spec, held = _inputs("scenario=status_quo")
    _, drawn = _inputs("scenario=status_quo", "uncertainty=all")
    tol = spec.section("deal").ratify
    assert np.all(held.inputs["mechanics.deal.ratify"] == tol.mode)
    t = drawn.inputs["mechanics.deal.ratify"]
    assert np.all((t >= tol.low) & (t <= tol.high)) and t.std() > 0.03
    assert np.array_equal(held.inputs["actors.us.capability"], drawn.inputs["actors.us.capability"])
    assert np.array_equal(next(m for m in drawn.mechanisms if m.name == "deal").c.ratify, t)          # the deal mechanism sees the drawn values


def test_a_value_fixed_on_the_command_line_keeps_its_baseline_draw():
    """Utilities are judged with the baseline preferences a replica drew, also when the run fixes the value."""
    _, m0 = _inputs("scenario=status_quo")
    _, m1 = _inputs("scenario=status_quo", "actors.us.position.iran_nuclear=50")
    assert np.all(m1.inputs["actors.us.position.iran_nuclear"] == 50)
    assert np.array_equal(m0.world.base_position, m1.world.base_position)


def test_a_pool_stops_its_workers_when_the_consumer_stops(tmp_path):
    """Closing the map early (an exception, a signal) terminates the workers at once instead of running every
    submitted chunk; the workers are children of this process that die with it (sim.lifecycle.worker_init)."""
    import os
    import time
    from pathlib import Path

    spec = make_spec("n_runs=8192", "steps=24", "chunk_size=256", "workers=2")
    stream = LocalPool(2).map(spec, chunk_plan(spec.run.n_runs, spec.run.chunk_size))
    next(stream)
    pids = [int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit() and _ppid(d) == os.getpid()]
    assert len(pids) >= 2
    t = time.perf_counter()
    stream.close()
    assert time.perf_counter() - t < 5
    assert not any(Path(f"/proc/{p}").exists() and _ppid(Path(f"/proc/{p}")) == os.getpid() for p in pids)


def _ppid(proc_dir) -> int:
    try:
        return int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def test_checkpointed_chunks_are_read_back_not_run(tmp_path):
    from sim.lifecycle import Checkpoints

    spec = make_spec("n_runs=1100", "steps=6", "chunk_size=256", "workers=1")

    class Counting(InProcess):
        ran: list[list[int]] = []

        def map(self, spec, chunks):
            self.ran.extend(chunks)
            return super().map(spec, chunks)

    store = Checkpoints(tmp_path, spec)
    first = _frame_of(run_experiment(spec, Counting(), checkpoints=store), spec)
    assert len(Counting.ran) == 5 and len(list(store.dir.glob("*.npz"))) == 5
    store.path([2]).unlink()
    Counting.ran.clear()
    again = run_experiment(spec, Counting(), checkpoints=store)
    assert Counting.ran == [[2]]
    assert _frame_of(again, spec).equals(first) and _frame_of(again, spec).equals(_frame(spec, InProcess()))
    assert parameters_frame(again).equals(parameters_frame(run_experiment(spec, InProcess())))


def _frame_of(chunks, spec):
    return outcomes_frame(chunks, run_registry(spec)[0])


def test_all_outcomes_are_the_replicas_of_the_chunked_run():
    """One chunk in this process gives each replica the numbers it has in a run of 256-replica chunks (600
    replicas: the last block is partial)."""
    spec = make_spec("n_runs=600", "steps=4", "chunk_size=256", "workers=1")
    chunked = run_experiment(spec, InProcess())
    together = all_outcomes(spec)
    assert set(together) == set(chunked[0].outcomes)
    for name, col in together.items():
        assert len(col) == 600
        np.testing.assert_array_equal(col, np.concatenate([r.outcomes[name] for r in chunked]), err_msg=name)


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_terminate_frees_a_manager_thread_stuck_on_a_partial_result():
    """A worker killed while it wrote its result leaves half a message in the results pipe; the executor's manager
    thread then waits for the rest forever, and the interpreter joins that thread at exit (a run that printed
    'interrupted' and never exited). Made certain here: half a message is written by hand while a worker sleeps."""
    import multiprocessing
    import struct
    from concurrent.futures import ProcessPoolExecutor

    from sim.experiment import terminate
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    pool.submit(_sleep, 60)
    time.sleep(0.5)                                     # the worker runs; the manager thread waits on the pipes
    writer = pool._result_queue._writer
    os.write(writer.fileno(), struct.pack("!i", 1000) + b"x" * 10)     # a header and 10 of its 1,000 bytes
    manager = pool._executor_manager_thread
    time.sleep(0.5)
    assert manager.is_alive()                           # reading the message, blocked
    terminate(pool)
    manager.join(timeout=20)
    assert not manager.is_alive()
