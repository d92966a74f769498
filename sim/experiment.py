"""Monte Carlo experiments: replicas in blocks, chunks of blocks, swappable executors.

Running a chunk is a pure function ``run_chunk(spec, block_ids) -> ChunkResult``: the same code runs in-process,
on local cores (:class:`LocalPool`), and later on a cluster or under a sensitivity design, unchanged. Blocks of
``BLOCK_SIZE`` replicas each own a random stream (sim.streams), so the results do not depend on the chunk size
or the number of workers.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import mesa
import numpy as np

from sim.chunk import ChunkResult
from sim.model import GeoModel
from sim.spec import RunSpec
from sim.streams import BLOCK_SIZE, BlockStreams, replica_ids

if TYPE_CHECKING:
    from sim.lifecycle import Checkpoints


def run_chunk(spec: RunSpec, block_ids: list[int], columns: np.ndarray | None = None) -> ChunkResult:
    """Run the replicas of ``block_ids`` (optionally only some ``columns`` of them) through all steps."""
    streams = BlockStreams(spec.run.seed, block_ids, columns)
    ids = replica_ids(block_ids)
    if columns is not None:
        ids = ids[columns]
    n_live = int(np.sum(ids < spec.run.n_runs))
    ids = ids[:n_live]
    n_stored = int(np.sum(ids < spec.run.trajectory_replicas))
    n_logged = int(np.sum(ids < spec.run.event_replicas))
    model = GeoModel(spec, streams, replica_ids=ids, n_logged=n_logged, n_stored=n_stored)
    model.run(spec.run.steps)
    table = model.inputs.table
    varies = np.flatnonzero(table.varies)
    # Mesa 3.3 keeps a class-level id counter per model (mesa.Agent._ids), which would keep every model of a
    # long experiment, with its arrays, alive; release it once the chunk is done.
    getattr(mesa.Agent, "_ids", {}).pop(model, None)         # (Mesa 3.4+ keeps the counter on the model)
    rec = model.recorder
    cols = {k: v[:n_live] for k, v in model.outcome_columns().items()}
    T, I = spec.run.steps + 1, len(spec.issue_ids)
    return ChunkResult(
        replica=ids, outcomes=cols, hist=rec.hist, sums=rec.sums, counts=rec.counts,
        traj_replica=ids[:n_stored],
        traj_outcome=np.stack(rec.outcome) if rec.outcome else np.zeros((T, I, 0), np.float32),
        traj_rung=np.stack(rec.rung) if rec.rung else np.zeros((T, 0), np.int8),
        traj_deal=np.stack(rec.deal) if rec.deal else np.zeros((T, 0), bool),
        events=model.log.rows, parameters=model.inputs.values[varies, :n_live],
        parameter_paths=tuple(table.paths[k] for k in varies))


def all_outcomes(spec: RunSpec) -> dict[str, np.ndarray]:
    """The outcome columns of every replica of ``spec``, run as one chunk in this process (no files written).

    For comparisons of variants on common random numbers (benchmarks, tests): the same replicas, so the same
    numbers, as any chunking of the run (the streams belong to the blocks, not to the chunks).
    """
    return run_chunk(spec, list(range(-(-spec.run.n_runs // BLOCK_SIZE)))).outcomes


def chunk_plan(n_runs: int, chunk_size: int) -> list[list[int]]:
    """Whole blocks per chunk: ``[[0, 1, 2, 3], [4, ...], ...]``."""
    n_blocks = -(-n_runs // BLOCK_SIZE)
    per = max(chunk_size // BLOCK_SIZE, 1)
    return [list(range(b, min(b + per, n_blocks))) for b in range(0, n_blocks, per)]


class Executor(Protocol):
    """Maps ``run_chunk`` over chunks, yielding results in chunk order."""

    def map(self, spec: RunSpec, chunks: list[list[int]]) -> Iterator[ChunkResult]: ...


@dataclass(frozen=True)
class ChunkFailure:
    """A chunk that failed on every attempt (an executor that retries hands it back instead of a result)."""

    blocks: list[int]
    attempts: int
    error: str                    #: the last attempt's error, one line

    def document(self, n_runs: int) -> dict[str, object]:
        """For the manifest: blocks, replicas [first, last], attempts, error."""
        first, last = self.blocks[0] * BLOCK_SIZE, min((self.blocks[-1] + 1) * BLOCK_SIZE, n_runs) - 1
        return {"blocks": list(self.blocks), "replicas": [first, last], "attempts": self.attempts,
                "error": self.error}


class ChunksFailed(RuntimeError):
    """Some chunks failed on every attempt; the others were computed (and checkpointed, when the run has them)."""

    def __init__(self, failures: list[ChunkFailure], n_chunks: int):
        self.failures, self.n_chunks = sorted(failures, key=lambda f: f.blocks[0]), n_chunks
        f = self.failures[0]
        super().__init__(f"{len(failures)} of {n_chunks} chunks failed after {f.attempts} attempts (first: blocks "
                         f"{f.blocks[0]}-{f.blocks[-1]}: {f.error})")


class UnorderedExecutor(Protocol):
    """Maps ``run_chunk`` over chunks, yielding (position, result or failure) as each chunk completes."""

    def map_unordered(self, spec: RunSpec, chunks: list[list[int]]
                      ) -> Iterator[tuple[int, ChunkResult | ChunkFailure]]: ...


class InProcess:
    """Run chunks one after another in this process."""

    def map(self, spec: RunSpec, chunks: list[list[int]]) -> Iterator[ChunkResult]:
        for blocks in chunks:
            yield run_chunk(spec, blocks)


class LocalPool:
    """Run chunks on local cores (processes).

    The workers die with this process (:func:`sim.lifecycle.worker_init`: the kernel kills them when their parent
    dies, even by SIGKILL) and are terminated at once when the consumer stops early: an exception, a signal, or
    the generator closed (instead of the executor's default of waiting for every submitted chunk).
    """

    def __init__(self, workers: int):
        self.workers = workers

    def map(self, spec: RunSpec, chunks: list[list[int]]) -> Iterator[ChunkResult]:
        from sim.lifecycle import worker_init

        # fork explicitly: importing mesa forces the global start method to "spawn", which would re-import the
        # caller's main module in every worker (and fail in scripts without a __main__ guard)
        ctx = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=worker_init,
                                   initargs=(os.getpid(),))
        try:
            yield from pool.map(run_chunk, [spec] * len(chunks), chunks)
        except BaseException:                    # GeneratorExit included: stop the workers now
            terminate(pool)
            raise
        pool.shutdown(wait=True)


def terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a process pool's workers now (SIGTERM, then SIGKILL after 5 s) and drop its queued chunks.

    Then the executor's own threads are freed, which the interpreter joins at exit: a worker killed while it wrote
    its result leaves a partial message on which the manager thread would wait forever (this process holds the
    pipe's write end too, so no end of file comes), and the queue's feeder may be blocked writing a chunk's spec
    (about 74 kB, more than a pipe holds) to workers that are gone. Closing this process's write end of the results
    and read end of the calls ends both (end of file; broken pipe), as CPython does for a pool it finds broken.
    """
    procs = list((getattr(pool, "_processes", None) or {}).values())
    ends = [getattr(getattr(pool, queue, None), end, None)        # taken before shutdown() drops the queues
            for queue, end in (("_result_queue", "_writer"), ("_call_queue", "_reader"))]
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
            p.join(timeout=5)
    for conn in ends:
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()


def choose_executor(spec: RunSpec, n_chunks: int) -> Executor | UnorderedExecutor:
    """``executor=ray``: Ray tasks (:mod:`sim.ray_executor`, imported only then). ``local``: in-process for one
    chunk or one worker; otherwise a pool of ``workers`` (0 = all cores)."""
    if spec.run.executor == "ray":
        from sim.ray_executor import RayExecutor

        return RayExecutor.for_spec(spec)
    workers = spec.run.workers or os.cpu_count() or 1
    workers = min(workers, n_chunks)
    return InProcess() if workers <= 1 else LocalPool(workers)


def run_experiment(spec: RunSpec, executor: Executor | UnorderedExecutor | None = None,
                   on_chunk: Callable[[int], None] | None = None,
                   sink: Callable[[ChunkResult], None] | None = None,
                   checkpoints: Checkpoints | None = None) -> list[ChunkResult]:
    """All replicas of the spec, in chunk order; ``on_chunk(n_replicas)`` reports progress.

    Memory stays bounded: the per-step histograms (1.2 MB a chunk) are folded into the first chunk's as results
    are merged (later chunks keep ``hist=None``); integer counts, so the sum does not depend on the order. ``sink``
    is handed each result in chunk (= replica) order, and may take its bulky parts (the drawn inputs:
    :class:`sim.results.ParametersWriter` writes them and drops them).

    An executor with ``map_unordered`` (:class:`UnorderedExecutor`, e.g. Ray) hands results back as they complete:
    each is checkpointed and counted at once and merged once the chunks before it are (its window bounds how many
    wait). A :class:`ChunkFailure` it hands back is recorded; the other chunks go on (checkpointed, not merged)
    and :class:`ChunksFailed` is raised at the end.

    With ``checkpoints`` (:class:`sim.lifecycle.Checkpoints`) every chunk computed is saved as it arrives (before
    anything takes parts of it), and the chunks already saved for this spec are read back instead of run: only
    the missing chunks go to the executor, and every chunk reaches the merge and the sink in chunk order as in an
    uninterrupted run, so the results are the same to the byte.
    """
    chunks = chunk_plan(spec.run.n_runs, spec.run.chunk_size)
    saved = checkpoints.available(chunks) if checkpoints is not None else set()
    todo = [blocks for blocks in chunks if blocks[0] not in saved]
    position = {blocks[0]: k for k, blocks in enumerate(chunks)}
    executor = executor or choose_executor(spec, len(todo))
    inner: Iterator[object] = iter(())
    stream: Iterator[tuple[int, ChunkResult | ChunkFailure]] = iter(())
    if todo and hasattr(executor, "map_unordered"):
        stream = executor.map_unordered(spec, todo)
        inner = stream
    elif todo:
        ordered: Iterator[ChunkResult] = executor.map(spec, todo)   # type: ignore[union-attr]
        inner, stream = ordered, enumerate(ordered)
    out: list[ChunkResult] = []
    waiting: dict[int, ChunkResult] = {}                      # arrived, by chunk position, not merged yet
    failures: list[ChunkFailure] = []

    def merge(res: ChunkResult) -> None:
        if out and out[0].hist is not None and res.hist is not None:
            out[0].hist += res.hist
            res.hist = None
        if sink:
            sink(res)
        out.append(res)

    def merge_ready() -> None:
        while len(out) < len(chunks) and not failures:
            blocks = chunks[len(out)]
            if blocks[0] in saved:
                res = checkpoints.load(blocks) if checkpoints is not None else None
                if res is None:                   # damaged since it was listed: run it here
                    res = run_chunk(spec, blocks)
                    if checkpoints is not None:
                        checkpoints.save(blocks, res)
                if on_chunk:
                    on_chunk(len(res.replica))
            elif len(out) in waiting:
                res = waiting.pop(len(out))
            else:
                return
            merge(res)

    try:
        merge_ready()
        for k, got in stream:
            if isinstance(got, ChunkFailure):
                failures.append(got)
                continue
            blocks = todo[k]
            if checkpoints is not None:
                checkpoints.save(blocks, got)
            if on_chunk:
                on_chunk(len(got.replica))
            if not failures:
                waiting[position[blocks[0]]] = got
                merge_ready()
        if failures:
            raise ChunksFailed(failures, len(chunks))
    finally:
        close = getattr(inner, "close", None)
        if close is not None:
            close()                               # a pool stops its workers now, not at garbage collection
    return out


def iter_replicas_one_by_one(spec: RunSpec, replicas: Iterable[int]) -> Iterator[ChunkResult]:
    """The per-replica reference path: each replica alone (R = 1), reading only its own numbers of its block's
    stream (sim.streams)."""
    for r in replicas:
        yield run_chunk(spec, [r // BLOCK_SIZE], columns=np.array([r % BLOCK_SIZE]))
