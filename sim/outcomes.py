"""The outcome registry: every per-replica outcome a run reports, with its kind, label and summary rule.

Mechanisms declare their outcomes (:meth:`sim.mechanics.base.Mechanism.outcomes`); :mod:`sim.registry` adds
each actor's utility. The registry of a run is written into ``spec.json`` (``outcomes``: name, kind, label, group), and
results, summary, sweep, compare and every report read names and labels from it. The names that pages single
out (the deal, the war, the rungs) are defined here once.

Kinds and their summary rule:

============  ====================================================  =====================================
kind          per replica                                           summary
============  ====================================================  =====================================
probability   bool                                                  share ± binomial standard error
quantity      a number (issue outcomes on 0–100)                    mean ± s.e., quantiles, median's s.e.
utility       a number in [-1, 1] (baseline preferences)             mean ± s.e., quantiles, median's s.e.
step          month something first happened, -1 (stored NA) if not  median and quartiles of those that did
rung          a rung of the escalation ladder                       share at each rung ± s.e.
============  ====================================================  =====================================

This module imports neither mesa nor the kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from sim.world import World

OutcomeKind = Literal["probability", "quantity", "utility", "step", "rung"]
KINDS: tuple[str, ...] = ("probability", "quantity", "utility", "step", "rung")

# --- the outcomes pages single out -----------------------------------------------------------------------------
DEAL = "deal"                          #: a deal in force at the end (bool)
DEAL_EVER = "deal_ever"                #: a deal signed at some point (bool)
DEAL_BROKEN = "deal_broken"            #: a deal signed and later collapsed (bool)
DEAL_STEP = "deal_step"                #: month of the first signing (step)
DEAL_SIGNED_STEP = "deal_signed_step"  #: the same month, under the name the world-state outcomes use (step)
WAR = "war"                            #: regional war reached (bool)
WAR_STEP = "war_step"                  #: month regional war began (step)
FIRST_STRIKE = "first_strike"          #: an interstate strike happened (bool)
FIRST_STRIKE_STEP = "first_strike_step"  #: month of the first interstate strike (step)
SNAPBACK_STEP = "snapback_step"        #: month the UN sanctions were snapped back (step)
HORMUZ_CLOSED_STEP = "hormuz_closed_step"  #: month the Strait of Hormuz was first closed (step)
BREAKOUT = "breakout_months"           #: Iran's breakout time at the end (quantity, months)
MAX_RUNG = "max_escalation"            #: highest rung reached (rung)
FINAL_RUNG = "final_escalation"        #: rung at the end (rung)
ISSUE_PREFIX = "outcome_"
UTILITY_PREFIX = "utility_"
WAR_COST_PREFIX = "war_cost_"


def war_cost_outcome(actor_id: str) -> str:
    """The column of an actor's accumulated cost of conflict."""
    return f"{WAR_COST_PREFIX}{actor_id}"


def issue_outcome(issue_id: str) -> str:
    """The column of an issue's final outcome."""
    return f"{ISSUE_PREFIX}{issue_id}"


def utility_outcome(actor_id: str) -> str:
    """The column of an actor's final utility."""
    return f"{UTILITY_PREFIX}{actor_id}"


@dataclass(frozen=True)
class Outcome:
    """A per-replica outcome: its column name, kind, label, how to compute it from the final world, its group
    (``deal``, ``escalation``, ``issues``, ``utilities``) and the column's dtype."""

    name: str
    kind: OutcomeKind
    label: str
    compute: Callable[["World"], np.ndarray]
    group: str = ""
    dtype: str = "float64"


def utility(outcome: np.ndarray, position: np.ndarray, salience: np.ndarray) -> np.ndarray:
    """(R,) utility in [-1, 1] of outcomes (I, R) for baseline positions and saliences (I, R):
    ``U = 1 - 2 · Σ_k s_k |O_k - x_k| / (100 · Σ_k s_k)``."""
    return 1.0 - 2.0 * (salience * np.abs(outcome - position)).sum(axis=0) / (
        100.0 * np.maximum(salience.sum(axis=0), 1e-12))


def utility_outcomes(actors: tuple[str, ...], names: dict[str, str]) -> list[Outcome]:
    """Each actor's final utility, judged with its baseline preferences on what is in force at the end, less its
    mean monthly cost of conflict: ``U_a = u_a(in force) - C_a / T`` (Fearon 1995: war is costly to all sides)."""
    def of(a: int) -> Callable[["World"], np.ndarray]:
        def u(w: "World") -> np.ndarray:
            cost = w["war_cost"][a] / max(w.step, 1) if "war_cost" in w else 0.0
            return utility(w.in_force, w.base_position[a], w.base_salience[a]) - cost
        return u
    return [Outcome(utility_outcome(aid), "utility", names[aid], of(a), "utilities") for a, aid in enumerate(actors)]


def document(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """The registry as plain data (``spec.json`` → ``outcomes``)."""
    return [{"name": o.name, "kind": o.kind, "label": o.label, "group": o.group, "dtype": o.dtype}
            for o in outcomes]


def by_kind(registry: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Entries of a registry document of one kind."""
    return [o for o in registry if o["kind"] == kind]


def label(registry: list[dict[str, Any]], name: str, default: str | None = None) -> str:
    """An outcome's label from a registry document."""
    for o in registry:
        if o["name"] == name:
            return str(o["label"])
    return default if default is not None else name
