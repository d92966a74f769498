"""Bounded figures: what a plot draws does not grow with the number of replicas.

Numbers on the pages (probabilities, quantiles, standard errors, medians) come from all replicas. Plots are drawn
from bounded data: histograms from counts binned over all replicas (:func:`binned`), violins from a deterministic
sample of at most :data:`PLOT_SAMPLE` replicas (:func:`sample_rows`: every k-th replica, the same rows for every run
of the same size, so paired runs show the same replicas), ECDFs from at most a few hundred points of the sorted
values. A page is then a few megabytes (plotly.js alone is 4.9 MB) whatever ``n_runs`` is.
"""

from __future__ import annotations

import numpy as np

#: At most this many replicas are drawn by a figure that needs single values (violins).
PLOT_SAMPLE = 20_000


def sample_rows(n: int, limit: int = PLOT_SAMPLE) -> np.ndarray:
    """Row positions of at most ``limit`` of ``n`` replicas, evenly spaced (replicas are independent draws, so
    every k-th one is a fair sample); all rows when ``n ≤ limit``."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def sampled(values: np.ndarray, limit: int = PLOT_SAMPLE) -> np.ndarray:
    """The sampled replicas' values as float32 (half the bytes in a page; ample for a plot), NaN dropped."""
    v = np.asarray(values, dtype=float)[sample_rows(len(values), limit)]
    return v[~np.isnan(v)].astype(np.float32)


def sample_note(n: int, limit: int = PLOT_SAMPLE) -> str:
    """A caption's sentence when a figure draws a sample, else ``''``."""
    if n <= limit:
        return ""
    return (f" The shapes are drawn from an evenly spaced sample of {len(sample_rows(n, limit)):,} of the {n:,} "
            "replicas; the numbers in the tables use all replicas.")


def binned(values: np.ndarray, low: float = 0.0, high: float = 100.0, width: float = 2.5
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of all ``values`` in bins of ``width`` from ``low`` to ``high`` (the last bin closed):
    ``(left edges, right edges, counts)``; NaN values are not counted."""
    edges = np.linspace(low, high, int(round((high - low) / width)) + 1)
    v = np.asarray(values, dtype=float)
    counts, _ = np.histogram(v[~np.isnan(v)], bins=edges)
    return edges[:-1], edges[1:], counts
