"""Replication of Bueno de Mesquita's (1994) emission-standards case with the engine's bargaining core.

Ten EC member states choose the year of introduction of emission standards for medium-sized cars. Scholz,
Calbert & Smith (2011, Table 1 and their code, Q = 1) report the capability x salience weighted median by
round 8.4, 9.9, 9.9, 9.9, 9.9, 7.4, 8.8, 9.6; the actual outcome was 8.83. We run
:func:`sim.mechanics.bargaining.simulate` unchanged on the same inputs (salience / 100) and report the weighted
median :func:`~sim.mechanics.bargaining.weighted_median` ``(x, c * s)`` after each round.
"""

from __future__ import annotations

from pathlib import Path

from typing import cast

import numpy as np
import pandas as pd

from sim.mechanics import bargaining as bg
from sim.validation.data import load_emission_standards

#: Scholz et al. (2011): weighted median position after rounds 1..8 (Q = 1).
SCHOLZ_MEDIANS: tuple[float, ...] = (8.4, 9.9, 9.9, 9.9, 9.9, 7.4, 8.8, 9.6)
#: The year actually chosen.
ACTUAL_OUTCOME = 8.83


def replicate(data_dir: str | Path | None = None, rule: str = "scholz_code", probability: str = "all_votes",
              rounds: int = len(SCHOLZ_MEDIANS), move_rate: float = 1.0, risk: str = "endogenous") -> dict:
    """Weighted median by round (rounds 1..``rounds``) and the final one, plus the reference figures.

    The defaults are the settings of Scholz et al.'s code (the transcription check); :func:`kept` runs the
    configuration the scenarios and the DEU III forecasts use. ``risk`` is ``"endogenous"`` (Scholz et al.) or
    ``"neutral"`` (r = 1: the scenarios' articles' risk attitudes have no counterpart here).
    """
    df = load_emission_standards(data_dir)
    x = df["Position"].to_numpy(float)[:, None]
    c = df["Capability"].to_numpy(float)[:, None]
    s = df["Salience"].to_numpy(float)[:, None] / 100.0
    traj = bg.simulate(x, c, s, rounds, risk="endogenous" if risk == "endogenous" else np.ones_like(x),
                       rule=cast(bg.OfferRule, rule), probability=cast(bg.ProbabilityRule, probability),
                       move_rate=move_rate)
    med = [float(bg.weighted_median(traj[t], c * s)[0]) for t in range(1, rounds + 1)]
    return {"median_by_round": med, "final": med[-1], "initial": float(bg.weighted_median(x, c * s)[0]),
            "scholz": list(SCHOLZ_MEDIANS), "actual": ACTUAL_OUTCOME, "rule": rule, "probability": probability,
            "move_rate": move_rate, "risk": risk}


def kept(data_dir: str | Path | None = None, rounds: int = len(SCHOLZ_MEDIANS)) -> dict:
    """:func:`replicate` with the bargaining configuration of the scenarios and of ``sim.validate deu3``
    (``conf/config.yaml``'s ``mechanics.bargaining``, read by :func:`sim.validation.deu3.scenario_bargaining`)."""
    from sim.validation.deu3 import scenario_bargaining

    cfg = scenario_bargaining()
    return replicate(data_dir, rule=cfg["rule"], probability=cfg["probability"], rounds=rounds,
                     move_rate=cfg["move_rate"], risk=cfg["risk"])


def replication_table(result: dict) -> pd.DataFrame:
    """Round, engine median, Scholz et al.'s figure and the difference."""
    med = result["median_by_round"]
    sch = list(result["scholz"]) + [np.nan] * max(0, len(med) - len(result["scholz"]))
    df = pd.DataFrame({"round": np.arange(1, len(med) + 1), "engine": med, "scholz": sch[:len(med)]})
    df["difference"] = df["engine"] - df["scholz"]
    return df
