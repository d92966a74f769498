"""The event log: chance events and decisions of a sample of replicas, so one sample path can be told as a story.

Only the first ``len(replica_ids)`` replica columns of a chunk are logged; for every other replica logging costs
nothing (a chunk without sampled replicas skips it entirely).
"""

from __future__ import annotations

import numpy as np

COLUMNS = ("replica", "step", "actor", "event", "description", "rung_before", "rung_after")


class EventLog:
    """Columns of events (replica, step, actor, event, description, rung before/after)."""

    def __init__(self, replica_ids: np.ndarray):
        self.replica_ids = np.asarray(replica_ids)
        self.rows: dict[str, list] = {c: [] for c in COLUMNS}

    @property
    def active(self) -> bool:
        return self.replica_ids.size > 0

    def record(self, mask: np.ndarray, step: int, actor: str, event: str, description: str,
               before: np.ndarray, after: np.ndarray) -> None:
        """Append one row per sampled replica where ``mask`` (R,) is true."""
        n = self.replica_ids.size
        if n == 0:
            return
        idx = np.flatnonzero(mask[:n])
        if idx.size == 0:
            return
        r = self.rows
        r["replica"].extend(self.replica_ids[idx].tolist())
        r["step"].extend([step] * idx.size)
        r["actor"].extend([actor] * idx.size)
        r["event"].extend([event] * idx.size)
        r["description"].extend([description] * idx.size)
        r["rung_before"].extend(np.asarray(before)[idx].tolist())
        r["rung_after"].extend(np.asarray(after)[idx].tolist())
