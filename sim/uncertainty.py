"""Uncertain inputs: every one is a column, drawn per replica from its own stream by inverse-CDF.

An input is a value of the knowledge base (``actors.us.capability``), a mechanism constant
(``mechanics.deal.ratify``) or a decision-rule constant (``decisions.retaliation``), each an
:class:`~sim.knowledge.Uncertain` ``{low, mode, high, dist, source}``; its name is its override key. Replica r's
uniform for input p is the r-th number of p's own stream (:meth:`sim.streams.BlockStreams.input_uniforms`), so an
input that two scenarios do not change has the same value per replica in both, and adding or removing an input
changes no other input's values.

``run.uncertainty`` chooses what is drawn: ``knowledge`` (default) draws the knowledge base's values and fixes the
mechanism and decision constants at their modes; ``all`` draws those too (their ranges are deep uncertainty:
docs/model.md, "Uncertain constants"). A design (Sobol, Morris, …) only changes where the uniforms come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.knowledge import Uncertain

if TYPE_CHECKING:
    from sim.spec import RunSpec

_DISTS = {"fixed": 0, "uniform": 1, "triangular": 2}


@dataclass(frozen=True)
class ParameterTable:
    """Uncertain inputs as columns: path, low, mode, high, distribution code, and whether it is drawn."""

    paths: tuple[str, ...]
    low: np.ndarray
    mode: np.ndarray
    high: np.ndarray
    dist: np.ndarray
    drawn: np.ndarray              #: False: held at its mode (a mechanism constant under uncertainty=knowledge)

    @classmethod
    def from_inputs(cls, inputs: list[tuple[str, Uncertain]], drawn: list[bool] | None = None) -> "ParameterTable":
        return cls(paths=tuple(p for p, _ in inputs),
                   low=np.array([u.low for _, u in inputs], float), mode=np.array([u.mode for _, u in inputs], float),
                   high=np.array([u.high for _, u in inputs], float),
                   dist=np.array([_DISTS[u.dist] for _, u in inputs], int),
                   drawn=np.array(drawn if drawn is not None else [True] * len(inputs), bool))

    def draw(self, u: np.ndarray) -> np.ndarray:
        """Inverse-CDF transform of uniforms ``u`` (P, R) into values (P, R); inputs not drawn stay at their mode."""
        u = np.asarray(u, float)
        d = np.where(self.drawn, self.dist, 0)
        out = np.empty(u.shape)
        out[...] = self.mode[:, None]                                    # fixed, or held at the mode
        for code, transform in ((1, _uniform), (2, _triangular)):       # each row by its own distribution only
            rows = np.flatnonzero(d == code)
            if rows.size:
                out[rows] = transform(u[rows], self.low[rows, None], self.mode[rows, None], self.high[rows, None])
        return out

    def take(self, rows: np.ndarray) -> "ParameterTable":
        """The table of the inputs ``rows`` only."""
        return ParameterTable(paths=tuple(self.paths[k] for k in rows), low=self.low[rows], mode=self.mode[rows],
                              high=self.high[rows], dist=self.dist[rows], drawn=self.drawn[rows])

    @property
    def varies(self) -> np.ndarray:
        """Inputs with a range (low < high): the columns of ``parameters.parquet``."""
        return self.high > self.low


def _uniform(u: np.ndarray, lo: np.ndarray, mo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Inverse CDF of the uniform distribution on [lo, hi]."""
    return lo + u * (hi - lo)


def _triangular(u: np.ndarray, lo: np.ndarray, mo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Inverse CDF of the triangular distribution (lo, mode mo, hi)."""
    span = np.maximum(hi - lo, 1e-12)
    cut = (mo - lo) / span
    return np.where(u < cut, lo + np.sqrt(u * span * (mo - lo)), hi - np.sqrt((1 - u) * span * (hi - mo)))


def spec_inputs(spec: "RunSpec") -> list[tuple[str, Uncertain]]:
    """Every uncertain input of the run, by override key, in a stable order."""
    out = list(spec.knowledge.parameters())
    out += [(f"decisions.{name}", u) for name, u in spec.decisions.uncertain()]
    for section, sec in spec.mechanics.items():
        out += [(f"mechanics.{section}.{name}", u) for name, u in sec.uncertain()]
    return out


def input_tables(spec: "RunSpec") -> tuple[ParameterTable, ParameterTable]:
    """The scenario's inputs and the baseline's (the scenario's knowledge-base changes reverted), in one order."""
    inputs = spec_inputs(spec)
    everything = spec.run.uncertainty == "all"
    drawn = [everything or path.startswith(("actors.", "relations.", "world.")) for path, _ in inputs]
    reverted = {c.path: {**c.baseline, "dist": c.baseline_dist} for c in spec.changes if c.baseline}
    base = [(p, u.model_copy(update=reverted[p]) if p in reverted else u) for p, u in inputs]
    return ParameterTable.from_inputs(inputs, drawn), ParameterTable.from_inputs(base, drawn)


@dataclass(frozen=True)
class Draws:
    """The drawn inputs of a chunk: values (P, R) by path, for the scenario and for the baseline."""

    table: ParameterTable
    values: np.ndarray
    baseline: np.ndarray

    def __getitem__(self, path: str) -> np.ndarray:
        return self.values[self.table.paths.index(path)]

    def as_dict(self) -> dict[str, np.ndarray]:
        return dict(zip(self.table.paths, self.values))

    def baseline_dict(self) -> dict[str, np.ndarray]:
        return dict(zip(self.table.paths, self.baseline))


def draw_inputs(spec: "RunSpec", uniforms: np.ndarray) -> Draws:
    """Values of every input for the replicas whose uniforms ``(P, R)`` are given (in :func:`spec_inputs` order)."""
    scenario, baseline = input_tables(spec)
    values = scenario.draw(uniforms)
    base = values.copy()                   # the baseline's values: the scenario's but for the inputs it changes
    changed = np.flatnonzero((scenario.low != baseline.low) | (scenario.mode != baseline.mode)
                             | (scenario.high != baseline.high) | (scenario.dist != baseline.dist)
                             | (scenario.drawn != baseline.drawn))
    if changed.size:
        base[changed] = baseline.take(changed).draw(uniforms[changed])
    return Draws(scenario, values, base)
