"""Random streams: one root seed; a substream per (replica block, name) and one per uncertain input.

Replica ``r`` lives in block ``r // BLOCK_SIZE``. Every draw is made from a **named** stream, so adding, removing
or disabling a mechanism (or an exchange link, a spoiler, an issue) changes no other stream's numbers:

- a mechanism's substream ``name`` in block ``b`` is ``SeedSequence(seed, spawn_key=(b, key(name)))``;
- an uncertain input ``path`` (``actors.us.capability``, ``mechanics.deal.ratify``) has one uniform per replica:
  replica ``r`` takes the ``r``-th number of ``SeedSequence(seed, spawn_key=(key(path),))``, so an input keeps its
  value per replica whatever else the knowledge base or the scenario contains (common random numbers);

with ``key(name) = crc32(name)`` (:func:`stream_key`; names of one run are checked for collisions). Draws within a
substream are made block by block with the block's whole width, in an order that does not depend on the
scenario, so results are identical whatever the chunk size or the number of workers (chunks are whole blocks),
and scenarios run with the same seed see the same numbers (differences are paired).

Within a block, a draw of ``k`` numbers per replica takes ``k`` consecutive numbers for replica 0, the next ``k``
for replica 1, and so on (replica-major), and is laid out with the replica axis last. A model of one replica (the
per-replica reference path) therefore reads its own ``k`` numbers after jumping over the others with PCG64's
``advance`` instead of drawing the whole block.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from typing import cast

import numpy as np

#: Replicas per random stream. Execution chunks are whole blocks, so results never depend on chunking.
BLOCK_SIZE = 256


def stream_key(name: str) -> int:
    """The 32-bit key of a named stream (CRC-32 of its UTF-8 name)."""
    return zlib.crc32(name.encode("utf-8"))


def check_unique(names: Iterable[str]) -> None:
    """Raise ValueError if two different names share a stream key."""
    seen: dict[int, str] = {}
    for name in names:
        other = seen.setdefault(stream_key(name), name)
        if other != name:
            raise ValueError(f"stream names {other!r} and {name!r} have the same key; rename one")


def _generator(seed: int, *spawn_key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=spawn_key)))


def _advance(gen: np.random.Generator, n: int) -> None:
    """Jump ``n`` numbers ahead (PCG64's advance: O(log n))."""
    cast(np.random.PCG64, gen.bit_generator).advance(n)


class Substream:
    """One named stream across a set of blocks, drawn side by side along the last (replica) axis."""

    def __init__(self, seed: int, name: str, block_ids: Sequence[int], columns: np.ndarray | None):
        self.name = name
        key = stream_key(name)
        self._gens = [_generator(seed, b, key) for b in block_ids]
        self._columns = columns
        self._buffers: dict[int, np.ndarray] = {}
        if columns is not None:
            block, col = np.divmod(columns, BLOCK_SIZE)          # block: position in block_ids
            self._picks = [(int(n), [int(c) for c in col[block == n]]) for n in np.unique(block)]

    @property
    def width(self) -> int:
        return len(self._columns) if self._columns is not None else BLOCK_SIZE * len(self._gens)

    def uniform(self, *shape: int) -> np.ndarray:
        """Uniform(0, 1) draws of shape ``(*shape, width)``."""
        k = math.prod(shape)
        if self._columns is not None:
            return self._uniform_columns(shape, k)
        out = np.empty((k, self.width))
        draw = self._buffers.get(k)
        if draw is None:
            draw = self._buffers[k] = np.empty((BLOCK_SIZE, k))
        for n, gen in enumerate(self._gens):
            gen.random(out=draw)                                       # (replica, number): replica-major
            out[:, n * BLOCK_SIZE:(n + 1) * BLOCK_SIZE] = draw.T
        return out.reshape(*shape, self.width)

    def _uniform_columns(self, shape: tuple[int, ...], k: int) -> np.ndarray:
        """The same numbers as :meth:`uniform` for the kept columns only, skipping the others' numbers."""
        out = np.empty((self.width, k))
        n = 0
        for g, cols in self._picks:
            gen = self._gens[g]
            at = 0
            for c in cols:
                _advance(gen, (c - at) * k)
                out[n] = gen.random(k)
                n, at = n + 1, c + 1
            _advance(gen, (BLOCK_SIZE - at) * k)
        return np.ascontiguousarray(out.T.reshape(*shape, self.width))


class BlockStreams:
    """The random streams of a set of blocks: named substreams and per-input uniforms.

    ``columns`` optionally keeps only some replica columns of the blocks, in increasing order (the per-replica
    reference path runs one replica at a time and reads only that replica's numbers).
    """

    def __init__(self, seed: int, block_ids: Sequence[int], columns: np.ndarray | None = None):
        self.seed = seed
        self.block_ids = list(block_ids)
        self._columns = None if columns is None else np.asarray(columns)
        if self._columns is not None and np.any(np.diff(self._columns) <= 0):
            raise ValueError("columns must be increasing")
        self._subs: dict[str, Substream] = {}

    @property
    def width(self) -> int:
        """Number of replica columns this set of streams produces."""
        return len(self._columns) if self._columns is not None else BLOCK_SIZE * len(self.block_ids)

    def substream(self, name: str) -> Substream:
        """The named substream (created on first use; each name is one stream for the whole run)."""
        sub = self._subs.get(name)
        if sub is None:
            sub = self._subs[name] = Substream(self.seed, name, self.block_ids, self._columns)
        return sub

    def input_uniforms(self, paths: Sequence[str]) -> np.ndarray:
        """One uniform per replica for each uncertain input, ``(len(paths), width)``: replica r's number of input
        p is the r-th number of p's own stream (see the module docstring)."""
        ids = self.replica_ids()
        out = np.empty((len(paths), ids.size))
        runs = _contiguous_runs(ids)
        for n, path in enumerate(paths):
            gen = _generator(self.seed, stream_key(path))
            at = 0
            for lo, hi, start in runs:
                _advance(gen, lo - at)
                out[n, start:start + hi - lo] = gen.random(hi - lo)
                at = hi
        return out

    def replica_ids(self) -> np.ndarray:
        """Global replica index of every column produced."""
        ids = replica_ids(self.block_ids)
        return ids if self._columns is None else ids[self._columns]


def _contiguous_runs(ids: np.ndarray) -> list[tuple[int, int, int]]:
    """``(first id, last id + 1, column)`` of each run of consecutive replica ids, in increasing order of ids."""
    if ids.size and np.any(np.diff(ids) <= 0):
        raise ValueError("replica ids must be increasing (blocks in increasing order)")
    breaks = np.flatnonzero(np.diff(ids) != 1) + 1
    starts = np.r_[0, breaks]
    ends = np.r_[breaks, ids.size]
    return [(int(ids[s]), int(ids[e - 1]) + 1, int(s)) for s, e in zip(starts, ends) if e > s]


def replica_ids(block_ids: Sequence[int]) -> np.ndarray:
    """Global replica index of every column of these blocks."""
    return (np.asarray(block_ids, dtype=np.int64)[:, None] * BLOCK_SIZE
            + np.arange(BLOCK_SIZE)[None, :]).ravel()
