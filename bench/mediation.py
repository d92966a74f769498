"""Mediation's effect, scenario by scenario (docs/model.md §7.4): P(deal ever), P(deal in force at the end),
P(deal signed then collapsed), P(interstate strike), P(war) and P(spoiler strike), common random numbers.

    python bench/mediation.py --runs 2000 [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.experiment import all_outcomes  # noqa: E402
from sim.run import compose_spec  # noqa: E402

VARIANTS = (
    ("status_quo (no mediator)", "status_quo", ()),
    ("status_quo, mediator=neutral", "status_quo", ("mechanics.mediation.mediator=neutral",)),
    ("russian_mediation (Russia)", "russian_mediation", ()),
    ("russian_mediation, mediator=neutral", "russian_mediation", ("mechanics.mediation.mediator=neutral",)),
    ("russian_mediation, credibility=0", "russian_mediation", ("mechanics.mediation.credibility=0",)),
    ("russian_mediation, mediator=null", "russian_mediation", ("mechanics.mediation.mediator=null",)),
    ("grand_bargain (Russia)", "grand_bargain", ()),
    ("grand_bargain, mediator=null", "grand_bargain", ("mechanics.mediation.mediator=null",)),
)
COLUMNS = (("P(deal ever)", "deal_ever"), ("P(deal at end)", "deal"), ("P(signed, collapsed)", "deal_broken"),
           ("P(strike)", "first_strike"), ("P(war)", "war"), ("P(spoiler strike)", "spoiler_strike"))


def measure(scenario: str, extra: tuple[str, ...], runs: int) -> dict[str, float]:
    spec = compose_spec(f"scenario={scenario}", f"n_runs={runs}", "event_replicas=0", "trajectory_replicas=0", *extra)
    out = all_outcomes(spec)
    row = {key: float(np.mean(out[key])) for _, key in COLUMNS}
    row["ukraine"] = float(np.median(out["outcome_ukraine_support"]))
    row["russia_role"] = float(np.median(out["outcome_russia_mideast_role"]))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--only", nargs="*", help="variant labels to run (substring match)")
    args = ap.parse_args()
    heads = [h for h, _ in COLUMNS] + ["median ukraine_support", "median russia_mideast_role"]
    if args.markdown:
        print("| variant | " + " | ".join(heads) + " |")
        print("|---|" + "---|" * len(heads))
    for label, scenario, extra in VARIANTS:
        if args.only and not any(o in label for o in args.only):
            continue
        t0 = time.perf_counter()
        row = measure(scenario, extra, args.runs)
        vals = [row[k] for _, k in COLUMNS] + [row["ukraine"], row["russia_role"]]
        cells = [f"{v:.3f}" for v in vals[:len(COLUMNS)]] + [f"{v:.1f}" for v in vals[len(COLUMNS):]]
        if args.markdown:
            print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
        else:
            print(f"{label:40s} " + " ".join(f"{c:>8s}" for c in cells) + f"   ({time.perf_counter() - t0:.0f} s)",
                  flush=True)


if __name__ == "__main__":
    main()
