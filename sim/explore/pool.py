"""Independent tasks on local cores, results in task order (the analysis of many outcomes at once)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_in_order(fn: Callable[[T], R], tasks: Sequence[T], workers: int) -> list[R]:
    """``[fn(t) for t in tasks]``, on ``workers`` forked processes (0 = all cores; in-process for one)."""
    lanes = min(workers or os.cpu_count() or 1, len(tasks))
    if lanes <= 1:
        return [fn(t) for t in tasks]
    from sim.experiment import terminate
    from sim.lifecycle import worker_init

    pool = ProcessPoolExecutor(max_workers=lanes, mp_context=multiprocessing.get_context("fork"),
                               initializer=worker_init, initargs=(os.getpid(),))
    try:
        out = list(pool.map(fn, tasks))
    except BaseException:
        terminate(pool)
        raise
    pool.shutdown(wait=True)
    return out
