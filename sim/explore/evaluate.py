"""Design points → outcomes, in chunks of replicas of the vectorised engine (no loop over design points).

Evaluation ``e = i·k + q`` is replicate ``q`` of design point ``i`` (``k = replicates``); it takes the point's
uniforms and the chance events of chance id ``group(i)·k + q`` (:mod:`sim.explore.streams`). A chunk holds about
``chunk_size`` evaluations side by side (the replica axis last), and chunks run in order in this process or on a
pool of local cores; each evaluation's numbers depend only on its uniforms and its chance id, so results are the
same whatever the chunk size or the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from sim.explore.inputs import DesignSpace

if TYPE_CHECKING:
    from sim.spec import RunSpec

#: Registry kinds a design analyses (a ``step`` outcome is −1 where nothing happened: not a number to average;
#: its probability of happening is analysed instead, :func:`with_step_probabilities`).
ANALYSED_KINDS = ("probability", "quantity", "utility", "rung")
STEP_SUFFIX = "_step"


class Design(Protocol):
    """Design points in the unit cube, produced a slice at a time (a large design is never held whole)."""

    @property
    def size(self) -> int:
        """Number of design points."""
        ...

    @property
    def dimension(self) -> int:
        """Number of inputs D."""
        ...

    def block(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Uniforms (D, b - a) of points a..b-1 and their row groups (b - a,) (points of one group share chance
        events)."""
        ...


class Evaluator(Protocol):
    """Maps a design to per-replica outcomes ``{name: (n, k)}``."""

    names: tuple[str, ...]
    replicates: int

    def __call__(self, design: Design) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class Outputs:
    """Per-replica outcomes of a design: ``values[name]`` is (n points, k replicates), float64."""

    values: dict[str, np.ndarray]

    def mean(self, name: str) -> np.ndarray:
        """Ȳ_i = (1/k) Σ_q y_iq, the outcome at each design point (a probability's estimate for booleans)."""
        return self.values[name].mean(axis=1)

    def noise_share(self, name: str) -> float:
        """η = mean_i s²_i / k / Var(Ȳ): the share of the design outcome's variance that is chance noise (NaN for
        k = 1 or a constant outcome); s²_i is the unbiased variance of point i's k replicates."""
        y = self.values[name]
        if y.shape[1] < 2:
            return float("nan")
        total = float(np.var(y.mean(axis=1)))
        return float(np.mean(np.var(y, axis=1, ddof=1)) / y.shape[1] / total) if total > 0 else float("nan")


def analysed_outcomes(spec: "RunSpec") -> list[tuple[str, str, str]]:
    """(name, kind, label) of the registry outcomes a design analyses, in registry order, and for each ``X_step``
    outcome without an ``X`` the probability ``X`` that it happened (e.g. ``first_strike_step`` → P(first_strike))."""
    from sim.registry import declared_outcomes

    registry: list[tuple[str, str, str]] = [(o.name, str(o.kind), o.label) for o in declared_outcomes(spec)]
    return with_step_probabilities(registry)


def with_step_probabilities(registry: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The analysed kinds, plus ``(X, "probability", label + " (happened)")`` after each step outcome ``X_step``
    whose ``X`` the registry does not have."""
    names = {n for n, _, _ in registry}
    out = []
    for name, kind, label in registry:
        if kind in ANALYSED_KINDS:
            out.append((name, kind, label))
        elif kind == "step" and name.endswith(STEP_SUFFIX) and name.removesuffix(STEP_SUFFIX) not in names:
            out.append((name.removesuffix(STEP_SUFFIX), "probability", f"{label} (happened)"))
    return out


def outcome_values(columns: dict[str, np.ndarray], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The analysed outcomes as float64 from the model's registry columns; a derived ``X`` is ``X_step ≥ 0``
    (a step outcome is −1 where the event never happened)."""
    return {n: np.asarray(columns[n] if n in columns else np.asarray(columns[n + STEP_SUFFIX]) >= 0,
                          dtype=np.float64) for n in names}


def _run_chunk(spec: "RunSpec", space: DesignSpace, uniforms: np.ndarray, chance: np.ndarray,
               names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """One chunk: evaluations (columns) with their uniforms (D, m) and chance ids (m,) → ``{name: (m,)}``."""
    import mesa

    from sim.explore.streams import DesignStreams
    from sim.model import GeoModel

    streams = DesignStreams(spec.run.seed, chance, dict(zip(space.paths, uniforms)))
    model = GeoModel(spec, streams, replica_ids=np.arange(chance.size))
    model.run(spec.run.steps)
    getattr(mesa.Agent, "_ids", {}).pop(model, None)          # as sim.experiment.run_chunk: release the model
    return outcome_values(model.outcome_columns(), names)


def _run_task(task: tuple["RunSpec", DesignSpace, np.ndarray, np.ndarray, tuple[str, ...]]) -> dict[str, np.ndarray]:
    return _run_chunk(*task)


class EngineEvaluator:
    """The vectorised engine as a function of the design: ``replicates`` replicas per point, chunks of about
    ``chunk_size`` replicas, on ``workers`` processes (0 = all cores; the spec's run settings by default)."""

    def __init__(self, spec: "RunSpec", space: DesignSpace, replicates: int, names: tuple[str, ...],
                 chunk_size: int | None = None, workers: int | None = None,
                 on_chunk: Callable[[int], None] | None = None):
        self.spec, self.space, self.replicates, self.names = spec, space, replicates, names
        self.chunk_size = chunk_size or spec.run.chunk_size
        self.workers = spec.run.workers if workers is None else workers
        self.on_chunk = on_chunk

    def plan(self, n: int) -> list[tuple[int, int]]:
        """[(first point, last point + 1)] of each chunk."""
        per = max(self.chunk_size // self.replicates, 1)
        return [(a, min(a + per, n)) for a in range(0, n, per)]

    def _task(self, design: Design, a: int, b: int) -> tuple["RunSpec", DesignSpace, np.ndarray, np.ndarray,
                                                             tuple[str, ...]]:
        k = self.replicates
        uniforms, groups = design.block(a, b)
        u = np.repeat(uniforms, k, axis=1)                                          # evaluation e = i·k + q
        chance = np.repeat(groups.astype(np.int64), k) * k + np.tile(np.arange(k), b - a)
        return self.spec, self.space, u, chance, self.names

    def __call__(self, design: Design) -> dict[str, np.ndarray]:
        n, k = design.size, self.replicates
        out = {name: np.empty(n * k) for name in self.names}
        chunks = self.plan(n)
        workers = min(self.workers or os.cpu_count() or 1, len(chunks))
        if workers <= 1:
            for a, b in chunks:
                self._store(out, a, b, _run_task(self._task(design, a, b)))
        else:
            self._pool(design, chunks, workers, out)
        return {name: v.reshape(n, k) for name, v in out.items()}

    def _pool(self, design: Design, chunks: list[tuple[int, int]], workers: int, out: dict[str, np.ndarray]) -> None:
        """Chunks on a pool of forked workers, at most two per worker in flight (memory stays bounded)."""
        from collections import deque

        from sim.experiment import terminate
        from sim.lifecycle import worker_init

        ctx = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=worker_init,
                                   initargs=(os.getpid(),))
        pending: deque[tuple[int, int, Future[dict[str, np.ndarray]]]] = deque()
        todo = iter(chunks)
        try:
            for a, b in todo:
                pending.append((a, b, pool.submit(_run_task, self._task(design, a, b))))
                if len(pending) >= 2 * workers:
                    pa, pb, fut = pending.popleft()
                    self._store(out, pa, pb, fut.result())
            while pending:
                pa, pb, fut = pending.popleft()
                self._store(out, pa, pb, fut.result())
        except BaseException:
            terminate(pool)
            raise
        pool.shutdown(wait=True)

    def _store(self, out: dict[str, np.ndarray], a: int, b: int, res: dict[str, np.ndarray]) -> None:
        k = self.replicates
        for name in self.names:
            out[name][a * k:b * k] = res[name]
        if self.on_chunk:
            self.on_chunk((b - a) * k)


class FunctionEvaluator:
    """An analytic function of the uniforms (no chance events: one replicate)."""

    replicates = 1

    def __init__(self, names: tuple[str, ...], fn: Callable[[np.ndarray], dict[str, np.ndarray]]):
        self.names, self.fn = names, fn

    def __call__(self, design: Design) -> dict[str, np.ndarray]:
        uniforms, _ = design.block(0, design.size)
        return {name: np.asarray(v, dtype=np.float64)[:, None] for name, v in self.fn(uniforms).items()}
