"""The exchange market's numbers: status quo and grand bargain, exchange on and off, paired replicas.

    python bench/exchange_market.py [--runs 2000]

Prints P(deal ever), P(war), the median support to Ukraine in force at the end (world ``ukraine_support``, the
``outcome_ukraine_support`` column), the mean number of exchanges agreed per replica and the share of them reneged
on (docs/model.md §7.3).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.experiment import all_outcomes  # noqa: E402
from sim.run import compose_spec  # noqa: E402


def measure(scenario: str, runs: int, *overrides: str) -> dict[str, np.ndarray]:
    spec = compose_spec(f"scenario={scenario}", f"n_runs={runs}", "report=false", *overrides)
    return all_outcomes(spec)


def row(col: dict[str, np.ndarray]) -> dict[str, float]:
    trades = col.get("exchange_trades", np.zeros(1))
    reneged = col.get("exchange_reneged", np.zeros(1))
    return {"P(deal ever)": float(np.mean(col["deal_ever"])), "P(war)": float(np.mean(col["war"])),
            "Ukraine support (median)": float(np.median(col["outcome_ukraine_support"])),
            "Ukraine support (mean)": float(np.mean(col["outcome_ukraine_support"])),
            "trades / replica": float(np.mean(trades)),
            "reneged share": float(reneged.sum() / max(trades.sum(), 1.0))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=2000)
    a = ap.parse_args()
    cols = {}
    for scenario in ("status_quo", "grand_bargain"):
        for on in (True, False):
            cols[(scenario, on)] = measure(scenario, a.runs, f"mechanics.exchange.enabled={str(on).lower()}")
    rows = {f"{s} exchange {'on' if on else 'off'}": row(c) for (s, on), c in cols.items()}
    keys = list(next(iter(rows.values())))
    print("| run | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name, r in rows.items():
        print(f"| {name} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |")
    d = cols[("grand_bargain", True)]["outcome_ukraine_support"] - cols[("status_quo", True)]["outcome_ukraine_support"]
    print(f"\npaired grand_bargain - status_quo, Ukraine support at the end: mean {d.mean():.3f} "
          f"(s.e. {d.std(ddof=1) / np.sqrt(d.size):.3f}), share of replicas lower {np.mean(d < -1e-9):.3f}")
    d0 = (cols[("grand_bargain", False)]["outcome_ukraine_support"]
          - cols[("status_quo", False)]["outcome_ukraine_support"])
    print(f"the same with the exchange off: mean {d0.mean():.3f} (s.e. {d0.std(ddof=1) / np.sqrt(d0.size):.3f})")


if __name__ == "__main__":
    main()
