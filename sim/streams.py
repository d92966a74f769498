"""Random streams: one root seed, one stream per fixed block of replicas.

Replica ``r`` lives in block ``r // BLOCK_SIZE``; block ``b`` draws from ``SeedSequence(seed, spawn_key=(b,))``
(exactly the b-th child of ``SeedSequence(seed).spawn``). Every draw is made block by block with the block's whole
width, in a fixed order that does not depend on the scenario, so
- results are identical whatever the chunk size or the number of workers (chunks are whole blocks), and
- every scenario run with the same seed sees the same numbers (common random numbers: differences are paired).

Within a block, a draw of ``k`` numbers per replica takes ``k`` consecutive numbers of the stream for replica 0,
the next ``k`` for replica 1, and so on (replica-major), and is then laid out with the replica axis last. A model
of one replica (the per-replica reference path) therefore reads its own ``k`` numbers after jumping over the
others with PCG64's ``advance`` instead of drawing the whole block.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Replicas per random stream. Execution chunks are whole blocks, so results never depend on chunking.
BLOCK_SIZE = 256


class BlockStreams:
    """The random streams of a set of blocks, drawn side by side along the last (replica) axis.

    ``columns`` optionally keeps only some replica columns of the blocks, in increasing order (the per-replica
    reference path runs one replica at a time and reads only that replica's numbers).
    """

    def __init__(self, seed: int, block_ids: Sequence[int], columns: np.ndarray | None = None):
        self.block_ids = list(block_ids)
        self._gens = [np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(b,))))
                      for b in self.block_ids]
        self._buffers: dict[int, np.ndarray] = {}
        self._columns = None if columns is None else np.asarray(columns)
        if self._columns is not None:
            if np.any(np.diff(self._columns) <= 0):
                raise ValueError("columns must be increasing")
            block, col = np.divmod(self._columns, BLOCK_SIZE)
            self._picks = [(int(b), [int(c) for c in col[block == b]]) for b in np.unique(block)]

    @property
    def width(self) -> int:
        """Number of replica columns this set of streams produces."""
        return len(self._columns) if self._columns is not None else BLOCK_SIZE * len(self._gens)

    def uniform(self, *shape: int) -> np.ndarray:
        """Uniform(0, 1) draws of shape ``(*shape, width)``."""
        if self._columns is not None:
            return self._uniform_columns(shape)
        k = math.prod(shape)
        out = np.empty((k, self.width))
        draw = self._draw_buffer(k)
        for n, gen in enumerate(self._gens):
            gen.random(out=draw)                                       # (replica, number): replica-major
            out[:, n * BLOCK_SIZE:(n + 1) * BLOCK_SIZE] = draw.T
        return out.reshape(*shape, self.width)

    def _draw_buffer(self, k: int) -> np.ndarray:
        buf = self._buffers.get(k)
        if buf is None:
            buf = self._buffers[k] = np.empty((BLOCK_SIZE, k))
        return buf

    def _uniform_columns(self, shape: tuple[int, ...]) -> np.ndarray:
        """The same numbers as :meth:`uniform` for the kept columns only, skipping the others' numbers."""
        k = math.prod(shape)
        out = np.empty((self.width, k))
        n = 0
        for b, cols in self._picks:
            gen = self._gens[b]
            at = 0
            for c in cols:
                gen.bit_generator.advance((c - at) * k)
                out[n] = gen.random(k)
                n, at = n + 1, c + 1
            gen.bit_generator.advance((BLOCK_SIZE - at) * k)
        return np.ascontiguousarray(out.T.reshape(*shape, self.width))


def replica_ids(block_ids: Sequence[int]) -> np.ndarray:
    """Global replica index of every column of these blocks."""
    return (np.asarray(block_ids)[:, None] * BLOCK_SIZE + np.arange(BLOCK_SIZE)[None, :]).ravel()
