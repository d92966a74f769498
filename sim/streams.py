"""Random streams: one root seed, one stream per fixed block of replicas.

Replica ``r`` lives in block ``r // BLOCK_SIZE``; block ``b`` draws from ``SeedSequence(seed, spawn_key=(b,))``
(exactly the b-th child of ``SeedSequence(seed).spawn``). Every draw is made block by block with the block's whole
width, in a fixed order that does not depend on the scenario, so
- results are identical whatever the chunk size or the number of workers (chunks are whole blocks), and
- every scenario run with the same seed sees the same numbers (common random numbers: differences are paired).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.spec import BLOCK_SIZE


class BlockStreams:
    """The random streams of a set of blocks, drawn side by side along the last (replica) axis.

    ``columns`` optionally keeps only some replica columns of the blocks (the per-replica reference path runs
    one replica at a time, drawing the block's full width and keeping its own column).
    """

    def __init__(self, seed: int, block_ids: Sequence[int], columns: np.ndarray | None = None):
        self.block_ids = list(block_ids)
        self._gens = [np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(b,))))
                      for b in self.block_ids]
        self._columns = columns

    @property
    def width(self) -> int:
        """Number of replica columns this set of streams produces."""
        return len(self._columns) if self._columns is not None else BLOCK_SIZE * len(self._gens)

    def uniform(self, *shape: int) -> np.ndarray:
        """Uniform(0, 1) draws of shape ``(*shape, width)``."""
        parts = [g.random((*shape, BLOCK_SIZE)) for g in self._gens]
        out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)
        return out if self._columns is None else out[..., self._columns]


def replica_ids(block_ids: Sequence[int]) -> np.ndarray:
    """Global replica index of every column of these blocks."""
    return (np.asarray(block_ids)[:, None] * BLOCK_SIZE + np.arange(BLOCK_SIZE)[None, :]).ravel()
