"""Robustness of a comparison: where in the input space a scenario beats the status quo, from paired replicas.

Both scenarios are evaluated at the same design points u_i with the same chance events (common random numbers:
the same uniforms for every input they share, the same chance ids). For a probability outcome y and design point
i with k paired replicates::

    Δ_i = (1/k) Σ_q (y_scenario,iq − y_base,iq)

and the table gives the shares of points with Δ_i > 0, Δ_i < 0 and Δ_i = 0, the mean of Δ_i with its standard
error sd(Δ) / √n, and the share of points where the scenario both raises P(deal ever) and does not raise P(war).
With few replicates Δ_i mixes the effect at u_i with chance; the shares are those of the design points, each a
draw of the input space (a scrambled Sobol sequence, so the shares estimate volumes of the unit cube).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.outcomes import DEAL_EVER, WAR


def paired_shares(base: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """Shares of design points where the outcome is higher / lower / equal in ``other``, from (n, k) replicas."""
    delta = (other - base).mean(axis=1)
    n = delta.size
    return {"higher": float(np.mean(delta > 0)), "lower": float(np.mean(delta < 0)),
            "equal": float(np.mean(delta == 0)), "mean_difference": float(delta.mean()),
            "se": float(delta.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
            "base": float(base.mean()), "scenario": float(other.mean())}


def compare(name: str, base: dict[str, np.ndarray], other: dict[str, np.ndarray],
            outcomes: list[tuple[str, str]]) -> dict[str, Any]:
    """One scenario against the base: paired shares for each (name, label) probability outcome present in both."""
    rows = {o: {"label": label, **paired_shares(base[o], other[o])} for o, label in outcomes
            if o in base and o in other}
    out: dict[str, Any] = {"scenario": name, "outcomes": rows}
    if DEAL_EVER in base and WAR in base and DEAL_EVER in other and WAR in other:
        deal = (other[DEAL_EVER] - base[DEAL_EVER]).mean(axis=1)
        war = (other[WAR] - base[WAR]).mean(axis=1)
        out["wins"] = float(np.mean((deal > 0) & (war <= 0)))
    return out
