"""Per-step recording: full trajectories for the first replicas, streaming histograms for everyone.

Per-replica trajectories cost memory linear in R × steps, so they are stored only for the first
``trajectory_replicas`` replicas; per-step quantiles over *all* replicas come from fixed-bin histograms
(0.1-point bins on the 0–100 scale, exact for the integer escalation rung) that merge across chunks by addition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.outcomes import issue_outcome
from sim.streams import BLOCK_SIZE

if TYPE_CHECKING:
    from sim.spec import RunSpec
    from sim.world import World

N_BINS = 1001          # 0.0, 0.1, ..., 100.0
BIN_WIDTH = 0.1

#: World-state variables recorded per step beside the rung and the issues in force, with their scaling onto the
#: 0–100 histogram range (docs/model.md, "World state"; the report's "World" section).
WORLD_VARIABLES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "breakout": lambda v: np.asarray(v, float),                 # months
    "access": lambda v: 100.0 * np.asarray(v, float),           # percent
    "stockpile": lambda v: np.asarray(v, float) / 42.0,         # significant quantities (42 kg of 60 %)
    "sanctions_us": lambda v: np.asarray(v, float),
    "ukraine_support": lambda v: np.asarray(v, float),
    "proxy_activity": lambda v: np.asarray(v, float),
    "hormuz": lambda v: np.asarray(v, float),                   # 0 open, 1 harassed, 2 closed
    "strike_level": lambda v: np.asarray(v, float),             # 0 none .. 3 regional war
    "deal_stage": lambda v: np.asarray(v, float),               # 0 none .. 5 collapsed
    "channel": lambda v: np.asarray(v, float),                  # 0 none, 1 direct, 2 mediated
}


class Recorder:
    """Collects trajectories (stored replicas) and histograms + sums (all replicas) step by step."""

    def __init__(self, spec: RunSpec, world: World, n_stored: int, n_live: int):
        self.world_fields = [f for f in WORLD_VARIABLES if f in world]
        self.variables = ["escalation", *[issue_outcome(i) for i in spec.issue_ids], *self.world_fields]
        self.n_stored = n_stored
        self.n_live = n_live          # columns beyond it belong to a partial last block and are not counted
        T, V = spec.run.steps + 1, len(self.variables)
        self.hist = np.zeros((T, V, N_BINS), np.int64)
        self.n_blocks = -(-n_live // BLOCK_SIZE)
        self.sums = np.zeros((T, V, self.n_blocks))   # per block, so that merged sums never depend on chunking
        self.counts = np.zeros(T, np.int64)
        self.outcome: list[np.ndarray] = []
        self.rung: list[np.ndarray] = []
        self.deal: list[np.ndarray] = []
        self.t = 0

    def record(self, world: World) -> None:
        """Add the current step of every replica (R,) to the histograms; keep the stored replicas' values."""
        extra = [WORLD_VARIABLES[f](world[f]) for f in self.world_fields]
        values = np.concatenate([world["rung"][None, :].astype(float), world.in_force, *[e[None, :] for e in extra]],
                                axis=0)[:, :self.n_live]
        bins = np.clip(np.rint(values / BIN_WIDTH), 0, N_BINS - 1).astype(np.int64)
        offset = (np.arange(values.shape[0]) * N_BINS)[:, None]
        self.hist[self.t] += np.bincount((bins + offset).ravel(), minlength=values.shape[0] * N_BINS
                                         ).reshape(values.shape[0], N_BINS)
        padded = np.zeros((values.shape[0], self.n_blocks * BLOCK_SIZE))
        padded[:, :values.shape[1]] = values
        self.sums[self.t] += padded.reshape(values.shape[0], self.n_blocks, BLOCK_SIZE).sum(axis=-1)
        self.counts[self.t] += values.shape[1]
        n = self.n_stored
        if n:
            self.outcome.append(world.in_force[:, :n].astype(np.float32))
            self.rung.append(world["rung"][:n].copy())
            self.deal.append(world["deal"][:n].copy())
        self.t += 1


def histogram_quantiles(hist: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles from bin counts (..., N_BINS) → (..., len(qs)), on the value scale (bin centres)."""
    cum = np.cumsum(hist, axis=-1)
    total = cum[..., -1:]
    out = []
    for q in qs:
        k = np.argmax(cum >= np.maximum(q * total, 1e-12), axis=-1)
        out.append(k * BIN_WIDTH)
    return np.stack(out, axis=-1)
