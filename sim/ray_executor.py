"""Ray as an executor (``executor=ray``): the chunks of a run as Ray tasks, locally or on a cluster.

The task is the same pure function as everywhere (:func:`sim.experiment.run_chunk`); the spec is put into Ray's
object store once and every task reads it from there. :meth:`RayExecutor.map_unordered` keeps a bounded window of
chunks in flight and hands each result back as it completes, with its position: :func:`sim.experiment.run_experiment`
checkpoints it at once and merges the results in chunk order, so the files are byte-identical to
``executor=local``'s. A window of ``in_flight`` chunks (0: twice the cluster's CPUs) bounds what is held: chunk
``i`` is submitted only once every chunk before ``i - in_flight`` has come back.

A task that raises, or whose worker dies, is retried ``ray.max_retries`` times by Ray (``retry_exceptions``);
then it comes back as a :class:`~sim.experiment.ChunkFailure` (its blocks, attempts, the error in one line), the
other chunks go on and are checkpointed, and the run ends ``failed`` with the failed chunks in its manifest.

Where Ray runs (``ray.address``): ``null`` starts a local Ray for this process on the loopback interface only, with
``workers`` CPUs (0 = all cores), no dashboard and no usage reporting; ``auto``, ``HOST:PORT`` or
``ray://HOST:10001`` connect to a running cluster, shipping the ``sim`` package to its workers (the dependencies
must be installed there). A Ray already initialised in this process (a notebook, a test fixture, the previous job
of a sweep) is used as it is. ``ray`` is imported only here, and only when a run asks for it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from sim.chunk import ChunkResult
from sim.errors import ConfigError
from sim.experiment import ChunkFailure, run_chunk
from sim.spec import RunSpec

#: What a task computes: ``run_chunk`` unless a caller (a test) gives another function of (spec, blocks).
Task = Callable[[RunSpec, list[int]], ChunkResult]
#: Object store of a local Ray (bytes): chunks are a few MB and few are held at once.
LOCAL_OBJECT_STORE = 256 * 2**20
#: Ray's environment switch that, off, keeps a single-machine Ray on the loopback interface.
LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _execute_task(spec: RunSpec, blocks: list[int], task: Task) -> ChunkResult:
    """The body of a Ray task (module level: workers import it by name)."""
    logging.getLogger("MESA").setLevel(logging.WARNING)
    return task(spec, blocks)


def connect(address: str | None, workers: int) -> Any:
    """The ``ray`` module, initialised: the session already open in this process, a cluster at ``address``, or a
    local Ray on 127.0.0.1 with ``workers`` CPUs (0 = all cores)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    loopback = not address or address.split("://")[-1].rsplit(":", 1)[0] in ("127.0.0.1", "localhost", "[::1]")
    if loopback:
        # Ray turns a node address of 127.0.0.1 into the machine's outward one (for other nodes to reach it);
        # its switch for single-machine platforms keeps the loopback, and every Ray server then listens there only
        os.environ[LOOPBACK_SWITCH] = "0"
    import ray

    if ray.is_initialized():
        return ray
    if loopback:
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False      # read when a node's address is chosen (ray imported before)
    if address:
        package = str(Path(__file__).resolve().parent)
        try:
            ray.init(address=address, runtime_env={"py_modules": [package]}, log_to_driver=False,
                     logging_level=logging.ERROR)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            text = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
            raise ConfigError(f"ray.address={address}: cannot connect ({text}); allowed: the address of a running "
                              "Ray cluster (auto, HOST:PORT of `ray start --head`, ray://HOST:10001), or null for "
                              "a local Ray") from None
    else:
        ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, _node_ip_address="127.0.0.1",
                 object_store_memory=LOCAL_OBJECT_STORE, log_to_driver=False, logging_level=logging.ERROR)
    return ray


def owned(res: ChunkResult) -> ChunkResult:
    """The result with arrays of its own: Ray's are read-only views of its object store, which they would pin."""
    def own(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.array(a, copy=True)

    return ChunkResult(
        replica=np.array(res.replica), outcomes={k: np.array(v) for k, v in res.outcomes.items()},
        hist=own(res.hist), sums=np.array(res.sums), counts=np.array(res.counts),
        traj_replica=np.array(res.traj_replica), traj_outcome=np.array(res.traj_outcome),
        traj_rung=np.array(res.traj_rung), traj_deal=np.array(res.traj_deal), events=res.events,
        parameters=own(res.parameters), parameter_paths=res.parameter_paths)


def cluster_cpus(ray: Any) -> int:
    """The CPUs the cluster offers (at least 1)."""
    return max(int(ray.cluster_resources().get("CPU", 1)), 1)


def describe_failure(exc: BaseException) -> str:
    """A failed task's error in one line: the task's own exception where Ray has it, else Ray's."""
    cause = getattr(exc, "cause", None)
    err = cause if isinstance(cause, BaseException) else exc
    text = next((ln.strip() for ln in str(err).splitlines() if ln.strip()), "")
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class RayExecutor:
    """Chunks as Ray tasks, at most ``in_flight`` at once, results taken as they complete."""

    def __init__(self, address: str | None = None, workers: int = 0, max_retries: int = 2, in_flight: int = 0,
                 task: Task = run_chunk):
        self.address, self.max_retries, self.in_flight, self.task = address, max_retries, in_flight, task
        self.workers = workers or os.cpu_count() or 1
        self.started = False

    @classmethod
    def for_spec(cls, spec: RunSpec) -> RayExecutor:
        ray = spec.run.ray
        return cls(ray.address, spec.run.workers, ray.max_retries, ray.in_flight)

    def start(self) -> Any:
        """Connect (or start Ray); ``workers`` becomes the cluster's CPUs."""
        ray = connect(self.address, self.workers)
        self.workers = cluster_cpus(ray)
        self.started = True
        return ray

    def map(self, spec: RunSpec, chunks: list[list[int]]) -> Iterator[ChunkResult]:
        """In chunk order (the :class:`~sim.experiment.Executor` protocol); a failed chunk raises RuntimeError."""
        results: dict[int, ChunkResult] = {}
        nxt = 0
        for i, res in self.map_unordered(spec, chunks):
            if isinstance(res, ChunkFailure):
                raise RuntimeError(f"chunk of blocks {res.blocks[0]}-{res.blocks[-1]} failed: {res.error}")
            results[i] = res
            while nxt in results:
                yield results.pop(nxt)
                nxt += 1

    def map_unordered(self, spec: RunSpec, chunks: list[list[int]]
                      ) -> Iterator[tuple[int, ChunkResult | ChunkFailure]]:
        """(position in ``chunks``, result or failure) as each task completes."""
        if not chunks:
            return
        ray = self.start()
        from ray.exceptions import RayError

        remote = ray.remote(_execute_task).options(num_cpus=1, max_retries=self.max_retries,
                                                    retry_exceptions=True)
        window = self.in_flight or 2 * self.workers
        spec_ref = ray.put(spec)
        pending: dict[Any, int] = {}
        arrived: set[int] = set()
        lowest = submitted = 0          # lowest: the first chunk not back yet
        try:
            while lowest < len(chunks):
                while submitted < len(chunks) and submitted < lowest + window:
                    pending[remote.remote(spec_ref, chunks[submitted], self.task)] = submitted
                    submitted += 1
                [ref], _ = ray.wait(list(pending), num_returns=1)
                i = pending.pop(ref)
                try:
                    out: ChunkResult | ChunkFailure = owned(ray.get(ref))
                except RayError as exc:
                    out = ChunkFailure(chunks[i], self.max_retries + 1, describe_failure(exc))
                arrived.add(i)
                while lowest in arrived:
                    arrived.discard(lowest)
                    lowest += 1
                yield i, out
        finally:
            for ref in pending:                 # stopped early (an error, a signal): drop what is still running
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
