"""Which inputs a design varies: every input the engine would draw from its own stream in a Monte Carlo run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.uncertainty import ParameterTable, input_tables

if TYPE_CHECKING:
    from sim.spec import RunSpec


def live_paths(spec: "RunSpec") -> list[str]:
    """The inputs :class:`sim.model.GeoModel` asks a stream for (its ``live`` set): drawn in the scenario or in the
    baseline, with a range and a distribution. Under ``uncertainty=all`` these are every input with a range."""
    table, base = input_tables(spec)
    live = table.drawn & (((table.dist > 0) & table.varies) | ((base.dist > 0) & base.varies))
    return [table.paths[k] for k in np.flatnonzero(live)]


@dataclass(frozen=True)
class DesignSpace:
    """The design's dimensions: one per input path, in a stable order (the specs' input order, merged)."""

    paths: tuple[str, ...]

    @classmethod
    def of(cls, *specs: "RunSpec") -> "DesignSpace":
        """The union of the specs' live inputs (a scenario and the one it is compared with share the uniforms of
        the inputs they have in common: common random numbers)."""
        out: list[str] = []
        for spec in specs:
            out += [p for p in live_paths(spec) if p not in out]
        return cls(tuple(out))

    @property
    def dimension(self) -> int:
        return len(self.paths)


def values_of(spec: "RunSpec", space: DesignSpace, uniforms: np.ndarray) -> np.ndarray:
    """The input values (D, n) of the spec at design uniforms (D, n) (inverse-CDF of each input's distribution;
    an input the spec does not draw stays at its mode)."""
    table, _ = input_tables(spec)
    full = np.full((len(table.paths), uniforms.shape[1]), 0.5)
    at = {p: k for k, p in enumerate(table.paths)}
    for d, path in enumerate(space.paths):
        if path in at:
            full[at[path]] = uniforms[d]
    values = table.draw(full)
    return np.stack([values[at[p]] if p in at else np.full(uniforms.shape[1], np.nan) for p in space.paths])


def bounds(spec: "RunSpec", space: DesignSpace) -> list[tuple[float, float, float]]:
    """(low, mode, high) of each input of the space in this spec."""
    table: ParameterTable = input_tables(spec)[0]
    at = {p: k for k, p in enumerate(table.paths)}
    return [(float(table.low[at[p]]), float(table.mode[at[p]]), float(table.high[at[p]])) for p in space.paths]
