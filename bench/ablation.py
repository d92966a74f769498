"""The ablation table of docs/model.md: each decision rule and mechanism off in turn, status quo, paired replicas.

    python bench/ablation.py [--runs 4096] [--scenario status_quo] [--markdown]
    python bench/ablation.py --mediated [--runs 2048] [--markdown]

Prints P(deal ever), P(first strike), P(war), P(talks), the mean support to Ukraine and Russia's role in force at
the end, and the mean cost of conflict of every actor, with the rule or mechanism off, beside the full model (same
seed: common random numbers). ``--only exchange,mediation`` runs those mechanisms' rows only. ``--mediated``:
the same with mediation off, and at credibility 0, in the scenarios with a mediator (the status quo has none).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.decisions import RULES  # noqa: E402
from sim.experiment import all_outcomes  # noqa: E402
from sim.run import compose_spec  # noqa: E402

MECHANISMS = ("exchange", "bargaining", "mediation", "spoilers", "nuclear", "policy", "hormuz")


def measure(scenario: str, runs: int, *overrides: str) -> dict[str, float]:
    spec = compose_spec(f"scenario={scenario}", f"n_runs={runs}", "report=false", *overrides)
    col = all_outcomes(spec)
    out = {"P(deal ever)": float(np.mean(col["deal_ever"])), "P(deal at end)": float(np.mean(col["deal"])),
           "P(talks)": float(np.mean(col["talks_ever"])),
           "P(first strike)": float(np.mean(col["first_strike"])), "P(war)": float(np.mean(col["war"])),
           "Ukraine support": float(np.mean(col["outcome_ukraine_support"])),
           "Russia's role": float(np.mean(col["outcome_russia_mideast_role"]))}
    for k in sorted(c for c in col if c.startswith("war_cost_")):
        out[k.removeprefix("war_cost_") + " cost"] = float(np.mean(col[k]))
    return out


MEDIATED = ("russian_mediation", "grand_bargain")


def mediated_rows(runs: int) -> list[tuple[str, dict[str, float]]]:
    rows = []
    for sc in MEDIATED:
        rows.append((f"{sc}", measure(sc, runs)))
        rows.append((f"{sc}, mediation off", measure(sc, runs, "mechanics.mediation.enabled=false")))
        rows.append((f"{sc}, credibility 0", measure(sc, runs, "mechanics.mediation.credibility=0")))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=4096)
    ap.add_argument("--scenario", default="status_quo")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--mediated", action="store_true", help="mediation off in the scenarios with a mediator")
    ap.add_argument("--only", default="", help="comma-separated mechanisms to switch off (default: all, and every rule)")
    a = ap.parse_args()
    if a.mediated:
        rows = mediated_rows(a.runs)
    else:
        rows = [("full model", measure(a.scenario, a.runs))]
        only = [m for m in a.only.split(",") if m]
        for m in only or MECHANISMS:
            rows.append((f"mechanism {m} off", measure(a.scenario, a.runs, f"mechanics.{m}.enabled=false")))
        for rule in ([] if only else RULES):
            rows.append((f"rule {rule} off", measure(a.scenario, a.runs, f"decisions.disabled=[{rule}]")))
    keys = list(rows[0][1])
    if a.markdown:
        print("| variant | " + " | ".join(keys) + " |")
        print("|---|" + "---|" * len(keys))
        for name, r in rows:
            print(f"| {name} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |")
    else:
        print(f"{'variant':36s}" + "".join(f"{k[:14]:>15s}" for k in keys))
        for name, r in rows:
            print(f"{name:36s}" + "".join(f"{r[k]:15.3f}" for k in keys))


if __name__ == "__main__":
    main()
