"""What one chunk of replicas produces: plain arrays, cheap to pickle between processes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ChunkResult:
    """What one chunk of replicas produced (only replicas < n_runs)."""

    replica: np.ndarray
    outcomes: dict[str, np.ndarray]
    hist: np.ndarray | None       #: (T, V, bins) counts; None once folded into the first chunk's
    sums: np.ndarray
    counts: np.ndarray
    traj_replica: np.ndarray
    traj_outcome: np.ndarray      #: (T, I, n_stored)
    traj_rung: np.ndarray         #: (T, n_stored)
    traj_deal: np.ndarray         #: (T, n_stored)
    events: dict[str, list] = field(default_factory=dict)
    parameters: np.ndarray | None = None  #: (P, n) drawn inputs that vary (parameters.parquet), float64
    parameter_paths: tuple[str, ...] = ()
