"""Monte Carlo experiments: replicas in blocks, chunks of blocks, swappable executors.

Running a chunk is a pure function ``run_chunk(spec, block_ids) -> ChunkResult``: the same code runs in-process,
on local cores (:class:`LocalPool`), and later on a cluster or under a sensitivity design, unchanged. Blocks of
``BLOCK_SIZE`` replicas each own a random stream (sim.streams), so the results do not depend on the chunk size
or the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

import mesa
import numpy as np

from sim.chunk import ChunkResult
from sim.model import GeoModel
from sim.spec import RunSpec
from sim.streams import BLOCK_SIZE, BlockStreams, replica_ids


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


def chunk_plan(n_runs: int, chunk_size: int) -> list[list[int]]:
    """Whole blocks per chunk: ``[[0, 1, 2, 3], [4, ...], ...]``."""
    n_blocks = -(-n_runs // BLOCK_SIZE)
    per = max(chunk_size // BLOCK_SIZE, 1)
    return [list(range(b, min(b + per, n_blocks))) for b in range(0, n_blocks, per)]


class Executor(Protocol):
    """Maps ``run_chunk`` over chunks, yielding results in chunk order."""

    def map(self, spec: RunSpec, chunks: list[list[int]]) -> Iterator[ChunkResult]: ...


class InProcess:
    """Run chunks one after another in this process."""

    def map(self, spec: RunSpec, chunks: list[list[int]]) -> Iterator[ChunkResult]:
        for blocks in chunks:
            yield run_chunk(spec, blocks)


class LocalPool:
    """Run chunks on local cores (processes)."""

    def __init__(self, workers: int):
        self.workers = workers

    def map(self, spec: RunSpec, chunks: list[list[int]]) -> Iterator[ChunkResult]:
        # fork explicitly: importing mesa forces the global start method to "spawn", which would re-import the
        # caller's main module in every worker (and fail in scripts without a __main__ guard)
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx) as pool:
            yield from pool.map(run_chunk, [spec] * len(chunks), chunks)


def choose_executor(spec: RunSpec, n_chunks: int) -> Executor:
    """In-process for one chunk or one worker; otherwise a pool of ``workers`` (0 = all cores)."""
    workers = spec.run.workers or os.cpu_count() or 1
    workers = min(workers, n_chunks)
    return InProcess() if workers <= 1 else LocalPool(workers)


def run_experiment(spec: RunSpec, executor: Executor | None = None,
                   on_chunk: Callable[[int], None] | None = None,
                   sink: Callable[[ChunkResult], None] | None = None) -> list[ChunkResult]:
    """All replicas of the spec, in chunk order; ``on_chunk(n_replicas)`` reports progress.

    Memory stays bounded: the per-step histograms (1.2 MB a chunk) are folded into the first chunk's as results
    arrive (later chunks keep ``hist=None``); integer counts, so the sum does not depend on the order. ``sink``
    is handed each result as it arrives, in chunk (= replica) order, and may take its bulky parts (the drawn
    inputs: :class:`sim.results.ParametersWriter` writes them and drops them).
    """
    chunks = chunk_plan(spec.run.n_runs, spec.run.chunk_size)
    executor = executor or choose_executor(spec, len(chunks))
    out: list[ChunkResult] = []
    for res in executor.map(spec, chunks):
        if out and out[0].hist is not None and res.hist is not None:
            out[0].hist += res.hist
            res.hist = None
        if sink:
            sink(res)
        out.append(res)
        if on_chunk:
            on_chunk(len(res.replica))
    return out


def iter_replicas_one_by_one(spec: RunSpec, replicas: Iterable[int]) -> Iterator[ChunkResult]:
    """The per-replica reference path: each replica alone (R = 1), reading only its own numbers of its block's
    stream (sim.streams)."""
    for r in replicas:
        yield run_chunk(spec, [r // BLOCK_SIZE], columns=np.array([r % BLOCK_SIZE]))
