"""Where a design's numbers come from: its uniforms instead of the input streams, chance events by chance id.

:class:`DesignStreams` is a :class:`sim.streams.BlockStreams` whose ``input_uniforms`` are the design's (one column
per evaluation) and whose substreams give evaluation ``e`` the chance events of replica ``chance_ids[e]`` of an
ordinary run with the same seed. Evaluations that share a chance id share every chance event (common random
numbers): the points of one Sobol row group (A, AB_1..AB_D, B) or of one Morris trajectory, and a scenario and the
status quo at one design point. Nothing in the engine changes: a design only changes where the uniforms come from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.streams import BLOCK_SIZE, BlockStreams, Substream


class GatheredSubstream(Substream):
    """A substream drawn for whole blocks, then gathered to the evaluations' columns."""

    def __init__(self, base: Substream, gather: np.ndarray):    # noqa: D107 - no Substream state of its own
        self.name = base.name
        self._base = base
        self._gather = gather

    @property
    def width(self) -> int:
        return int(self._gather.size)

    def uniform(self, *shape: int) -> np.ndarray:
        return np.ascontiguousarray(self._base.uniform(*shape)[..., self._gather])


class DesignStreams(BlockStreams):
    """The streams of a chunk of design evaluations: design uniforms by input path, chance events by chance id."""

    def __init__(self, seed: int, chance_ids: np.ndarray, uniforms: dict[str, np.ndarray]):
        chance_ids = np.asarray(chance_ids, dtype=np.int64)
        blocks = np.unique(chance_ids // BLOCK_SIZE)
        super().__init__(seed, [int(b) for b in blocks])
        self._chance = chance_ids
        self._gather = np.searchsorted(blocks, chance_ids // BLOCK_SIZE) * BLOCK_SIZE + chance_ids % BLOCK_SIZE
        self._uniforms = uniforms
        self._gathered: dict[str, GatheredSubstream] = {}

    @property
    def width(self) -> int:
        return int(self._chance.size)

    def substream(self, name: str) -> Substream:
        sub = self._gathered.get(name)
        if sub is None:
            sub = self._gathered[name] = GatheredSubstream(super().substream(name), self._gather)
        return sub

    def input_uniforms(self, paths: Sequence[str]) -> np.ndarray:
        missing = [p for p in paths if p not in self._uniforms]
        if missing:
            raise KeyError(f"the design has no uniforms for input {missing[0]!r} (the engine draws it)")
        return np.stack([self._uniforms[p] for p in paths]) if paths else np.zeros((0, self.width))

    def replica_ids(self) -> np.ndarray:
        return self._chance.copy()
