"""Base rates from the International Crisis Behavior data (ICB v16, actor level; Brecher, Wilkenfeld et al.).

Each record is one actor in one crisis. A base rate is the share of records of a group whose ``violence`` is
4 (full-scale war), >= 3 (serious clashes or full-scale war) or whose ``outcome`` is ``compromise``, with its
count and binomial standard error ``sqrt(p (1 - p) / n)``. ``violence`` 0 (5 records, outside ICB's 1-4 scale)
is treated as missing for the violence rates. Records of one crisis are not independent, so the binomial
errors understate the uncertainty; ``n_crises`` says how many distinct crises stand behind a rate.

Groups select records either by the **actor** itself (e.g. "actor USA": crises as the US experienced them) or by
the **crisis** (e.g. "crises with a Middle East actor": every actor of such crises). The Middle East here is
the set :data:`MIDDLE_EAST` of ICB actor codes (the file carries no region variable); Turkey is kept apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from sim import outcomes as names
from sim.validation.data import load_icb

#: ICB (COW-style) codes of Middle East actors: Israel, Egypt, Syria, Jordan, Lebanon, Iraq, Iran, Saudi Arabia,
#: Kuwait, Yemen (and South Yemen), Oman, Bahrain, Qatar, UAE, Hejaz and Najd.
MIDDLE_EAST = frozenset({"ISR", "EGY", "SYR", "JOR", "LEB", "IRQ", "IRN", "SAU", "KUW", "YEM", "YPR", "OMA", "BAH",
                         "QAT", "UAE", "HIJ", "NAJ"})
#: The product's actors: the US, Russia/USSR, Iran, Israel, Turkey, and the big European states.
PRODUCT_ACTORS = frozenset({"USA", "RUS", "IRN", "ISR", "TUR", "UKG", "FRN", "GMY", "GFR"})
METRICS = ("p_war", "p_serious", "p_compromise")


def _groups(df: pd.DataFrame) -> list[tuple[str, str, pd.Series]]:
    crises_with = lambda codes: df["crisno"].isin(df.loc[df["actor"].isin(codes), "crisno"])
    great = df["power"].isin(["great", "super"])
    crises_great = df["crisno"].isin(df.loc[great, "crisno"])
    me_crisis = crises_with(MIDDLE_EAST)
    groups = [
        ("all", "all records", pd.Series(True, index=df.index)),
        ("middle_east_crises", "crisis with a Middle East actor", me_crisis),
        ("middle_east_actors", "actor in the Middle East", df["actor"].isin(MIDDLE_EAST)),
        ("middle_east_crises_great_power", "crisis with a Middle East actor and a great/super power",
         me_crisis & crises_great),
        ("middle_east_crises_since_1973", "crisis with a Middle East actor, starting 1973 or later",
         me_crisis & (df["year"] >= 1973)),
        ("great_power_actors", "actor a great or super power", great),
        ("great_power_crises", "crisis with a great or super power", crises_great),
        ("product_actor_crises", "crisis with USA, RUS, IRN, ISR, TUR, UKG, FRN or GMY/GFR",
         crises_with(PRODUCT_ACTORS)),
    ]
    for code in ("USA", "RUS", "IRN", "ISR", "IRQ", "SYR", "TUR"):
        groups.append((f"actor_{code}", f"actor {code}", df["actor"] == code))
        groups.append((f"crises_{code}", f"crisis with {code} as an actor", crises_with({code})))
    return groups


def _rate(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    return p, float(np.sqrt(p * (1 - p) / n))


def icb_base_rates(data_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per group: counts, P(war), P(serious clashes or worse), P(compromise), binomial SEs."""
    df = load_icb(data_dir)
    rows = []
    for name, desc, mask in _groups(df):
        sub = df[mask.to_numpy()]
        viol = sub["violence"][sub["violence"].between(1, 4)]
        row = {"group": name, "selection": desc, "n_records": len(sub), "n_crises": sub["crisno"].nunique(),
               "n_violence": len(viol)}
        for metric, k, n in (("war", int((viol == 4).sum()), len(viol)),
                             ("serious", int((viol >= 3).sum()), len(viol)),
                             ("compromise", int((sub["outcome"] == "compromise").sum()), len(sub))):
            p, se = _rate(k, n)
            row[f"k_{metric}"] = k
            row[f"p_{metric}"] = p
            row[f"se_{metric}"] = se
        rows.append(row)
    return pd.DataFrame(rows)


def compare_with_engine(base_rates: pd.DataFrame, engine_rates: Mapping[str, float]) -> pd.DataFrame:
    """Set the engine's rates next to the base rates of every group.

    ``engine_rates`` maps metric names ``p_war``, ``p_serious``, ``p_compromise`` (any subset) to the engine's
    probabilities (e.g. the share of Monte Carlo replicas whose escalation ladder reaches full-scale war).
    Returns long format: ``group, metric, base, se, engine, difference (engine - base), z ((engine - base) / se)``.
    """
    unknown = set(engine_rates) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; expected some of {METRICS}")
    rows = []
    for _, r in base_rates.iterrows():
        for metric, eng in engine_rates.items():
            base, se = float(r[metric]), float(r["se_" + metric[2:]])
            rows.append({"group": r["group"], "metric": metric, "base": base, "se": se, "engine": float(eng),
                         "difference": float(eng) - base,
                         "z": (float(eng) - base) / se if se > 0 else float("nan")})
    return pd.DataFrame(rows)


#: ICB violence levels and the ladder's rungs: 4 full-scale war ↔ rung 6 (regional war); 3 serious clashes ↔
#: rung >= 4 (strikes); ICB's outcome "compromise" ↔ a deal signed within the horizon.
KEY_GROUPS = ("all", "middle_east_crises", "middle_east_crises_great_power", "crises_IRN", "crises_ISR", "crises_USA")


def engine_rates(scenario: str = "status_quo", n_runs: int = 5000, seed: int | None = None) -> dict[str, float]:
    """The escalation ladder's rates for one scenario, on ICB's scale (see :data:`KEY_GROUPS` for the mapping)."""
    from sim.run import compose_spec
    from sim.experiment import run_experiment
    from sim.mechanics.escalation import STRIKE_RUNG
    from sim.results import outcomes_frame, run_registry

    overrides = [f"scenario={scenario}", f"n_runs={n_runs}", "report=false"]
    if seed is not None:
        overrides.append(f"seed={seed}")
    spec = compose_spec(*overrides)
    out = outcomes_frame(run_experiment(spec), run_registry(spec)[0])
    return {"p_war": float(out[names.WAR].mean()), "p_serious": float((out[names.MAX_RUNG] >= STRIKE_RUNG).mean()),
            "p_compromise": float(out[names.DEAL_EVER].mean())}
